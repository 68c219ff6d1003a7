"""memory-growth-unbounded: memory climbs without levelling off."""

from __future__ import annotations

import itertools
import re

from analyzers.base import finding
from analyzers.containers import containers, recent_oom_kills, service_memory_limit
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import EventRecord, Fact, ReplicaSetInfo, Series
from analyzers.ids import FindingId, RemediationId
from analyzers.quantity import human_bytes
from analyzers.redis_view import redis_view
from analyzers.rollouts import main_image, previous_of_pod
from analyzers.spec import FindingSpec

_MEMORY_SERIES = ("container_memory_working_set_bytes", "container_memory_rss", "redis_memory_used_bytes")


def analyze(context: Context) -> list[Finding]:
    redis = redis_view(context)
    maxmemory = redis.effective("maxmemory")
    if redis.present and maxmemory is not None and maxmemory.number:
        return []  # Redis bounds itself at maxmemory
    growing = growing_series(context)
    if growing:
        fact, first, last = growing
        detail = (
            f"Memory climbs steadily from {human_bytes(first)} to {human_bytes(last)} and does not level "
            "off; after each restart it climbs again. Something holds on to memory without a bound "
            "(a leak, or a cache without eviction), so a higher limit only buys time."
        )
        cited = [fact]
        previous = _regression(context, fact)
        if previous:
            info, rs_fact, flat = previous
            detail += (
                f" Pods of the previous ReplicaSet ({main_image(info)}) stayed flat, so the growth came with "
                "the new release."
            )
            cited += [rs_fact, *flat[:1]]
        killed = any(f.value == "OOMKilled" for f in context.main("container.last_reason"))
        return [
            finding(
                FindingId.MEMORY_GROWTH_UNBOUNDED,
                "critical" if killed else "warning",
                "Memory grows without levelling off",
                detail,
                0.85 if previous else 0.8,
                cited,
                first=first,
                last=last,
                previous_image=main_image(previous[0]) if previous else None,
            )
        ]
    slow = slow_oom(context) if not redis.present else None
    if slow:
        hours, killed_fact, started, finished = slow
        detail = (
            f"The container ran {hours:.0f} hours before the kernel OOM-killed it: memory that is too small "
            "for the working set runs out within minutes of a start, memory that runs out after hours is "
            "climbing (a leak, or something cached without a bound). A higher limit only buys time; "
            "watch its memory over a day to confirm."
        )
        return [
            finding(
                FindingId.MEMORY_GROWTH_UNBOUNDED,
                "warning",
                f"OOM-killed after {hours:.0f} hours of running: memory climbs",
                detail,
                0.6,
                [killed_fact, started, finished],
                run_hours=round(hours, 1),
            )
        ]
    sizes = _dbsize_growth(context)
    if sizes:
        detail = (
            f"The key count grew from {sizes[0]} to {sizes[1]} while maxmemory is unset: with no TTLs and "
            "no bound, memory only grows until the container is killed."
        )
        return [
            finding(
                FindingId.MEMORY_GROWTH_UNBOUNDED,
                "warning",
                "Key count grows without a bound",
                detail,
                0.7,
                sizes[2],
            )
        ]
    return []


def growing_series(context: Context) -> tuple[Fact, float, float] | None:
    """The first main-container memory series that climbs without levelling off."""
    for fact, series in context.series(*_MEMORY_SERIES):
        if context.is_sidecar(fact.subject):
            continue
        growth = climbing(series)
        if growth:
            return fact, growth[0], growth[1]
    return None


def _regression(context: Context, growing: Fact) -> tuple[ReplicaSetInfo, Fact, list[Fact]] | None:
    """The ReplicaSet before the growing pod's, when its pods' memory stayed flat."""
    series = growing.value
    pod = series.label("pod") if isinstance(series, Series) else None
    previous = previous_of_pod(context, pod or "")
    if previous is None:
        return None
    hash_of_previous = previous[0].name.rsplit("-", 1)[-1]
    flat = [
        f
        for f, other in context.series(*_MEMORY_SERIES)
        if f"-{hash_of_previous}-" in (other.label("pod") or "") and climbing(other) is None
    ]
    return previous[0], previous[1], flat


