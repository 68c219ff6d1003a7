"""redis-config-not-applied: what was declared for Redis is not what the server does."""

from __future__ import annotations

import re
from dataclasses import dataclass

from analyzers.base import finding, narrow
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import Fact
from analyzers.ids import FindingId, RemediationId
from analyzers.quantity import parse_redis_size
from analyzers.redis_view import RedisView, redis_view
from analyzers.spec import FindingSpec

# Settings a running server also reports outside CONFIG GET (INFO, exporter series).
_REPORTED_ELSEWHERE = ("maxmemory", "maxmemory-policy", "maxclients", "appendonly")
# Directives whose running form is resolved or split differently from how a file writes them
# (`dir ./` runs as `/data`, `bind` as `* -::*`), or that hold secrets and paths.
_NOT_COMPARABLE = re.compile(
    r"^(?:bind|dir|include|loadmodule|rename-command|user|requirepass|masterauth|masteruser|logfile|pidfile|"
    r"unixsocket|aclfile|daemonize|supervised|client-output-buffer-limit|tls-.*|sentinel.*|replicaof|slaveof)$"
)
_BOOLEAN = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}
_STARTED = re.compile(r"Running mode=|Server initialized|Ready to accept connections|Redis is starting")
_SAVING = re.compile(r"Background saving started|Can't save in background|changes in \d+ seconds\. Saving")
# Redis prints one of these at every start: no argument at all, or a config file/arguments read.
_NO_CONFIG_FILE = re.compile(r"no config file specified, using the default config", re.I)
# A later start: each start logs its version line before it says whether it read a config.
_NEW_START = re.compile(r"just started|Redis is starting|Configuration loaded")
# Someone says a config exists for the server: a ConfigMap, a redis.conf, a chart value.
_DECLARES_CONFIG = re.compile(r"config ?map|redis\.conf\b|\bconfig(?:uration)? file", re.I)
_DECLARES_IN_LOG = re.compile(r"config ?map|redis\.conf\b", re.I)
_CONFIG_VALUE_KEY = re.compile(
    r"(?:^|\.)(?:configmap|configuration|commonconfiguration|redisconf|config)$", re.I
)
_REDIS_LOG_LINE = re.compile(r"\b\d+:[CMSX] \d{1,2} \w{3} ")
_TEMPLATED = re.compile(r"\$|\{\{")


@dataclass(frozen=True, slots=True)
class _Conflict:
    text: str
    facts: tuple[Fact, ...]


def analyze(context: Context) -> list[Finding]:
    redis = redis_view(context)
    declaration = _declaration(context)
    if declaration is None:
        return []  # nothing declared: the defaults are what anyone asked for
    dumps = _declared_dumps(context)
    compared, conflicts = _running_conflicts(redis, dumps)
    conflicts += _dump_conflicts(redis, dumps)
    conflicts += _saves_while_disabled(context, redis, dumps)
    conflicts += _no_config_file(context, redis, declaration, compared and not conflicts)
    if not conflicts:
        return []
    detail = (
        "The configuration someone declared is not what Redis runs: "
        + "; ".join(c.text for c in conflicts)
        + ". The file or chart value probably never reaches the server (not mounted, wrong key, or no restart "
        "since it changed), so fixing the declared value alone changes nothing."
    )
    cited = [f for c in conflicts for f in c.facts]
    skew = _start_times_disagree(context)
    if skew:
        detail += " " + skew[0]
        cited += skew[1]
    direct = any(f.kind in ("redis.config", "redis.info", "log") for f in cited)
    return [
        finding(
            FindingId.REDIS_CONFIG_NOT_APPLIED,
            "warning",
            "Declared Redis config is not applied",
            detail,
            0.8 if direct else 0.7,
            cited,
            conflicts=[c.text for c in conflicts],
        )
    ]


