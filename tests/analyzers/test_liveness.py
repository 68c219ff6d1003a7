"""liveness-probe-failing: the kubelet kills the container because its liveness probe fails."""

from __future__ import annotations

from analyzer_kit import ids, incident, only
from incidents import orders_api_liveness_killed

from analyzers import liveness, memory_limit, oom

TOP_FAR_BELOW_LIMIT = """
    $ kubectl top pod orders-api-7c9f8d6b5-m4k2p -n shop --containers
    POD                          NAME         CPU(cores)   MEMORY(bytes)
    orders-api-7c9f8d6b5-m4k2p   orders-api   412m         150Mi
"""


def test_liveness_kills_with_exit_137_and_reason_error_are_liveness_failures() -> None:
    pasted = incident(orders_api_liveness_killed("Error"), TOP_FAR_BELOW_LIMIT)
    finding = only(pasted.run(liveness.analyze, "orders-api"), "liveness-probe-failing")
    assert finding.severity == "critical"
    assert finding.confidence >= 0.9
    assert "12 failures" in finding.title
    assert "exit code 137 with reason Error" in finding.detail
    assert "at most 150Mi of 512Mi" in finding.detail
    assert "1 s timeout" in finding.detail
    assert finding.data["probe"].startswith("http-get http://:8080/healthz")
    assert finding.data["checks_dependency"] is True
    excerpts = [s.excerpt for s in finding.evidence]
    assert any("Liveness probe failed" in e for e in excerpts)
    assert any("failed liveness probe" in e for e in excerpts)
    assert any("Exit Code:    137" in e for e in excerpts)
    pasted.assert_cited(finding)


def test_exit_137_with_reason_error_is_liveness_not_an_oom_kill_nor_a_low_limit() -> None:
    pasted = incident(orders_api_liveness_killed("Error"), TOP_FAR_BELOW_LIMIT)
    assert pasted.run(oom.analyze, "orders-api") == []
    assert pasted.run(memory_limit.analyze, "orders-api") == []
    diagnosis = pasted.diagnose("orders-api")
    assert diagnosis.root_causes[0] == "liveness-probe-failing"
    assert not {"container-oom-killed", "memory-limit-too-low"} & set(ids(diagnosis.findings))


def test_liveness_failures_after_an_oom_kill_are_a_symptom_not_the_cause() -> None:
    pasted = incident(orders_api_liveness_killed("OOMKilled"))
    assert pasted.run(liveness.analyze, "orders-api") == []


def test_only_probe_failures_without_a_kill_give_a_less_confident_finding() -> None:
    pasted = incident(
        """
        $ kubectl get events -n shop
        LAST SEEN   TYPE      REASON      OBJECT                           MESSAGE
        40s         Warning   Unhealthy   pod/orders-api-7c9f8d6b5-m4k2p   Liveness probe failed: HTTP probe failed with statuscode: 500
        """
    )
    finding = only(pasted.run(liveness.analyze, "orders-api"), "liveness-probe-failing")
    assert finding.confidence < 0.9
    assert finding.data["probe"] is None
    pasted.assert_cited(finding)


def test_another_service_failing_its_liveness_probe_is_not_ours() -> None:
    pasted = incident(
        """
        $ kubectl get events -A
        NAMESPACE   LAST SEEN   TYPE      REASON      OBJECT                               MESSAGE
        payments    40s         Warning   Unhealthy   pod/ledger-worker-5d8f7c9b4-q2w7e    Liveness probe failed: HTTP probe failed with statuscode: 500
        payments    40s         Normal    Killing     pod/ledger-worker-5d8f7c9b4-q2w7e    Container ledger failed liveness probe, will be restarted
        """
    )
    assert pasted.run(liveness.analyze, "orders-api") == []


def test_readiness_failures_alone_are_not_liveness_failures() -> None:
    pasted = incident(
        """
        $ kubectl get events -n shop
        LAST SEEN   TYPE      REASON      OBJECT                           MESSAGE
        40s         Warning   Unhealthy   pod/orders-api-7c9f8d6b5-m4k2p   Readiness probe failed: HTTP probe failed with statuscode: 503
        """
    )
    assert pasted.run(liveness.analyze, "orders-api") == []


STARTUP_PROBE_KILLS_A_SYNCING_REPLICA = """
    $ kubectl describe pod cache-server-1 -n services
    Name:         cache-server-1
    Namespace:    services
    Events:
      Type     Reason     Age                From     Message
      ----     ------     ----               ----     -------
      Warning  Unhealthy  17s (x3 over 37s)  kubelet  Startup probe failed: role=slave; repl=sync
      Normal   Killing    17s                kubelet  Container redis failed startup probe, will be restarted
"""


