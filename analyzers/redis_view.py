"""One view of a Redis server from all the evidence: running, declared, measured."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from analyzers.context import Context
from analyzers.evidence import Fact
from analyzers.quantity import parse_redis_size

# redis_exporter series that report a runtime setting or a measurement.
_METRIC_SETTINGS = {
    "maxmemory": ("redis_config_maxmemory", "redis_memory_max_bytes"),
    "maxclients": ("redis_config_maxclients",),
}
_METRIC_INFO = {
    "used_memory": "redis_memory_used_bytes",
    "used_memory_rss": "redis_memory_used_rss_bytes",
    "used_memory_peak": "redis_memory_used_peak_bytes",
    "connected_clients": "redis_connected_clients",
    "evicted_keys": "redis_evicted_keys_total",
    "rejected_connections": "redis_rejected_connections_total",
    "aof_enabled": "redis_aof_enabled",
    "mem_fragmentation_ratio": "redis_mem_fragmentation_ratio",
}
_QUEUE_WORDS = re.compile(r"bullmq|\bbull:|sidekiq|celery|resque|kombu|\brq:|job queue|outbox", re.I)
# In a name, plainer words say it too: `queue-redis`, `jobs-redis`, `broker`.
_QUEUE_NAME = re.compile(f"{_QUEUE_WORDS.pattern}|queue|\\bjobs?\\b|broker|bull", re.I)
_CLIENT_OF_REDIS = re.compile(r"redis|ReplyError|OOM command not allowed|max number of clients", re.I)
_STORE_WORDS = re.compile(
    r"system of record|source of truth|not a cache|primary (?:data )?store|must not (?:be )?evict|never evict",
    re.I,
)
_SESSION_WORDS = re.compile(r"session|\bcart", re.I)
_CACHE_WORDS = re.compile(r"cache|rate.?limit|\brl:|rebuil|rehydrat", re.I)


@dataclass(frozen=True, slots=True)
class Reading:
    value: str
    fact: Fact

    @property
    def number(self) -> float | None:
        try:
            number: float | None = float(self.value)
        except ValueError:
            number = parse_redis_size(self.value)
        return number if number is None or math.isfinite(number) else None  # `1e400`, `inf`: no size


def redis_view(context: Context) -> RedisView:
    """The Redis view of this diagnosis, built on first use and shared by the analyzers."""
    view = context.shared.get("redis")
    if not isinstance(view, RedisView):
        view = RedisView(context)
        context.shared["redis"] = view
    return view


class RedisView:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.info: dict[str, Reading] = {}
        self.runtime: dict[str, Reading] = {}
        self.declared: dict[str, Reading] = {}
        self.said: dict[str, Reading] = {}  # settings a person says the server runs with: the weakest
        self.peaks: dict[str, Reading] = {}
        self._usage: str | None = None
        self._read()

    def _read(self) -> None:
        for fact in self.context.mine("redis.info"):
            if fact.key:
                reading = Reading(str(fact.value), fact)
                self.info[fact.key] = reading
                previous = self.peaks.get(fact.key)
                if previous is None or (reading.number or 0) >= (previous.number or 0):
                    self.peaks[fact.key] = reading
        for fact in self.context.mine("redis.config"):
            if fact.key:
                (self.said if fact.source.kind == "notes" else self.runtime)[fact.key] = Reading(
                    str(fact.value), fact
                )
        for fact in self.context.mine("redis.declared"):
            if fact.key:
                self.declared[fact.key] = Reading(str(fact.value).strip(), fact)
        for fact, series in self.context.series(*[n for names in _METRIC_SETTINGS.values() for n in names]):
            for key, names in _METRIC_SETTINGS.items():
                if series.name in names and key not in self.runtime:
                    self.runtime[key] = Reading(_number_text(series.last), fact)
        for fact, series in self.context.series("redis_instance_info"):
            policy = series.label("maxmemory_policy")
            if policy and "maxmemory-policy" not in self.runtime:
                self.runtime["maxmemory-policy"] = Reading(policy, fact)
            version = series.label("redis_version")
            if version and "redis_version" not in self.info:
                self.info["redis_version"] = Reading(version, fact)
        for key, name in _METRIC_INFO.items():
            for fact, series in self.context.series(name):
                if key not in self.info:
                    self.info[key] = Reading(_number_text(series.last), fact)
                if key not in self.peaks or series.peak > (self.peaks[key].number or 0):
                    self.peaks[key] = Reading(_number_text(series.peak), fact)

    # -- settings: what the server runs with ------------------------------------------
    def setting(self, name: str) -> Reading | None:
        """A runtime setting (CONFIG GET, INFO or exporter), `maxmemory-policy` style names."""
        if name in self.runtime:
            return self.runtime[name]
        info_name = name.replace("-", "_")
        if info_name in self.info:
            return self.info[info_name]
        if name == "appendonly" and "aof_enabled" in self.info:
            reading = self.info["aof_enabled"]
            return Reading("yes" if reading.value.startswith("1") else "no", reading.fact)
        return None

    def effective(self, name: str) -> Reading | None:
        """What the server runs with, else what was declared for it."""
        return self.setting(name) or self.declared.get(name) or self.said.get(name)

    @property
    def present(self) -> bool:
        return bool(self.info or self.runtime or self.declared)

    def number(self, key: str) -> float | None:
        reading = self.info.get(key)
        return reading.number if reading else None

    def keyspace(self) -> tuple[int, int, Fact] | None:
        """(keys, keys with an expiry) of db0 from INFO keyspace or exporter series."""
        # Every database counts: a cache in db1 with TTLs beside a few settings in db0 is not "no TTLs".
        databases = [
            (int(m.group(1)), int(m.group(2)), r.fact)
            for key, r in self.info.items()
            if re.fullmatch(r"db\d+", key) and (m := re.search(r"keys=(\d+),expires=(\d+)", r.value))
        ]
        if databases:
            largest = max(databases, key=lambda d: d[0])
            return sum(d[0] for d in databases), sum(d[1] for d in databases), largest[2]
        keys = [(f, s) for f, s in self.context.series("redis_db_keys") if s.label("db") == "db0"]
        expiring = [
            (f, s) for f, s in self.context.series("redis_db_keys_expiring") if s.label("db") == "db0"
        ]
        if keys and expiring:
            return int(keys[0][1].last), int(expiring[0][1].last), keys[0][0]
        return None

    def usage(self) -> str:
        """What the store is for: "queue", "session", "cache" or "store"."""
        if self._usage is None:
            self._usage = self._find_usage()
        return self._usage

    def _find_usage(self) -> str:
        by_name = _usage_from_text(self.context.service or "")
        if by_name:
            return by_name  # `ratelimit-redis`, `session-cache`: what the team named it for
        corpus = " ".join(self._descriptions())
        if _QUEUE_WORDS.search(corpus):
            return "queue"
        if _STORE_WORDS.search(corpus):
            return "store"  # the team says so: its keys are the data, not a copy of it
        if _SESSION_WORDS.search(corpus):
            return "session"
        keyspace = self.keyspace()
        if _CACHE_WORDS.search(corpus) or (keyspace and keyspace[0] and keyspace[1] / keyspace[0] >= 0.9):
            return "cache"
        return "store"

    def _descriptions(self) -> list[str]:
        """Notes, our own logs, and what clients say when they talk about Redis (`cache write failed`)."""
        texts = [self.context.service or ""]
        for fact in self.context.evidence.facts:
            if fact.kind == "text.note":
                texts.append(str(fact.value)[:300])
            elif fact.kind == "log":
                text = self.context.text_of(fact)[:300]
                if self.context.ours(fact) or _CLIENT_OF_REDIS.search(text):
                    texts.append(text)
        return texts


def _usage_from_text(text: str) -> str | None:
    for usage, words in (("queue", _QUEUE_NAME), ("session", _SESSION_WORDS), ("cache", _CACHE_WORDS)):
        if words.search(text):
            return usage
    return None


def _number_text(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)
