"""PNG charts of container memory over time, with the limit, the request and OOM kills."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on a bot host; must precede the pyplot import

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.typing import LineStyleType

from analyzers.evidence import Evidence, Fact, FactKind, Series

MEMORY_SERIES_NAMES = frozenset(
    {
        "container_memory_working_set_bytes",
        "container_memory_rss",
        "redis_memory_used_bytes",
        "redis_memory_used_rss_bytes",
    }
)
KUBE_LIMITS_SERIES = "kube_pod_container_resource_limits"
KUBE_REQUESTS_SERIES = "kube_pod_container_resource_requests"
SPEC_LIMIT_SERIES = "container_spec_memory_limit_bytes"
# cAdvisor's series for the pod sandbox ("pause") container: never the one that OOMs.
PAUSE_CONTAINER = "POD"

MIB = 1024 * 1024
NEAR_LIMIT_RATIO = 0.9
OOM_DROP_RATIO = 0.3
# OOM kills recorded far outside the plotted window would squash the chart.
OOM_WINDOW_MARGIN = 0.1
SLUG_PART_MAX = 60

TimedPoints = list[tuple[float, float]]


@dataclass(frozen=True, slots=True)
class ChartKey:
    """One chart: a pod's container, or a bare instance for series without pod labels."""

    pod: str | None
    container: str | None
    instance: str | None = None

    def names_a_container(self) -> bool:
        return self.pod is not None or self.container is not None


@dataclass(slots=True)
class MemoryLine:
    metric: str
    label: str
    points: TimedPoints


@dataclass(slots=True)
class MemoryChart:
    key: ChartKey
    lines: list[MemoryLine] = field(default_factory=list)
    limit: float | None = None
    request: float | None = None
    oom_kills: list[float] = field(default_factory=list)  # from the container status
    oom_drops: list[float] = field(default_factory=list)  # inferred from the series


def write_memory_charts(evidence: Evidence, out_dir: Path, service: str | None = None) -> list[Path]:
    """Write one `memory-<pod>-<container>.png` per container with a memory series; return the paths."""
    charts = collect_memory_charts(evidence, service)
    if not charts:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    paths: list[Path] = []
    for chart in charts:
        path = out_dir / _unique_file_name(chart.key, taken)
        _draw(chart, path)
        paths.append(path)
    return paths


def collect_memory_charts(evidence: Evidence, service: str | None = None) -> list[MemoryChart]:
    """What each chart will show: the memory lines, limit, request and OOM kill times."""
    return [_complete_chart(evidence, chart) for chart in _group_memory_series(evidence, service)]


# -- collecting ----------------------------------------------------------------------------------


def _clean(value: str | None) -> str | None:
    return value or None


def _series_facts(evidence: Evidence) -> Iterator[tuple[Fact, Series]]:
    for fact in evidence.of("metric"):
        if isinstance(fact.value, Series):
            yield fact, fact.value


def _chart_key(fact: Fact, series: Series, evidence: Evidence) -> ChartKey:
    pod = _clean(series.label("pod")) or fact.subject.pod
    container = _clean(series.label("container")) or fact.subject.container
    if series.name.startswith("redis_"):
        # redis_exporter's container label names the exporter's container, not Redis's.
        container = _redis_container(evidence, pod) or container
    if pod is None and container is None:
        return ChartKey(None, None, _clean(series.label("instance")) or fact.subject.instance)
    return ChartKey(pod, container)


def _redis_container(evidence: Evidence, pod: str | None) -> str | None:
    for fact in evidence.of("container.image"):
        image = str(fact.value)
        if fact.subject.pod == pod and "redis" in image and "exporter" not in image:
            return fact.subject.container
    return None


def _timed_points(series: Series) -> TimedPoints:
    return sorted((at, value) for at, value in series.points if at is not None)


def _wanted(key: ChartKey, service: str | None) -> bool:
    if key.container == PAUSE_CONTAINER:
        return False
    return service is None or key.pod is None or key.pod.startswith(service)


def _group_memory_series(evidence: Evidence, service: str | None) -> list[MemoryChart]:
    charts: dict[ChartKey, MemoryChart] = {}
    seen: set[Series] = set()
    for fact, series in _series_facts(evidence):
        if series.name not in MEMORY_SERIES_NAMES or series in seen:
            continue
        seen.add(series)
        points = _timed_points(series)
        key = _chart_key(fact, series, evidence)
        if len(points) < 2 or not _wanted(key, service):
            continue
        chart = charts.setdefault(key, MemoryChart(key))
        chart.lines.append(MemoryLine(series.name, _line_label(series, chart.lines), points))
    return _one_per_container(charts)


