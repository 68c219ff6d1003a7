"""Remediations with parameters computed from the evidence."""

from __future__ import annotations

from analyzer_kit import incident
from incidents import (
    BILLING_SVC_RUNNING,
    SEARCH_API_CPU_LIMIT_300M,
    SESSION_STORE_OOM_64MI,
    orders_api_liveness_killed,
)
from redis_snippets import info

from analyzers.diagnosis import Diagnosis, Remediation
from analyzers.param_values import EvictionPolicy
from analyzers.quantity import GI, MI, parse_redis_size
from analyzers.remediation_params import (
    AppConfigFix,
    ConnectionPoolBound,
    CpuLimitRaise,
    ImageRollback,
    JvmHeapSizing,
    MaxclientsRaise,
    MaxmemorySetting,
    MemoryLimitRaise,
    ProbeTuning,
)

SESSION_STORE_OOM_64MI_FORK_FAILURES = (
    SESSION_STORE_OOM_64MI
    + """\
    $ kubectl exec session-store-0 -n web -- redis-cli INFO memory
    # Memory
    used_memory:58982400
    used_memory_human:56.25M
    used_memory_peak:59244544
    maxmemory:0
    maxmemory_policy:noeviction
    mem_fragmentation_ratio:1.08
    $ kubectl logs session-store-0 -n web --previous
    1:M 03 Nov 2024 02:14:07.118 * 100 changes in 300 seconds. Saving...
    1:M 03 Nov 2024 02:14:07.119 # Can't save in background: fork: Cannot allocate memory
    1:M 03 Nov 2024 02:19:08.402 * 100 changes in 300 seconds. Saving...
    1:M 03 Nov 2024 02:19:08.403 # Can't save in background: fork: Cannot allocate memory
"""
)

QUEUE_REDIS_FULL = """
    $ kubectl describe pod media-redis-0 -n media
    Name:             media-redis-0
    Namespace:        media
    Controlled By:    StatefulSet/media-redis
    Containers:
      redis:
        Image:          redis:7.2.4
        State:          Running
        Ready:          True
        Restart Count:  0
        Limits:
          memory:  4Gi
        Requests:
          memory:  4Gi
    $ kubectl exec -n media media-redis-0 -- redis-cli INFO
    # Memory
    used_memory:2147221504
    used_memory_human:2.00G
    maxmemory:2147483648
    maxmemory_human:2.00G
    maxmemory_policy:noeviction
    # Keyspace
    db0:keys=1830211,expires=0,avg_ttl=0
"""

BILLING_SVC_XMX_1536M_UNDER_1GI = (
    BILLING_SVC_RUNNING
    + """\
        Limits:
          memory:  1Gi
        Environment:
          JAVA_TOOL_OPTIONS:  -Xmx1536m
"""
)

BULLMQ_CLIENT_LOG = """
    [2024-11-03T02:20:11Z] thumbnail-worker | level=error msg="BullMQ: failed to add job to queue thumbnails" err="OOM command not allowed when used memory > 'maxmemory'."
"""


def remediation(diagnosis: Diagnosis, remediation_id: str) -> Remediation:
    """The one fix of that id the plan offers (an "Or, ..." alternative aside)."""
    found = [r for r in diagnosis.remediations if r.id == remediation_id and not r.alternative]
    assert len(found) == 1, [r.id for r in diagnosis.remediations]
    return found[0]


def remediation_ids(diagnosis: Diagnosis) -> list[str]:
    return [r.id for r in diagnosis.remediations]


def memory_raise(remediation: Remediation) -> MemoryLimitRaise:
    assert isinstance(remediation.params, MemoryLimitRaise), remediation.params
    return remediation.params


def maxmemory_setting(remediation: Remediation) -> MaxmemorySetting:
    assert isinstance(remediation.params, MaxmemorySetting), remediation.params
    return remediation.params


def new_limit_of(remediation: Remediation) -> int:
    to_bytes = memory_raise(remediation).to_bytes
    assert to_bytes is not None
    return to_bytes


