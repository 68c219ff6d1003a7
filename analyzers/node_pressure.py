"""node-memory-pressure: the node ran short of memory, not the container its limit."""

from __future__ import annotations

import re
from datetime import timedelta

from analyzers.base import event_is_recent, finding, is_recent, narrow
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evictions import evicted_pod
from analyzers.evidence import EventRecord, Fact
from analyzers.ids import FindingId
from analyzers.spec import FindingSpec

# What the kubelet says when memory (not disk) runs short on the node.
_MEMORY_EVICTION = re.compile(r"low on resource: \[?memory|\[MemoryPressure\]", re.I)
_MEMORY_RECLAIM = re.compile(r"Attempting to reclaim memory\b", re.I)
_NODE_SHORT = re.compile(r"NodeHasInsufficientMemory|status is now: MemoryPressure")
# The kernel's global OOM killer: the whole machine ran out, whichever process it picked. A memory
# cgroup's own OOM (`constraint=CONSTRAINT_MEMCG`, `Memory cgroup out of memory`) is the container's limit.
_GLOBAL_OOM = re.compile(
    r"oom-kill:constraint=CONSTRAINT_NONE|\bglobal_oom\b|(?<![Cc]group )\bOut of memory: Kill(?:ed)? process"
    r"|Out of memory and no killable processes"
)
_VICTIM = re.compile(r"Killed process \d+ \(([^)]+)\)|\btask=([^,\s]+)")
_KERNEL_WINDOW = timedelta(hours=6)


def analyze(context: Context) -> list[Finding]:
    evictions = _memory_events(context) + _memory_lines(context) + evicted_pod(context, _MEMORY_EVICTION)
    kernel = _global_oom(context)
    conditions = [f for f in context.evidence.of("node.condition", "MemoryPressure") if f.value == "True"]
    if not evictions and not kernel and not conditions:
        return []
    parts: list[str] = []
    if evictions:
        parts.append("the kubelet evicted pods because the node was low on memory")
    if kernel:
        victim = _victim(context, kernel)
        parts.append(
            "the kernel's global OOM killer fired (no cgroup limit was involved: the whole machine ran out"
            + (f", and it killed {victim}" if victim else "")
            + ")"
        )
    if conditions:
        parts.append("the node reports MemoryPressure")
    detail = (
        "The node ran short of memory: "
        + "; ".join(parts)
        + ". This is the node's problem (overcommitted requests, a noisy neighbour, a host without enough "
        "memory for everything on it), not this container's limit."
    )
    return [
        finding(
            FindingId.NODE_MEMORY_PRESSURE,
            "critical",
            "Node memory pressure evicts pods" if evictions or conditions else "The node ran out of memory",
            detail,
            0.85 if evictions or conditions else 0.8,
            [*evictions[:2], *kernel[:2], *conditions[:1]],
        )
    ]


def _memory_events(context: Context) -> list[Fact]:
    found: list[Fact] = []
    for fact in context.mine("event"):
        record = fact.value
        if not isinstance(record, EventRecord) or not event_is_recent(record):
            continue
        text = f"{record.reason} {record.message}"
        if (
            _MEMORY_EVICTION.search(record.message)
            or _MEMORY_RECLAIM.search(record.message)
            or _NODE_SHORT.search(text)
            or record.reason == "SystemOOM"  # the kubelet saw an OOM outside any container's cgroup
        ):
            found.append(fact)
    return found


def _memory_lines(context: Context) -> list[Fact]:
    """Kubelet messages pasted as loose lines (an event row without its header, a quoted message)."""
    return [
        narrow(f, "low on resource")
        for f in context.logs()
        if is_recent(context, f, _KERNEL_WINDOW)
        and (_MEMORY_EVICTION.search(context.text_of(f)) or _MEMORY_RECLAIM.search(context.text_of(f)))
    ]


def _global_oom(context: Context) -> list[Fact]:
    return [
        narrow(f, "constraint=" if "constraint=" in context.text_of(f) else "Out of memory")
        for f in context.logs()
        if _GLOBAL_OOM.search(context.text_of(f))
        and "CONSTRAINT_MEMCG" not in context.text_of(f)
        and is_recent(context, f, _KERNEL_WINDOW)
    ]


def _victim(context: Context, kernel: list[Fact]) -> str | None:
    for fact in kernel:
        found = _VICTIM.search(context.text_of(fact))
        if found:
            return found.group(1) or found.group(2)
    return None


SPEC = FindingSpec(
    FindingId.NODE_MEMORY_PRESSURE,
    analyze,
    "cause",
    16,
    checks=(
        "kubectl describe node $(kubectl {ns}get pod {pod} -o jsonpath='{{.spec.nodeName}}') | grep -A8 Conditions",
    ),
    fixed_by=(),
)
