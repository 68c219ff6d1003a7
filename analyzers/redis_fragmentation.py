"""redis-memory-fragmentation: resident memory far above the data Redis holds."""

from __future__ import annotations

from analyzers.base import finding
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.ids import FindingId
from analyzers.quantity import MI
from analyzers.redis_view import redis_view
from analyzers.spec import FindingSpec

HIGH_RATIO = 1.5
MEANINGFUL_SIZE = 64 * MI  # below this the ratio is dominated by the allocator's fixed cost


def analyze(context: Context) -> list[Finding]:
    redis = redis_view(context)
    ratio = redis.info.get("mem_fragmentation_ratio")
    used = redis.number("used_memory")
    if ratio is None or ratio.number is None or used is None:
        return []
    if ratio.number < HIGH_RATIO or used < MEANINGFUL_SIZE:
        return []
    peak, rss = redis.number("used_memory_peak"), redis.number("used_memory_rss")
    if peak and rss and peak >= 0.8 * rss:
        return []  # the resident memory is what an earlier peak of data took: the allocator keeps it, no waste
    detail = (
        f"Resident memory is {ratio.number:.2f}x the data Redis holds: the container pays for memory that holds "
        "no data. activedefrag or a restart returns it."
    )
    return [
        finding(
            FindingId.REDIS_MEMORY_FRAGMENTATION,
            "warning",
            f"Fragmentation ratio {ratio.number:.2f}",
            detail,
            0.8,
            [ratio.fact, redis.info["used_memory"].fact],
        )
    ]


SPEC = FindingSpec(
    FindingId.REDIS_MEMORY_FRAGMENTATION,
    analyze,
    "cause",
    52,
    checks=("{cli} MEMORY DOCTOR",),
    fixed_by=(),
)
