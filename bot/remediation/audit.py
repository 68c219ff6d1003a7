"""The audit trail: every step of every proposal, in a Redis stream (and the log).

One entry per event, with who did it, on which proposal and service, what changed (a diff or the
commands) and how it ended. `read(since_seconds)` uses the stream ids, which are the Redis
server's clock, so it needs no clock of its own.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Literal, cast

import redis

from bot.state.keys import KEYS

Event = Literal[
    "proposed",
    "previewed",
    "approved",
    "rejected",
    "refused",
    "applied",
    "apply_failed",
    "verified",
    "verify_failed",
    "rollback_proposed",
    "silenced",
]
# Why a click was refused (the `reason` of a `refused` entry).
Refusal = Literal["not_allowed", "expired", "stale", "unknown", "wrong_channel", "replay", "bounds"]
_Entries = list[tuple[object, dict[object, object]]]
MAX_ENTRIES = 100_000  # the stream is trimmed (approximately) to this length

log = logging.getLogger("triage.audit")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str  # the stream id, e.g. "1732838400000-0"
    at: float  # seconds since the epoch, from the id
    event: str
    actor: str
    proposal_id: str
    service: str
    detail: str
    result: str
    reason: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


class AuditLog:
    def __init__(
        self, client: redis.Redis, stream: str = KEYS.audit(), max_entries: int = MAX_ENTRIES
    ) -> None:
        self.client = client
        self.stream = stream
        self.max_entries = max_entries

    def append(
        self,
        event: Event,
        actor: str,
        proposal_id: str,
        service: str,
        detail: str = "",
        result: str = "",
        reason: Refusal | Literal[""] = "",
    ) -> str:
        """Add one entry (XADD) and log it; the entry's stream id."""
        fields = {
            "event": event,
            "actor": actor,
            "proposal_id": proposal_id,
            "service": service,
            "detail": detail,
            "result": result,
            "reason": reason,
        }
        entry_id = _text(self.client.xadd(self.stream, fields, maxlen=self.max_entries, approximate=True))  # type: ignore[arg-type]
        log.info(
            "audit %s by %s on %s (%s)%s%s",
            event,
            actor,
            proposal_id or "-",
            service or "-",
            f" {reason}" if reason else "",
            f": {result}" if result else "",
        )
        return entry_id

    def read(self, since_seconds: float | None = None, service: str | None = None) -> list[AuditEntry]:
        """Entries of the last `since_seconds` (all when None), oldest first, of one service if named."""
        start = "-"
        if since_seconds is not None:
            seconds, micros = self.client.time()
            now_ms = int(seconds) * 1000 + int(micros) // 1000
            start = str(max(0, now_ms - int(since_seconds * 1000)))
        entries = [
            _entry(entry_id, fields)
            for entry_id, fields in cast(_Entries, self.client.xrange(self.stream, min=start))
        ]
        return [e for e in entries if service is None or e.service == service]


def _entry(entry_id: object, fields: dict[object, object]) -> AuditEntry:
    values = {_text(key): _text(value) for key, value in fields.items()}
    text_id = _text(entry_id)
    return AuditEntry(
        id=text_id,
        at=int(text_id.split("-")[0]) / 1000,
        event=values.get("event", ""),
        actor=values.get("actor", ""),
        proposal_id=values.get("proposal_id", ""),
        service=values.get("service", ""),
        detail=values.get("detail", ""),
        result=values.get("result", ""),
        reason=values.get("reason", ""),
    )


def _text(value: object) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
