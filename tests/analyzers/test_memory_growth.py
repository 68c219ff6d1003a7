"""memory-growth-unbounded: memory climbs without levelling off."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from analyzer_kit import incident, only

from analyzers import memory_growth
from analyzers.quantity import MI

ORDERS = {"namespace": "shop", "pod": "orders-api-7c9f8d6b5-m4k2p", "container": "orders-api"}


def memory_range(name: str, labels: dict[str, str], mib: Sequence[float]) -> str:
    """A Prometheus query_range body: one series, one point a minute."""
    values = [[1730600000 + 60 * i, str(int(v * MI))] for i, v in enumerate(mib)]
    result = [{"metric": {"__name__": name, **labels}, "values": values}]
    return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}})


CLIMBING = [200, 224, 250, 271, 298, 322, 349, 371, 398, 421, 447, 470]
LEVELLING_OFF = [200, 260, 310, 350, 380, 398, 405, 408, 409, 410, 410, 411]


def test_a_working_set_that_keeps_climbing_is_unbounded_growth() -> None:
    pasted = incident(memory_range("container_memory_working_set_bytes", ORDERS, CLIMBING))
    finding = only(pasted.run(memory_growth.analyze, "orders-api"), "memory-growth-unbounded")
    assert finding.severity == "warning"
    assert finding.data["first"] == 200 * MI
    assert finding.data["last"] == 470 * MI
    assert "from 200Mi to 470Mi" in finding.detail
    pasted.assert_cited(finding)


def test_the_climb_after_the_last_restart_is_the_one_reported() -> None:
    # Killed at ~480Mi, restarted at 150Mi, climbing again.
    before = [300, 340, 380, 420, 460, 480]
    after = [150, 171, 195, 214, 240, 262, 285, 306, 330, 352]
    pasted = incident(memory_range("container_memory_working_set_bytes", ORDERS, before + after))
    finding = only(pasted.run(memory_growth.analyze, "orders-api"), "memory-growth-unbounded")
    assert finding.data["first"] == 150 * MI
    assert finding.data["last"] == 352 * MI


def test_redis_key_count_growing_without_maxmemory_is_unbounded() -> None:
    pasted = incident(
        """
        $ redis-cli -h session-store DBSIZE
        (integer) 120000
        $ redis-cli -h session-store DBSIZE
        (integer) 245000
        $ redis-cli -h session-store CONFIG GET maxmemory
        1) "maxmemory"
        2) "0"
        """
    )
    finding = only(pasted.run(memory_growth.analyze, "session-store"), "memory-growth-unbounded")
    assert "from 120000 to 245000" in finding.detail
    assert [s.excerpt for s in finding.evidence] == ["(integer) 120000", "(integer) 245000"]
    pasted.assert_cited(finding)


def test_memory_that_levels_off_is_not_unbounded() -> None:
    pasted = incident(memory_range("container_memory_working_set_bytes", ORDERS, LEVELLING_OFF))
    assert pasted.run(memory_growth.analyze, "orders-api") == []


def test_a_few_points_are_not_enough_to_call_a_trend() -> None:
    pasted = incident(memory_range("container_memory_working_set_bytes", ORDERS, CLIMBING[:6]))
    assert pasted.run(memory_growth.analyze, "orders-api") == []


def test_redis_memory_climbing_without_maxmemory_is_unbounded() -> None:
    redis = {"instance": "session-store:6379", "service": "session-store"}
    pasted = incident(memory_range("redis_memory_used_bytes", redis, [m * 2 for m in CLIMBING]))
    finding = only(pasted.run(memory_growth.analyze, "session-store"), "memory-growth-unbounded")
    assert finding.data["last"] == 940 * MI
    pasted.assert_cited(finding)


@pytest.mark.parametrize("maxmemory", ["900mb", "943718400"])
def test_redis_with_maxmemory_set_is_bounded_even_while_it_fills(maxmemory: str) -> None:
    redis = {"instance": "session-store:6379", "service": "session-store"}
    pasted = incident(
        memory_range("redis_memory_used_bytes", redis, [m * 2 for m in CLIMBING]),
        f"""
        $ redis-cli -h session-store CONFIG GET maxmemory
        1) "maxmemory"
        2) "{maxmemory}"
        """,
    )
    assert [f.value for f in pasted.read("redis.config", "maxmemory")] == [maxmemory]
    assert pasted.run(memory_growth.analyze, "session-store") == []


def test_a_growing_sidecar_is_not_the_service_growing() -> None:
    sidecar = {**ORDERS, "container": "fluent-bit"}
    pasted = incident(memory_range("container_memory_working_set_bytes", sidecar, CLIMBING))
    assert pasted.run(memory_growth.analyze, "orders-api") == []


def test_another_pod_growing_is_not_ours() -> None:
    other = {"namespace": "payments", "pod": "ledger-worker-5d8f7c9b4-q2w7e", "container": "ledger"}
    pasted = incident(memory_range("container_memory_working_set_bytes", other, CLIMBING))
    assert pasted.run(memory_growth.analyze, "orders-api") == []


def _oom_after(started: str, finished: str) -> str:
    return f"""
        $ kubectl describe pod controller-manager-6d9f8c7b5-q2w8z -n redpanda-system
        Name:         controller-manager-6d9f8c7b5-q2w8z
        Containers:
          manager:
            State:          Running
              Started:      {finished}
            Last State:     Terminated
              Reason:       OOMKilled
              Exit Code:    137
              Started:      {started}
              Finished:     {finished}
    """


def test_an_oom_kill_after_hours_of_running_is_growth() -> None:
    pasted = incident(_oom_after("Mon, 31 Jul 2023 18:43:58 +0000", "Tue, 01 Aug 2023 07:15:55 +0000"))
    finding = only(pasted.run(memory_growth.analyze, "controller-manager"), "memory-growth-unbounded")
    assert finding.data["run_hours"] == 12.5
    pasted.assert_cited(finding)
    assert pasted.diagnose("controller-manager").root_causes[0] == "memory-growth-unbounded"


def test_an_oom_kill_minutes_after_start_is_not_growth() -> None:
    pasted = incident(_oom_after("Tue, 01 Aug 2023 07:13:10 +0000", "Tue, 01 Aug 2023 07:15:55 +0000"))
    assert pasted.run(memory_growth.analyze, "controller-manager") == []


def test_a_jvm_that_fills_its_heap_over_hours_is_not_called_a_leak() -> None:
    jvm = _oom_after("Fri, 04 Jul 2025 10:04:28 -0300", "Fri, 04 Jul 2025 16:31:48 -0300")
    pasted = incident(jvm, "The Kafka process is started with KAFKA_HEAP_OPTS set to -Xmx1024m")
    assert pasted.run(memory_growth.analyze, "controller-manager") == []


def test_with_no_limit_in_sight_a_kill_after_a_few_hours_is_already_growth() -> None:
    pasted = incident(_oom_after("Tue, 01 Aug 2023 06:46:26 +0000", "Tue, 01 Aug 2023 11:46:37 +0000"))
    finding = only(pasted.run(memory_growth.analyze, "controller-manager"), "memory-growth-unbounded")
    assert finding.data["run_hours"] == 5.0
    pasted.assert_cited(finding)


def test_with_the_limit_known_a_kill_after_a_few_hours_is_left_to_the_limit() -> None:
    known = _oom_after("Tue, 01 Aug 2023 06:46:26 +0000", "Tue, 01 Aug 2023 11:46:37 +0000").replace(
        "              Finished:     Tue, 01 Aug 2023 11:46:37 +0000\n",
        "              Finished:     Tue, 01 Aug 2023 11:46:37 +0000\n"
        "            Limits:\n              memory:  128Mi\n",
    )
    pasted = incident(known)
    assert pasted.read("container.memory_limit")
    assert pasted.run(memory_growth.analyze, "controller-manager") == []


def test_with_the_node_short_of_memory_a_slow_kill_is_not_the_containers_growth() -> None:
    pasted = incident(
        _oom_after("Tue, 01 Aug 2023 06:46:26 +0000", "Tue, 01 Aug 2023 11:46:37 +0000"),
        """
        $ kubectl describe node worker-3
        Conditions:
          Type             Status  LastHeartbeatTime                 Reason                       Message
          MemoryPressure   True    Tue, 01 Aug 2023 11:47:01 +0000   KubeletHasInsufficientMemory kubelet has insufficient memory available
        """,
    )
    assert pasted.read("node.condition")
    assert pasted.run(memory_growth.analyze, "controller-manager") == []
