"""crash-loop: a container restarts over and over."""

from __future__ import annotations

from analyzers.base import finding
from analyzers.containers import containers
from analyzers.context import Context
from analyzers.diagnosis import Finding, Severity
from analyzers.evidence import EventRecord, Fact

RESTARTS_FOR_A_LOOP = 3


def analyze(context: Context) -> list[Finding]:
    cited: list[Fact] = []
    worst = 0
    for view in containers(context, include_sidecars=False):
        for fact in view.facts.get("container.waiting_reason", []) + view.facts.get("pod.status", []):
            if fact.value == "CrashLoopBackOff":
                cited.append(fact)
        for kind in ("container.restart_count", "pod.restarts"):
            for fact in view.facts.get(kind, []):
                if isinstance(fact.value, int) and fact.value >= RESTARTS_FOR_A_LOOP:
                    worst = max(worst, fact.value)
                    cited.append(fact)
    backoffs = [f for f in context.mine("event") if _is_restart_backoff(f)]
    cited.extend(backoffs[:2])
    if not cited:
        return []
    looping = any(f.value == "CrashLoopBackOff" for f in cited) or bool(backoffs)
    detail = (
        f"The container keeps restarting ({worst} restarts so far)"
        + (" and the kubelet now waits between attempts (CrashLoopBackOff)" if looping else "")
        + "; each restart drops in-flight work and, for a cache, its whole content."
    )
    severity: Severity = "critical" if looping else "warning"
    return [
        finding(
            "crash-loop",
            severity,
            f"Restarting over and over ({worst} restarts)",
            detail,
            0.9,
            cited,
            restarts=worst,
        )
    ]


def _is_restart_backoff(fact: Fact) -> bool:
    record = fact.value
    return isinstance(record, EventRecord) and "Back-off restarting failed container" in record.message
