"""redis-persistence-disabled: neither RDB snapshots nor AOF, so a restart empties the store."""

from __future__ import annotations

from analyzer_kit import incident, only
from redis_snippets import config_get, get_pods

from analyzers import redis_persistence

VALUES_WITHOUT_PERSISTENCE = """
    sessionStore:
      image:
        repository: redis
        tag: "7.2.4"
      persistence:
        enabled: false
      master:
        configuration: |-
          maxmemory 900mb
          maxmemory-policy volatile-lru
          save ""
          appendonly no
"""


def test_a_session_store_without_snapshots_or_aof_is_a_warning() -> None:
    pasted = incident(
        get_pods("session-store-0", "23 (4m ago)"), config_get("session-store-0", save="", appendonly="no")
    )
    finding = only(pasted.run(redis_persistence.analyze, "session-store"), "redis-persistence-disabled")
    assert finding.severity == "warning"
    assert "this session store has restarted 23 times" in finding.detail
    excerpts = [s.excerpt.splitlines()[0] for s in finding.evidence]
    assert excerpts[:2] == ['1) "save"', '1) "appendonly"']
    assert "23 (4m ago)" in excerpts[2]  # the restarts the sentence states, cited
    pasted.assert_cited(finding)


def test_no_restart_in_the_evidence_no_sentence_about_restarts() -> None:
    pasted = incident(config_get("session-store-0", save="", appendonly="no"))
    finding = only(pasted.run(redis_persistence.analyze, "session-store"), "redis-persistence-disabled")
    assert finding.severity == "warning"  # a session store: the sentence would be said if it were true
    assert "restart" not in finding.detail.replace("every restart starts Redis empty", "")


def test_declared_configuration_and_chart_value_are_cited() -> None:
    pasted = incident(VALUES_WITHOUT_PERSISTENCE)
    finding = only(pasted.run(redis_persistence.analyze, "session-store"), "redis-persistence-disabled")
    excerpts = [s.excerpt for s in finding.evidence]
    assert 'save ""' in excerpts and "appendonly no" in excerpts
    assert any("enabled: false" in e for e in excerpts)
    pasted.assert_cited(finding)


def test_a_cache_without_persistence_is_only_informational() -> None:
    pasted = incident(config_get("product-cache-0", save="", appendonly="no"))
    finding = only(pasted.run(redis_persistence.analyze, "product-cache"), "redis-persistence-disabled")
    assert finding.severity == "info"
    assert "restarts often" not in finding.detail


def test_snapshots_enabled_is_persistence() -> None:
    pasted = incident(config_get("session-store-0", save="3600 1 300 100", appendonly="no"))
    assert pasted.run(redis_persistence.analyze, "session-store") == []


def test_an_append_only_file_is_persistence() -> None:
    pasted = incident(config_get("session-store-0", save="", appendonly="yes"))
    assert pasted.run(redis_persistence.analyze, "session-store") == []


def test_nothing_known_about_appendonly_gives_no_verdict() -> None:
    pasted = incident(config_get("session-store-0", save=""))
    assert pasted.run(redis_persistence.analyze, "session-store") == []
