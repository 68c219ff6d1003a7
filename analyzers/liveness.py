"""liveness-probe-failing: the kubelet kills the container because its liveness probe fails."""

from __future__ import annotations

import re

from analyzers.base import finding, narrow
from analyzers.containers import containers, memory_limit, recent_oom_kills
from analyzers.context import Context
from analyzers.cpu_throttling import starved_start
from analyzers.diagnosis import Finding
from analyzers.evidence import EventRecord, Fact
from analyzers.ids import FindingId, RemediationId
from analyzers.quantity import human_bytes
from analyzers.spec import FindingSpec

# A startup probe that gives up restarts the container just as a liveness probe does.
_FAILED = re.compile(r"(Liveness|Startup) probe failed")
_KILLED = re.compile(r"failed (liveness|startup) probe")
# What a probe's own output says about a process that is busy starting, not hung.
# The probe cannot run at all: its command is not in the image. No timeout or threshold fixes that.
_COMMAND_MISSING = re.compile(
    r"executable file not found|command not found|exec: \"[^\"]+\": not found|no such file or directory"
)
_STILL_STARTING = re.compile(r"repl=sync|master_sync_in_progress|LOADING|loading the dataset|migrat", re.I)
# What the container's own log says while it loads or recovers its data before it can answer.
_LOG_STILL_STARTING = re.compile(
    r"AOF loading|Loading RDB|MASTER <-> REPLICA sync started|database system is starting up|"
    r"automatic recovery in progress|crash recovery",
    re.I,
)


# A database that finds its files from an interrupted start or an unclean stop: killed while it
# initialised or recovered, it finds them again at every start.
_UNCLEAN_START = re.compile(
    r"not (?:been )?shut ?down cleanly|was not properly shut down|automatic recovery in progress|"
    r"Database was not shutdown normally|Starting crash recovery|data files are corrupt",
    re.I,
)
_CRASH_LOOP_SAID = re.compile(r"crash-?loop", re.I)
# The start finished: the database (or Redis) answers now, so what came before was not cut short.
_STARTED_UP = re.compile(
    r"ready to accept connections|ready for connections|database system is ready|DB loaded from|"
    r"Done loading RDB|redo done|MASTER <-> REPLICA sync: Finished",
    re.I,
)
# Its files cannot be written at all: no probe setting helps.
_IO_FAILURE = re.compile(r"Read-only file system|Input/output error|No space left on device", re.I)
RESTARTS_FOR_A_LOOP = 3


def analyze(context: Context) -> list[Finding]:
    failures = [f for f in context.mine("event") if _event_matches(f, _FAILED)]
    kills = [f for f in context.mine("event") if _event_matches(f, _KILLED)]
    if not failures and not kills:
        return _killed_while_recovering(context)
    startup = any("tartup" in context.text_of(f) for f in failures + kills)
    starting = [f for f in failures if _STILL_STARTING.search(context.text_of(f))]
    logged = list(context.program_logs())
    started = _last_started(logged, context)
    loading = [
        f for f in logged if _LOG_STILL_STARTING.search(context.text_of(f)) and not _before(f, started)
    ]
    missing = [f for f in failures if _COMMAND_MISSING.search(context.text_of(f))]
    views = containers(context, include_sidecars=False)
    if any(recent_oom_kills(context, v) for v in views):
        return []  # the kernel killed it for memory; failing probes were a symptom
    exit_137 = [f for v in views for f in v.facts.get("container.last_exit_code", []) if f.value == 137]
    probe = next(context.main("container.probe", "liveness"), None)
    memory = _memory_headroom(context, views)
    headroom = memory[0] if memory else None
    detail = "The kubelet restarts the container because its liveness probe times out"
    if startup:
        detail = "The kubelet restarts the container because its startup probe gives up before it is ready"
    if starting:
        detail += " while the process is still busy starting (the probe's own answer shows it)"
    elif loading:
        detail += " while the process is still loading or recovering its data (its log shows it)"
    if missing:
        detail = (
            "The kubelet restarts the container because its liveness probe cannot run: the probe's "
            "command is not in the image"
        )
    if exit_137:
        detail += (
            " (exit code 137 with reason Error: a SIGKILL from the kubelet, not the kernel's OOM killer)"
        )
    if headroom:
        detail += f"; memory is far below the limit ({headroom})"
    if probe:
        detail += f". The probe is `{probe.value}`"
        timeout = re.search(r"timeout=(\d+)s", str(probe.value))
        if timeout and int(timeout.group(1)) <= 1:
            detail += ", a 1 s timeout that a busy process misses"
    dependency = [e for e in context.mine("container.env") if re.search(r"HEALTH\w*_(CHECK|DB)", e.key or "")]
    if dependency:
        detail += f"; the health check also checks a dependency ({dependency[0].key}={dependency[0].value})"
    starved = starved_start(context)
    if starved:
        detail += f"; its CPU limit ({starved[0] * 1000:.0f}m) is too small for it to start in time"
    detail += ". Restarting healthy-but-slow pods makes the overload worse."
    cited = [narrow(f, "probe failed") for f in (starting or failures)[:1]] + kills[:1] + exit_137[:1]
    cited += loading[:1] if not starting else []
    cited += [probe] if probe else []
    count = sum(getattr(f.value, "count", 1) for f in failures)
    return [
        finding(
            FindingId.LIVENESS_PROBE_FAILING,
            "critical",
            f"{'Startup' if startup else 'Liveness'} probe failing ({count} failures), kubelet restarts it",
            detail,
            0.9 if kills or exit_137 else 0.7,
            cited,
            max_sources=5,
            probe=str(probe.value) if probe else None,
            checks_dependency=bool(dependency),
            memory_used=memory[1] if memory else None,
            memory_limit=memory[2] if memory else None,
            startup_probe=startup,
            probe_command_missing=bool(missing),
            caused_by=[FindingId.CPU_THROTTLING] if starved else [],
        )
    ]