def test_a_redis_oom_killed_at_64mi_gets_a_higher_limit_and_a_maxmemory_below_it() -> None:
    diagnosis = incident(SESSION_STORE_OOM_64MI_FORK_FAILURES).diagnose("session-store")
    raise_limit = memory_raise(remediation(diagnosis, "raise-memory-limit"))
    assert raise_limit.container == "redis"
    assert raise_limit.from_bytes == 64 * MI
    new_limit = new_limit_of(remediation(diagnosis, "raise-memory-limit"))
    assert 128 * MI <= new_limit <= GI
    maxmemory = maxmemory_setting(remediation(diagnosis, "set-redis-maxmemory"))
    assert maxmemory.bytes < new_limit
    assert parse_redis_size(maxmemory.maxmemory) == maxmemory.bytes
    # a session store may drop least recently used keys; with forks, 70% of the limit
    assert maxmemory.policy == EvictionPolicy.ALLKEYS_LRU
    assert maxmemory.bytes <= 0.7 * new_limit
    assert "disable-redis-background-save" in remediation_ids(diagnosis)


def test_a_session_store_whose_keys_all_expire_evicts_volatile_keys_first() -> None:
    keyspace = info("session-store-0", "# Keyspace", "db0:keys=48000,expires=48000")
    diagnosis = incident(SESSION_STORE_OOM_64MI_FORK_FAILURES, keyspace).diagnose("session-store")
    assert maxmemory_setting(remediation(diagnosis, "set-redis-maxmemory")).policy == "volatile-lru"
    # maxmemory is 0: a policy alone would evict nothing; the maxmemory fix sets it with the bound
    assert "set-redis-eviction-policy" not in remediation_ids(diagnosis)


def test_a_full_queue_redis_gets_a_higher_maxmemory_under_its_4gi_limit_and_keeps_noeviction() -> None:
    diagnosis = incident(QUEUE_REDIS_FULL, BULLMQ_CLIENT_LOG).diagnose("media-redis")
    maxmemory = maxmemory_setting(remediation(diagnosis, "set-redis-maxmemory"))
    assert maxmemory.policy == EvictionPolicy.NOEVICTION
    assert 2.5 * GI <= maxmemory.bytes <= 3.25 * GI
    size = parse_redis_size(maxmemory.maxmemory)
    assert size is not None and 2.5 * GI <= size <= 3.25 * GI
    assert "set-redis-eviction-policy" not in remediation_ids(diagnosis)
    retention = remediation(diagnosis, "fix-app-config").params
    assert isinstance(retention, AppConfigFix) and str(retention.what).startswith("job retention")


def test_noeviction_on_a_bullmq_queue_is_neither_a_finding_nor_a_remediation() -> None:
    diagnosis = incident(QUEUE_REDIS_FULL, BULLMQ_CLIENT_LOG).diagnose("media-redis")
    assert diagnosis.finding("redis-noeviction-policy") is None
    policies = [getattr(r.params, "policy", None) for r in diagnosis.remediations]
    assert all(policy in (None, EvictionPolicy.NOEVICTION) for policy in policies)


def test_cpu_throttled_half_the_time_at_300m_gets_at_least_double() -> None:
    labels = 'namespace="catalog",pod="search-api-5f6d7c8b9a-p2q3r",container="search-api"'
    diagnosis = incident(
        SEARCH_API_CPU_LIMIT_300M,
        f"container_cpu_cfs_periods_total{{{labels}}} 120000\n"
        f"container_cpu_cfs_throttled_periods_total{{{labels}}} 60000\n",
    ).diagnose("search-api")
    cpu = remediation(diagnosis, "raise-cpu-limit").params
    assert isinstance(cpu, CpuLimitRaise)
    assert cpu.container == "search-api"
    assert cpu.from_millicores == 300
    assert cpu.to_millicores >= 600


