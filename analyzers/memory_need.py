"""How much memory a container really needs: data, fragmentation, fork copy-on-write, runtime caps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from analyzers.context import Context
from analyzers.evidence import Fact
from analyzers.quantity import GI, MI, round_up
from analyzers.redis_view import RedisView

_COW_LOG = re.compile(
    r"(\d+) MB of memory used by copy-on-write|Fork CoW for \w+: current \d+ MB, peak (\d+) MB"
)
_NODE_HEAP = re.compile(r"--max-old-space-size=(\d+)")
_WORKING_SET = ("container_memory_working_set_bytes", "container_memory_rss")


@dataclass
class MemoryNeed:
    """The memory a container needs and the facts each part comes from."""

    data: float = 0.0
    fragmentation: float = 1.0
    fork_copy: float = 0.0
    runtime_cap: float = 0.0
    runtime_heap: float = 0.0  # the heap a runtime flag allows (bytes), which runtime_cap adds room to
    observed_peak: float = 0.0
    forks: bool = False
    facts: list[Fact] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def bytes(self) -> float:
        return max(self.data * self.fragmentation + self.fork_copy, self.observed_peak, self.runtime_cap)

    def suggested_limit(self, current: float, growing: bool) -> float:
        """A limit with room for buffers and clients; at least double when memory had no bound."""
        target = self.bytes * 1.25
        if growing:
            target = max(target, 2 * current)
        target = max(target, current * 1.25)
        return round_up(target, 64 * MI if target <= GI else 256 * MI)


def memory_need(context: Context, redis: RedisView) -> MemoryNeed:
    need = MemoryNeed()
    if redis.present:
        _redis_need(context, redis, need)
    for fact, series in context.series(*_WORKING_SET):
        whole_pod = series.label("container") in ("", "POD")  # the pod's cgroup adds up its sidecars
        if not whole_pod and not context.is_sidecar(fact.subject) and series.peak > need.observed_peak:
            need.observed_peak = series.peak
            need.facts.append(fact)
    for fact in context.main("container.env"):
        heap = _NODE_HEAP.search(str(fact.value))
        if heap:
            need.runtime_heap = float(heap.group(1)) * MI
            need.runtime_cap = need.runtime_heap * 1.15
            need.notes.append(f"the Node.js heap may grow to {heap.group(1)} MiB")
            need.facts.append(fact)
    return need


def _redis_need(context: Context, redis: RedisView, need: MemoryNeed) -> None:
    used = [
        r for r in (redis.peaks.get("used_memory_peak"), redis.peaks.get("used_memory")) if r and r.number
    ]
    if used:
        best = max(used, key=lambda r: r.number or 0)
        need.data = best.number or 0.0
        need.facts.append(best.fact)
    maxmemory = redis.effective("maxmemory")
    if maxmemory and maxmemory.number and maxmemory.number > need.data:
        need.data = maxmemory.number
        need.facts.append(maxmemory.fact)
    ratio = redis.number("mem_fragmentation_ratio")
    if ratio and 1.0 < ratio < 3.0:
        need.fragmentation = ratio
    need.forks = forks_in_background(context, redis)
    copies = [
        (float(m.group(1) or m.group(2)) * MI, f)
        for f in context.logs()
        if (m := _COW_LOG.search(context.text_of(f)))
    ]
    cow_info = redis.number("rdb_last_cow_size") or 0.0
    if copies:
        peak, fact = max(copies, key=lambda c: c[0])
        need.fork_copy = max(peak, cow_info)
        need.facts.append(fact)
        need.notes.append(f"a background save copies up to {peak / MI:.0f} MiB on write")
    elif need.forks:
        need.fork_copy = max(cow_info, 0.5 * need.data)
        need.notes.append("background saves fork the process and need room for copy-on-write")


def forks_in_background(context: Context, redis: RedisView) -> bool:
    """Whether Redis forks for RDB saves or AOF rewrites (configured, or seen in the logs)."""
    save = redis.effective("save")
    appendonly = redis.effective("appendonly")
    if save and save.value.strip("\"' ") not in ("",):
        return True
    if appendonly and appendonly.value in ("yes", "1"):
        return True
    return any(
        re.search(
            r"Background saving started|Can't save in background|Background append only", context.text_of(f)
        )
        for f in context.logs()
    )
