"""redis-persistence-disabled: neither RDB snapshots nor AOF, so a restart empties the store."""

from __future__ import annotations

from analyzers.base import finding
from analyzers.context import Context
from analyzers.diagnosis import Finding, Severity
from analyzers.evidence import Fact, Series
from analyzers.ids import FindingId
from analyzers.redis_view import redis_view
from analyzers.spec import FindingSpec


def analyze(context: Context) -> list[Finding]:
    redis = redis_view(context)
    save, appendonly = redis.effective("save"), redis.effective("appendonly")
    if save is None or appendonly is None:
        return []
    if save.value.strip("\"' ") != "" or appendonly.value not in ("no", "0"):
        return []
    cited = [save.fact, appendonly.fact]
    chart = [
        f
        for f in context.mine("helm.value")
        if f.key and f.key.endswith("persistence.enabled") and f.value == "false"
    ]
    cited += chart[:1]
    usage = redis.usage()
    severity: Severity = "warning" if usage in ("session", "store", "queue") else "info"
    restarts = _restarts(context)
    detail = 'Snapshots are off (save "") and so is the append-only file: every restart starts Redis empty'
    if severity == "warning" and restarts is not None:
        count, fact = restarts
        detail += f", and this {usage} store has restarted {count} times"
        cited.append(fact)
    detail += "."
    return [
        finding(
            FindingId.REDIS_PERSISTENCE_DISABLED,
            severity,
            "No persistence: restarts empty the store",
            detail,
            0.9,
            cited,
        )
    ]


def _restarts(context: Context) -> tuple[int, Fact] | None:
    """The most restarts the evidence shows for the service's own containers, and where it says so."""
    counts: list[tuple[int, Fact]] = []
    for kind in ("container.restart_count", "pod.restarts"):
        for fact in context.main(kind) if kind.startswith("container") else context.mine(kind):
            if isinstance(fact.value, int) and not isinstance(fact.value, bool) and fact.value > 0:
                counts.append((fact.value, fact))
    for fact, series in context.series("kube_pod_container_status_restarts_total"):
        if isinstance(series, Series) and series.last > 0 and not context.is_sidecar(fact.subject):
            counts.append((int(series.last), fact))
    return max(counts, key=lambda c: c[0]) if counts else None


SPEC = FindingSpec(
    FindingId.REDIS_PERSISTENCE_DISABLED,
    analyze,
    "context",
    90,
    checks=(
        "{cli} CONFIG GET save",
        "{cli} CONFIG GET appendonly",
    ),
    fixed_by=(),
)