def test_an_image_pull_failure_rolls_back_to_the_newest_replica_set_with_ready_pods() -> None:
    diagnosis = incident(
        """
        $ kubectl get events -n shop
        LAST SEEN   TYPE      REASON   OBJECT                            MESSAGE
        2m          Warning   Failed   pod/orders-api-5b6c7d8e9f-t7r2q   Failed to pull image "registry.local/orders-api:4.2.0": not found
        $ kubectl get rs -n shop -o wide
        NAME                    DESIRED   CURRENT   READY   AGE   CONTAINERS   IMAGES                            SELECTOR
        orders-api-5b6c7d8e9f   1         1         0       6m    orders-api   registry.local/orders-api:4.2.0   app=orders-api,pod-template-hash=5b6c7d8e9f
        orders-api-6f5e4d3c2b   0         0         0       2d    orders-api   registry.local/orders-api:4.1.1   app=orders-api,pod-template-hash=6f5e4d3c2b
        orders-api-7c9f8d6b5    2         2         2       9d    orders-api   registry.local/orders-api:4.1.0   app=orders-api,pod-template-hash=7c9f8d6b5
        orders-api-84d9f6c7b8   1         1         1       30d   orders-api   registry.local/orders-api:4.0.3   app=orders-api,pod-template-hash=84d9f6c7b8
        """
    ).diagnose("orders-api")
    rollback = remediation(diagnosis, "rollback-image")
    assert rollback.params == ImageRollback("registry.local/orders-api:4.1.0")
    assert rollback.automated is True


def test_an_image_pull_failure_without_a_replica_set_table_proposes_no_rollback() -> None:
    diagnosis = incident(
        """
        $ kubectl get events -n shop
        LAST SEEN   TYPE      REASON   OBJECT                            MESSAGE
        2m          Warning   Failed   pod/orders-api-5b6c7d8e9f-t7r2q   Failed to pull image "registry.local/orders-api:4.2.0": not found
        """
    ).diagnose("orders-api")
    assert "rollback-image" not in remediation_ids(diagnosis)


def test_a_jvm_heap_over_the_limit_is_sized_from_the_limit() -> None:
    diagnosis = incident(BILLING_SVC_XMX_1536M_UNDER_1GI).diagnose("billing-svc")
    lower = remediation(diagnosis, "lower-jvm-heap")
    assert lower.params == JvmHeapSizing("billing-svc", max_ram_percentage=75, xmx_bytes=768 * MI)
    assert new_limit_of(remediation(diagnosis, "raise-memory-limit")) >= 1.3 * 1536 * MI


def test_a_liveness_probe_that_checks_the_database_is_told_to_stop() -> None:
    diagnosis = incident(orders_api_liveness_killed("Error")).diagnose("orders-api")
    probe = remediation(diagnosis, "tune-liveness-probe").params
    assert isinstance(probe, ProbeTuning)
    assert probe.check_dependencies is False
    assert probe.timeout_seconds > 1


def test_redis_at_maxclients_bounds_the_pools_and_doubles_maxclients_as_a_stopgap() -> None:
    diagnosis = incident(
        """
        $ kubectl exec -n web session-store-0 -- redis-cli PING
        (error) ERR max number of clients reached
        """,
        info("session-store-0", "# Clients", "connected_clients:10000", "maxclients:10000"),
        """
        checkout:
          redis:
            poolSize: 200
        """,
    ).diagnose("session-store")
    assert remediation(diagnosis, "fix-connection-leak").params == ConnectionPoolBound(pool_size=50)
    assert remediation(diagnosis, "raise-redis-maxclients").params == MaxclientsRaise(20000)


def test_a_failed_fork_next_to_the_overcommit_warning_suggests_overcommit() -> None:
    diagnosis = incident(
        """
        $ kubectl logs session-store-0 -n web
        1:M 03 Nov 2024 01:02:00.001 # WARNING Memory overcommit must be enabled! Without it, a background save or replication may fail under low memory condition.
        1:M 03 Nov 2024 02:14:07.119 # Can't save in background: fork: Cannot allocate memory
        """
    ).diagnose("session-store")
    assert {"set-vm-overcommit", "disable-redis-background-save"} <= set(remediation_ids(diagnosis))


# -- issue 11: fixes as a plan that works -------------------------------------------------------------
REDIS_UNBOUNDED_NO_LIMIT = info(
    "session-store-0",
    "# Memory",
    "used_memory:1500000",
    "used_memory_peak:2400000",
    "maxmemory:0",
    "maxmemory_policy:noeviction",
    "total_system_memory:8589934592",
    "# Keyspace",
    "db0:keys=3000,expires=0,avg_ttl=0",
)


