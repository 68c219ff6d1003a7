"""container-oom-killed: the kernel killed a container of the service at its memory limit."""

from __future__ import annotations

from analyzer_kit import incident, only
from incidents import FLUENT_BIT_OOM_32MI_SIDECAR, orders_api_liveness_killed

from analyzers import memory_limit, oom

ORDERS_OOM_KILLED = """
    $ kubectl describe pod orders-api-7c9f8d6b5-m4k2p -n shop
    Name:             orders-api-7c9f8d6b5-m4k2p
    Namespace:        shop
    Controlled By:    ReplicaSet/orders-api-7c9f8d6b5
    Containers:
      orders-api:
        Image:          registry.local/orders-api:4.1.0
        State:          Running
          Started:      Mon, 14 Oct 2024 09:12:40 +0000
        Last State:     Terminated
          Reason:       OOMKilled
          Exit Code:    137
          Started:      Mon, 14 Oct 2024 09:02:11 +0000
          Finished:     Mon, 14 Oct 2024 09:12:38 +0000
        Ready:          True
        Restart Count:  6
        Limits:
          cpu:     500m
          memory:  256Mi
        Requests:
          cpu:     200m
          memory:  256Mi
"""

FLUENT_BIT_OOM_KILLED = (
    """
    $ kubectl describe pod orders-api-7c9f8d6b5-m4k2p -n shop
    Name:             orders-api-7c9f8d6b5-m4k2p
    Namespace:        shop
    Controlled By:    ReplicaSet/orders-api-7c9f8d6b5
    Containers:
      orders-api:
        Image:          registry.local/orders-api:4.1.0
        State:          Running
        Ready:          True
        Restart Count:  0
        Limits:
          cpu:     500m
          memory:  512Mi
"""
    + FLUENT_BIT_OOM_32MI_SIDECAR
)

LIVENESS_KILLED = orders_api_liveness_killed("Error")

OTHER_SERVICES_EVENTS = """
    $ kubectl get events -A
    NAMESPACE   LAST SEEN   TYPE      REASON      OBJECT                                MESSAGE
    payments    3m          Warning   OOMKilling  pod/ledger-worker-5d8f7c9b4-q2w7e     Memory cgroup out of memory: Killed process 4121 (java)
    payments    3m          Warning   BackOff     pod/ledger-worker-5d8f7c9b4-q2w7e     Back-off restarting failed container ledger in pod ledger-worker-5d8f7c9b4-q2w7e
    shop        4m          Normal    Pulled      pod/orders-api-7c9f8d6b5-m4k2p        Successfully pulled image "registry.local/orders-api:4.1.0"
"""


def test_an_oom_killed_main_container_is_reported_at_its_limit() -> None:
    pasted = incident(ORDERS_OOM_KILLED)
    finding = only(pasted.run(oom.analyze, "orders-api"), "container-oom-killed")
    assert finding.severity == "critical"
    assert finding.data["sidecar_only"] is False
    assert finding.data["containers"] == ["orders-api-7c9f8d6b5-m4k2p/orders-api"]
    assert "256Mi limit" in finding.detail
    excerpts = [s.excerpt for s in finding.evidence]
    assert any("OOMKilled" in e for e in excerpts) and any("137" in e for e in excerpts)
    pasted.assert_cited(finding)


def test_an_oom_killed_status_in_get_pods_is_reported() -> None:
    pasted = incident(
        """
        $ kubectl get pods -n shop
        NAME                         READY   STATUS      RESTARTS      AGE
        orders-api-7c9f8d6b5-m4k2p   0/1     OOMKilled   3 (20s ago)   1h
        """
    )
    finding = only(pasted.run(oom.analyze, "orders-api"), "container-oom-killed")
    assert finding.severity == "critical"
    assert finding.data["containers"] == ["orders-api-7c9f8d6b5-m4k2p"]
    pasted.assert_cited(finding)


def test_an_oom_killing_event_about_our_pod_is_enough() -> None:
    pasted = incident(
        """
        $ kubectl get events -n shop
        LAST SEEN   TYPE      REASON       OBJECT                           MESSAGE
        90s         Warning   OOMKilling   pod/orders-api-7c9f8d6b5-m4k2p   Memory cgroup out of memory: Killed process 311 (node)
        """
    )
    finding = only(pasted.run(oom.analyze, "orders-api"), "container-oom-killed")
    assert finding.severity == "critical"
    assert "OOMKilling" in finding.evidence[0].excerpt
    pasted.assert_cited(finding)


def test_oom_of_another_namespace_is_not_ours() -> None:
    pasted = incident(OTHER_SERVICES_EVENTS)
    assert [getattr(f.value, "reason", "") for f in pasted.read("event")] == [
        "OOMKilling",
        "BackOff",
        "Pulled",
    ]
    assert pasted.run(oom.analyze, "orders-api") == []


def test_another_service_oom_killed_in_get_pods_all_namespaces_is_not_ours() -> None:
    pasted = incident(
        """
        $ kubectl get pods -A
        NAMESPACE   NAME                               READY   STATUS      RESTARTS     AGE
        shop        orders-api-7c9f8d6b5-m4k2p         1/1     Running     0            2d
        payments    ledger-worker-5d8f7c9b4-q2w7e      0/1     OOMKilled   7 (1m ago)   2d
        """
    )
    assert pasted.run(oom.analyze, "orders-api") == []


def test_an_oom_killed_logging_sidecar_is_only_a_sidecar_warning() -> None:
    pasted = incident(FLUENT_BIT_OOM_KILLED)
    finding = only(pasted.run(oom.analyze, "orders-api"), "container-oom-killed")
    assert finding.severity == "warning"
    assert finding.data["sidecar_only"] is True
    assert finding.data["containers"] == ["orders-api-7c9f8d6b5-m4k2p/fluent-bit"]
    assert "sidecar" in finding.detail
    pasted.assert_cited(finding)


def test_an_oom_killed_logging_sidecar_does_not_make_the_limit_too_low() -> None:
    pasted = incident(FLUENT_BIT_OOM_KILLED)
    assert pasted.run(memory_limit.analyze, "orders-api") == []


def test_exit_137_with_reason_error_after_liveness_failures_is_not_an_oom_kill() -> None:
    pasted = incident(LIVENESS_KILLED)
    assert pasted.run(oom.analyze, "orders-api") == []


def test_a_running_container_that_was_never_killed_gives_nothing() -> None:
    pasted = incident(
        """
        $ kubectl get pods -n shop
        NAME                         READY   STATUS    RESTARTS   AGE
        orders-api-7c9f8d6b5-m4k2p   1/1     Running   0          3d
        """
    )
    assert pasted.run(oom.analyze, "orders-api") == []
