"""Rank root causes: which findings explain the others."""

from __future__ import annotations

from analyzers.diagnosis import SEVERITY_ORDER, Finding

# Lower is closer to the root. Effects (crash loops, OOM kills, client latency) only
# lead when nothing explains them.
CAUSE_PRIORITY: dict[str, int] = {
    "image-pull-failed": 10,
    "app-config-error": 12,
    "jvm-heap-exceeds-limit": 15,
    "node-memory-pressure": 16,
    "disk-full": 18,
    "memory-limit-too-low": 20,
    "redis-maxmemory-reached": 22,
    "redis-maxclients-reached": 22,
    "liveness-probe-failing": 25,
    "cpu-throttling": 28,
    "redis-maxmemory-unset": 30,
    "memory-growth-unbounded": 32,
    "redis-config-not-applied": 35,
    "redis-noeviction-policy": 40,
    "redis-keys-without-ttl": 42,
    "dependency-unavailable": 45,
    "readiness-probe-failing": 50,
    "redis-memory-fragmentation": 52,
}
EFFECTS: dict[str, int] = {
    "container-oom-killed": 60,
    "crash-loop": 70,
    "redis-fork-failed": 75,
    "downstream-latency": 80,
    "data-loss-on-restart": 85,
}
MAX_ROOT_CAUSES = 3


def rank(findings: list[Finding]) -> tuple[list[str], list[Finding]]:
    """Root-cause ids, most likely first, and the findings in reading order."""
    present = {f.id for f in findings}
    ordered = sorted(findings, key=lambda f: _order(f, present))
    causes = [
        f
        for f in ordered
        if f.id in CAUSE_PRIORITY
        and f.severity != "info"
        and f.confidence >= 0.5
        and not f.data.get("sidecar_only")
    ]
    if not causes:
        causes = [
            f for f in ordered if f.id in EFFECTS and f.severity != "info" and not f.data.get("sidecar_only")
        ]
    if not causes:
        causes = [f for f in ordered if f.severity != "info" and not f.data.get("sidecar_only")][:1]
    return [f.id for f in causes[:MAX_ROOT_CAUSES]], ordered


def _order(finding: Finding, present: set[str]) -> tuple[float, int, float]:
    priority = CAUSE_PRIORITY.get(finding.id, EFFECTS.get(finding.id, 90))
    if present & set(finding.data.get("caused_by", ())):
        priority += 30  # explained by another finding here: an effect of it
    if finding.data.get("sidecar_only"):
        priority += 40
    # A weakly supported cause yields to a well supported one a little further down.
    adjusted = priority + (1 - finding.confidence) * 20
    return adjusted, SEVERITY_ORDER[finding.severity], -finding.confidence
