"""crash-loop: a container restarts over and over."""

from __future__ import annotations

from analyzers.base import event_is_recent, finding
from analyzers.containers import ContainerView, containers, seconds_since_termination
from analyzers.context import Context
from analyzers.diagnosis import Finding, Severity
from analyzers.evidence import EventRecord, Fact, FactKind
from analyzers.ids import FindingId, RemediationId
from analyzers.spec import FindingSpec

RESTARTS_FOR_A_LOOP = 3
RECENT_RESTART_SECONDS = 3 * 3600


_BACK_OFF = ("CrashLoopBackOff", "Init:CrashLoopBackOff")  # the pod's STATUS names an init container's loop


def analyze(context: Context) -> list[Finding]:
    cited: list[Fact] = []
    worst = 0
    views = containers(context)
    sidecar_restarts = _only_sidecars_restart(views)
    for view in views:
        if view.sidecar:
            continue
        for fact in view.facts.get("container.waiting_reason", []) + view.facts.get("pod.status", []):
            if fact.value in _BACK_OFF:
                cited.append(fact)
        # The pod's RESTARTS column adds up all its containers: the container's own count wins.
        kind: FactKind = (
            "container.restart_count" if "container.restart_count" in view.facts else "pod.restarts"
        )
        if kind == "pod.restarts" and (sidecar_restarts or _restarted_long_ago(view)):
            continue
        if kind == "container.restart_count" and _runs_fine_since_long_ago(context, view):
            continue
        for fact in view.facts.get(kind, []):
            if isinstance(fact.value, int) and fact.value >= RESTARTS_FOR_A_LOOP:
                worst = max(worst, fact.value)
                cited.append(fact)
    backoffs = [f for f in context.mine("event") if _is_restart_backoff(f)]
    backoffs += [
        f
        for f, series in context.series("kube_pod_container_status_waiting_reason")
        if series.label("reason") == "CrashLoopBackOff"
        and series.last > 0
        and not context.is_sidecar(f.subject)
    ]
    for fact, series in context.series("kube_pod_container_status_restarts_total"):
        climbed = series.last - series.points[0][1] if len(series.points) > 1 else series.last
        if climbed >= RESTARTS_FOR_A_LOOP and not context.is_sidecar(fact.subject):
            worst = max(worst, int(series.last))
            cited.append(fact)
    cited.extend(backoffs[:2])
    if not cited:
        return []
    looping = any(f.value in _BACK_OFF for f in cited) or bool(backoffs)
    detail = (
        "The container keeps restarting"
        + (f" ({worst} restarts so far)" if worst else "")
        + (" and the kubelet now waits between attempts (CrashLoopBackOff)" if looping else "")
        + "; each restart drops in-flight work and, for a cache, its whole content."
    )
    severity: Severity = "critical" if looping else "warning"
    return [
        finding(
            FindingId.CRASH_LOOP,
            severity,
            "Restarting over and over" + (f" ({worst} restarts)" if worst else ""),
            detail,
            0.9,
            cited,
            restarts=worst,
        )
    ]


def _restarted_long_ago(view: ContainerView) -> bool:
    """`4 (12d ago)`: old restarts of a pod that has run fine since are not a loop."""
    ago = view.number("pod.last_restart_ago")
    return ago is not None and ago > RECENT_RESTART_SECONDS and view.value("pod.status") == "Running"


def _runs_fine_since_long_ago(context: Context, view: ContainerView) -> bool:
    """Running and ready, and its last termination ended hours before the newest evidence."""
    ended = seconds_since_termination(context, view)
    return view.value("container.ready") is True and ended is not None and ended > RECENT_RESTART_SECONDS


def _only_sidecars_restart(views: list[ContainerView]) -> bool:
    """Where per-container counts are known, only sidecars restart (so pod counts mislead)."""
    counts = [(v.sidecar, v.number("container.restart_count")) for v in views]
    known = [(sidecar, n) for sidecar, n in counts if n is not None]
    return any(s and n > 0 for s, n in known) and all(n == 0 for s, n in known if not s)


def _is_restart_backoff(fact: Fact) -> bool:
    record = fact.value
    return (
        isinstance(record, EventRecord)
        and "Back-off restarting failed container" in record.message
        and event_is_recent(record)
    )


SPEC = FindingSpec(
    FindingId.CRASH_LOOP,
    analyze,
    "effect",
    70,
    checks=("kubectl {ns}logs {pod} --previous --tail=50",),
    fixed_by=(RemediationId.ROLLBACK_IMAGE,),
)
