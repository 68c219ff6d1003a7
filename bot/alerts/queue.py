"""Alertmanager notifications, kept in a Redis stream from the moment they are accepted until handled.

The webhook only validates and appends (so Alertmanager gets its answer at once); workers in every
replica read the stream as one consumer group. A notification is acknowledged only once handled:
if Slack is down or a replica dies, it stays pending and is claimed again later. One that keeps
failing is moved to a dead-letter stream and logged, never dropped without a trace.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from bot.alerts.webhook import Notification, WebhookError, parse_notification
from bot.state.keys import KEYS

log = logging.getLogger(__name__)

STREAM = KEYS.alerts()
DEAD_LETTERS = KEYS.alerts_dead()
GROUP = "triage"
STREAM_MAX = 100_000
RETRY_AFTER_MS = 30_000  # a pending notification is claimed again after this long (the group lock
# serialises a claimed notification behind one still being handled; the stream id orders them)
MAX_DELIVERIES = 8
# A notification that keeps failing is retried (Slack or Redis may be down for a while) until it is
# both this old and delivered MAX_DELIVERIES times; by then Alertmanager has re-sent its group.
GIVE_UP_AFTER_MS = 4 * 3600 * 1000


class AlertQueue:
    def __init__(
        self,
        state: redis.Redis,
        consumer: str | None = None,
        give_up_after_ms: int = GIVE_UP_AFTER_MS,
        retry_after_ms: int = RETRY_AFTER_MS,
        on_recreated: Callable[[], object] | None = None,
    ) -> None:
        self._state = state
        self._give_up_after_ms = give_up_after_ms
        self._retry_after_ms = retry_after_ms
        self._on_recreated = on_recreated
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident()}"
        # Redis may be down at start: the group is made by the first `work` that reaches it.
        with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
            self._ensure_group()

    def _ensure_group(self) -> bool:
        """Makes the consumer group (and the stream); True when it had to (the stream was new or lost)."""
        try:
            self._state.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
            return False
        return True

    def append(self, body: bytes) -> str:
        """Keeps a validated notification; raises redis errors (the webhook then answers 503)."""
        entry = self._state.xadd(STREAM, {"body": body}, maxlen=STREAM_MAX, approximate=True)
        return entry.decode() if isinstance(entry, bytes) else str(entry)

    def work(self, handle: Callable[[Notification, str], object], block_ms: int = 1000) -> int:
        """Handles what is waiting (claimed-back entries first); returns how many were handled."""
        try:
            entries = self._claim_stale() or self._read_new(block_ms)
        except redis.ResponseError as error:
            if "NOGROUP" not in str(error) and "UNBLOCKED" not in str(error):
                raise
            if self._ensure_group() and self._on_recreated is not None:
                self._on_recreated()  # Redis lost its data (restart without persistence): reconcile
            return 0
        handled = 0
        for entry_id, fields in entries:
            if self._handle_one(entry_id, fields, handle):
                handled += 1
        return handled

    def _read_new(self, block_ms: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
        answer: Any = self._state.xreadgroup(GROUP, self.consumer, {STREAM: ">"}, count=10, block=block_ms)
        return [entry for _, entries in answer or [] for entry in entries]

    def _claim_stale(self) -> list[tuple[bytes, dict[bytes, bytes]]]:
        answer: Any = self._state.xautoclaim(
            STREAM, GROUP, self.consumer, self._retry_after_ms, "0-0", count=10
        )
        return [entry for entry in answer[1] if entry and entry[1]]

    def _handle_one(
        self, entry_id: bytes, fields: dict[bytes, bytes], handle: Callable[[Notification, str], object]
    ) -> bool:
        body = fields.get(b"body", b"")
        try:
            notification = parse_notification(body)
        except WebhookError as error:  # validated at the door, so only a changed parser gets here
            self._bury(entry_id, body, str(error))
            return False
        try:
            handle(notification, entry_id.decode())
        except Exception as error:
            deliveries = self._deliveries(entry_id)
            age_ms = int(time.time() * 1000) - int(entry_id.decode().split("-")[0])
            log.exception(
                "alert group %s failed (delivery %d, %ds old); will retry",
                notification.group_key,
                deliveries,
                age_ms // 1000,
            )
            if deliveries >= MAX_DELIVERIES and age_ms >= self._give_up_after_ms:
                self._bury(entry_id, body, f"{type(error).__name__}: {error}")
            return False
        self._state.xack(STREAM, GROUP, entry_id)
        self._state.xdel(STREAM, entry_id)
        return True

    def _deliveries(self, entry_id: bytes) -> int:
        pending = self._state.xpending_range(STREAM, GROUP, min=entry_id, max=entry_id, count=1)
        return int(pending[0]["times_delivered"]) if pending else 1

    def _bury(self, entry_id: bytes, body: bytes, reason: str) -> None:
        log.error("alert notification %s moved to %s: %s", entry_id.decode(), DEAD_LETTERS, reason)
        self._state.xadd(DEAD_LETTERS, {"body": body, "reason": reason}, maxlen=STREAM_MAX, approximate=True)
        self._state.xack(STREAM, GROUP, entry_id)
        self._state.xdel(STREAM, entry_id)

    def dead_letters(self) -> int:
        return int(self._state.xlen(DEAD_LETTERS))

    def waiting(self) -> int:
        """Notifications accepted and not handled yet (new and pending)."""
        return int(self._state.xlen(STREAM))
