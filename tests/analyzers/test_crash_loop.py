"""crash-loop: a main container restarts over and over."""

from __future__ import annotations

from analyzer_kit import incident, only
from incidents import ORDERS_API_RUNNING

from analyzers import crash_loop

IMAGE_PULL_BACKOFF = """
    $ kubectl get pods -n shop
    NAME                          READY   STATUS             RESTARTS   AGE
    orders-api-5b6c7d8e9f-t7r2q   0/1     ImagePullBackOff   0          6m
    $ kubectl get events -n shop
    LAST SEEN   TYPE      REASON    OBJECT                            MESSAGE
    2m          Normal    BackOff   pod/orders-api-5b6c7d8e9f-t7r2q   Back-off pulling image "registry.local/orders-api:4.2.0"
    2m          Warning   Failed    pod/orders-api-5b6c7d8e9f-t7r2q   Error: ImagePullBackOff
"""

LOG_SHIPPER_CRASH_LOOPING_SIDECAR = """\
      log-shipper:
        Image:          registry.local/log-shipper:1.3
        State:          Waiting
          Reason:       CrashLoopBackOff
        Ready:          False
        Restart Count:  11
"""


def test_crash_loop_back_off_with_many_restarts_is_a_critical_loop() -> None:
    pasted = incident(
        """
        $ kubectl get pods -n shop
        NAME                         READY   STATUS             RESTARTS       AGE
        orders-api-7c9f8d6b5-m4k2p   0/1     CrashLoopBackOff   14 (42s ago)   51m
        orders-api-7c9f8d6b5-x9v8c   1/1     Running            1 (3h ago)     51m
        """
    )
    finding = only(pasted.run(crash_loop.analyze, "orders-api"), "crash-loop")
    assert finding.severity == "critical"
    assert finding.data["restarts"] == 14
    assert "14 restarts" in finding.title
    assert "CrashLoopBackOff" in finding.detail
    assert any("CrashLoopBackOff" in s.excerpt for s in finding.evidence)
    pasted.assert_cited(finding)


def test_restart_back_off_events_from_describe_make_it_a_loop() -> None:
    pasted = incident(
        """
        $ kubectl describe pod orders-api-7c9f8d6b5-m4k2p -n shop
        Name:             orders-api-7c9f8d6b5-m4k2p
        Namespace:        shop
        Containers:
          orders-api:
            State:          Running
            Last State:     Terminated
              Reason:       Error
              Exit Code:    1
            Ready:          True
            Restart Count:  5
        Events:
          Type     Reason   Age               From     Message
          ----     ------   ----              ----     -------
          Warning  BackOff  1m (x21 over 9m)  kubelet  Back-off restarting failed container orders-api in pod orders-api-7c9f8d6b5-m4k2p
        """
    )
    finding = only(pasted.run(crash_loop.analyze, "orders-api"), "crash-loop")
    assert finding.severity == "critical"
    assert finding.data["restarts"] == 5
    excerpts = [s.excerpt for s in finding.evidence]
    assert any("Restart Count:  5" in e for e in excerpts)
    assert any("Back-off restarting failed container" in e for e in excerpts)
    pasted.assert_cited(finding)


def test_back_off_pulling_an_image_is_not_a_crash_loop() -> None:
    pasted = incident(IMAGE_PULL_BACKOFF)
    assert any("Back-off pulling image" in getattr(f.value, "message", "") for f in pasted.read("event"))
    assert pasted.run(crash_loop.analyze, "orders-api") == []


def test_two_restarts_are_not_a_loop() -> None:
    pasted = incident(
        """
        $ kubectl get pods -n shop
        NAME                         READY   STATUS    RESTARTS     AGE
        orders-api-7c9f8d6b5-m4k2p   1/1     Running   2 (3h ago)   5d
        """
    )
    assert pasted.run(crash_loop.analyze, "orders-api") == []


def test_a_restarting_sidecar_is_not_the_service_crash_looping() -> None:
    pasted = incident(ORDERS_API_RUNNING + LOG_SHIPPER_CRASH_LOOPING_SIDECAR)
    assert pasted.run(crash_loop.analyze, "orders-api") == []


def test_another_workload_crash_looping_in_all_namespaces_is_not_ours() -> None:
    pasted = incident(
        """
        $ kubectl get pods -A
        NAMESPACE   NAME                            READY   STATUS             RESTARTS       AGE
        shop        orders-api-7c9f8d6b5-m4k2p      1/1     Running            0              2d
        payments    ledger-worker-5d8f7c9b4-q2w7e   0/1     CrashLoopBackOff   31 (2m ago)    2d
        """
    )
    assert pasted.run(crash_loop.analyze, "orders-api") == []


def test_an_init_container_in_a_crash_loop_is_a_crash_loop() -> None:
    pasted = incident(
        """
        $ kubectl get pods
        NAME                             READY   STATUS                  RESTARTS   AGE
        flagsmith-api-6c9959c65c-4n49k   0/1     Init:CrashLoopBackOff   2          2m
        """
    )
    finding = only(pasted.run(crash_loop.analyze, "flagsmith-api"), "crash-loop")
    assert "CrashLoopBackOff" in finding.detail
    pasted.assert_cited(finding)
