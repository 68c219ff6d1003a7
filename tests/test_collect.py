"""Collection in parallel: a slow or failing source makes the evidence partial, never blocks it."""

from __future__ import annotations

import threading

from analyzers.evidence import Evidence, Fact, Source, Subject
from bot.collect import Skipped, collect
from bot.collectors.base import CollectorError, Target

TARGET = Target(service="session-cache", namespace="ecommerce")


class Answers:
    name = "answers"

    def collect(self, target: Target, timeout: float) -> Evidence:
        evidence = Evidence()
        source = Source("redis-live", "redis://x:6379 INFO", "maxmemory:0")
        evidence.add(Fact("redis.info", Subject(workload=target.service), "0", source, key="maxmemory"))
        return evidence


class Refuses:
    name = "kubernetes"

    def collect(self, target: Target, timeout: float) -> Evidence:
        raise CollectorError(
            '403 Forbidden: cannot list pods in namespace "ecommerce" (RBAC needs verb "list")'
        )


class Hangs:
    name = "prometheus"

    def __init__(self) -> None:
        self.release = threading.Event()

    def collect(self, target: Target, timeout: float) -> Evidence:
        self.release.wait(30)
        return Evidence()


class Breaks:
    name = "broken"

    def collect(self, target: Target, timeout: float) -> Evidence:
        raise KeyError("surprise")


def test_each_source_is_reported_with_its_outcome() -> None:
    hanging = Hangs()
    evidence = collect(
        TARGET,
        [Answers(), Refuses(), hanging, Breaks()],
        [Skipped("redis", "not configured")],
        source_timeout=0.2,
        deadline=0.5,
    )
    hanging.release.set()
    outcome = {s.name: (s.status, s.detail) for s in evidence.sources}
    assert outcome["answers"][0] == "ok"
    assert outcome["kubernetes"] == (
        "error",
        '403 Forbidden: cannot list pods in namespace "ecommerce" (RBAC needs verb "list")',
    )
    assert outcome["prometheus"][0] == "error" and "no answer" in outcome["prometheus"][1]
    assert outcome["broken"][0] == "error" and "KeyError" in outcome["broken"][1]
    assert outcome["redis"] == ("skipped", "not configured")
    assert [f.key for f in evidence.facts] == ["maxmemory"]


def test_no_collectors_is_an_empty_but_explained_evidence() -> None:
    evidence = collect(TARGET, [], [Skipped("kubernetes", "turned off")])
    assert evidence.facts == [] and evidence.sources[0].status == "skipped"
