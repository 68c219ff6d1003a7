"""readiness-probe-failing: running pods are taken out of service by their readiness probe."""

from __future__ import annotations

from analyzer_kit import incident, only

from analyzers import readiness

READINESS_EVENTS = """
    $ kubectl get events -n shop
    LAST SEEN   TYPE      REASON      OBJECT                           MESSAGE
    40s         Warning   Unhealthy   pod/orders-api-7c9f8d6b5-m4k2p   Readiness probe failed: HTTP probe failed with statuscode: 503
    35s         Warning   Unhealthy   pod/orders-api-7c9f8d6b5-x9v8c   Readiness probe failed: Get "http://10.4.1.9:8080/ready": dial tcp 10.4.1.9:8080: connect: connection refused
"""


def test_running_pods_failing_readiness_are_reported() -> None:
    pasted = incident(
        """
        $ kubectl get pods -n shop
        NAME                         READY   STATUS    RESTARTS   AGE
        orders-api-7c9f8d6b5-m4k2p   0/1     Running   0          2h
        orders-api-7c9f8d6b5-x9v8c   0/1     Running   0          2h
        """,
        READINESS_EVENTS,
    )
    finding = only(pasted.run(readiness.analyze, "orders-api"), "readiness-probe-failing")
    assert finding.severity == "warning"
    assert len(finding.evidence) == 2
    assert all("Readiness probe failed" in s.excerpt for s in finding.evidence)
    pasted.assert_cited(finding)


def test_readiness_failures_of_a_restarting_container_are_an_effect() -> None:
    pasted = incident(
        """
        $ kubectl get pods -n shop
        NAME                         READY   STATUS    RESTARTS      AGE
        orders-api-7c9f8d6b5-m4k2p   0/1     Running   5 (1m ago)    2h
        """,
        READINESS_EVENTS,
    )
    assert pasted.run(readiness.analyze, "orders-api") == []


def test_readiness_failures_next_to_liveness_failures_are_left_to_liveness() -> None:
    pasted = incident(
        READINESS_EVENTS,
        """
        $ kubectl get events -n shop --field-selector reason=Unhealthy
        LAST SEEN   TYPE      REASON      OBJECT                           MESSAGE
        30s         Warning   Unhealthy   pod/orders-api-7c9f8d6b5-m4k2p   Liveness probe failed: HTTP probe failed with statuscode: 500
        """,
    )
    assert pasted.run(readiness.analyze, "orders-api") == []


def test_another_service_not_ready_is_not_ours() -> None:
    pasted = incident(
        """
        $ kubectl get events -A
        NAMESPACE   LAST SEEN   TYPE      REASON      OBJECT                               MESSAGE
        payments    40s         Warning   Unhealthy   pod/ledger-worker-5d8f7c9b4-q2w7e    Readiness probe failed: HTTP probe failed with statuscode: 503
        """
    )
    assert pasted.run(readiness.analyze, "orders-api") == []
