"""cpu-throttling: the container spends a large share of its CFS periods throttled."""

from __future__ import annotations

from analyzers.base import finding
from analyzers.context import Context
from analyzers.diagnosis import Finding, Severity
from analyzers.evidence import Fact, Series
from analyzers.ids import FindingId, RemediationId
from analyzers.quantity import format_cpu
from analyzers.spec import FindingSpec

THROTTLED_SHARE = 0.25


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
    if worst is None or worst[0] < THROTTLED_SHARE:
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
    for fact in facts:
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
