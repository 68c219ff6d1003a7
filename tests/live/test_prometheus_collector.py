"""PrometheusCollector against a real Prometheus scraping a real redis_exporter."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from analyzers import analyze
from analyzers.evidence import Evidence, Fact, Series
from bot.collectors.base import CollectorError, Target
from bot.collectors.prometheus_collector import KUBERNETES_SERIES, REDIS_SERIES, PrometheusCollector

if TYPE_CHECKING:
    from conftest import PrometheusServer

TIMEOUT = 10.0
# The fixture's Prometheus is seconds old: a step of 1s gives its few samples room to show.
MIN_STEP = 1


def collect(url: str, target: Target) -> Evidence:
    return PrometheusCollector(url, min_step=MIN_STEP).collect(target, TIMEOUT)


def series_named(evidence: Evidence, name: str) -> tuple[Fact, Series]:
    found = [(f, f.value) for f in evidence.of("metric", name) if isinstance(f.value, Series)]
    assert len(found) == 1, found
    return found[0]


def test_redis_series_with_their_points_and_provenance(prometheus: PrometheusServer) -> None:
    evidence = collect(prometheus.url, Target("session-cache", "web", since_seconds=60))

    fact, used = series_named(evidence, "redis_memory_used_bytes")
    assert len(used.points) >= 3
    assert used.label("service") == "session-cache"
    assert fact.source.kind == "prometheus-api"
    assert fact.source.ref == 'redis_memory_used_bytes{instance=~"session-cache.*"}'
    assert fact.source.excerpt.startswith("[") and str(int(used.peak)) in fact.source.excerpt
    assert (fact.subject.namespace, fact.subject.pod) == ("web", "session-cache-0")
    assert fact.subject.workload == "session-cache"
    assert {f.key for f in evidence.of("metric")} >= {"redis_config_maxmemory", "redis_connected_clients"}
    [report] = evidence.sources
    assert (report.name, report.kind, report.status) == ("prometheus", "prometheus", "ok")
    queries = len(KUBERNETES_SERIES) + len(REDIS_SERIES)
    assert report.detail.startswith(f"{queries} queries, {len(evidence.facts)} series")


def test_exporter_series_give_the_redis_findings(prometheus: PrometheusServer) -> None:
    evidence = collect(prometheus.url, Target("session-cache", "web", since_seconds=60))

    _, maxmemory = series_named(evidence, "redis_config_maxmemory")
    assert maxmemory.last == 0
    diagnosis = analyze(evidence, "session-cache")
    assert diagnosis.finding("redis-maxmemory-unset") is not None


def test_configured_matchers_pick_the_exporter_target(prometheus: PrometheusServer) -> None:
    matchers = {"namespace": "web", "service": "session-cache"}
    target = Target("session-cache", "web", prometheus_matchers=matchers, since_seconds=60)

    evidence = collect(prometheus.url, target)

    fact, _ = series_named(evidence, "redis_connected_clients")
    assert fact.source.ref == 'redis_connected_clients{service="session-cache"}'


def test_extra_queries_keep_their_name_when_the_result_drops_it(prometheus: PrometheusServer) -> None:
    query = 'max by (instance) (redis_memory_used_bytes{service="session-cache"})'
    target = Target("session-cache", prometheus_queries={"redis_memory_used_bytes": query}, since_seconds=60)

    evidence = collect(prometheus.url, target)

    [fact] = [f for f in evidence.of("metric") if f.source.ref == query]
    assert isinstance(fact.value, Series) and fact.value.name == "redis_memory_used_bytes"


def test_a_query_without_series_is_not_an_error(prometheus: PrometheusServer) -> None:
    target = Target("billing", prometheus_queries={"nothing": 'up{job="nowhere"}'}, since_seconds=60)

    evidence = collect(prometheus.url, target)

    assert evidence.facts == []
    assert evidence.sources[0].status == "ok"
    assert evidence.sources[0].detail.startswith(
        f"{len(KUBERNETES_SERIES) + len(REDIS_SERIES) + 1} queries, 0 series"
    )


def test_a_rejected_query_names_the_server_and_the_status(prometheus: PrometheusServer) -> None:
    target = Target("session-cache", prometheus_queries={"broken": "rate(redis_up"}, since_seconds=60)

    with pytest.raises(CollectorError) as raised:
        collect(prometheus.url, target)

    message = str(raised.value)
    assert message.startswith(f"{prometheus.url}: HTTP 400 for rate(redis_up: ")
    assert "\n" not in message


def test_a_path_that_is_no_prometheus_api(prometheus: PrometheusServer) -> None:
    with pytest.raises(CollectorError, match=r": HTTP 404 for "):
        collect(f"{prometheus.url}/nothing-here", Target("session-cache"))


def test_an_unreachable_server(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"

    with pytest.raises(CollectorError) as raised:
        collect(url, Target("session-cache"))

    assert str(raised.value) == f"{url}: connection refused"


def test_a_server_that_never_answers_times_out(silent_port: int) -> None:
    url = f"http://127.0.0.1:{silent_port}"

    with pytest.raises(CollectorError) as raised:
        PrometheusCollector(url).collect(Target("session-cache"), timeout=0.5)

    assert (
        str(raised.value)
        == f"{url}: timed out after 0.5s (0 of {len(KUBERNETES_SERIES) + len(REDIS_SERIES)} queries answered)"
    )