# -- what was declared ---------------------------------------------------------------------------------
def _declaration(context: Context) -> Fact | None:
    """A fact showing that a configuration was declared for this Redis, if any."""
    declared = next(context.mine("redis.declared"), None)
    if declared is not None:
        return declared
    for fact in context.mine("helm.value"):
        text = str(fact.value)
        if _NO_CONFIG_FILE.search(text):
            continue
        if (fact.key and _CONFIG_VALUE_KEY.search(fact.key) and text.strip()) or _DECLARES_CONFIG.search(
            text
        ):
            return fact
    for fact in context.mine("text.note"):
        text = str(fact.value)
        if _DECLARES_CONFIG.search(text) and not _NO_CONFIG_FILE.search(text):
            return fact
    for fact in context.logs():
        text = context.text_of(fact)
        if (
            _DECLARES_IN_LOG.search(text)
            and not _NO_CONFIG_FILE.search(text)
            and not _REDIS_LOG_LINE.search(text)
        ):
            return fact
    return None


def _declared_dumps(context: Context) -> list[dict[str, tuple[str, Fact]]]:
    """Each declared configuration (one per artifact), directive -> (value, fact); `save` lines joined."""
    dumps: dict[str, dict[str, tuple[str, Fact]]] = {}
    for fact in context.mine("redis.declared"):
        if not fact.key:
            continue
        dump = dumps.setdefault(fact.source.ref, {})
        value = str(fact.value).strip()
        if fact.key == "save" and "save" in dump and dump["save"][0].strip("\"' "):
            value = f"{dump['save'][0]} {value}"
            dump["save"] = (value, dump["save"][1])
            continue
        dump[fact.key] = (value, fact)
    return list(dumps.values())


def _running(redis: RedisView, name: str) -> tuple[str, Fact] | None:
    reading = redis.runtime.get(name)
    if reading is None and name in _REPORTED_ELSEWHERE:
        reading = redis.setting(name)
    return (reading.value, reading.fact) if reading else None


def _comparable(name: str, value: str) -> bool:
    return not _NOT_COMPARABLE.match(name) and not _TEMPLATED.search(value)


# -- declared against running ---------------------------------------------------------------------------
def _running_conflicts(
    redis: RedisView, dumps: list[dict[str, tuple[str, Fact]]]
) -> tuple[bool, list[_Conflict]]:
    """Declared directives the running server contradicts; and whether any could be compared at all."""
    compared = False
    conflicts: list[_Conflict] = []
    seen: set[str] = set()
    for dump in dumps:
        for name, (value, fact) in dump.items():
            running = _running(redis, name)
            if running is None or not _comparable(name, value):
                continue
            compared = True
            if name in seen or same_setting(name, value, running[0]):
                continue
            seen.add(name)
            conflicts.append(
                _Conflict(
                    f"{name} is declared as {value} but the server runs with {running[0]}",
                    (fact, running[1]),
                )
            )
    return compared, conflicts


def _dump_conflicts(redis: RedisView, dumps: list[dict[str, tuple[str, Fact]]]) -> list[_Conflict]:
    """Two configurations (the chart's and the file in the pod) that disagree on a directive."""
    conflicts: list[_Conflict] = []
    if len(dumps) < 2:
        return conflicts
    first = dumps[0]
    for other in dumps[1:]:
        for name, (value, fact) in first.items():
            if name not in other or _running(redis, name) is not None or not _comparable(name, value):
                continue
            other_value, other_fact = other[name]
            if _TEMPLATED.search(other_value) or same_setting(name, value, other_value):
                continue
            conflicts.append(
                _Conflict(
                    f"{name} is {value} in {_artifact(fact)} but {other_value} in {_artifact(other_fact)}",
                    (fact, other_fact),
                )
            )
    return conflicts


def _artifact(fact: Fact) -> str:
    return fact.source.ref.rsplit("/", 1)[-1] or "one config"


def _saves_while_disabled(
    context: Context, redis: RedisView, dumps: list[dict[str, tuple[str, Fact]]]
) -> list[_Conflict]:
    for dump in dumps:
        declared = dump.get("save")
        if declared and declared[0].strip("\"' ") == "" and redis.setting("save") is None:
            saving = [f for f in context.logs() if _SAVING.search(context.text_of(f))]
            if saving:
                return [
                    _Conflict(
                        'snapshots are disabled (save "") in the declared configuration, yet the server '
                        "runs background saves",
                        (declared[1], narrow(saving[0], "save")),
                    )
                ]
    return []


