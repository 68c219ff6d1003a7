"""memory-limit-too-low: what the process needs does not fit under its memory limit."""

from __future__ import annotations

import pytest
from analyzer_kit import incident, only
from incidents import SESSION_STORE_OOM_64MI

from analyzers import memory_limit
from analyzers.quantity import GI, MI
from analyzers.remediation_params import MemoryLimitRaise

SESSION_STORE_INFO = """
    $ kubectl exec session-store-0 -n web -- redis-cli INFO memory
    # Memory
    used_memory:58982400
    used_memory_human:56.25M
    used_memory_rss:63438848
    used_memory_peak:59244544
    maxmemory:0
    maxmemory_human:0B
    maxmemory_policy:noeviction
    mem_fragmentation_ratio:1.08
"""

FORK_FAILURES = """
    $ kubectl logs session-store-0 -n web --previous
    1:M 03 Nov 2024 02:14:07.118 * 100 changes in 300 seconds. Saving...
    1:M 03 Nov 2024 02:14:07.119 # Can't save in background: fork: Cannot allocate memory
"""


def orders_pod(limit: str, node_options: str | None = None, last_reason: str = "OOMKilled") -> str:
    lines = [
        "$ kubectl describe pod orders-api-7c9f8d6b5-m4k2p -n shop",
        "Name:             orders-api-7c9f8d6b5-m4k2p",
        "Namespace:        shop",
        "Containers:",
        "  orders-api:",
        "    Image:          registry.local/orders-api:4.1.0",
        "    State:          Running",
        "    Last State:     Terminated",
        f"      Reason:       {last_reason}",
        f"      Exit Code:    {137 if last_reason == 'OOMKilled' else 0}",
        "    Ready:          True",
        "    Restart Count:  2",
        "    Limits:",
        f"      memory:  {limit}",
    ]
    if node_options:
        lines += ["    Environment:", f"      NODE_OPTIONS:  {node_options}"]
    return "\n".join(lines) + "\n"


def working_set(value: str) -> str:
    return (
        'container_memory_working_set_bytes{namespace="shop",pod="orders-api-7c9f8d6b5-m4k2p",'
        f'container="orders-api"}} {value}\n'
    )


def test_redis_data_plus_fork_room_does_not_fit_64mi() -> None:
    pasted = incident(SESSION_STORE_OOM_64MI, SESSION_STORE_INFO, FORK_FAILURES)
    finding = only(pasted.run(memory_limit.analyze, "session-store"), "memory-limit-too-low")
    assert finding.severity == "critical"
    assert finding.confidence == pytest.approx(0.9)
    assert finding.data["container"] == "redis"
    assert finding.data["limit_bytes"] == 64 * MI
    assert finding.data["forks"] is True
    assert finding.data["fragmentation"] == pytest.approx(1.08)
    # the peak data (56.5Mi) times fragmentation, plus half of it again for copy-on-write
    assert finding.data["need"] == pytest.approx(59244544 * 1.08 + 0.5 * 59244544)
    assert finding.data["suggested"] == 128 * MI
    assert "64Mi limit" in finding.detail and "128Mi" in finding.detail
    excerpts = [s.excerpt for s in finding.evidence]
    assert any("OOMKilled" in e for e in excerpts)
    assert any("memory:  64Mi" in e for e in excerpts)
    assert any(e.startswith("used_memory_peak:") for e in excerpts)
    pasted.assert_cited(finding)


def test_a_node_heap_bigger_than_the_limit_sizes_the_suggestion() -> None:
    pasted = incident(orders_pod("256Mi", node_options="--max-old-space-size=384"))
    finding = only(pasted.run(memory_limit.analyze, "orders-api"), "memory-limit-too-low")
    assert finding.data["need"] == pytest.approx(384 * MI * 1.15)
    assert finding.data["suggested"] == 576 * MI
    assert "384 MiB" in finding.detail
    assert any("--max-old-space-size=384" in s.excerpt for s in finding.evidence)
    pasted.assert_cited(finding)


def test_a_working_set_at_the_limit_asks_for_at_least_double() -> None:
    pasted = incident(orders_pod("512Mi"), working_set("5.2e+08"))
    finding = only(pasted.run(memory_limit.analyze, "orders-api"), "memory-limit-too-low")
    assert finding.data["need"] == pytest.approx(5.2e8)
    assert finding.data["suggested"] >= 1024 * MI
    assert any("container_memory_working_set_bytes" in s.excerpt for s in finding.evidence)
    pasted.assert_cited(finding)


def test_an_oom_kill_without_any_measure_of_need_is_less_confident() -> None:
    pasted = incident(orders_pod("256Mi"))
    finding = only(pasted.run(memory_limit.analyze, "orders-api"), "memory-limit-too-low")
    assert finding.confidence == pytest.approx(0.6)
    assert finding.data["need"] == 0
    assert finding.data["suggested"] == 512 * MI  # nothing measures the need: double, not a 25% guess


def test_an_oom_kill_far_below_the_limit_does_not_blame_the_limit() -> None:
    pasted = incident(orders_pod("1Gi"), working_set("2.15e+08"))
    assert pasted.run(memory_limit.analyze, "orders-api") == []


def test_no_oom_kill_means_no_verdict_on_the_limit() -> None:
    pasted = incident(
        orders_pod("256Mi", last_reason="Completed"),
        working_set("2.6e+08"),
    )
    assert pasted.run(memory_limit.analyze, "orders-api") == []


def test_an_oom_killed_pod_without_a_known_limit_still_gets_a_raise_that_says_what_is_missing() -> None:
    pasted = incident(
        """
        $ kubectl get pods -n shop
        NAME                         READY   STATUS      RESTARTS      AGE
        orders-api-7c9f8d6b5-m4k2p   0/1     OOMKilled   3 (20s ago)   1h
        """
    )
    finding = only(pasted.run(memory_limit.analyze, "orders-api"), "memory-limit-too-low")
    assert finding.confidence < 0.6 and "the limit itself is not in the evidence" in finding.detail
    raise_ = next(r for r in pasted.diagnose("orders-api").remediations if r.id == "raise-memory-limit")
    assert raise_.params == MemoryLimitRaise("orders-api", from_bytes=None, to_bytes=None)
    assert raise_.contract_params() == {"container": "orders-api", "from": "unknown"}
    assert raise_.automated is False  # nothing to patch to until someone reads the limit


def test_with_no_limit_but_a_request_the_raise_starts_from_twice_the_request() -> None:
    pasted = incident(
        """
        $ kubectl describe pod orders-api-7c9f8d6b5-m4k2p -n shop
        Name:         orders-api-7c9f8d6b5-m4k2p
        Containers:
          orders-api:
            Last State:     Terminated
              Reason:       OOMKilled
              Exit Code:    137
            Requests:
              memory:  512Mi
        """
    )
    raise_ = next(r for r in pasted.diagnose("orders-api").remediations if r.id == "raise-memory-limit")
    assert isinstance(raise_.params, MemoryLimitRaise) and raise_.params.to_bytes == GI
    assert raise_.contract_params()["to"] == "1Gi"


def test_another_service_oom_killed_does_not_make_our_limit_too_low() -> None:
    pasted = incident(
        orders_pod("256Mi", last_reason="Completed"),
        """
        $ kubectl get pods -A
        NAMESPACE   NAME                            READY   STATUS      RESTARTS     AGE
        payments    ledger-worker-5d8f7c9b4-q2w7e   0/1     OOMKilled   7 (1m ago)   2d
        """,
    )
    assert pasted.run(memory_limit.analyze, "orders-api") == []