def climbing(series: Series) -> tuple[float, float] | None:
    """(start, end) of the last long rise in a series that does not flatten, else None."""
    values = [v for _, v in series.points]
    if len(values) < 10:
        return None
    segments: list[list[float]] = [[values[0]]]
    for previous, value in itertools.pairwise(values):
        if value < 0.7 * previous:  # a restart: memory starts over
            segments.append([])
        segments[-1].append(value)
    longest = max(segments, key=len)
    if len(longest) < 8 or longest[-1] < 1.3 * longest[0]:
        return None
    rises = sum(1 for a, b in itertools.pairwise(longest) if b >= a)
    if rises < 0.65 * (len(longest) - 1):
        return None
    quarter = max(2, len(longest) // 4)
    overall = (longest[-1] - longest[0]) / (len(longest) - 1)
    recent = (longest[-1] - longest[-quarter]) / (quarter - 1)
    if recent < 0.3 * overall:
        return None  # levelled off
    return longest[0], longest[-1]


def _dbsize_growth(context: Context) -> tuple[int, int, list[Fact]] | None:
    sizes = [(int(str(f.value)), f) for f in context.mine("redis.info", "dbsize") if str(f.value).isdigit()]
    if len(sizes) >= 2 and sizes[-1][0] >= 1.5 * sizes[0][0]:
        return sizes[0][0], sizes[-1][0], [sizes[0][1], sizes[-1][1]]
    return None


SPEC = FindingSpec(
    FindingId.MEMORY_GROWTH_UNBOUNDED,
    analyze,
    "cause",
    32,
    checks=('container_memory_working_set_bytes{{pod=~"{service}.*",container!=""}}',),
    fixed_by=(
        RemediationId.RAISE_MEMORY_LIMIT,
        RemediationId.ROLLBACK_IMAGE,
    ),
)


_JVM_HEAP = re.compile(r"-Xmx\d|MaxRAMPercentage|HEAP_OPTS|JAVA_OPTS", re.IGNORECASE)
SLOW_OOM_HOURS = 6.0  # a run this long before an OOM kill is growth, not a working set that never fit
# With no limit to weigh the need against, a shorter run already says more about growth than about the limit.
SLOW_OOM_HOURS_LIMIT_UNKNOWN = 2.0


def slow_oom(context: Context) -> tuple[float, Fact, Fact, Fact] | None:
    """(hours it ran, the OOMKilled fact, its start, its end) when the last run ended in an OOM kill after hours."""
    if any(_JVM_HEAP.search(context.text_of(f)) for f in context.evidence.facts if context.ours(f)):
        return None  # a JVM fills its heap over hours too: its heap setting, not a leak, decides
    if _node_short_of_memory(context):
        return None  # the node ran out, not the container: its own growth is not shown
    for view in containers(context, include_sidecars=False):
        killed = recent_oom_kills(context, view)
        started, finished = view.last("container.last_started"), view.last("container.last_finished")
        if not killed or started is None or finished is None or started.at is None or finished.at is None:
            continue
        hours = (finished.at - started.at).total_seconds() / 3600
        threshold = SLOW_OOM_HOURS if service_memory_limit(context) else SLOW_OOM_HOURS_LIMIT_UNKNOWN
        if hours >= threshold:
            return hours, killed[0], started, finished
    return None


def _node_short_of_memory(context: Context) -> bool:
    pressure = any(f.value == "True" for f in context.evidence.of("node.condition", "MemoryPressure"))
    system_oom = any(
        isinstance(f.value, EventRecord) and f.value.reason in ("SystemOOM", "NodeHasInsufficientMemory")
        for f in context.evidence.of("event")
    )
    return pressure or system_oom
