"""The bot's one lock: redis-py's `Lock` (a token under a key with a TTL, released only by its owner)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.exceptions import LockNotOwnedError

log = logging.getLogger(__name__)


class Lock:
    """`held` in exactly one process at a time; expires after `seconds` if its holder dies."""

    def __init__(self, client: redis.Redis, key: str, seconds: float) -> None:
        self.key = key
        self._lock = client.lock(key, timeout=seconds)
        self.held = False

    def acquire(self, wait: float | None = 0.0) -> bool:
        """Takes it: at once or not at all (`wait=0`), within `wait` seconds, or waiting (`None`)."""
        if wait == 0:
            self.held = bool(self._lock.acquire(blocking=False))
        else:
            self.held = bool(self._lock.acquire(blocking=True, blocking_timeout=wait))
        return self.held

    def release(self) -> None:
        """Lets it go; one that expired meanwhile (and may be another's now) is left alone."""
        if not self.held:
            return
        self.held = False
        try:
            self._lock.release()
        except LockNotOwnedError:  # it expired (Redis restarted empty, or a very slow handling)
            log.warning("the lock %s expired while it was held", self.key)


@contextmanager
def holding(client: redis.Redis, key: str, seconds: float, wait: float | None = 0.0) -> Iterator[Lock]:
    """`with holding(...) as lock: if lock.held: ...`; released on exit."""
    lock = Lock(client, key, seconds)
    lock.acquire(wait)
    try:
        yield lock
    finally:
        lock.release()
