"""`triage audit [--since 24h] [--service NAME] [--json] [--redis-url URL]`: read the audit stream.

Its arguments are declared in `bot.cli` (`audit_arguments`); it is run by
`set_defaults(handler=run_audit)` (or call `run_audit(args)` from the command's branch).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.durations import format_duration, parse_duration
from bot.remediation.audit import AuditEntry, AuditLog
from bot.state.keys import DEFAULT_REDIS_URL

__all__ = ["run_audit"]


def run_audit(args: argparse.Namespace) -> int:
    """Print the entries; 0 when read, 1 when Redis could not be read, 2 for a bad --since."""
    try:
        since = args.since if isinstance(args.since, int) else parse_duration(str(args.since))
    except ValueError as error:
        print(f"triage audit: --since {error}", file=sys.stderr)
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
    Console(width=max(Console().width, 140)).print(_table(entries, args, since))
    return 0


def _table(entries: list[AuditEntry], args: argparse.Namespace, since: int) -> Table:
    scope = f" of {args.service}" if args.service else ""
    table = Table(title=f"Remediation audit{scope}, last {format_duration(since)} ({len(entries)} entries)")
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