def test_the_seed_plan_raises_the_limit_first_then_bounds_redis_within_the_new_limit() -> None:
    diagnosis = incident(SESSION_STORE_OOM_64MI_FORK_FAILURES).diagnose("session-store")

    ids = remediation_ids(diagnosis)
    maxmemory = remediation(diagnosis, "set-redis-maxmemory")
    setting = maxmemory_setting(maxmemory)
    new_limit = new_limit_of(remediation(diagnosis, "raise-memory-limit"))
    assert ids.index("raise-memory-limit") < ids.index("set-redis-maxmemory")
    assert maxmemory.after == "raise-memory-limit"
    assert setting.bytes == (0.7 * new_limit) // MI * MI  # a share of the NEW limit
    assert setting.bytes >= 58982400  # holds the data Redis has now: evicts nothing
    assert maxmemory.risk == "low"


def test_a_maxmemory_below_the_data_redis_holds_is_never_offered_as_harmless() -> None:
    diagnosis = incident(SESSION_STORE_OOM_64MI_FORK_FAILURES).diagnose("session-store")

    below = [
        r
        for r in diagnosis.remediations
        if r.id == "set-redis-maxmemory" and maxmemory_setting(r).bytes < 58982400
    ]
    assert below, "the alternative within today's limit is on offer"
    for fix in below:
        assert fix.risk == "high"
        assert "below the 56mb Redis holds now" in fix.title
        assert "evicts about 12mb at once" in fix.detail
    primary = [r for r in diagnosis.remediations if r.automated]
    assert primary.index(below[0]) > primary.index(remediation(diagnosis, "set-redis-maxmemory"))


def test_no_eviction_policy_fix_alone_while_maxmemory_is_0_and_no_limit_is_known() -> None:
    diagnosis = incident(REDIS_UNBOUNDED_NO_LIMIT).diagnose("session-store")

    assert "set-redis-eviction-policy" not in remediation_ids(diagnosis)
    maxmemory = remediation(diagnosis, "set-redis-maxmemory")
    setting = maxmemory_setting(maxmemory)
    # peak used memory 2.4 MB + 25%, rounded up to a whole 8 MiB
    assert setting.bytes == 8 * MI
    assert setting.maxmemory == "8mb"
    assert "peak used memory" in setting.rests_on
    assert "no container limit known" in setting.rests_on
    assert maxmemory.risk == "low"


def test_a_maxmemory_from_peak_use_is_capped_by_the_nodes_memory() -> None:
    big = REDIS_UNBOUNDED_NO_LIMIT.replace("used_memory_peak:2400000", "used_memory_peak:8000000000")
    diagnosis = incident(big).diagnose("session-store")

    maxmemory = maxmemory_setting(remediation(diagnosis, "set-redis-maxmemory"))
    assert maxmemory.bytes == 6 * GI  # 75% of the node's 8 GiB
    assert "node" in maxmemory.rests_on


def test_an_eviction_policy_is_still_offered_when_maxmemory_is_set() -> None:
    full = REDIS_UNBOUNDED_NO_LIMIT.replace("maxmemory:0", "maxmemory:2000000")
    diagnosis = incident(full, BULLMQ_CLIENT_LOG.replace("thumbnail-worker", "web")).diagnose("session-store")

    assert "set-redis-eviction-policy" in remediation_ids(diagnosis), remediation_ids(diagnosis)


def test_no_policy_switch_is_offered_to_the_policy_redis_already_runs() -> None:
    pasted = incident(
        """
        $ redis-cli INFO memory
        # Memory
        used_memory:15772568
        maxmemory:20971520
        maxmemory_policy:allkeys-lru
        """,
        "somethings I set key but I got `OOM command not allowed when used memory > 'maxmemory'`",
    )
    ids = [r.id for r in pasted.diagnose("page-cache").remediations]
    assert "set-redis-eviction-policy" not in ids


def test_a_policy_switch_is_offered_when_it_changes_something() -> None:
    pasted = incident(
        """
        $ redis-cli INFO memory
        # Memory
        used_memory:20971520
        maxmemory:20971520
        maxmemory_policy:noeviction
        """,
        "(error) OOM command not allowed when used memory > 'maxmemory'.",
    )
    ids = [r.id for r in pasted.diagnose("page-cache").remediations]
    assert "set-redis-eviction-policy" in ids
