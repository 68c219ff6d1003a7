"""One Slack thread per Alertmanager group, whatever Alertmanager re-sends, however many bot replicas.

The record of each group (its channel, parent message and the alerts seen) lives in Redis, and a
lock per group serialises its deliveries across replicas. If Redis lost the record, the parent
message is found again in the channel's recent history by the metadata the bot attached to it.
Many new groups in one channel within a short window are a storm: they go into one digest message
instead, and only the worst get a diagnosis (in the digest's thread).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from bot.alerts.messages import digest_blocks, digest_line, format_duration, group_title, parent_blocks
from bot.alerts.ports import DiagnosisRequest, PacingTimeout, Poster, Submit
from bot.alerts.webhook import Alert, Notification
from bot.render.slack import mrkdwn_escape
from bot.runtime.metrics import BotMetrics
from bot.settings import Catalog
from bot.state.keys import KEYS
from bot.state.locks import Lock, holding

log = logging.getLogger(__name__)

METADATA_EVENT = "triage_alert_group"
DIAGNOSIS_RETRY_SECONDS = 600  # a diagnosis asked for and not posted by then is asked for again
HISTORY_PAGES = 10
ANNOUNCE_QUEUE = KEYS.announce()  # group id -> when its batched new alerts are due in its thread
ANNOUNCED_MAX = 10
HISTORY_CACHE_SECONDS = 5.0  # one read serves a burst of groups (a storm after a loss)
DIGEST_QUIET_SECONDS = 600  # a storm's digest takes new groups until this long without one
DIGEST_GROUPS_MAX = 300  # then a new digest message is started
LOCK_SECONDS = 90  # longer than any one handling: posts are retried and paced within it
PACING_WAIT_MAX = 30.0  # a longer queue in the channel: give the notification back, retry later


class NoRoute(Exception):
    """No channel for an alert: no route matched and no default channel is set."""


@dataclass
class GroupRecord:
    channel: str
    title: str
    first_fired: float
    status: str
    alerts: dict[str, str] = field(default_factory=dict)  # fingerprint -> firing / resolved
    ts: str | None = None  # the parent message, when the group has a thread of its own
    digest_ts: str | None = None  # the storm digest that lists it, otherwise
    resolved_at: float | None = None
    diagnosed: bool = False  # a diagnosis was asked for (see `Keys.diagnosed` for done)
    diagnosis_asked_at: float = 0.0
    sequence: str = "0-0"  # the stream id of the newest notification applied
    unannounced: list[str] = field(default_factory=list)  # new alerts not yet named in the thread
    announced_at: float = 0.0


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
        self._repeat_interval = repeat_interval
        self._storm_groups = storm_groups
        self._storm_window = storm_window
        self._storm_threads = storm_threads
        self._clock = clock
        self._announce_every = announce_every  # new alerts in a thread: at most one reply this often
        self._history: dict[str, tuple[float, float, list[dict[str, Any]]]] = {}
        self._history_lock = threading.Lock()
        # A parent post that failed or timed out may still land in the channel within this long.
        self._intent_grace = intent_grace
        self._lock_seconds = lock_seconds

    def route(self, notification: Notification) -> str:
        """The channel for the group: the first matching route, the service's channel, the default."""
        labels = notification.labels_for_routing()
        for route in self._catalog.alert_routes:
            if all(labels.get(key) == value for key, value in route.match.items()):
                return route.channel
        service = notification.service and self._catalog.service(notification.service)
        if service and service.channel:
            return service.channel
        if self._default_channel:
            return self._default_channel
        raise NoRoute(
            f"no channel for alert group {notification.group_key!r}: no alert_routes entry matches its "
            "labels and TRIAGE_ALERT_CHANNEL is not set"
        )

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
            record = self._load(notification.group_id) or self._recover_intended(channel, notification)
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
        digest_ts = self._storm_digest(channel, notification, now)
        if digest_ts is not None:
            record.digest_ts = digest_ts
            own_thread = notification.status == "firing" and self._takes_storm_thread(
                channel, digest_ts, notification
            )
            self._add_to_digest(channel, digest_ts, notification, own_thread)
            if not own_thread:
                self._save(notification.group_id, record)
                return "digest"
        title, blocks = parent_blocks(
            notification,
            record.first_fired,
            self._resolved_after(record),
            self._catalog.owners_of(notification.service),
        )
        record.ts = self._post_parent(channel, notification, record, title, blocks)
        with self._history_lock:
            self._history.pop(channel, None)  # what was read of the channel lacks this message
        self._save(notification.group_id, record)  # before the diagnosis: a re-send must find the thread
        self._state.delete(_intent_key(notification.group_id))
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
            self._add_to_digest(record.channel, record.digest_ts, notification, record.ts is not None)
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
            group_id = _text(member)
            if not self._state.zrem(ANNOUNCE_QUEUE, group_id):
                continue  # another replica took it
            try:
                with holding(self._state, KEYS.group_lock(group_id), LOCK_SECONDS, wait=None):
                    record = self._load(group_id)
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

    @property
    def _keep_seconds(self) -> int:
        return int(max(7 * 86400, 3 * self._repeat_interval))

    # Storms.
    def _storm_digest(self, channel: str, notification: Notification, now: float) -> str | None:
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
            return _text(active)
        if count <= self._storm_groups:
            return None
        with holding(self._state, KEYS.digest_lock(channel), LOCK_SECONDS, wait=None):
            active = self._state.get(KEYS.digest(channel))
            if active is not None:
                return _text(active)
            title, blocks = digest_blocks([], 0, 0)
            ts = self._poster.post(channel, title, blocks, max_wait=PACING_WAIT_MAX)
            self._state.set(KEYS.digest(channel), ts, ex=DIGEST_QUIET_SECONDS)
            return ts

    def _takes_storm_thread(self, channel: str, digest_ts: str, notification: Notification) -> bool:
        """Whether a group of a storm still gets a thread of its own: critical or high, while slots last."""
        if notification.severity_rank > 1:
            return False
        slots = KEYS.digest_threads(channel, digest_ts)
        taken = int(self._state.hincrby(slots, "taken", 1))
        self._state.expire(slots, self._keep_seconds)
        return taken <= self._storm_threads

    def _add_to_digest(
        self, channel: str, digest_ts: str, notification: Notification, threaded: bool
    ) -> None:
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

    def flush_digests(self) -> int:
        """Re-renders every digest that changed since the last flush; returns how many were updated.

        A digest that could not be updated goes back on the list, whatever went wrong.
        """
        updated = 0
        while (popped := self._state.spop(KEYS.digests_dirty())) is not None:
            member = _text(popped)
            try:
                self._update_digest(member)
                updated += 1
            except Exception:
                self._state.sadd(KEYS.digests_dirty(), member)
                log.exception("could not update the digest %s; will try again", member)
                break
        return updated

    def _update_digest(self, member: str) -> None:
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

    # State.
    def _load(self, group_id: str) -> GroupRecord | None:
        raw = self._state.get(KEYS.group(group_id))
        return GroupRecord(**json.loads(raw)) if raw else None

    def _save(self, group_id: str, record: GroupRecord) -> None:
        self._state.set(KEYS.group(group_id), json.dumps(asdict(record)), ex=self._keep_seconds)

    def _state_may_be_incomplete(self) -> bool:
        """True while Redis holds less than a full repeat cycle of groups (new, or its data was lost).

        Only then is a group missing from Redis looked for in Slack's history: a re-send comes at
        the latest one repeat interval after the previous one.
        """
        now = self._clock()
        self._state.set(KEYS.state_since(), f"{now:.0f}", nx=True)
        since = float(_text(self._state.get(KEYS.state_since()) or now))
        return now - since < 2 * self._repeat_interval + 600

    def _post_parent(
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
        intent_key = _intent_key(notification.group_id)
        intended = self._clock()
        self._state.set(intent_key, f"{intended:.3f}", ex=self._keep_seconds)
        try:
            return self._poster.post(
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
            found = self._recover(channel, notification, since=intended)
            if found is None or found.ts is None:
                raise  # the notification stays pending; its retry looks in the channel again
            log.info("group %s: the post failed, but its parent reached %s", notification.group_id, channel)
            return found.ts

    def _recover_intended(self, channel: str, notification: Notification) -> GroupRecord | None:
        """The group's parent, when Redis lost its record or a post of it failed (its intent is
        recorded): searched in the channel whatever the age of the bot's state."""
        raw = self._state.get(_intent_key(notification.group_id))
        if raw is None:
            return self._recover(channel, notification)
        intended = float(_text(raw))
        found = self._recover(channel, notification, since=intended)
        if found is None and self._clock() - intended < self._intent_grace:
            raise TimeoutError(
                f"group {notification.group_id}: a post of its parent {self._clock() - intended:.0f}s ago "
                f"may still land in {channel}; will look again"
            )
        return found

    def _recover(
        self, channel: str, notification: Notification, since: float | None = None
    ) -> GroupRecord | None:
        """The group's parent message from the channel's history, for when Redis lost its record;
        with `since` (a post was attempted then), read afresh from then on."""
        if since is None and not self._state_may_be_incomplete():
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
            if lost_at is not None and cached[1] >= float(_text(lost_at)):
                return cached[2]
        read_at = time.time()
        oldest = self._clock() - 2 * self._repeat_interval - 600 if since is None else since - 60
        messages = self._poster.history(channel, oldest, HISTORY_PAGES)
        if since is None:
            with self._history_lock:
                self._history[channel] = (time.monotonic(), read_at, messages)
        return messages


def _alert_line(alert: Alert) -> str:
    return mrkdwn_escape(", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k != "alertname"))


def _ended(notification: Notification, now: float) -> float:
    """When the group's alerts ended, by Alertmanager's clock; `now` when it does not say."""
    ends = [a.ends_at.timestamp() for a in notification.alerts if a.ends_at and a.ends_at.year > 1]
    return max(ends) if ends else now


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _order(sequence: str) -> tuple[int, int]:
    milliseconds, _, number = sequence.partition("-")
    return int(milliseconds or 0), int(number or 0)


def _intent_key(group_id: str) -> str:
    return KEYS.intent(group_id)


def _metadata(notification: Notification, first_fired: float) -> dict[str, Any]:
    payload = {"group": notification.group_id, "labels": notification.labels_id, "first_fired": first_fired}
    return {"event_type": METADATA_EVENT, "event_payload": payload}
