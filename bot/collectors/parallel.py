"""Calls side by side on daemon threads, abandoned at a deadline.

`concurrent.futures` threads are joined when the interpreter exits, so a call stuck on a socket
that never answers would hold `triage check` open long after its answer was printed. Daemon
threads are not waited for: once the deadline passes, the caller goes on and the process exits.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """What one call did: its value, or the exception it raised; `done` False when it ran out of time."""

    done: bool
    value: T | None = None
    error: BaseException | None = None


def run_parallel(
    calls: Sequence[Callable[[], T]],
    deadline: float,
    workers: int | None = None,
    on_done: Callable[[int, Outcome[T]], None] | None = None,
) -> list[Outcome[T]]:
    """Run `calls` on at most `workers` daemon threads; return at `deadline` (a `time.monotonic()` value).

    A call not started by then never starts; one still running is abandoned (its outcome `done=False`).
    `on_done(index, outcome)` is called on the caller's thread as each call finishes.
    """
    outcomes: list[Outcome[T]] = [Outcome(done=False) for _ in calls]
    if not calls:
        return outcomes
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(calls)):
        todo.put(index)
    finished: queue.SimpleQueue[tuple[int, Outcome[T]]] = queue.SimpleQueue()

    def work() -> None:
        while time.monotonic() < deadline:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            try:
                finished.put((index, Outcome(done=True, value=calls[index]())))
            except BaseException as error:  # handed to the caller, who decides
                finished.put((index, Outcome(done=True, error=error)))

    for number in range(min(workers or len(calls), len(calls))):
        threading.Thread(target=work, name=f"parallel-{number}", daemon=True).start()
    remaining = len(calls)
    while remaining:
        budget = deadline - time.monotonic()
        if budget <= 0:
            break
        try:
            index, outcome = finished.get(timeout=budget)
        except queue.Empty:
            break
        outcomes[index] = outcome
        remaining -= 1
        if on_done is not None:
            on_done(index, outcome)
    return outcomes
