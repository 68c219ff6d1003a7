"""container-oom-killed: the kernel killed a container at its memory limit."""

from __future__ import annotations

from analyzers.base import event_is_recent, finding
from analyzers.containers import containers, memory_limit, metric_oom_kills, recent_oom_kills
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import EventRecord, Fact
from analyzers.ids import FindingId
from analyzers.quantity import human_bytes
from analyzers.spec import FindingSpec


def analyze(context: Context) -> list[Finding]:
    main: list[Fact] = []
    sidecar: list[Fact] = []
    names_main: list[str] = []
    names_sidecar: list[str] = []
    limits: list[str] = []
    limit_facts: list[Fact] = []
    limit_bytes: list[float] = []
    for view in containers(context):
        killed = recent_oom_kills(context, view)
        if not killed:
            continue
        exit_codes = [f for f in view.facts.get("container.last_exit_code", []) if f.value == 137]
        (sidecar if view.sidecar else main).extend(killed[:1] + exit_codes[:1])
        (names_sidecar if view.sidecar else names_main).append(view.label)
        limit = memory_limit(context, view)
        if limit and not view.sidecar:
            limits.append(f"{view.label} at its {human_bytes(limit[0])} limit")
            limit_facts.append(limit[1])
            limit_bytes.append(limit[0])
    events = [f for f in context.mine("event") if _is_oom_event(f)]
    if _terminated_otherwise(context):
        events = [f for f in events if f.source.kind != "notes"]  # what the pod says beats what was said
    events += metric_oom_kills(context)
    if events and not main and not sidecar:
        main.extend(events[:2])
        names_main.append("the service's containers")
    if main:
        where = "; ".join(limits) if limits else ", ".join(names_main[:3])
        detail = (
            f"The kernel OOM-killed {where} (reason OOMKilled, exit code 137): the process needed more memory "
            "than its cgroup limit allows, so it restarts and loses everything in memory."
        )
        if all(f.source.kind == "notes" for f in main):
            detail = (
                "The container is reported OOM-killed (no pod status or event shows it): if so, the process "
                "needed more memory than its limit allows, and it restarts and loses everything in memory."
            )
        return [
            finding(
                FindingId.CONTAINER_OOM_KILLED,
                "critical",
                f"OOMKilled: {', '.join(names_main[:3])}",
                detail,
                0.95,
                [*main[:2], *limit_facts[:1], *main[2:], *events],
                containers=names_main,
                sidecar_only=False,
                limits=limit_bytes,
            )
        ]
    if sidecar:
        detail = (
            f"Only the sidecar {', '.join(names_sidecar)} was OOM-killed; the main container was not, so this "
            "restarts the sidecar but does not by itself explain trouble in the service."
        )
        return [
            finding(
                FindingId.CONTAINER_OOM_KILLED,
                "warning",
                f"Sidecar OOMKilled: {', '.join(names_sidecar)}",
                detail,
                0.9,
                sidecar,
                containers=names_sidecar,
                sidecar_only=True,
            )
        ]
    return []


def _terminated_otherwise(context: Context) -> bool:
    """The service's own status contradicts an OOM kill: another last reason or exit code, or no restart."""
    for view in containers(context):
        if any(f.value != "OOMKilled" for f in view.facts.get("container.last_reason", [])):
            return True
        if any(f.value != 137 for f in view.facts.get("container.last_exit_code", [])):
            return True
        counts = view.facts.get("container.restart_count", []) + view.facts.get("pod.restarts", [])
        if counts and all(f.value == 0 for f in counts):
            return True
    return False


def _is_oom_event(fact: Fact) -> bool:
    record = fact.value
    if not isinstance(record, EventRecord) or not event_is_recent(record):
        return False
    return record.reason in ("OOMKilling", "PreviousContainerWasOOMKilled") or "OOMKilled" in record.message


SPEC = FindingSpec(
    FindingId.CONTAINER_OOM_KILLED,
    analyze,
    "effect",
    60,
    checks=("kubectl {ns}describe pod {pod} | grep -A5 'Last State'",),
    fixed_by=(),
)
