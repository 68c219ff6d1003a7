"""Timestamps as they appear in logs, describe output and JSON."""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime

_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")
_REDIS = re.compile(r"\b(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}:\d{2}:\d{2})(\.\d+)?")
_SLASHED = re.compile(r"(\d{4})/(\d{2})/(\d{2}) (\d{2}:\d{2}:\d{2})")
_US_12H = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}), (\d{1,2}):(\d{2}):(\d{2}) (AM|PM)")
_EPOCH_FIELD = re.compile(r'"(?:time|ts|timestamp)"\s*:\s*(\d{10}(?:\.\d+)?|\d{13})\b')
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


def parse_iso(text: str) -> datetime | None:
    match = _ISO.search(text)
    if not match:
        return None
    fraction = (match.group(3) or "")[:7]
    zone = match.group(4) or "Z"
    zone = "+00:00" if zone == "Z" else zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        return datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}{fraction}{zone}")
    except ValueError:
        return None


_RFC_2822 = re.compile(
    r"(?:[A-Z][a-z]{2}, )?\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2}(?: [+-]\d{4}\b| (?:UT|GMT|[ECMP][SD]T|Z)\b)?"
)


def parse_describe_time(text: str) -> datetime | None:
    """`Thu, 12 Sep 2024 14:38:47 +0200` as written by kubectl describe (RFC 2822, read by
    `email.utils`), in UTC; a time with no zone (Redis's log prefix) is taken as UTC."""
    match = _RFC_2822.search(text)
    if not match:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(match.group(0))
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def from_epoch(value: float) -> datetime | None:
    if value > 1e12:  # milliseconds
        value /= 1000.0
    if not 0 < value < 4e9:
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def parse_log_time(line: str) -> datetime | None:
    """The first timestamp a log line carries, in any of the common shapes."""
    head = line[:160]
    iso = parse_iso(head)
    if iso:
        return iso
    epoch = _EPOCH_FIELD.search(line)
    if epoch:
        return from_epoch(float(epoch.group(1)))
    redis = _REDIS.search(head)
    if redis and redis.group(2) in _MONTHS:
        return parse_describe_time(f"{redis.group(1)} {redis.group(2)} {redis.group(3)} {redis.group(4)}")
    slashed = _SLASHED.search(head)
    if slashed:
        return parse_iso(f"{slashed.group(1)}-{slashed.group(2)}-{slashed.group(3)}T{slashed.group(4)}Z")
    us = _US_12H.search(head)
    if us:
        hour = int(us.group(4)) % 12 + (12 if us.group(7) == "PM" else 0)
        try:
            return datetime(
                int(us.group(3)),
                int(us.group(1)),
                int(us.group(2)),
                hour,
                int(us.group(5)),
                int(us.group(6)),
                tzinfo=UTC,
            )
        except ValueError:
            return None
    return None
