"""One Slack thread per Alertmanager group, whatever Alertmanager re-sends, however many bot replicas.

This module is the group's state machine: a group seen for the first time gets a parent message
and a thread (or a line in a storm digest), a group seen again gets its parent updated and new,
resolved or re-fired alerts said in its thread (new ones batched), and a firing group gets one
diagnosis. A lock per group serialises its deliveries across replicas. The other jobs live beside
it: `routing.py` picks the channel, `records.py` keeps the group's record in Redis, `parents.py`
posts the parent once and finds it again in the channel's history when Redis lost the record,
`storms.py` gathers the groups of a storm into one digest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis

from bot.alerts.messages import format_duration, group_title, parent_blocks
from bot.alerts.parents import Parents
from bot.alerts.ports import DiagnosisRequest, Poster, Submit
from bot.alerts.records import LOCK_SECONDS, PACING_WAIT_MAX, GroupRecord, GroupRecords, text
from bot.alerts.routing import NoRoute, route
from bot.alerts.storms import Storms
from bot.alerts.webhook import Alert, Notification
from bot.render.slack import mrkdwn_escape
from bot.runtime.metrics import BotMetrics
from bot.settings import Catalog
from bot.state.keys import KEYS
from bot.state.locks import Lock, holding

__all__ = ["AlertGroups", "GroupRecord", "NoRoute"]

log = logging.getLogger(__name__)

DIAGNOSIS_RETRY_SECONDS = 600  # a diagnosis asked for and not posted by then is asked for again
ANNOUNCE_QUEUE = KEYS.announce()  # group id -> when its batched new alerts are due in its thread
ANNOUNCED_MAX = 10


class AlertGroups:
    def __init__(
        self,
        state: redis.Redis,
        poster: Poster,
        catalog: Catalog,
        submit_diagnosis: Submit,
        metrics: BotMetrics,
        default_channel: str | None = None,
        repeat_interval: float = 4 * 3600,
        storm_groups: int = 5,
        storm_window: float = 10.0,
        storm_threads: int = 3,
        clock: Callable[[], float] = time.time,
        announce_every: float = 60.0,
        intent_grace: float = 30.0,
        lock_seconds: float = LOCK_SECONDS,
    ) -> None:
        self._state = state
        self._poster = poster
        self._catalog = catalog
        self._submit = submit_diagnosis
        self._metrics = metrics
        self._default_channel = default_channel
        self._clock = clock
        self._announce_every = announce_every  # new alerts in a thread: at most one reply this often
        self._lock_seconds = lock_seconds
        self._records = GroupRecords(state, repeat_interval, clock)
        self._storms = Storms(state, poster, self._records, storm_groups, storm_window, storm_threads)
        self._parents = Parents(state, poster, self._records, clock, repeat_interval, intent_grace)

    def route(self, notification: Notification) -> str:
        """The channel for the group: the first matching route, the service's channel, the default."""
        return route(self._catalog, self._default_channel, notification)

    def handle(self, notification: Notification, sequence: str = "0-0") -> str:
        """Posts or updates what the notification changes; returns what was done (for metrics, tests).

        `sequence` is the notification's place in the order they arrived (its stream id): one
        overtaken by a newer notification of its group (two workers, a retry) changes nothing.
        """
        channel = self.route(notification)
        lock = Lock(self._state, KEYS.group_lock(notification.group_id), self._lock_seconds)
        if not lock.acquire(wait=self._lock_seconds):
            raise TimeoutError(f"group {notification.group_id} stayed locked; will retry")
        try:
            record = self._records.load(notification.group_id) or self._parents.find_intended(
                channel, notification
            )
            if record is None:
                outcome = self._first(channel, notification, sequence)
            elif _order(sequence) < _order(record.sequence):
                outcome = "overtaken"
            else:
                record.sequence = sequence
                outcome = self._again(record, notification)
        finally:
            lock.release()
        self._metrics.alert_notifications.labels(outcome).inc()
        return outcome

    # A group seen for the first time.
    def _first(self, channel: str, notification: Notification, sequence: str) -> str:
        now = self._clock()
        record = GroupRecord(
            channel=channel,
            title=group_title(notification),
            first_fired=min(a.starts_at.timestamp() for a in notification.alerts),
            status=notification.status,
            alerts={a.key: a.status for a in notification.alerts},
            sequence=sequence,
        )
        if notification.status == "resolved":
            record.resolved_at = _ended(notification, now)
        digest_ts = self._storms.digest(channel, notification, now)
        if digest_ts is not None:
            record.digest_ts = digest_ts
            own_thread = notification.status == "firing" and self._storms.takes_thread(
                channel, digest_ts, notification
            )
            self._storms.add(channel, digest_ts, notification, own_thread)
            if not own_thread:
                self._save(notification.group_id, record)
                return "digest"
        title, blocks = parent_blocks(
            notification,
            record.first_fired,
            self._resolved_after(record),
            self._catalog.owners_of(notification.service),
        )
        record.ts = self._parents.post(channel, notification, record, title, blocks)
        self._save(notification.group_id, record)  # before the diagnosis: a re-send must find the thread
        self._parents.posted(notification.group_id)
        if notification.status == "firing":
            self._diagnose(notification, record)
            self._save(notification.group_id, record)
        return "opened" if digest_ts is None else "digest-thread"

    # A group already threaded (or listed in a digest).
    def _again(self, record: GroupRecord, notification: Notification) -> str:
        now = self._clock()
        seen = dict(record.alerts)
        record.alerts.update({a.key: a.status for a in notification.alerts})
        new = [a for a in notification.firing if seen.get(a.key) != "firing"]
        refired = record.status == "resolved" and notification.status == "firing"
        resolved = record.status == "firing" and notification.status == "resolved"
        if not new and not resolved and not refired:
            if record.ts and self._diagnosis_lost(notification, record, now):
                self._diagnose(notification, record)
            self._save(notification.group_id, record)
            return "duplicate"
        record.status = notification.status
        record.resolved_at = (
            _ended(notification, now) if resolved else None if refired else record.resolved_at
        )
        if refired:
            record.first_fired = min(a.starts_at.timestamp() for a in notification.firing)
        if record.digest_ts is not None:
            self._storms.add(record.channel, record.digest_ts, notification, record.ts is not None)
        if record.ts is None:
            self._save(notification.group_id, record)
            return "digest-updated"
        title, blocks = parent_blocks(
            notification,
            record.first_fired,
            self._resolved_after(record),
            self._catalog.owners_of(notification.service),
        )
        self._poster.update(record.channel, record.ts, title, blocks)
        record.unannounced.extend(_alert_line(alert) for alert in new)
        if resolved:
            reply = f"✅ Resolved after {format_duration(self._resolved_after(record) or 0)}."
        elif refired:
            reply = f"🔁 Firing again: {len(notification.firing)} alert(s). New diagnosis below."
        elif now - record.announced_at < self._announce_every:
            # The parent already shows the count; the thread hears of these with the next batch.
            self._state.zadd(
                ANNOUNCE_QUEUE, {notification.group_id: record.announced_at + self._announce_every}
            )
            self._save(notification.group_id, record)
            return "new-alerts-batched"
        else:
            reply = ""
        self._announce(record, reply, now)
        if refired:
            self._diagnose(notification, record)
        self._save(notification.group_id, record)
        return "resolved" if resolved else "refired" if refired else "new-alerts"

    def _announce(self, record: GroupRecord, reply: str, now: float) -> None:
        """Posts `reply` in the group's thread, with the alerts not announced yet."""
        assert record.ts is not None
        if record.unannounced:
            shown = record.unannounced[:ANNOUNCED_MAX]
            more = len(record.unannounced) - len(shown)
            lines = "\n".join(f"• {line}" for line in shown) + (f"\n…and {more} more" if more else "")
            heading = f"➕ {len(record.unannounced)} more alert(s) firing in this group:"
            reply = f"{reply}\n{heading}\n{lines}" if reply else f"{heading}\n{lines}"
        if reply:
            self._poster.post(record.channel, reply, thread_ts=record.ts, max_wait=PACING_WAIT_MAX)
        record.unannounced, record.announced_at = [], now

    def flush_announcements(self) -> int:
        """Announces batched new alerts whose time has come; returns how many groups it posted in."""
        posted = 0
        for member in self._state.zrangebyscore(ANNOUNCE_QUEUE, 0, self._clock()):
            group_id = text(member)
            if not self._state.zrem(ANNOUNCE_QUEUE, group_id):
                continue  # another replica took it
            try:
                with holding(self._state, KEYS.group_lock(group_id), LOCK_SECONDS, wait=None):
                    record = self._records.load(group_id)
                    if record is None or record.ts is None or not record.unannounced:
                        continue
                    self._announce(record, "", self._clock())
                    self._save(group_id, record)
                    posted += 1
            except Exception:
                self._state.zadd(ANNOUNCE_QUEUE, {group_id: self._clock() + 5})
                raise
        return posted

    def _resolved_after(self, record: GroupRecord) -> float | None:
        return None if record.resolved_at is None else record.resolved_at - record.first_fired

    def _diagnose(self, notification: Notification, record: GroupRecord) -> None:
        """Asks for the group's diagnosis in its thread; marks it done in Redis once it is posted."""
        assert record.ts is not None
        service = notification.service
        if not service:
            record.diagnosed = True  # said once; a re-send does not say it again
            self._poster.post(
                record.channel,
                "No diagnosis: the alert has none of the labels that name a service "
                "(service, app, app_kubernetes_io_name, container, job).",
                thread_ts=record.ts,
            )
            return
        record.diagnosed, record.diagnosis_asked_at = True, self._clock()
        done_key = KEYS.diagnosed(notification.group_id)
        self._state.delete(done_key)
        self._submit(
            DiagnosisRequest(
                service=service,
                namespace=notification.namespace,
                channel=record.channel,
                trigger="alert",
                thread_ts=record.ts,
                owners=tuple(self._catalog.owners_of(notification.service)),
                alert_labels=dict(notification.common_labels),
            ),
            done_key,
        )

    def _diagnosis_lost(self, notification: Notification, record: GroupRecord, now: float) -> bool:
        """No diagnosis asked for (a thread found again after Redis lost the record), or one asked
        for long ago and never posted."""
        if notification.status != "firing":
            return False
        if not record.diagnosed:
            return True
        if now - record.diagnosis_asked_at < DIAGNOSIS_RETRY_SECONDS:
            return False
        return not self._state.exists(KEYS.diagnosed(notification.group_id))

    def flush_digests(self) -> int:
        """Re-renders every storm digest that changed since the last flush; returns how many."""
        return self._storms.flush()

    def _save(self, group_id: str, record: GroupRecord) -> None:
        self._records.save(group_id, record)


def _alert_line(alert: Alert) -> str:
    return mrkdwn_escape(", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k != "alertname"))


def _ended(notification: Notification, now: float) -> float:
    """When the group's alerts ended, by Alertmanager's clock; `now` when it does not say."""
    ends = [a.ends_at.timestamp() for a in notification.alerts if a.ends_at and a.ends_at.year > 1]
    return max(ends) if ends else now


def _order(sequence: str) -> tuple[int, int]:
    milliseconds, _, number = sequence.partition("-")
    return int(milliseconds or 0), int(number or 0)