# -- no config file at all -----------------------------------------------------------------------------
def _no_config_file(context: Context, redis: RedisView, declaration: Fact, agreed: bool) -> list[_Conflict]:
    """Redis says it read no config file while one is declared."""
    warning = _current_no_config_warning(context, redis)
    if warning is not None:
        return [
            _Conflict(
                "Redis started without any config file (it logged that it uses the default config), "
                "although a configuration is declared for it",
                (narrow(warning, "no config file"), declaration),
            )
        ]
    config_file = _newest_info(redis, "config_file")
    if config_file is not None and not str(config_file.value).strip() and not agreed:
        # Arguments (`redis-server --maxmemory 2gb`) also leave config_file empty: when every declared
        # directive we can check is what the server runs, the settings did arrive.
        return [
            _Conflict(
                "INFO server reports an empty config_file, so the running server read no config file, "
                "although a configuration is declared for it",
                (config_file, declaration),
            )
        ]
    return []


def _current_no_config_warning(context: Context, redis: RedisView) -> Fact | None:
    """The newest `no config file specified` start-up warning, unless a later start read a config."""
    warnings = [f for f in context.logs() if _NO_CONFIG_FILE.search(context.text_of(f))]
    if not warnings:
        return None
    newest = warnings[-1]
    for start in context.logs():
        if _NEW_START.search(context.text_of(start)) and _later(start, newest):
            return None  # restarted since without the warning: with a config file or arguments
    config_file = _newest_info(redis, "config_file")
    if config_file is not None and str(config_file.value).strip():
        return None  # the server we can ask runs from a config file now
    return newest


def _newest_info(redis: RedisView, key: str) -> Fact | None:
    reading = redis.info.get(key)
    return reading.fact if reading else None


def _later(a: Fact, b: Fact) -> bool:
    if a.at is not None and b.at is not None and a.at != b.at:
        return a.at > b.at
    if a.source.ref == b.source.ref and a.source.line is not None and b.source.line is not None:
        return a.source.line > b.source.line
    return False


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


# -- comparing by meaning --------------------------------------------------------------------------------
def same_setting(name: str, declared: str, running: str) -> bool:
    """Whether two spellings of a directive mean the same: `900mb` == 943718400, `yes` == `1`, `KEA` == `AKE`."""
    declared, running = _unquote(declared), _unquote(running)
    if name == "notify-keyspace-events":
        return sorted(declared) == sorted(running)
    if name == "appendonly":
        return _truth(declared) == _truth(running)
    left, right = declared.split(), running.split()
    return len(left) == len(right) and all(_same_token(a, b) for a, b in zip(left, right, strict=True))


def _unquote(value: str) -> str:
    return " ".join(part.strip("\"'") for part in value.strip().split()).strip()


def _truth(value: str) -> bool | None:
    lowered = value.lower()
    if lowered in ("1", "0"):
        return lowered == "1"
    return _BOOLEAN.get(lowered)


def _same_token(a: str, b: str) -> bool:
    if a.lower() == b.lower():
        return True
    if a.lower() in _BOOLEAN and b.lower() in _BOOLEAN:
        return _BOOLEAN[a.lower()] == _BOOLEAN[b.lower()]
    size_a, size_b = parse_redis_size(a), parse_redis_size(b)
    return size_a is not None and size_a == size_b


SPEC = FindingSpec(
    FindingId.REDIS_CONFIG_NOT_APPLIED,
    analyze,
    "cause",
    35,
    checks=(
        "{cli} CONFIG GET save",
        "kubectl {ns}get configmap -o yaml | grep -A20 redis.conf",
    ),
    fixed_by=(RemediationId.FIX_REDIS_CONFIG_MOUNT,),
)
