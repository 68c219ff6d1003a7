"""node-memory-pressure: the node ran short of memory, not the container its limit."""

from __future__ import annotations

import re

from analyzers.base import finding
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import EventRecord

_PRESSURE = re.compile(
    r"low on resource: memory|MemoryPressure|NodeHasInsufficientMemory|EvictionThresholdMet"
)


def analyze(context: Context) -> list[Finding]:
    events = [
        f
        for f in context.mine("event")
        if isinstance(f.value, EventRecord)
        and (
            f.value.reason in ("Evicted", "EvictionThresholdMet", "NodeHasInsufficientMemory")
            or f.value.reason == "SystemOOM"
        )
        and _PRESSURE.search(f"{f.value.reason} {f.value.message}")
    ]
    conditions = [f for f in context.evidence.of("node.condition", "MemoryPressure") if f.value == "True"]
    evicted = [f for f in context.mine("pod.status") if f.value == "Evicted"]
    notes = [f for f in context.mine("text.note") if "low on resource: memory" in str(f.value)]
    if evicted and (notes or conditions):
        events += evicted[:1] + notes[:1]
    if not events and not conditions:
        return []
    detail = (
        "The node ran short of memory and the kubelet evicted or starved pods to protect itself: this is "
        "the node's problem (overcommitted requests, a noisy neighbour), not this container's limit."
    )
    return [
        finding(
            "node-memory-pressure",
            "critical",
            "Node memory pressure evicts pods",
            detail,
            0.85,
            [*events[:2], *conditions[:1]],
        )
    ]
