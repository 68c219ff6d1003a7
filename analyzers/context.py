"""What every analyzer needs to read evidence well: whose facts are whose.

Evidence pasted during an incident mixes the service with its neighbours
(other pods in `kubectl get events -A`, a logging sidecar, the exporter in the
same pod). `Context` decides, for each fact, whether it is about the service,
about something else, or cannot tell, and which container is the main one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from analyzers.evidence import Evidence, Fact, FactKind, Series, Subject

Relation = Literal["self", "other", "unknown"]

_INSTANCE_WORDS = re.compile(
    r"^(?:\d+|metrics|headless|exporter|master|replicas?|config|svc|primary|leader|redis)$"
)


def _hash_like(word: str) -> bool:
    """A ReplicaSet or pod hash (`7f4b8d9c65`, `xk2mv`): digits in it, or no vowels at all."""
    return (
        5 <= len(word) <= 10
        and word.isalnum()
        and (any(c.isdigit() for c in word) or not re.search("[aeiou]", word))
    )


def _instance_suffix(rest: str) -> bool:
    """`-7f4b8d9c65-xk2mv`, `-0`, `-metrics`, `-redis-master-0`: what follows a workload's name."""
    return all(_hash_like(word) or _INSTANCE_WORDS.match(word) for word in rest.split("-")[1:])


_SIDECAR_NAMES = re.compile(
    r"^(metrics|exporter|.*-exporter|fluent-?bit|fluentd|filebeat|promtail|vector|istio-proxy|linkerd-proxy|"
    r"vault-agent|cloud-sql-proxy|oauth2-proxy|config-reloader|.*-sidecar|log-shipper|datadog-agent)$"
)
_SIDECAR_IMAGES = re.compile(r"exporter|fluent-bit|fluentd|filebeat|promtail|istio/proxy|linkerd|vault")


def names_match(name: str | None, service: str) -> bool:
    """Whether a pod, workload or host name belongs to the service."""
    if not name:
        return False
    name = name.split(":")[0].split(".")[0]
    if name == service:
        return True
    return name.startswith(service + "-") and _instance_suffix(name[len(service) :])


@dataclass
class Context:
    evidence: Evidence
    service: str | None
    aliases: set[str] = field(default_factory=set)
    namespaces: set[str] = field(default_factory=set)
    # Views several analyzers share (the Redis view), built once per diagnosis.
    shared: dict[str, object] = field(default_factory=dict)
    _relations: dict[Subject, Relation] = field(default_factory=dict)
    _names: dict[str, bool] = field(default_factory=dict)  # _is_ours, per name asked
    sidecar_names: set[str] = field(default_factory=set)

    @classmethod
    def build(cls, evidence: Evidence, service: str | None) -> Context:
        context = cls(evidence, service or infer_service(evidence))
        for fact in evidence.of("container.image"):
            if fact.subject.container and _SIDECAR_IMAGES.search(str(fact.value)):
                context.sidecar_names.add(fact.subject.container)
        if context.service:
            context.aliases = workload_aliases(evidence, context.service)
            context.namespaces = context._own_namespaces()
        return context

    def _own_namespaces(self) -> set[str]:
        found = Counter(
            f.subject.namespace
            for f in self.evidence.facts
            if f.subject.namespace
            and (f.subject.pod or f.subject.workload)
            and self._is_ours(f.subject.pod or f.subject.workload or "")
        )
        return {found.most_common(1)[0][0]} if found else set()

    def _is_ours(self, name: str) -> bool:
        known = self._names.get(name)
        if known is None:
            assert self.service is not None
            known = names_match(name, self.service) or any(names_match(name, alias) for alias in self.aliases)
            self._names[name] = known
        return known

    # -- ownership --------------------------------------------------------------
    def relation(self, subject: Subject) -> Relation:
        known = self._relations.get(subject)
        if known is None:
            known = self._relations[subject] = self._relation(subject)
        return known

    def _relation(self, subject: Subject) -> Relation:
        service = self.service
        if not service:
            return "unknown"
        if subject.namespace and self.namespaces and subject.namespace not in self.namespaces:
            return "other"
        for name in (subject.pod, subject.workload):
            if name:
                return "self" if self._is_ours(name) else "other"
        if subject.instance:
            host = subject.instance.split(":")[0]
            if re.fullmatch(r"[\d.]+", host):
                return "unknown"
            return "self" if self._is_ours(host) else "other"
        if subject.origin and self._is_ours(subject.origin):
            return "self"
        return "unknown"

    @property
    def newest(self) -> datetime | None:
        """The newest timestamp in the evidence: "now" as far as the evidence knows."""
        if "newest" not in self.shared:
            self.shared["newest"] = max((f.at for f in self.evidence.facts if f.at is not None), default=None)
        value = self.shared["newest"]
        return value if isinstance(value, datetime) else None

    def ours(self, fact: Fact) -> bool:
        """About the service, or about nothing we can tell apart from it."""
        return self.relation(fact.subject) != "other"

    def mine(self, kind: FactKind, key: str | None = None) -> Iterator[Fact]:
        return (f for f in self.evidence.of(kind, key) if self.ours(f))

    def is_sidecar(self, subject: Subject) -> bool:
        container = subject.container
        if not container:
            return False
        if container in self.sidecar_names:
            return True
        if self.service and (container == self.service or self.service.endswith("-" + container)):
            return False
        return bool(_SIDECAR_NAMES.match(container))

    def main(self, kind: FactKind, key: str | None = None) -> Iterator[Fact]:
        """Facts about the service's main container (not a sidecar)."""
        return (f for f in self.mine(kind, key) if not self.is_sidecar(f.subject))

    def same_container(self, a: Subject, b: Subject) -> bool:
        if a.pod and b.pod and a.pod != b.pod:
            return False
        return not (a.container and b.container and a.container != b.container)

    # -- convenience ----------------------------------------------------------------
    def series(self, *names: str) -> Iterator[tuple[Fact, Series]]:
        for fact in self.mine("metric"):
            value = fact.value
            if isinstance(value, Series) and value.name in names:
                yield fact, value

    def logs(self) -> Iterator[Fact]:
        return self.mine("log")

    def program_logs(self) -> Iterator[Fact]:
        """The main container's log lines that a program wrote (a reporter's sentence may read as a log line too)."""
        written = {(f.source.ref, f.source.line) for f in self.evidence.of("text.note")}
        return (f for f in self.main("log") if (f.source.ref, f.source.line) not in written)

    def text_of(self, fact: Fact) -> str:
        value = fact.value
        return getattr(value, "text", None) or getattr(value, "message", None) or str(value)


def workload_aliases(evidence: Evidence, service: str) -> set[str]:
    """When no workload is named like the service, the ones named after it (`checkout` -> `checkout-api`)."""
    workloads = Counter(f.subject.workload for f in evidence.facts if f.subject.workload)
    if any(names_match(name, service) for name in workloads):
        return set()
    related = [name for name in workloads if name.startswith(service + "-") or name.endswith("-" + service)]
    return {max(related, key=lambda name: workloads[name])} if related else set()


def infer_service(evidence: Evidence) -> str | None:
    """The workload most facts are about, when the user did not name one."""
    trouble = Counter[str]()
    for fact in evidence.facts:
        name = fact.subject.workload
        if not name:
            continue
        weight = 3 if fact.kind in ("container.last_reason", "container.waiting_reason", "pod.status") else 1
        trouble[name] += weight
    return trouble.most_common(1)[0][0] if trouble else None