def test_a_startup_probe_that_kills_a_replica_still_syncing_is_a_probe_failure() -> None:
    pasted = incident(STARTUP_PROBE_KILLS_A_SYNCING_REPLICA)
    finding = only(pasted.run(liveness.analyze, "cache-server"), "liveness-probe-failing")
    assert finding.title.startswith("Startup probe failing (3 failures)")
    assert "still busy starting" in finding.detail
    assert finding.data["startup_probe"] is True
    pasted.assert_cited(finding)


def test_startup_probe_failures_of_another_service_are_not_ours() -> None:
    pasted = incident(STARTUP_PROBE_KILLS_A_SYNCING_REPLICA)
    assert pasted.run(liveness.analyze, "orders-api") == []


def test_a_probe_whose_command_is_not_in_the_image_is_not_tuned() -> None:
    pasted = incident(
        """
        $ kubectl describe pod mongodb-6f7d9c8b5-q2w8z
        Name:         mongodb-6f7d9c8b5-q2w8z
        Events:
          Type     Reason     Age                From     Message
          ----     ------     ----               ----     -------
          Warning  Unhealthy  2m (x9 over 6m)    kubelet  Liveness probe failed: sh: 1: mongosh: not found: exec: "mongosh": executable file not found in $PATH
          Normal   Killing    2m                 kubelet  Container mongodb failed liveness probe, will be restarted
        """
    )
    finding = only(pasted.run(liveness.analyze, "mongodb"), "liveness-probe-failing")
    assert finding.data["probe_command_missing"] is True
    assert "command is not in the image" in finding.detail
    assert "tune-liveness-probe" not in [r.id for r in pasted.diagnose("mongodb").remediations]


def test_probe_failures_while_the_log_shows_data_loading_say_so() -> None:
    pasted = incident(
        """
        $ kubectl get events -n cache
        LAST SEEN   TYPE      REASON      OBJECT          MESSAGE
        40s         Warning   Unhealthy   pod/redis-0     Liveness probe failed: Timed out
        """,
        """
        $ kubectl logs redis-0 -n cache
        1:M 07 Jan 2025 11:50:37.936 * Reading RDB base file on AOF loading...
        1:M 07 Jan 2025 11:50:37.936 * Loading RDB produced by version 7.2.4
        """,
    )
    finding = only(pasted.run(liveness.analyze, "redis"), "liveness-probe-failing")
    assert "still loading or recovering its data" in finding.detail
    assert any("AOF loading" in s.excerpt for s in finding.evidence)
    pasted.assert_cited(finding)


def test_a_finished_load_alone_says_nothing_about_probes() -> None:
    pasted = incident(
        """
        $ kubectl logs redis-0 -n cache
        1:M 07 Jan 2025 11:50:37.936 * Reading RDB base file on AOF loading...
        1:M 07 Jan 2025 11:50:44.638 * Done loading RDB, keys loaded: 496444, keys expired: 0.
        """
    )
    assert pasted.run(liveness.analyze, "redis") == []


def _restarting_mysql(log_line: str, restarts: int = 47) -> str:
    return f"""
        $ kubectl describe pod mysql-0 -n db
        Name:         mysql-0
        Namespace:    db
        Containers:
          mysql:
            State:          Waiting
              Reason:       CrashLoopBackOff
            Last State:     Terminated
              Reason:       Error
              Exit Code:    1
            Restart Count:  {restarts}
            Liveness:   exec [mysqladmin ping] delay=30s timeout=5s period=10s #success=1 #failure=3

        $ kubectl logs mysql-0 -n db --previous
        {log_line}
    """


def test_a_database_restarting_into_an_unclean_start_under_a_liveness_probe() -> None:
    pasted = incident(
        _restarting_mysql(
            "2022-12-30T23:18:58.123Z 1 [ERROR] [MY-012930] [InnoDB] Cannot create redo log files because data "
            "files are corrupt or the database was not shut down cleanly after creating the data files."
        )
    )
    finding = only(pasted.run(liveness.analyze, "mysql"), "liveness-probe-failing")
    assert 0.5 <= finding.confidence < 0.9
    assert "data files are corrupt" in finding.detail
    pasted.assert_cited(finding)


def test_an_unclean_start_that_does_not_repeat_is_not_a_probe_kill() -> None:
    pasted = incident(
        _restarting_mysql(
            "2022-12-30T23:18:58.123Z LOG:  database system was not properly shut down; automatic recovery in progress",
            restarts=0,
        ).replace("Reason:       CrashLoopBackOff", "Reason:       ContainerCreating")
    )
    assert pasted.read("container.probe")
    assert pasted.run(liveness.analyze, "mysql") == []
