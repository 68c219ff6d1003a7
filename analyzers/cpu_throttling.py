"""cpu-throttling: the container spends a large share of its CFS periods throttled."""

from __future__ import annotations

import math
import re

from analyzers.base import finding
from analyzers.context import Context
from analyzers.diagnosis import Finding, Severity
from analyzers.evidence import EventRecord, Fact, Series
from analyzers.ids import FindingId, RemediationId
from analyzers.quantity import format_cpu
from analyzers.spec import FindingSpec

THROTTLED_SHARE = 0.25
# A limit this small starves a process's start-up (JIT, TLS, config loading) long before it serves anything.
STARVED_LIMIT = 0.25
STARTUP_CPU = 0.5
# A probe that finds nothing listening, or no answer in time: a process not ready yet, not one that answers 500.
_PROBE_FAILED = re.compile(r"(?:Liveness|Startup) probe failed: ", re.IGNORECASE)
_NOT_ANSWERING = re.compile(r"connection refused|timeout|timed out|deadline exceeded", re.IGNORECASE)
_KILLED = re.compile(
    r"failed (?:liveness|startup) probe|(?:liveness|startup) probe failed \(as reported\)", re.IGNORECASE
)


def analyze(context: Context) -> list[Finding]:
    periods = _by_container(context, "container_cpu_cfs_periods_total")
    throttled = _by_container(context, "container_cpu_cfs_throttled_periods_total")
    worst: tuple[float, str, list[Fact]] | None = None
    for key, (period_fact, period_series) in periods.items():
        if key not in throttled:
            continue
        throttled_fact, throttled_series = throttled[key]
        share = _share(period_series, throttled_series)
        if share is not None and (worst is None or share > worst[0]):
            worst = (share, key[1], [throttled_fact, period_fact])
    for fact, series in context.series("cpu_cfs_throttled_ratio"):
        share = sum(v for _, v in series.points) / len(series.points)
        container = series.label("container") or fact.subject.container or context.service or ""
        if 0 <= share <= 1 and not context.is_sidecar(fact.subject) and (worst is None or share > worst[0]):
            worst = (share, container, [fact])
    if worst is None:
        return _starved_start(context) or _said_throttled(context)
    if worst[0] < THROTTLED_SHARE:
        return []
    share, container, cited = worst
    usage = _usage_at_limit(context, container)
    limit = _cpu_limit(context, container)
    detail = (
        f"{container} was throttled in {share:.0%} of its CFS periods: it wants more CPU than its limit"
        + (f" of {format_cpu(limit[0])}" if limit else "")
        + ", so requests queue inside the process and latency climbs even though nothing fails."
    )
    if usage:
        detail += f" `kubectl top` shows it pinned at the limit ({format_cpu(float(usage.value))})."  # type: ignore[arg-type]
        cited.append(usage)
    if limit:
        cited.append(limit[1])
    severity: Severity = "critical" if share >= 0.4 else "warning"
    return [
        finding(
            FindingId.CPU_THROTTLING,
            severity,
            f"CPU throttled {share:.0%} of the time at its limit",
            detail,
            0.9,
            cited,
            max_sources=5,
            container=container,
            share=share,
            cpu_limit=limit[0] if limit else None,
        )
    ]


def starved_start(context: Context) -> tuple[float, Fact, Fact] | None:
    """(CPU limit, its fact, a probe kill) when probes kill a process whose CPU limit is too small to start."""
    limit = _cpu_limit(context, context.service or "")
    if limit is None or limit[0] > STARVED_LIMIT:
        return None
    events = [f for f in context.mine("event") if isinstance(f.value, EventRecord)]
    failures = [f for f in events if _PROBE_FAILED.search(f.value.message)]  # type: ignore[union-attr]
    if failures:  # what the probe got back tells a process not up yet from one that answers wrongly
        kills = [f for f in failures if _NOT_ANSWERING.search(f.value.message)]  # type: ignore[union-attr]
    else:
        kills = [f for f in events if _KILLED.search(f.value.message)]  # type: ignore[union-attr]
    return (limit[0], limit[1], kills[0]) if kills else None


