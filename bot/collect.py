"""Query the live sources in parallel, each under its own time-out and all under one deadline.

A slow or failing source makes the evidence partial and says which and why; it never blocks
the diagnosis or takes it down. The time-out bounds a whole source (every call it makes), and
a source still busy when its time is up is abandoned on a daemon thread: `triage check` answers
within the time-out plus `GRACE` and then exits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from analyzers.evidence import Evidence, SourceReport
from bot.collectors.base import Collector, CollectorError, Target
from bot.collectors.parallel import Outcome, run_parallel

DEFAULT_SOURCE_TIMEOUT = 5.0
GRACE = 0.3  # a source's own time-out message (naming the call it waited for) beats the generic one


@dataclass(frozen=True, slots=True)
class Skipped:
    """A source that is not configured: listed in `sources`, never queried."""

    name: str
    reason: str


def collect(
    target: Target,
    collectors: Sequence[Collector],
    skipped: Sequence[Skipped] = (),
    source_timeout: float = DEFAULT_SOURCE_TIMEOUT,
    deadline: float | None = None,
) -> Evidence:
    """Every source side by side; `deadline` (all of them together) defaults to `source_timeout`."""
    evidence = Evidence()
    evidence.sources.extend(SourceReport(s.name, s.name, "skipped", s.reason) for s in skipped)
    if not collectors:
        return evidence
    overall = source_timeout if deadline is None else deadline
    allowed = min(source_timeout, overall)
    calls = [_call(c, target, allowed) for c in collectors]

    def merge(index: int, outcome: Outcome[Evidence]) -> None:
        evidence.merge(_result(collectors[index], outcome))

    outcomes = run_parallel(calls, time.monotonic() + allowed + GRACE, on_done=merge)
    for collector, outcome in zip(collectors, outcomes, strict=True):
        if not outcome.done:
            limit = (
                f"{source_timeout:g} s time-out" if allowed == source_timeout else f"{overall:g} s deadline"
            )
            evidence.sources.append(
                SourceReport(collector.name, collector.name, "error", f"no answer within the {limit}")
            )
    return evidence


def _call(collector: Collector, target: Target, timeout: float) -> Callable[[], Evidence]:
    return lambda: collector.collect(target, timeout)


def _result(collector: Collector, outcome: Outcome[Evidence]) -> Evidence:
    error = outcome.error
    if isinstance(error, CollectorError):
        return _failed(collector.name, str(error))
    if error is not None:  # a bug in one source must not cost the others
        return _failed(collector.name, f"{type(error).__name__}: {error}")
    found = outcome.value if outcome.value is not None else Evidence()
    if not any(s.name == collector.name for s in found.sources):
        found.sources.append(SourceReport(collector.name, collector.name, "ok", f"{len(found.facts)} facts"))
    return found


def _failed(name: str, reason: str) -> Evidence:
    evidence = Evidence()
    evidence.sources.append(SourceReport(name, name, "error", reason))
    return evidence
