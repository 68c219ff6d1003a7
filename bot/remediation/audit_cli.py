"""`triage audit [--since 24h] [--service NAME] [--json] [--redis-url URL]`: read the audit stream.

Wire it with `add_audit_arguments(subparsers.add_parser("audit", ...))` and
`set_defaults(handler=run_audit)` (or call `run_audit(args)` from the command's branch).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import UTC, datetime
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rich.console import Console
from rich.table import Table
from rich.text import Text

from analyzers.quantity import duration_seconds
from bot.remediation.audit import AuditEntry, AuditLog
from bot.state.keys import KEYS

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
_DURATION = re.compile(r"(\d+[smhd])+")  # the whole of it: "1.5h" is refused, not read as 5h


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", default="24h", help="how far back, e.g. 30m, 24h, 7d (default 24h)")
    parser.add_argument("--service", help="only this service's entries")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("TRIAGE_REDIS_URL"),
        help=f"the bot's Redis (default $TRIAGE_REDIS_URL, else {DEFAULT_REDIS_URL})",
    )
    parser.add_argument(
        "--stream", default=KEYS.audit(), help=f"the audit stream key (default {KEYS.audit()})"
    )


def run_audit(args: argparse.Namespace) -> int:
    """Print the entries; 0 when read, 1 when Redis could not be read, 2 for a bad --since."""
    text = str(args.since).strip()
    since = duration_seconds(text) if _DURATION.fullmatch(text) else 0
    if since <= 0:
        print(f"triage audit: --since {args.since!r} is not a duration like 30m, 24h or 7d", file=sys.stderr)
        return 2
    url = args.redis_url or DEFAULT_REDIS_URL
    client = redis.Redis.from_url(
        url, socket_connect_timeout=5, socket_timeout=5, retry=Retry(NoBackoff(), 0)
    )
    try:
        entries = AuditLog(client, args.stream).read(since, service=args.service)
    except redis.RedisError as error:
        print(
            f"triage audit: cannot read {args.stream} from {_without_password(url)}: {error}", file=sys.stderr
        )
        return 1
    finally:
        client.close()
    if args.json:
        for entry in entries:
            print(entry.to_json())
        return 0
    Console(width=max(Console().width, 140)).print(_table(entries, args))
    return 0


def _table(entries: list[AuditEntry], args: argparse.Namespace) -> Table:
    scope = f" of {args.service}" if args.service else ""
    table = Table(title=f"Remediation audit{scope}, last {args.since} ({len(entries)} entries)")
    for column in ("time (UTC)", "event", "actor", "proposal", "service", "result", "detail"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        result = f"{entry.reason}: {entry.result}" if entry.reason else entry.result
        cells = (
            datetime.fromtimestamp(entry.at, UTC).strftime("%Y-%m-%d %H:%M:%S"),
            entry.event,
            entry.actor,
            entry.proposal_id,
            entry.service,
            result,
            entry.detail,
        )
        table.add_row(*(Text(cell) for cell in cells))  # Text: brackets in a diff are not markup
    return table


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()
