"""memory-limit-too-low: what the process needs does not fit under its memory limit."""

from __future__ import annotations

from analyzers.base import finding
from analyzers.containers import (
    ContainerView,
    containers,
    memory_limit,
    metric_oom_kills,
    recent_oom_kills,
    service_memory_limit,
)
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import Fact
from analyzers.ids import FindingId, RemediationId
from analyzers.jvm_heap import heap_setting
from analyzers.memory_growth import growing_series, slow_oom
from analyzers.memory_need import memory_need
from analyzers.quantity import GI, MI, format_mi, human_bytes, round_up
from analyzers.redis_view import RedisView, redis_view
from analyzers.spec import FindingSpec


def analyze(context: Context) -> list[Finding]:
    views = containers(context, include_sidecars=False)
    killed = [f for v in views for f in recent_oom_kills(context, v)] + metric_oom_kills(context)
    if not killed:
        return []
    found = _killed_container_limit(context, views) or service_memory_limit(context)
    if found is None:
        return _limit_unknown(context, views, killed)
    limit, limit_fact, view = found
    setting = heap_setting(context)
    if setting and ((setting[0] and setting[0] + 256 * 2**20 > limit) or (setting[1] or 0) >= 85):
        return []  # the JVM's own heap setting is the cause: jvm-heap-exceeds-limit
    redis = redis_view(context)
    if not redis.present and growing_series(context):
        return []  # it grows without a bound: memory-growth-unbounded, not the limit, is the cause
    declared = redis.declared.get("maxmemory")
    running = redis.setting("maxmemory")
    if (
        declared
        and declared.number
        and running is not None
        and not running.number
        and declared.number < 0.9 * limit
    ):
        return []  # the declared maxmemory would fit: the config not reaching Redis is the cause
    need = memory_need(context, redis)
    share = need.bytes / limit if limit else 0.0
    if need.bytes and share < 0.7:
        return []  # killed far below the limit by what we can see: not enough to blame the limit
    # Without a bound of its own the process grows to whatever limit it gets: leave real room.
    # With nothing that measures the need, a 25% step is a guess that will be killed again: double it.
    growing = _unbounded(redis) or not need.bytes or (not redis.present and need.observed_peak >= 0.9 * limit)
    suggested = need.suggested_limit(limit, growing)
    parts = []
    if need.data:
        parts.append(f"{human_bytes(need.data)} of data")
    if need.fragmentation > 1.0:
        parts.append(f"fragmentation x{need.fragmentation:.2f}")
    parts += need.notes
    if need.observed_peak:
        parts.append(f"a working set that reached {human_bytes(need.observed_peak)}")
    if need.bytes:
        needs = f"while it needs about {human_bytes(need.bytes)}" + (
            f" ({'; '.join(parts)})" if parts else ""
        )
    else:
        needs = "and nothing in the evidence shows a lower need"
    detail = (
        f"{view.label} is OOM-killed at a {human_bytes(limit)} limit {needs}. "
        f"A limit of {format_mi(suggested)} leaves room for buffers and client connections."
    )
    cited = [killed[0], limit_fact, *need.facts]
    confidence = 0.9 if need.bytes else 0.6
    return [
        finding(
            FindingId.MEMORY_LIMIT_TOO_LOW,
            "critical",
            f"Memory limit {format_mi(limit)} is too low",
            detail,
            confidence,
            cited,
            max_sources=5,
            container=view.container,
            limit_bytes=limit,
            need=need.bytes,
            suggested=suggested,
            forks=need.forks,
            fragmentation=need.fragmentation,
            runtime_heap=need.runtime_heap or None,
        )
    ]


def _unbounded(redis: RedisView) -> bool:
    maxmemory = redis.effective("maxmemory")
    return redis.present and (maxmemory is None or not maxmemory.number)


def _killed_container_limit(
    context: Context, views: list[ContainerView]
) -> tuple[float, Fact, ContainerView] | None:
    """The limit of the container that was OOM-killed (a pod may hold several app containers)."""
    for view in views:
        if recent_oom_kills(context, view):
            found = memory_limit(context, view)
            if found:
                return found[0], found[1], view
    return None


def _limit_unknown(context: Context, views: list[ContainerView], killed: list[Fact]) -> list[Finding]:
    """OOM-killed, and the limit is not in the evidence: propose a raise from what is known, say what is not."""
    setting = heap_setting(context)
    if setting or growing_series(context) or slow_oom(context):
        return []  # the JVM's heap flags or a climb over hours explain it better
    view = next((v for v in views if recent_oom_kills(context, v)), views[0] if views else None)
    requests = [
        (float(f.value), f)
        for f in context.main("container.memory_request")
        if isinstance(f.value, float | int)
    ]
    request = next(((amount, f) for amount, f in requests if amount > 0), None)
    label = view.label if view else "The container"
    detail = f"{label} is OOM-killed at its memory limit, and the limit itself is not in the evidence"
    cited = [killed[0]]
    suggested = None
    if request is not None:
        amount, request_fact = request
        # The limit is at least the request; with nothing that measures the need, double it.
        suggested = round_up(2 * amount, 256 * MI if amount >= GI else 64 * MI)
        detail += f"; its memory request is {human_bytes(amount)}, so a limit of {format_mi(suggested)} is a first step"
        cited.append(request_fact)
    else:
        detail += "; read it (kubectl get pod -o jsonpath='{..resources.limits.memory}') and double it"
    detail += ". Nothing else in the evidence (a heap setting, node pressure, a leak) explains the kill."
    return [
        finding(
            FindingId.MEMORY_LIMIT_TOO_LOW,
            "critical",
            "Memory limit too low (the limit is not in the evidence)",
            detail,
            0.55,
            cited,
            container=view.container if view else None,
            limit_bytes=None,
            need=0.0,
            suggested=suggested,
        )
    ]


SPEC = FindingSpec(
    FindingId.MEMORY_LIMIT_TOO_LOW,
    analyze,
    "cause",
    20,
    checks=("kubectl {ns}top pod {pod} --containers",),
    fixed_by=(RemediationId.RAISE_MEMORY_LIMIT,),
)
