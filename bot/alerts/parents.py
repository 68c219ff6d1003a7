"""The parent message of a group's thread: posted once, and found again in the channel's history
(by the metadata the bot attaches to it) when Redis lost the group's record or a post failed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from bot.alerts.messages import group_title
from bot.alerts.ports import PacingTimeout, Poster
from bot.alerts.records import PACING_WAIT_MAX, GroupRecord, GroupRecords, text
from bot.alerts.webhook import Notification
from bot.state.keys import KEYS

log = logging.getLogger("bot.alerts.groups")

METADATA_EVENT = "triage_alert_group"
HISTORY_PAGES = 10
HISTORY_CACHE_SECONDS = 5.0  # one read serves a burst of groups (a storm after a loss)


class Parents:
    def __init__(
        self,
        state: redis.Redis,
        poster: Poster,
        records: GroupRecords,
        clock: Callable[[], float],
        repeat_interval: float,
        intent_grace: float,
    ) -> None:
        self._state = state
        self._poster = poster
        self._records = records
        self._clock = clock
        self._repeat_interval = repeat_interval
        # A parent post that failed or timed out may still land in the channel within this long.
        self._intent_grace = intent_grace
        self._history: dict[str, tuple[float, float, list[dict[str, Any]]]] = {}
        self._history_lock = threading.Lock()

    def post(
        self,
        channel: str,
        notification: Notification,
        record: GroupRecord,
        title: str,
        blocks: list[dict[str, Any]],
    ) -> str:
        """Posts the group's parent once: the intent is recorded first, the post is not retried
        blindly (a timed-out post may have landed), and after a failure the channel is searched
        for it before anything is posted again."""
        intent_key = KEYS.intent(notification.group_id)
        intended = self._clock()
        self._state.set(intent_key, f"{intended:.3f}", ex=self._records.keep_seconds)
        try:
            ts = self._poster.post(
                channel,
                title,
                blocks,
                metadata=_metadata(notification, record.first_fired),
                max_wait=PACING_WAIT_MAX,
                once=True,
            )
        except PacingTimeout:
            self._state.delete(intent_key)  # nothing was sent
            raise
        except Exception:
            found = self.find(channel, notification, since=intended)
            if found is None or found.ts is None:
                raise  # the notification stays pending; its retry looks in the channel again
            log.info("group %s: the post failed, but its parent reached %s", notification.group_id, channel)
            ts = found.ts
        with self._history_lock:
            self._history.pop(channel, None)  # what was read of the channel lacks this message
        return ts

    def posted(self, group_id: str) -> None:
        """The group's record holds its parent now: the intent is done."""
        self._state.delete(KEYS.intent(group_id))

    def find_intended(self, channel: str, notification: Notification) -> GroupRecord | None:
        """The group's parent, when Redis lost its record or a post of it failed (its intent is
        recorded): searched in the channel whatever the age of the bot's state."""
        raw = self._state.get(KEYS.intent(notification.group_id))
        if raw is None:
            return self.find(channel, notification)
        intended = float(text(raw))
        found = self.find(channel, notification, since=intended)
        if found is None and self._clock() - intended < self._intent_grace:
            raise TimeoutError(
                f"group {notification.group_id}: a post of its parent {self._clock() - intended:.0f}s ago "
                f"may still land in {channel}; will look again"
            )
        return found

    def find(
        self, channel: str, notification: Notification, since: float | None = None
    ) -> GroupRecord | None:
        """The group's parent message from the channel's history, for when Redis lost its record;
        with `since` (a post was attempted then), read afresh from then on."""
        if since is None and not self._records.may_be_incomplete():
            return None
        for message in self._recent_history(channel, since):
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            ours = (
                payload.get("group") == notification.group_id
                or payload.get("labels") == notification.labels_id
            )
            if metadata.get("event_type") == METADATA_EVENT and ours:
                log.info(
                    "group %s found again in %s's history (its Redis record was lost)",
                    notification.group_id,
                    channel,
                )
                return GroupRecord(
                    channel=channel,
                    title=group_title(notification),
                    first_fired=float(payload.get("first_fired") or message["ts"]),
                    status=str(payload.get("status") or "firing"),
                    alerts={a.key: "firing" for a in notification.firing},
                    ts=str(message["ts"]),
                )
        return None

    def _recent_history(self, channel: str, since: float | None = None) -> list[dict[str, Any]]:
        """Top-level messages of the last two repeat intervals, read at most every few seconds per
        channel; with `since`, those from a minute before it on, read now."""
        with self._history_lock:
            cached = self._history.get(channel)
        if since is None and cached and time.monotonic() - cached[0] < HISTORY_CACHE_SECONDS:
            # Only a read made after the bot's Redis last lost its state (the marker's time) can
            # hold every parent posted before the loss.
            lost_at = self._state.get(KEYS.marker())
            if lost_at is not None and cached[1] >= float(text(lost_at)):
                return cached[2]
        read_at = time.time()
        oldest = self._clock() - 2 * self._repeat_interval - 600 if since is None else since - 60
        messages = self._poster.history(channel, oldest, HISTORY_PAGES)
        if since is None:
            with self._history_lock:
                self._history[channel] = (time.monotonic(), read_at, messages)
        return messages


def _metadata(notification: Notification, first_fired: float) -> dict[str, Any]:
    payload = {"group": notification.group_id, "labels": notification.labels_id, "first_fired": first_fired}
    return {"event_type": METADATA_EVENT, "event_payload": payload}
