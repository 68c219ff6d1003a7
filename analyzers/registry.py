"""Every finding the project knows, in the order its analyzers run: the one list to extend."""

from __future__ import annotations

from analyzers import (
    app_config,
    cpu_throttling,
    crash_loop,
    data_loss,
    dependency,
    disk_full,
    downstream_latency,
    image_pull,
    jvm_heap,
    liveness,
    memory_growth,
    memory_limit,
    node_pressure,
    oom,
    readiness,
    redis_auth,
    redis_clients,
    redis_config_drift,
    redis_fork,
    redis_fragmentation,
    redis_maxmemory_reached,
    redis_maxmemory_unset,
    redis_noeviction,
    redis_persistence,
    redis_ttl,
)
from analyzers.ids import FindingId, RemediationId
from analyzers.spec import FindingSpec

SPECS: tuple[FindingSpec, ...] = (
    oom.SPEC,
    crash_loop.SPEC,
    memory_limit.SPEC,
    memory_growth.SPEC,
    jvm_heap.SPEC,
    cpu_throttling.SPEC,
    liveness.SPEC,
    readiness.SPEC,
    image_pull.SPEC,
    app_config.SPEC,
    node_pressure.SPEC,
    disk_full.SPEC,
    dependency.SPEC,
    redis_maxmemory_unset.SPEC,
    redis_noeviction.SPEC,
    redis_maxmemory_reached.SPEC,
    redis_fork.SPEC,
    redis_config_drift.SPEC,
    redis_persistence.SPEC,
    redis_auth.SPEC,
    redis_ttl.SPEC,
    redis_clients.SPEC,
    redis_fragmentation.SPEC,
    downstream_latency.SPEC,
    data_loss.SPEC,
)
BY_ID: dict[FindingId, FindingSpec] = {spec.id: spec for spec in SPECS}
# Lower is closer to the root (see FindingSpec).
CAUSE_PRIORITY: dict[str, int] = {spec.id: spec.priority for spec in SPECS if spec.role == "cause"}
EFFECTS: dict[str, int] = {spec.id: spec.priority for spec in SPECS if spec.role == "effect"}


_ANSWERED_BY: dict[str, tuple[FindingId, ...]] = {
    remediation: tuple(spec.id for spec in SPECS if remediation in spec.fixed_by)
    for remediation in RemediationId
}


def answered_by(remediation: str) -> tuple[FindingId, ...]:
    """The findings a remediation answers, to list fixes in the order of their causes."""
    return _ANSWERED_BY.get(remediation, ())
