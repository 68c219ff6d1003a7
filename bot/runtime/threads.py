"""Every thread the bot runs, with an owner: started here, stopped here, bounded.

`Threads` keeps the bot's long-lived loops (alert workers, digests, diagnoses, reconciliation);
`pool` makes a bounded worker pool; `SerialQueues` gives each key (a Slack channel) one worker
that runs its jobs in order, and retires the worker once the key has been idle a while, so a bot
that has seen a thousand channels does not keep a thousand threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

IDLE_SECONDS = 300.0  # a channel's worker is retired after this long without work


class Threads:
    """The bot's long-lived loops: `spawn` starts one, `join` waits for them after the stop is set."""

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []

    def spawn(self, name: str, target: Callable[[], None]) -> threading.Thread:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    @property
    def alive(self) -> list[str]:
        return [thread.name for thread in self._threads if thread.is_alive()]


def pool(name: str, workers: int) -> ThreadPoolExecutor:
    """A bounded pool of `workers` threads named `name-N`."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)


@dataclass
class _Queue:
    executor: ThreadPoolExecutor
    running: int  # jobs submitted and not finished
    last_used: float


class SerialQueues:
    """One worker per key, running that key's jobs in the order they came; idle workers retired."""

    def __init__(
        self, name: str, idle_seconds: float = IDLE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._name = name
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._queues: dict[str, _Queue] = {}
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, key: str, job: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self._name} queues are shut down")
            self._retire_idle()
            queue = self._queues.get(key)
            if queue is None:
                executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self._name}-{key}")
                queue = self._queues[key] = _Queue(executor, 0, self._clock())
            queue.running += 1
            queue.last_used = self._clock()
            future = queue.executor.submit(job, *args, **kwargs)
        future.add_done_callback(lambda _: self._done(key))
        return future

    def shutdown(self) -> None:
        """Lets every queued job finish, then stops the workers."""
        with self._lock:
            self._closed = True
            queues = list(self._queues.values())
            self._queues.clear()
        for queue in queues:
            queue.executor.shutdown(wait=True, cancel_futures=False)

    @property
    def keys(self) -> list[str]:
        """The keys that have a worker now."""
        with self._lock:
            return list(self._queues)

    def _done(self, key: str) -> None:
        with self._lock:
            queue = self._queues.get(key)
            if queue is not None:
                queue.running -= 1
                queue.last_used = self._clock()

    def _retire_idle(self) -> None:
        now = self._clock()
        idle = [
            key
            for key, queue in self._queues.items()
            if queue.running == 0 and now - queue.last_used >= self._idle_seconds
        ]
        for key in idle:
            self._queues.pop(key).executor.shutdown(wait=False)
