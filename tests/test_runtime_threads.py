"""bot/runtime/threads.py: channel workers run in order, are retired when idle, and stop cleanly."""

from __future__ import annotations

import threading
import time

import pytest

from bot.runtime.threads import SerialQueues, Threads


def _nothing() -> None:
    pass


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_one_keys_jobs_run_in_order_on_one_thread() -> None:
    queues = SerialQueues("post")
    seen: list[tuple[int, str]] = []

    def record(n: int) -> None:
        seen.append((n, threading.current_thread().name))

    futures = [queues.submit("C1", record, n) for n in range(20)]
    for future in futures:
        future.result(timeout=5)
    queues.shutdown()
    assert [n for n, _ in seen] == list(range(20))
    assert len({name for _, name in seen}) == 1 and seen[0][1].startswith("post-C1")


def test_idle_workers_are_retired_and_busy_ones_kept() -> None:
    clock = _Clock()
    queues = SerialQueues("post", idle_seconds=60, clock=clock)
    queues.submit("C-idle", _nothing).result(timeout=5)
    release = threading.Event()
    busy = queues.submit("C-busy", release.wait, 5)
    clock.now = 61
    queues.submit("C-new", _nothing).result(timeout=5)
    assert sorted(queues.keys) == ["C-busy", "C-new"]
    release.set()
    busy.result(timeout=5)
    clock.now = 200
    queues.submit("C-last", _nothing).result(timeout=5)
    assert queues.keys == ["C-last"]
    queues.shutdown()


def test_shutdown_finishes_queued_jobs_and_refuses_new_ones() -> None:
    queues = SerialQueues("post")
    done: list[int] = []

    def slowly(n: int) -> None:
        time.sleep(0.01)
        done.append(n)

    for n in range(3):
        queues.submit("C1", slowly, n)
    queues.shutdown()
    assert done == [0, 1, 2]
    with pytest.raises(RuntimeError):
        queues.submit("C1", _nothing)


def test_threads_are_named_and_joined() -> None:
    stop = threading.Event()
    threads = Threads()

    def loop() -> None:
        stop.wait()

    threads.spawn("loop", loop)
    assert threads.alive == ["loop"]
    stop.set()
    threads.join(timeout=5)
    assert threads.alive == []
