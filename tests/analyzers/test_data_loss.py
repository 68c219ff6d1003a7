"""data-loss-on-restart: restarts throw away state that users depend on."""

from __future__ import annotations

from analyzer_kit import incident, only
from redis_snippets import config_get, get_pods

from analyzers import data_loss

NO_PERSISTENCE = config_get("session-store-0", save="", appendonly="no")


def test_a_session_store_without_persistence_that_restarts_loses_sessions() -> None:
    pasted = incident(get_pods("session-store-0", "23 (4m ago)"), NO_PERSISTENCE)
    finding = only(pasted.run(data_loss.analyze, "session-store"), "data-loss-on-restart")
    assert finding.severity == "warning"
    assert "session store empty (no snapshots, no AOF)" in finding.detail
    excerpts = [s.excerpt for s in finding.evidence]
    assert any(e.startswith("session-store-0") and "23 (4m ago)" in e for e in excerpts)
    assert any('"save"' in e for e in excerpts)
    pasted.assert_cited(finding)


def test_clients_finding_the_store_cold_is_data_loss_even_with_persistence() -> None:
    pasted = incident(
        config_get("session-store-0", save="3600 1", appendonly="yes"),
        """
        [2024-11-03T02:14:20Z] checkout-web | level=warn msg="session not found, user logged out" user=81723
        """,
    )
    finding = only(pasted.run(data_loss.analyze, "session-store"), "data-loss-on-restart")
    assert "session not found" in finding.evidence[0].excerpt
    pasted.assert_cited(finding)


def test_a_cache_that_starts_empty_after_a_restart_loses_nothing() -> None:
    pasted = incident(
        get_pods("product-cache-0", "6 (1h ago)"), config_get("product-cache-0", save="", appendonly="no")
    )
    assert pasted.run(data_loss.analyze, "product-cache") == []


def test_a_store_with_an_append_only_file_keeps_its_data_across_restarts() -> None:
    pasted = incident(
        get_pods("session-store-0", "23 (4m ago)"), config_get("session-store-0", save="", appendonly="yes")
    )
    assert pasted.run(data_loss.analyze, "session-store") == []


def test_a_store_without_persistence_that_never_restarted_has_lost_nothing() -> None:
    pasted = incident(get_pods("session-store-0", "0"), NO_PERSISTENCE)
    assert pasted.run(data_loss.analyze, "session-store") == []


def test_without_any_redis_evidence_there_is_nothing_to_lose() -> None:
    pasted = incident(get_pods("session-store-0", "23 (4m ago)"))
    assert pasted.run(data_loss.analyze, "session-store") == []