def _starved_start(context: Context) -> list[Finding]:
    starved = starved_start(context)
    if starved is None:
        return []
    limit, limit_fact, kill = starved
    container = limit_fact.subject.container or kill.subject.container or context.service or "the container"
    target = max(math.ceil(4 * limit * 10) / 10, STARTUP_CPU)
    said = limit_fact.source.kind == "prose"
    detail = (
        f"{container} runs under a CPU limit of {format_cpu(limit)}"
        + (" (as stated in a sentence; no spec shows it)" if said else "")
        + ", too little to start in time: its probe finds "
        "nothing answering yet and the kubelet restarts it, so it starts again from the beginning under the "
        "same limit. No throttling metrics were read to measure it."
    )
    return [
        finding(
            FindingId.CPU_THROTTLING,
            "critical",
            f"CPU limit of {format_cpu(limit)} starves start-up before the probe gives up",
            detail,
            0.5 if said else 0.6,
            [limit_fact, kill],
            container=container,
            share=None,
            cpu_limit=limit,
            target_cpu=target,
        )
    ]


def _said_throttled(context: Context) -> list[Finding]:
    """Someone reports the container throttled, and its CPU limit is known: weak, and said to be."""
    said = next(context.mine("text.note", "cpu_throttled"), None)
    limit = _cpu_limit(context, context.service or "")
    if said is None or limit is None or limit[0] > 1.0:
        return []
    container = limit[1].subject.container or context.service or "the container"
    detail = (
        f"{container} is reported throttled at its CPU limit of {format_cpu(limit[0])}: it wants more CPU than "
        "the limit lets it use, so its work queues and slows down. No throttling metrics were read to measure it."
    )
    return [
        finding(
            FindingId.CPU_THROTTLING,
            "warning",
            f"CPU reported throttled at its {format_cpu(limit[0])} limit",
            detail,
            0.5,
            [said, limit[1]],
            container=container,
            share=None,
            cpu_limit=limit[0],
        )
    ]


def _by_container(context: Context, name: str) -> dict[tuple[str | None, str], tuple[Fact, Series]]:
    found: dict[tuple[str | None, str], tuple[Fact, Series]] = {}
    for fact, series in context.series(name):
        container = series.label("container") or ""
        if container in ("", "POD") or context.is_sidecar(fact.subject):
            continue
        found.setdefault((series.label("pod"), container), (fact, series))
    return found


def _share(periods: Series, throttled: Series) -> float | None:
    if len(periods.points) >= 2 and len(throttled.points) >= 2:
        elapsed = periods.points[-1][1] - periods.points[0][1]
        hit = throttled.points[-1][1] - throttled.points[0][1]
    else:
        elapsed, hit = periods.last, throttled.last
    return hit / elapsed if elapsed > 0 else None


def _usage_at_limit(context: Context, container: str) -> Fact | None:
    """`kubectl top` shows the container at 90% or more of its own CPU limit."""
    limit = _cpu_limit(context, container)
    if limit is None:
        return None
    for fact in context.main("container.cpu_usage"):
        same = fact.subject.container in (container, None)
        if same and isinstance(fact.value, float) and fact.value >= 0.9 * limit[0]:
            return fact
    return None


def _cpu_limit(context: Context, container: str) -> tuple[float, Fact] | None:
    facts = [f for f in context.main("container.cpu_limit") if f.subject.container in (container, None)]
    facts = facts or [
        f for f in context.main("container.cpu_limit") if not (f.subject.container or "").startswith("#")
    ]
    for fact in sorted(facts, key=lambda f: f.source.kind == "prose"):  # a spec before a sentence
        if isinstance(fact.value, float):
            return fact.value, fact
    quota = {
        s.label("pod"): (f, s)
        for f, s in context.series("container_spec_cpu_quota")
        if s.label("container") == container
    }
    period = {
        s.label("pod"): s
        for _, s in context.series("container_spec_cpu_period")
        if s.label("container") == container
    }
    for pod, (fact, series) in quota.items():
        if pod in period and period[pod].last > 0 and series.last > 0:
            return series.last / period[pod].last, fact
    return None


SPEC = FindingSpec(
    FindingId.CPU_THROTTLING,
    analyze,
    "cause",
    28,
    checks=(
        "kubectl {ns}top pod {pod} --containers",
        'sum(rate(container_cpu_cfs_throttled_periods_total{{pod=~"{service}.*"}}[5m])) / sum(rate(container_cpu_cfs_periods_total{{pod=~"{service}.*"}}[5m]))',
    ),
    fixed_by=(RemediationId.RAISE_CPU_LIMIT,),
)
