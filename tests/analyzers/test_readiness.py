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


MONGOSH_MISSING = """
    Events:
      Type     Reason     Age               From               Message
      ----     ------     ----              ----               -------
      Normal   Started    72s               kubelet            Started container mongodb
      Warning  Unhealthy  3s (x4 over 33s)  kubelet            Liveness probe failed: /bitnami/scripts/ping-mongodb.sh: line 2: mongosh: command not found
      Warning  Unhealthy  3s (x7 over 63s)  kubelet            Readiness probe failed: /bitnami/scripts/readiness-probe.sh: line 9: mongosh: command not found
"""


def test_a_probe_command_missing_from_the_image_is_a_probe_error_even_next_to_liveness() -> None:
    pasted = incident(MONGOSH_MISSING)
    finding = only(pasted.run(readiness.analyze, "mongodb"), "readiness-probe-failing")
    assert finding.data["probe_command_missing"] is True
    assert finding.data["command"] == "mongosh"
    assert "not the service slow" in finding.detail
    pasted.assert_cited(finding)


def test_an_exec_probe_whose_binary_is_not_in_path_is_named() -> None:
    pasted = incident(
        """
        $ kubectl get events -n db
        LAST SEEN   TYPE      REASON      OBJECT                         MESSAGE
        20s         Warning   Unhealthy   pod/mongodb-869dfbd697-nqxql   Readiness probe errored: rpc error: code = Unknown desc = failed to exec in container: exec: "mongosh": executable file not found in $PATH
        """
    )
    finding = only(pasted.run(readiness.analyze, "mongodb"), "readiness-probe-failing")
    assert finding.data["probe_command_missing"] is True
    assert finding.data["command"] == "mongosh"


def test_a_plain_readiness_failure_says_the_command_is_there() -> None:
    pasted = incident(READINESS_EVENTS)
    finding = only(pasted.run(readiness.analyze, "orders-api"), "readiness-probe-failing")
    assert finding.data["probe_command_missing"] is False


def test_a_file_check_probe_failing_is_readiness_not_a_missing_command() -> None:
    pasted = incident(
        """
        $ kubectl get events -n shop
        LAST SEEN   TYPE      REASON      OBJECT                           MESSAGE
        40s         Warning   Unhealthy   pod/orders-api-7c9f8d6b5-m4k2p   Readiness probe failed: cat: /tmp/ready: No such file or directory
        """
    )
    finding = only(pasted.run(readiness.analyze, "orders-api"), "readiness-probe-failing")
    assert finding.data["probe_command_missing"] is False


def test_readiness_failures_days_old_are_history() -> None:
    pasted = incident(READINESS_EVENTS.replace("40s  ", "3d   ").replace("35s  ", "3d   "))
    assert pasted.read("event")
    assert pasted.run(readiness.analyze, "orders-api") == []


def test_another_services_missing_probe_command_is_not_ours() -> None:
    pasted = incident(
        """
        $ kubectl get events -A
        NAMESPACE   LAST SEEN   TYPE      REASON      OBJECT                              MESSAGE
        payments    40s         Warning   Unhealthy   pod/ledger-worker-5d8f7c9b4-q2w7e   Readiness probe failed: sh: 1: pg_isready: not found
        """
    )
    assert pasted.read("event")
    assert pasted.run(readiness.analyze, "orders-api") == []


def test_readiness_failures_last_seen_long_ago_have_passed_since() -> None:
    pasted = incident(
        """
        $ kubectl describe pod stars-instance3-57ss-0
        Events:
          Type     Reason     Age                From               Message
          ----     ------     ----               ----               -------
          Warning  Unhealthy  49m (x4 over 49m)  kubelet            Readiness probe failed: HTTP probe failed with statuscode: 503
        """
    )
    assert pasted.read("event")
    assert pasted.run(readiness.analyze, "stars-instance3") == []


def test_an_older_readiness_failure_counts_while_the_pod_is_still_not_ready() -> None:
    pasted = incident(
        """
        $ kubectl get pods
        NAME                     READY   STATUS    RESTARTS   AGE
        stars-instance3-57ss-0   0/1     Running   0          3h
        """,
        """
        $ kubectl describe pod stars-instance3-57ss-0
        Events:
          Type     Reason     Age                  From     Message
          ----     ------     ----                 ----     -------
          Warning  Unhealthy  20m (x1080 over 3h)  kubelet  Readiness probe failed: HTTP probe failed with statuscode: 503
        """,
    )
    assert pasted.read("pod.ready")
    only(pasted.run(readiness.analyze, "stars-instance3"), "readiness-probe-failing")
