"""The record of each alert group in Redis, and how long the bot's Redis has been keeping them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import redis

from bot.state.keys import KEYS

LOCK_SECONDS = 90  # longer than any one handling: posts are retried and paced within it
PACING_WAIT_MAX = 30.0  # a longer queue in the channel: give the notification back, retry later


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


class GroupRecords:
    """Group records kept a week, or three repeat intervals when that is longer."""

    def __init__(self, state: redis.Redis, repeat_interval: float, clock: Callable[[], float]) -> None:
        self._state = state
        self._repeat_interval = repeat_interval
        self._clock = clock

    @property
    def keep_seconds(self) -> int:
        return int(max(7 * 86400, 3 * self._repeat_interval))

    def load(self, group_id: str) -> GroupRecord | None:
        raw = self._state.get(KEYS.group(group_id))
        return GroupRecord(**json.loads(raw)) if raw else None

    def save(self, group_id: str, record: GroupRecord) -> None:
        self._state.set(KEYS.group(group_id), json.dumps(asdict(record)), ex=self.keep_seconds)

    def may_be_incomplete(self) -> bool:
        """True while Redis holds less than a full repeat cycle of groups (new, or its data was lost).

        Only then is a group missing from Redis looked for in Slack's history: a re-send comes at
        the latest one repeat interval after the previous one.
        """
        now = self._clock()
        self._state.set(KEYS.state_since(), f"{now:.0f}", nx=True)
        since = float(text(self._state.get(KEYS.state_since()) or now))
        return now - since < 2 * self._repeat_interval + 600


def text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
