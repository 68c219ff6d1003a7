"""Alert storms: many new groups in a channel within a short window go into one digest message,
updated at most about once a second, and only the most severe get a thread of their own."""

from __future__ import annotations

import json
import logging

import redis

from bot.alerts.messages import digest_blocks, digest_line
from bot.alerts.ports import Poster
from bot.alerts.records import LOCK_SECONDS, PACING_WAIT_MAX, GroupRecords, text
from bot.alerts.webhook import Notification
from bot.state.keys import KEYS
from bot.state.locks import holding

log = logging.getLogger("bot.alerts.groups")

DIGEST_QUIET_SECONDS = 600  # a storm's digest takes new groups until this long without one
DIGEST_GROUPS_MAX = 300  # then a new digest message is started


class Storms:
    def __init__(
        self,
        state: redis.Redis,
        poster: Poster,
        records: GroupRecords,
        storm_groups: int,
        storm_window: float,
        storm_threads: int,
    ) -> None:
        self._state = state
        self._poster = poster
        self._records = records
        self._storm_groups = storm_groups
        self._storm_window = storm_window
        self._storm_threads = storm_threads

    def digest(self, channel: str, notification: Notification, now: float) -> str | None:
        """The digest this new group goes into, or None when the channel is calm."""
        recent = KEYS.storm(channel)
        pipe = self._state.pipeline()
        pipe.zadd(recent, {notification.group_id: now})
        pipe.zremrangebyscore(recent, 0, now - self._storm_window)
        pipe.zcard(recent)
        pipe.expire(recent, int(self._storm_window) + 60)
        count = int(pipe.execute()[2])
        active = self._state.get(KEYS.digest(channel))
        if active is not None:
            return text(active)
        if count <= self._storm_groups:
            return None
        with holding(self._state, KEYS.digest_lock(channel), LOCK_SECONDS, wait=None):
            active = self._state.get(KEYS.digest(channel))
            if active is not None:
                return text(active)
            title, blocks = digest_blocks([], 0, 0)
            ts = self._poster.post(channel, title, blocks, max_wait=PACING_WAIT_MAX)
            self._state.set(KEYS.digest(channel), ts, ex=DIGEST_QUIET_SECONDS)
            return ts

    def takes_thread(self, channel: str, digest_ts: str, notification: Notification) -> bool:
        """Whether a group of a storm still gets a thread of its own: critical or high, while slots last."""
        if notification.severity_rank > 1:
            return False
        slots = KEYS.digest_threads(channel, digest_ts)
        taken = int(self._state.hincrby(slots, "taken", 1))
        self._state.expire(slots, self._records.keep_seconds)
        return taken <= self._storm_threads

    def add(self, channel: str, digest_ts: str, notification: Notification, threaded: bool) -> None:
        """Puts the group's line in the digest (or updates it); the digest is redrawn by `flush`."""
        entries = KEYS.digest_entries(channel, digest_ts)
        line = digest_line(notification, notification.status == "resolved", threaded)
        pipe = self._state.pipeline()
        pipe.hset(
            entries,
            notification.group_id,
            json.dumps(
                {
                    "line": line,
                    "resolved": notification.status == "resolved",
                    "rank": notification.severity_rank,
                }
            ),
        )
        pipe.expire(entries, 7 * 86400)
        pipe.hlen(entries)
        pipe.sadd(KEYS.digests_dirty(), f"{channel}|{digest_ts}")
        pipe.expire(KEYS.digest(channel), DIGEST_QUIET_SECONDS)
        size = int(pipe.execute()[2])
        if size >= DIGEST_GROUPS_MAX:
            self._state.delete(KEYS.digest(channel))  # the next group starts a new digest

    def flush(self) -> int:
        """Re-renders every digest that changed since the last flush; returns how many were updated.

        A digest that could not be updated goes back on the list, whatever went wrong.
        """
        updated = 0
        while (popped := self._state.spop(KEYS.digests_dirty())) is not None:
            member = text(popped)
            try:
                self._update(member)
                updated += 1
            except Exception:
                self._state.sadd(KEYS.digests_dirty(), member)
                log.exception("could not update the digest %s; will try again", member)
                break
        return updated

    def _update(self, member: str) -> None:
        channel, digest_ts = member.split("|", 1)
        # One replica at a time renders a digest: an older render must not land after a newer one.
        with holding(self._state, KEYS.digest_render_lock(channel, digest_ts), LOCK_SECONDS, wait=None):
            raw = self._state.hgetall(KEYS.digest_entries(channel, digest_ts))
            entries = sorted(
                (json.loads(value) for value in raw.values()),
                key=lambda e: (e["resolved"], e["rank"], e["line"]),
            )
            resolved = sum(1 for entry in entries if entry["resolved"])
            title, blocks = digest_blocks([entry["line"] for entry in entries], len(entries), resolved)
            self._poster.update(channel, digest_ts, title, blocks)
