"""redis-persistence-disabled: neither RDB snapshots nor AOF, so a restart empties the store."""

from __future__ import annotations

from analyzers.base import finding
from analyzers.context import Context
from analyzers.diagnosis import Finding, Severity
from analyzers.redis_view import redis_view


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
    detail = (
        'Snapshots are off (save "") and so is the append-only file: every restart starts Redis empty'
        + (f", and this {usage} store restarts often" if severity == "warning" else "")
        + "."
    )
    return [
        finding(
            "redis-persistence-disabled",
            severity,
            "No persistence: restarts empty the store",
            detail,
            0.9,
            cited,
        )
    ]
