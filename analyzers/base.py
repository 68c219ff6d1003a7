"""The one shape every analyzer has, and helpers to build findings."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from analyzers.context import Context
from analyzers.diagnosis import Finding, Severity
from analyzers.evidence import EventRecord, Fact, Source
from analyzers.quantity import duration_seconds

Analyzer = Callable[[Context], list[Finding]]


WRITTEN = ("notes", "prose")  # source kinds of what a person wrote, not a program
AS_REPORTED_CONFIDENCE = 0.5


def finding(
    finding_id: str,
    severity: Severity,
    title: str,
    detail: str,
    confidence: float,
    facts: Iterable[Fact],
    max_sources: int = 4,
    **data: Any,
) -> Finding:
    evidence = cite(facts, max_sources)
    if evidence and all(source.kind in WRITTEN for source in evidence):
        # Only a person's sentences say so: weak, and said to be weak wherever the finding is shown.
        confidence = min(confidence, AS_REPORTED_CONFIDENCE)
        detail += " This rests only on what was written around the paste, not on output of the cluster or the service."
        data["as_reported"] = True
    return Finding(finding_id, severity, title, detail, min(1.0, max(0.0, confidence)), evidence, data)


def cite(facts: Iterable[Fact], limit: int = 4) -> tuple[Source, ...]:
    """Distinct sources of facts, in order; long log lines narrowed to what matters."""
    seen: dict[tuple[str, str], Source] = {}
    for fact in facts:
        source = fact.source
        if not source.excerpt.strip():
            continue
        key = (source.ref, source.excerpt)
        if key not in seen:
            seen[key] = source
        if len(seen) >= limit:
            break
    return tuple(seen.values())


def narrow(fact: Fact, needle: str, width: int = 160) -> Fact:
    """The same fact citing only the part of its excerpt around `needle`."""
    excerpt = fact.source.excerpt
    if len(excerpt) <= width:
        return fact
    at = excerpt.lower().find(needle.lower())
    if at < 0:
        return fact
    begin = max(0, at - width // 3)
    end = min(len(excerpt), begin + width)
    source = Source(fact.source.kind, fact.source.ref, excerpt[begin:end].strip(), fact.source.line)
    return Fact(fact.kind, fact.subject, fact.value, source, fact.key, fact.at)


def is_recent(context: Context, fact: Fact, window: timedelta = timedelta(hours=1)) -> bool:
    """Whether a fact is from the last `window` of the evidence (undated facts count as recent)."""
    newest = context.newest
    return fact.at is None or newest is None or fact.at >= newest - window


def event_is_recent(record: EventRecord, window: timedelta = timedelta(hours=6)) -> bool:
    """An event last seen within `window` (its age as kubectl prints it: `4m`, `3d`, `2m (x52 over 14m)`)."""
    age = record.age.split(" ")[0] if record.age else ""
    seconds = duration_seconds(age)
    return not age or seconds == 0 or seconds <= window.total_seconds()