def _one_per_container(charts: dict[ChartKey, MemoryChart]) -> list[MemoryChart]:
    """A pod-level chart (cgroup of the whole pod) repeats its one container's: keep the container's.

    Its lines join the chart of the pod's only container; with several containers it stays, as the
    pod's total. Instance charts (an exporter's Redis without pod labels) join the only container
    chart there is, which is the one Redis they describe.
    """
    by_pod: dict[str | None, list[ChartKey]] = {}
    for key in charts:
        if key.container is not None:
            by_pod.setdefault(key.pod, []).append(key)
    containers = [key for key in charts if key.container is not None]
    for key in list(charts):
        target: ChartKey | None = None
        if key.pod is not None and key.container is None and len(by_pod.get(key.pod, [])) == 1:
            target = by_pod[key.pod][0]
        elif not key.names_a_container() and len(containers) == 1:
            target = containers[0]
        if target is not None:
            for line in charts.pop(key).lines:
                charts[target].lines.append(
                    MemoryLine(line.metric, _merged_label(line, charts[target].lines), line.points)
                )
    return list(charts.values())


def _merged_label(line: MemoryLine, earlier: list[MemoryLine]) -> str:
    taken = {existing.label for existing in earlier}
    label, number = line.label, 1
    while label in taken:
        number += 1
        label = f"{line.label} #{number}"
    return label


def _line_label(series: Series, earlier: list[MemoryLine]) -> str:
    """The metric name, plus what tells apart several series of it (one per restarted container)."""
    if not any(line.metric == series.name for line in earlier):
        return series.name
    for label in ("container_id", "id", "name", "instance"):
        value = series.label(label)
        if value:
            return f"{series.name} ({value[-12:]})"
    return f"{series.name} #{sum(line.metric == series.name for line in earlier) + 1}"


# -- limits, requests and OOM kills --------------------------------------------------------------


def _complete_chart(evidence: Evidence, chart: MemoryChart) -> MemoryChart:
    chart.limit = _memory_bound(evidence, chart.key, "container.memory_limit", KUBE_LIMITS_SERIES)
    if chart.limit is None:
        chart.limit = _spec_limit(evidence, chart.key)
    if chart.limit is None and chart.key.pod is not None and chart.key.container is None:
        chart.limit = _pod_limit(evidence, chart.key.pod)
    chart.request = _memory_bound(evidence, chart.key, "container.memory_request", KUBE_REQUESTS_SERIES)
    chart.oom_kills = _oom_kill_times(evidence, chart)
    chart.oom_drops = _oom_drop_times(chart)
    return chart


def _about(fact: Fact, key: ChartKey) -> bool:
    return key.names_a_container() and fact.subject.pod == key.pod and fact.subject.container == key.container


def _positive_number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return float(value)


def _last_fact_value(facts: Iterable[Fact]) -> float | None:
    values = [number for fact in facts if (number := _positive_number(fact.value)) is not None]
    return values[-1] if values else None


def _memory_bound(evidence: Evidence, key: ChartKey, fact_kind: FactKind, series_name: str) -> float | None:
    """A limit or request: from the container status, else from kube-state-metrics."""
    from_status = _last_fact_value(fact for fact in evidence.of(fact_kind) if _about(fact, key))
    if from_status is not None or key.pod is None:
        return from_status
    for _, series in _series_facts(evidence):
        if (
            series.name == series_name
            and series.label("resource") == "memory"
            and series.label("pod") == key.pod
            and _same_container(series, key)
        ):
            return _positive_number(series.last)
    return None


def _same_container(series: Series, key: ChartKey) -> bool:
    container = _clean(series.label("container"))
    return container is None or key.container is None or container == key.container


def _pod_limit(evidence: Evidence, pod: str) -> float | None:
    """A whole pod's memory limit: its containers' limits added up (every container must have one)."""
    limits: dict[str, float] = {}
    containers: set[str] = set()
    for fact in evidence.facts:
        if fact.subject.pod != pod or not fact.subject.container:
            continue
        if fact.kind in ("container.image", "container.state", "container.memory_limit"):
            containers.add(fact.subject.container)
        if fact.kind == "container.memory_limit" and (value := _positive_number(fact.value)) is not None:
            limits[fact.subject.container] = value
    for _, series in _series_facts(evidence):
        container = _clean(series.label("container"))
        if (
            series.name == KUBE_LIMITS_SERIES
            and series.label("resource") == "memory"
            and series.label("pod") == pod
            and container
            and (value := _positive_number(series.last)) is not None
        ):
            containers.add(container)
            limits.setdefault(container, value)
    if not limits or set(limits) != containers:
        return None
    return sum(limits.values())


def _spec_limit(evidence: Evidence, key: ChartKey) -> float | None:
    for _, series in _series_facts(evidence):
        if (
            series.name == SPEC_LIMIT_SERIES
            and key.pod is not None
            and series.label("pod") == key.pod
            and _clean(series.label("container")) == key.container
            and (limit := _positive_number(series.last)) is not None
        ):
            return limit
    return None


