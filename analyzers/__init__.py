"""Pure analysis: evidence in, diagnosis out. No I/O, no clocks, no globals."""

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
from analyzers.base import Analyzer
from analyzers.checks import checks
from analyzers.context import Context
from analyzers.correlate import rank
from analyzers.diagnosis import Diagnosis, Finding
from analyzers.evidence import Evidence, SourceReport
from analyzers.remediate import remediations
from analyzers.system import reconstruct, summarize

ANALYZERS: dict[str, Analyzer] = {
    "container-oom-killed": oom.analyze,
    "crash-loop": crash_loop.analyze,
    "memory-limit-too-low": memory_limit.analyze,
    "memory-growth-unbounded": memory_growth.analyze,
    "jvm-heap-exceeds-limit": jvm_heap.analyze,
    "cpu-throttling": cpu_throttling.analyze,
    "liveness-probe-failing": liveness.analyze,
    "readiness-probe-failing": readiness.analyze,
    "image-pull-failed": image_pull.analyze,
    "app-config-error": app_config.analyze,
    "node-memory-pressure": node_pressure.analyze,
    "disk-full": disk_full.analyze,
    "dependency-unavailable": dependency.analyze,
    "redis-maxmemory-unset": redis_maxmemory_unset.analyze,
    "redis-noeviction-policy": redis_noeviction.analyze,
    "redis-maxmemory-reached": redis_maxmemory_reached.analyze,
    "redis-fork-failed": redis_fork.analyze,
    "redis-config-not-applied": redis_config_drift.analyze,
    "redis-persistence-disabled": redis_persistence.analyze,
    "redis-auth-disabled": redis_auth.analyze,
    "redis-keys-without-ttl": redis_ttl.analyze,
    "redis-maxclients-reached": redis_clients.analyze,
    "redis-memory-fragmentation": redis_fragmentation.analyze,
    "downstream-latency": downstream_latency.analyze,
    "data-loss-on-restart": data_loss.analyze,
}


def analyze(evidence: Evidence, service: str | None = None) -> Diagnosis:
    """Run every analyzer on the evidence and correlate their findings into a diagnosis."""
    context = Context.build(evidence, service)
    findings: list[Finding] = []
    failures: list[SourceReport] = []
    for name, analyzer in ANALYZERS.items():
        try:
            findings.extend(analyzer(context))
        except Exception as error:  # one broken analyzer must not cost the whole diagnosis
            failures.append(
                SourceReport(f"analyzer:{name}", "analyzer", "error", f"{type(error).__name__}: {error}")
            )
    root_causes, ordered = rank(findings)
    fixes = remediations(context, ordered)
    purpose, components = reconstruct(context)
    return Diagnosis(
        service=context.service,
        summary=summarize(context, root_causes, ordered, fixes),
        purpose=purpose,
        components=components,
        root_causes=root_causes,
        findings=ordered,
        remediations=fixes,
        checks=checks(context, root_causes, ordered),
        sources=[*evidence.sources, *failures],
        facts_read=len(evidence.facts),
    )
