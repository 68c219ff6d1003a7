"""readiness-probe-failing: running pods are taken out of service by their readiness probe."""

from __future__ import annotations

from analyzers.base import finding, narrow
from analyzers.containers import containers
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import EventRecord


def analyze(context: Context) -> list[Finding]:
    failures = [
        f
        for f in context.mine("event")
        if isinstance(f.value, EventRecord) and "Readiness probe failed" in f.value.message
    ]
    if not failures:
        return []
    views = containers(context, include_sidecars=False)
    restarting = any(
        isinstance(f.value, int) and f.value > 0
        for v in views
        for kind in ("container.restart_count", "pod.restarts")
        for f in v.facts.get(kind, [])
    )
    liveness = any(
        isinstance(f.value, EventRecord) and "Liveness probe" in f.value.message
        for f in context.mine("event")
    )
    if restarting or liveness:
        return []  # readiness fails while the container restarts: an effect, not a cause
    detail = (
        "The pods run but fail their readiness probe, so the Service sends them no traffic; "
        "what the probe checks (often a dependency) is failing or too slow."
    )
    return [
        finding(
            "readiness-probe-failing",
            "warning",
            "Readiness probe failing",
            detail,
            0.8,
            [narrow(f, "Readiness probe failed") for f in failures[:2]],
        )
    ]