def _oom_kill_times(evidence: Evidence, chart: MemoryChart) -> list[float]:
    """When the container status says the last run ended OOMKilled, when that run ended."""
    oom_killed = any(
        fact.value == "OOMKilled" for fact in evidence.of("container.last_reason") if _about(fact, chart.key)
    )
    if not oom_killed:
        return []
    start, end = _window(chart)
    margin = (end - start) * OOM_WINDOW_MARGIN
    times = {
        _unix_seconds(fact.at)
        for fact in evidence.of("container.last_finished")
        if fact.at is not None and _about(fact, chart.key)
    }
    return sorted(at for at in times if start - margin <= at <= end + margin)


def _oom_drop_times(chart: MemoryChart) -> list[float]:
    """Drops of more than 30% right after a point within 10% of the limit.

    Series of one metric are joined in time order first, so a kill that ends one
    container id's series and starts the next one is found too.
    """
    if chart.limit is None:
        return []
    drops: set[float] = set()
    for metric in {line.metric for line in chart.lines}:
        points = sorted(point for line in chart.lines if line.metric == metric for point in line.points)
        for (_, before), (at, after) in itertools.pairwise(points):
            if before >= NEAR_LIMIT_RATIO * chart.limit and after < (1 - OOM_DROP_RATIO) * before:
                drops.add(at)
    return sorted(drops)


def _unix_seconds(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _window(chart: MemoryChart) -> tuple[float, float]:
    times = [at for line in chart.lines for at, _ in line.points]
    return min(times), max(times)


# -- drawing -------------------------------------------------------------------------------------


def _datetimes(times: Iterable[float]) -> npt.NDArray[np.datetime64]:
    # matplotlib reads timezone-naive datetime64 values as UTC.
    return np.array([round(at * 1000) for at in times], dtype="datetime64[ms]")


def _title(key: ChartKey) -> str:
    if not key.names_a_container():
        return f"memory: {key.instance or 'unknown instance'}"
    return f"memory: {key.pod or '?'} / {key.container or 'all containers'}"


def _draw(chart: MemoryChart, path: Path) -> None:
    # Concise date ticks, in UTC, without touching the process-wide matplotlib settings.
    with matplotlib.rc_context({"date.converter": "concise", "timezone": "UTC"}):
        figure, axes = plt.subplots(figsize=(10, 4.5), dpi=100)
        try:
            _plot(chart, axes)
            figure.tight_layout()
            figure.savefig(path, format="png")
        finally:
            plt.close(figure)


def _plot(chart: MemoryChart, axes: Axes) -> None:
    for line in chart.lines:
        times = _datetimes(at for at, _ in line.points)
        axes.plot(times, [value / MIB for _, value in line.points], label=line.label)
    if chart.limit is not None and chart.request is not None and chart.request == chart.limit:
        # A request equal to the limit would hide under it: one line, named for both.
        _bound_line(axes, chart.limit, "limit = request", color="red", linestyle="--")
    else:
        _bound_line(axes, chart.limit, "limit", color="red", linestyle="--")
        _bound_line(axes, chart.request, "request", color="grey", linestyle=":")
    _mark_times(axes, chart.oom_kills, "OOMKilled (status)", linestyle="-")
    _mark_times(axes, chart.oom_drops, "OOM kill (drop near limit)", linestyle="-.")
    axes.set_xlabel("time (UTC)")
    axes.set_ylabel("memory (MiB)")
    axes.set_ylim(bottom=0)
    axes.set_title(_title(chart.key))
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize="small")


def _bound_line(axes: Axes, size: float | None, name: str, color: str, linestyle: LineStyleType) -> None:
    if size is not None:
        axes.axhline(size / MIB, color=color, linestyle=linestyle, label=f"{name} {size / MIB:.0f} MiB")


def _mark_times(axes: Axes, times: list[float], label: str, linestyle: LineStyleType) -> None:
    if times:
        # x in data coordinates, y from the bottom (0) to the top (1) of the axes.
        axes.vlines(
            _datetimes(times),
            0,
            1,
            colors="darkred",
            linestyles=linestyle,
            label=label,
            transform=axes.get_xaxis_transform(),
        )


# -- file names ----------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-_")[:SLUG_PART_MAX] or "unknown"


def _unique_file_name(key: ChartKey, taken: set[str]) -> str:
    parts = [key.pod, key.container] if key.names_a_container() else [key.instance]
    stem = "-".join(["memory", *(_slug(part) for part in parts if part)])
    if stem == "memory":
        stem = "memory-unknown"
    name, number = f"{stem}.png", 1
    while name in taken:
        number += 1
        name = f"{stem}-{number}.png"
    taken.add(name)
    return name
