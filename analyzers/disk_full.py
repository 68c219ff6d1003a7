"""disk-full: a volume or the container filesystem is out of space."""

from __future__ import annotations

from analyzers.base import finding, narrow
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import EventRecord

NO_SPACE = "No space left on device"


def analyze(context: Context) -> list[Finding]:
    hits = [narrow(f, NO_SPACE) for f in context.logs() if NO_SPACE.lower() in context.text_of(f).lower()]
    hits += [
        f
        for f in context.mine("event")
        if isinstance(f.value, EventRecord)
        and ("ephemeral-storage" in f.value.message or NO_SPACE in f.value.message)
    ]
    if not hits:
        return []
    detail = (
        "Writes fail with `No space left on device`: the volume or the container's writable layer is full."
    )
    return [finding("disk-full", "critical", "Out of disk space", detail, 0.9, hits[:3])]
