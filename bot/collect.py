"""Query the live sources in parallel, each under its own time-out and all under one deadline.

A slow or failing source makes the evidence partial and says which and why; it never blocks
the diagnosis or takes it down.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from analyzers.evidence import Evidence, SourceReport
from bot.collectors.base import Collector, CollectorError, Target

DEFAULT_SOURCE_TIMEOUT = 5.0
DEFAULT_DEADLINE = 15.0


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
    deadline: float = DEFAULT_DEADLINE,
) -> Evidence:
    evidence = Evidence()
    evidence.sources.extend(SourceReport(s.name, s.name, "skipped", s.reason) for s in skipped)
    if not collectors:
        return evidence
    pool = ThreadPoolExecutor(max_workers=len(collectors), thread_name_prefix="collect")
    started = time.monotonic()
    futures: dict[Future[Evidence], Collector] = {
        pool.submit(c.collect, target, source_timeout): c for c in collectors
    }
    pending = set(futures)
    try:
        while pending:
            budget = deadline - (time.monotonic() - started)
            if budget <= 0:
                break
            done, pending = wait(pending, timeout=budget, return_when=FIRST_COMPLETED)
            for future in done:
                evidence.merge(_result(futures[future], future))
    finally:
        for future in pending:
            name = futures[future].name
            evidence.sources.append(
                SourceReport(name, name, "error", f"no answer within the {deadline:g} s deadline")
            )
        pool.shutdown(wait=False, cancel_futures=True)
    return evidence


def _result(collector: Collector, future: Future[Evidence]) -> Evidence:
    try:
        found = future.result()
    except CollectorError as error:
        return _failed(collector.name, str(error))
    except Exception as error:  # a bug in one source must not cost the others
        return _failed(collector.name, f"{type(error).__name__}: {error}")
    if not any(s.name == collector.name for s in found.sources):
        found.sources.append(SourceReport(collector.name, collector.name, "ok", f"{len(found.facts)} facts"))
    return found


def _failed(name: str, reason: str) -> Evidence:
    evidence = Evidence()
    evidence.sources.append(SourceReport(name, name, "error", reason))
    return evidence
