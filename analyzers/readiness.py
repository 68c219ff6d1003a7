"""readiness-probe-failing: running pods are taken out of service by their readiness probe."""

from __future__ import annotations

import re
from datetime import timedelta

from analyzers.base import event_is_recent, finding, is_recent, narrow
from analyzers.containers import containers
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import EventRecord, Fact
from analyzers.ids import FindingId
from analyzers.spec import FindingSpec

_READINESS = re.compile(r"Readiness probe (?:failed|errored)")
# The probe's command is not in the image: the probe is wrong, the process may be fine.
_COMMAND_MISSING = re.compile(
    r"exec: \"([^\"]+)\": (?:executable file not found|stat [^:]+: no such file or directory)|"
    r"(?:^|[\s:])([\w./-]+): (?:command )?not found\b|executable file not found in \$PATH"
)
_LIVENESS = re.compile(r"Liveness probe (?:failed|errored)|failed liveness probe")


def analyze(context: Context) -> list[Finding]:
    failures = [f for f in _readiness_failures(context) if _recent(context, f)]
    if not failures:
        return []
    missing = [f for f in failures if _COMMAND_MISSING.search(context.text_of(f))]
    if missing:
        return [_command_missing(context, missing)]
    views = containers(context, include_sidecars=False)
    restarting = any(
        isinstance(f.value, int) and f.value > 0
        for v in views
        for kind in ("container.restart_count", "pod.restarts")
        for f in v.facts.get(kind, [])
    )
    liveness = any(_LIVENESS.search(context.text_of(f)) for f in [*context.mine("event"), *context.logs()])
    if restarting or liveness:
        return []  # readiness fails while the container restarts: an effect, not a cause
    detail = (
        "The pods run but fail their readiness probe, so the Service sends them no traffic; "
        "what the probe checks (often a dependency) is failing or too slow."
    )
    return [
        finding(
            FindingId.READINESS_PROBE_FAILING,
            "warning",
            "Readiness probe failing",
            detail,
            0.8,
            [narrow(f, "Readiness probe") for f in failures[:2]],
            probe_command_missing=False,
        )
    ]


def _command_missing(context: Context, missing: list[Fact]) -> Finding:
    """The probe runs a command the image does not have: a probe/config error, not slowness.

    It fails whatever the pod does, so restarts or liveness failures next to it do not explain it.
    """
    match = _COMMAND_MISSING.search(context.text_of(missing[0]))
    command = next((g for g in match.groups() if g), None) if match else None
    detail = (
        f"The readiness probe fails because its command {f'`{command}` ' if command else ''}does not exist in "
        "the image: the probe is misconfigured (a script or client the image no longer ships), not the service "
        "slow. The pods never become ready whatever their load; fix the probe's command (or the image), do not "
        "lengthen its timeouts."
    )
    return finding(
        FindingId.READINESS_PROBE_FAILING,
        "warning",
        f"Readiness probe command missing{f': {command}' if command else ''}",
        detail,
        0.85,
        [narrow(f, "Readiness probe") for f in missing[:2]],
        probe_command_missing=True,
        command=command,
    )


def _readiness_failures(context: Context) -> list[Fact]:
    """`Readiness probe failed` events, and the same message in pasted lines, about our pods."""
    found = [
        f
        for f in context.mine("event")
        if isinstance(f.value, EventRecord) and _READINESS.search(f.value.message)
    ]
    found += [f for f in context.logs() if _READINESS.search(context.text_of(f))]
    return found


# A probe runs every few seconds and its event's last-seen moves with each failure: one last seen longer
# ago than this has passed since.
PROBE_STILL_FAILING = timedelta(minutes=15)


def _recent(context: Context, fact: Fact) -> bool:
    if isinstance(fact.value, EventRecord):
        # While the pod still shows not ready, an older failure is still the one that keeps it out.
        window = timedelta(hours=6) if _not_ready(context) else PROBE_STILL_FAILING
        return event_is_recent(fact.value, window)
    return is_recent(context, fact)


def _not_ready(context: Context) -> bool:
    return any(f.value is False for kind in ("pod.ready", "container.ready") for f in context.main(kind))


SPEC = FindingSpec(
    FindingId.READINESS_PROBE_FAILING,
    analyze,
    "cause",
    50,
    checks=("kubectl {ns}describe pod {pod} | grep -A3 Readiness",),
    fixed_by=(),
)
