"""The facts the analyzers reason about, each with where it came from.

Readers (pasted text) and collectors (live APIs) both produce `Fact`s; the
analyzers never know which one did.  Every fact carries a `Source`: the kind of
artifact, a reference (file name, URL or query) and the exact excerpt it was
read from, so every finding can show the user why.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

FactKind = Literal[
    # container status (kubectl describe, pod JSON, kubectl get pods, custom-columns)
    "container.state",  # value: "Running" | "Waiting" | "Terminated"
    "container.waiting_reason",  # value: "CrashLoopBackOff", "ImagePullBackOff", ...
    "container.last_reason",  # value: "OOMKilled", "Error", "Completed"
    "container.last_exit_code",  # value: int
    "container.last_started",  # at: datetime
    "container.last_finished",  # at: datetime
    "container.restart_count",  # value: int
    "container.ready",  # value: bool
    "container.image",  # value: image reference
    "container.memory_limit",  # value: bytes (float)
    "container.memory_request",  # value: bytes
    "container.cpu_limit",  # value: cores (float)
    "container.cpu_request",  # value: cores
    "container.memory_usage",  # value: bytes (kubectl top)
    "container.cpu_usage",  # value: cores (kubectl top)
    "container.env",  # key: variable name, value: its value as text
    "container.probe",  # key: "liveness" | "readiness", value: the probe text
    "pod.status",  # value: the STATUS column of kubectl get pods
    "pod.ready",  # value: bool, READY column (`1/1` True, `0/1` False)
    "pod.restarts",  # value: int, RESTARTS column
    "pod.last_restart_ago",  # value: seconds since the last restart, `5 (21m ago)` in RESTARTS
    "workload.replicaset",  # key: ReplicaSet name, value: ReplicaSetInfo
    "workload.rollout_failed",  # value: message (progress deadline exceeded)
    "workload.revision",  # key: revision number, value: the image its change-cause names
    "event",  # value: EventRecord
    "metric",  # key: metric name, value: Series
    "log",  # value: LogRecord
    "redis.info",  # key: INFO field, value: text
    "redis.config",  # key: directive, value: text (what the running server reports)
    "redis.declared",  # key: directive, value: text (what a file or chart declares)
    "redis.client_error",  # value: the error a client received (e.g. max clients)
    "helm.value",  # key: dotted path, value: text
    "node.condition",  # key: condition type, value: "True" | "False"
    "text.note",  # value: free text worth citing (e.g. a runbook comment)
    "volume.usage",  # key: mount point, value: the share of it in use, 0..1 (df -h)
    "host.memory",  # key: "total" | "used" | "available" (free's Mem row) or "swap_total", value: bytes
    "process.rss",  # key: the command, value: its resident memory in bytes (ps, top)
    "file.size",  # key: the file name, value: bytes (ls -l)
    "jvm.max_heap",  # value: bytes, the maximum heap a JVM reports of itself (PrintFlagsFinal, a table)
]


@dataclass(frozen=True, slots=True)
class Source:
    """Where a fact was read: the artifact kind, a reference and the exact text."""

    kind: str
    ref: str
    excerpt: str
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Subject:
    """What a fact is about. Every part is optional: pasted text is often vague."""

    namespace: str | None = None
    pod: str | None = None
    container: str | None = None
    workload: str | None = None
    instance: str | None = None  # a host:port, e.g. the Redis a metric describes
    origin: str | None = None  # a log collector's label, e.g. "redis" or "webapp"


@dataclass(frozen=True, slots=True)
class EventRecord:
    reason: str
    message: str
    type: str = ""
    count: int = 1
    object_kind: str = ""
    object_name: str = ""
    age: str = ""


@dataclass(frozen=True, slots=True)
class LogRecord:
    """A log line; `count` > 1 when it stands for that many lines of the same shape (the newest shown)."""

    text: str
    level: str = ""
    count: int = 1
    first_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Series:
    """A metric: one labelled series with its points (timestamp may be None)."""

    name: str
    labels: tuple[tuple[str, str], ...]
    points: tuple[tuple[float | None, float], ...]

    def label(self, name: str) -> str | None:
        for key, value in self.labels:
            if key == name:
                return value
        return None

    @property
    def last(self) -> float:
        return self.points[-1][1]

    @property
    def peak(self) -> float:
        return max(value for _, value in self.points)


@dataclass(frozen=True, slots=True)
class ReplicaSetInfo:
    name: str
    image: str
    desired: int
    ready: int
    age: str = ""


FactValue = str | int | float | bool | None | EventRecord | LogRecord | Series | ReplicaSetInfo


@dataclass(frozen=True, slots=True)
class Fact:
    kind: FactKind
    subject: Subject
    value: FactValue
    source: Source
    key: str | None = None
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SourceReport:
    """How reading one input went, for the `sources` list of the diagnosis."""

    name: str
    kind: str
    status: Literal["ok", "partial", "skipped", "error"]
    detail: str


@dataclass
class Evidence:
    """All facts about one incident, plus how each input was read."""

    facts: list[Fact] = field(default_factory=list)
    sources: list[SourceReport] = field(default_factory=list)
    # Facts by kind, rebuilt when the list has grown: analyzers ask for one kind at a time.
    _by_kind: dict[str, list[Fact]] = field(default_factory=dict, repr=False, compare=False)
    _indexed: int = field(default=-1, repr=False, compare=False)

    def add(self, fact: Fact) -> None:
        self.facts.append(fact)

    def extend(self, facts: Iterable[Fact]) -> None:
        self.facts.extend(facts)

    def of(self, kind: FactKind, key: str | None = None) -> Iterator[Fact]:
        if self._indexed != len(self.facts):
            self._by_kind = {}
            for fact in self.facts:
                self._by_kind.setdefault(fact.kind, []).append(fact)
            self._indexed = len(self.facts)
        for fact in self._by_kind.get(kind, ()):
            if key is None or fact.key == key:
                yield fact

    def merge(self, other: Evidence) -> None:
        self.facts.extend(other.facts)
        self.sources.extend(other.sources)