def _killed_while_recovering(context: Context) -> list[Finding]:
    """No probe failure was pasted, but a restarting database shows an unclean start under a liveness probe."""
    probe = next(context.main("container.probe", "liveness"), None)
    said = [f for f in context.mine("text.note") if _UNCLEAN_START.search(str(f.value))]
    logged = list(context.program_logs())
    unclean = [f for f in logged if _UNCLEAN_START.search(context.text_of(f))]
    if unclean and _before(unclean[-1], _last_started(logged, context)):
        return []  # it recovered and answers: the unclean start was survived, not cut short
    unclean += said
    if probe is None or not unclean or any(_IO_FAILURE.search(context.text_of(f)) for f in logged):
        return []
    if any(f.value is True for f in context.main("container.ready")):
        return []  # ready now: whatever restarted it is not killing it any more
    views = containers(context, include_sidecars=False)
    if any(recent_oom_kills(context, v) for v in views):
        return []
    restarts = [
        f
        for f in [*context.main("container.restart_count"), *context.main("pod.restarts")]
        if isinstance(f.value, int) and f.value >= RESTARTS_FOR_A_LOOP
    ]
    restarts += [f for f in context.main("container.waiting_reason") if f.value == "CrashLoopBackOff"]
    restarts += [f for f in context.mine("text.note") if _CRASH_LOOP_SAID.search(str(f.value))]
    if not restarts:
        return []
    text = context.text_of(unclean[0])
    hit = _UNCLEAN_START.search(text)
    quoted = text[max(0, hit.start() - 50) : hit.end() + 30].strip() if hit else text[:100]
    detail = (
        "No probe failure was pasted, but the database keeps restarting and finds the files of an interrupted "
        f"start (`…{quoted}…`) under the liveness probe `{probe.value}`: a database "
        "killed while it initialises or recovers leaves half-written files, so every start has to recover "
        "again and the probe kills it again. Let it finish first: a startup probe, or a longer initial delay."
    )
    return [
        finding(
            FindingId.LIVENESS_PROBE_FAILING,
            "critical",
            "Liveness probe likely kills the database while it initialises or recovers",
            detail,
            0.6,
            [unclean[0], probe, restarts[0]],
            max_sources=5,
            probe=str(probe.value),
            checks_dependency=False,
            memory_used=None,
            memory_limit=None,
            startup_probe=False,
            probe_command_missing=False,
            caused_by=[],
        )
    ]


def _last_started(logged: list[Fact], context: Context) -> dict[str, int]:
    """Per file, the line of the last finished start-up (`Ready to accept connections`, `DB loaded`)."""
    last: dict[str, int] = {}
    for fact in logged:
        if _STARTED_UP.search(context.text_of(fact)):
            last[fact.source.ref] = max(last.get(fact.source.ref, 0), fact.source.line or 0)
    return last


def _before(mark: Fact, started: dict[str, int]) -> bool:
    """A start-up finished after `mark` in the same file."""
    return started.get(mark.source.ref, -1) > (mark.source.line or 0)


def _event_matches(fact: Fact, pattern: re.Pattern[str]) -> bool:
    return isinstance(fact.value, EventRecord) and bool(pattern.search(fact.value.message))


def _memory_headroom(context: Context, views: list) -> tuple[str, float, float] | None:  # type: ignore[type-arg]
    for view in views:
        limit = memory_limit(context, view)
        usage = [f for f in context.main("container.memory_usage")]
        peaks = [s.peak for _, s in context.series("container_memory_working_set_bytes")]
        used = max([float(f.value) for f in usage if isinstance(f.value, float | int)] + peaks, default=0.0)
        if limit and used and used < 0.6 * limit[0]:
            return f"at most {human_bytes(used)} of {human_bytes(limit[0])}", used, limit[0]
    return None


SPEC = FindingSpec(
    FindingId.LIVENESS_PROBE_FAILING,
    analyze,
    "cause",
    25,
    checks=(
        "kubectl {ns}get events --field-selector involvedObject.name={pod},reason=Unhealthy",
        "kubectl {ns}get pod {pod} -o jsonpath='{{.spec.containers[0].livenessProbe}}'",
    ),
    fixed_by=(RemediationId.TUNE_LIVENESS_PROBE,),
)
