"""Redis configuration as text: `redis.conf` directives and `INFO` fields."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from analyzers.evidence import Fact, Source, Subject

if TYPE_CHECKING:
    from bot.readers.excerpts import RawText

# Directives whose value the analyzers use; others are ignored.
REDIS_DIRECTIVES = {
    "maxmemory",
    "maxmemory-policy",
    "save",
    "appendonly",
    "appendfsync",
    "maxclients",
    "timeout",
    "requirepass",
    "protected-mode",
    "bind",
    "stop-writes-on-bgsave-error",
    "tcp-keepalive",
    "port",
    "dir",
    "aclfile",
    "user",
}
_DIRECTIVE = re.compile(r"^\s*([a-z][a-z-]+)\s+(\S.*?)\s*$")

# INFO fields that identify a block of text as `redis-cli INFO` even without a header.
INFO_MARKERS = {
    "redis_version",
    "used_memory",
    "used_memory_human",
    "maxmemory",
    "maxmemory_policy",
    "connected_clients",
    "maxclients",
    "rejected_connections",
    "rdb_last_bgsave_status",
    "aof_enabled",
    "mem_fragmentation_ratio",
    "evicted_keys",
    "used_memory_peak",
    "used_memory_rss",
    "total_connections_received",
    "redis_mode",
}
INFO_SECTIONS = {
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
    "commandstats",
    "latencystats",
}
# `used_memory:1234`, or padded as a chat or a table re-flowed it: `used_memory:     1.2G`.
_INFO_LINE = re.compile(r"^([a-z][A-Za-z0-9_|]*):[ \t]*(\S.*|)$")
_INFO_KEYSPACE = re.compile(r"^(db\d+):(keys=\d+.*)$")


def parse_directive(line: str) -> tuple[str, str] | None:
    """`maxmemory-policy noeviction` -> ("maxmemory-policy", "noeviction")."""
    stripped = line.strip()
    if stripped.startswith("#"):
        return None
    match = _DIRECTIVE.match(stripped)
    if not match or match.group(1) not in REDIS_DIRECTIVES:
        return None
    value = match.group(2)
    if " #" in value:
        value = value.split(" #", 1)[0].strip()
    return match.group(1), value


def parse_info_line(line: str) -> tuple[str, str] | None:
    stripped = line.strip()
    match = _INFO_LINE.match(stripped) or _INFO_KEYSPACE.match(stripped)
    if not match:
        return None
    return match.group(1), match.group(2)


def redis_conf_facts(text: str, raw: RawText, ref: str, subject: Subject) -> Iterator[Fact]:
    """Facts from a block of `redis.conf` text embedded in a ConfigMap or values file."""
    save_lines: list[str] = []
    save_excerpts: list[str] = []
    for line in text.splitlines():
        parsed = parse_directive(line)
        if not parsed:
            continue
        key, value = parsed
        excerpt, position = raw.find(line.strip())
        source = Source("redis-conf", ref, excerpt or line.strip(), raw.line_number(position))
        if key == "save":
            save_lines.append(value)
            save_excerpts.append(excerpt)
            continue
        yield Fact("redis.declared", subject, value, source, key=key)
    if save_lines:
        joined = " ".join(s.strip('"') for s in save_lines).strip()
        excerpt, position = raw.find(f"save {save_lines[0]}")
        yield Fact(
            "redis.declared",
            subject,
            joined,
            Source("redis-conf", ref, excerpt, raw.line_number(position)),
            key="save",
        )
