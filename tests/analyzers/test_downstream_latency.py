"""downstream-latency: the services that use this one report slow calls that line up with its trouble."""

from __future__ import annotations

from analyzer_kit import incident, only

from analyzers import downstream_latency

CLIENTS_SLOW = """
    [2024-11-03T02:14:02Z] checkout-web | time="2024-11-03T02:14:02Z" level=warning msg="session store slow" latency_ms=2340 route=/api/checkout
    [2024-11-03T02:14:09Z] checkout-web | time="2024-11-03T02:14:09Z" level=warning msg="session store slow" latency_ms=3120 route=/api/cart
    [2024-11-03T02:14:12Z] account-web | level=warn msg="redis call timed out" target=session-store:6379
"""


def test_clients_reporting_slow_session_store_calls() -> None:
    pasted = incident(CLIENTS_SLOW)
    finding = only(pasted.run(downstream_latency.analyze, "session-store"), "downstream-latency")
    assert finding.severity == "warning"
    assert finding.data["clients"] == ["account-web", "checkout-web"]
    assert finding.detail.startswith("account-web, checkout-web report slow calls")
    assert all("slow" in s.excerpt for s in finding.evidence)
    pasted.assert_cited(finding)


def test_a_client_naming_the_service_counts_even_without_store_words() -> None:
    pasted = incident(
        """
        [2024-11-03T02:14:02Z] storefront | level=warn msg="upstream slow" upstream=pricing-api latency_ms=1800
        """
    )
    finding = only(pasted.run(downstream_latency.analyze, "pricing-api"), "downstream-latency")
    assert finding.data["clients"] == ["storefront"]


def test_the_servers_own_slow_log_is_not_a_client_complaint() -> None:
    pasted = incident(
        """
        [2024-11-03T02:14:10Z] redis | 1:M 03 Nov 2024 02:14:10.003 # slow command: KEYS session:* took 1200 ms
        """
    )
    assert pasted.run(downstream_latency.analyze, "session-store") == []


def test_the_services_own_logs_are_not_downstream_latency() -> None:
    pasted = incident(
        """
        $ kubectl logs session-store-0 -n web
        1:M 03 Nov 2024 02:14:10.003 # session store slow to answer: 412 clients blocked
        """
    )
    assert pasted.run(downstream_latency.analyze, "session-store") == []


def test_clients_slow_on_something_unrelated_give_nothing() -> None:
    pasted = incident(
        """
        [2024-11-03T02:14:11Z] pricing-api | level=warn msg="upstream slow" upstream=tax-service latency_ms=900
        """
    )
    assert pasted.run(downstream_latency.analyze, "session-store") == []
