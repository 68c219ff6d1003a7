"""redis-config-not-applied: what was declared for Redis is not what the server does."""

from __future__ import annotations

import re

from analyzers.base import finding, narrow
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import Fact
from analyzers.quantity import parse_redis_size
from analyzers.redis_view import redis_view

_COMPARED = ("maxmemory", "maxmemory-policy", "maxclients", "appendonly", "save")
_STARTED = re.compile(r"Running mode=|Server initialized|Ready to accept connections|Redis is starting")
_SAVING = re.compile(r"Background saving started|Can't save in background|changes in \d+ seconds\. Saving")


def analyze(context: Context) -> list[Finding]:
    redis = redis_view(context)
    if not redis.declared:
        return []
    conflicts: list[tuple[str, list[Fact]]] = []
    for name in _COMPARED:
        declared, running = redis.declared.get(name), redis.setting(name)
        if declared and running and not _same(name, declared.value, running.value):
            conflicts.append(
                (
                    f"{name} is declared as {declared.value} but the server runs with {running.value}",
                    [declared.fact, running.fact],
                )
            )
    declared_save = redis.declared.get("save")
    if declared_save and declared_save.value.strip("\"' ") == "" and redis.setting("save") is None:
        saving = [f for f in context.logs() if _SAVING.search(context.text_of(f))]
        if saving:
            conflicts.append(
                (
                    'snapshots are disabled (save "") in the declared configuration, yet the server '
                    "runs background saves",
                    [declared_save.fact, narrow(saving[0], "save")],
                )
            )
    if not conflicts:
        return []
    detail = (
        "The configuration someone declared is not what Redis runs: "
        + "; ".join(c for c, _ in conflicts)
        + ". The file or chart value probably never reaches the server (not mounted, wrong key, or no restart "
        "since it changed), so fixing the declared value alone changes nothing."
    )
    cited = [f for _, facts in conflicts for f in facts]
    skew = _start_times_disagree(context)
    if skew:
        detail += " " + skew[0]
        cited += skew[1]
    return [
        finding(
            "redis-config-not-applied",
            "warning",
            "Declared Redis config is not applied",
            detail,
            0.7,
            cited,
            conflicts=[c for c, _ in conflicts],
        )
    ]


def _start_times_disagree(context: Context) -> tuple[str, list[Fact]] | None:
    """Redis says it started before its container did: the lines are another run's, or a clock is off."""
    starts = [f for f in context.logs() if f.at and _STARTED.search(context.text_of(f))]
    container = [f for f in context.main("container.last_started") if f.at]
    if not starts or not container:
        return None
    began = container[-1]
    log_start = max(starts, key=lambda f: f.at.timestamp() if f.at else 0.0)
    if log_start.at is None or began.at is None or (began.at - log_start.at).total_seconds() <= 5:
        return None
    note = (
        f"The evidence also disagrees on time: Redis logged its start at {log_start.at:%H:%M:%S}, before the "
        f"container it runs in started ({began.at:%H:%M:%S}), so these log lines belong to another run or a "
        "clock is off: check which container the logs came from."
    )
    return note, [narrow(log_start, "mode="), began]


def _same(name: str, declared: str, running: str) -> bool:
    declared, running = declared.strip("\"' "), running.strip("\"' ")
    if name == "maxmemory":
        return parse_redis_size(declared) == parse_redis_size(running)
    if name == "appendonly":
        return (declared in ("yes", "1")) == (running in ("yes", "1"))
    if name == "save":
        return declared.split() == running.split()
    return declared == running
