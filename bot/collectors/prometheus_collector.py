"""Live Prometheus: range queries for the series the analyzers read, kept with their raw bodies.

`PrometheusConnect.custom_query_range` returns the parsed result only, while every fact must cite
the text it was read from; so the query_range call is made here, through the client's own session
(its retries, headers, auth and TLS settings), and the body is read like a pasted API answer.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import requests  # type: ignore[import-untyped, unused-ignore]
from prometheus_api_client import PrometheusConnect
from urllib3.util.retry import Retry

from analyzers.evidence import Evidence, Fact, SourceReport
from bot.collectors.base import CollectorError, Target
from bot.collectors.parallel import run_parallel
from bot.readers.excerpts import RawText
from bot.readers.prometheus import api_facts

TARGET_POINTS = 240
DEFAULT_MIN_STEP = 15  # seconds

QUERY_WORKERS = 6

# cAdvisor and kube-state-metrics series, with the matchers that pick the relevant ones.
KUBERNETES_SERIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("container_memory_working_set_bytes", ('container!=""', 'container!="POD"')),
    ("kube_pod_container_resource_limits", ('resource="memory"',)),
    ("kube_pod_container_resource_requests", ('resource="memory"',)),
    ("kube_pod_container_status_restarts_total", ()),
    ("kube_pod_container_status_last_terminated_reason", ()),
    ("kube_pod_container_status_waiting_reason", ()),
    ("container_cpu_cfs_throttled_periods_total", ()),
    ("container_cpu_cfs_periods_total", ()),
)
REDIS_SERIES = (
    "redis_memory_used_bytes",
    "redis_memory_max_bytes",
    "redis_config_maxmemory",
    "redis_connected_clients",
    "redis_config_maxclients",
    "redis_evicted_keys_total",
    "redis_rdb_last_bgsave_status",
    "redis_mem_fragmentation_ratio",
    "redis_rejected_connections_total",
    "redis_errors_total",
    "redis_instance_info",
)
# Labels that tell one redis_exporter target from another.
REDIS_TARGET_LABELS = ("instance", "service", "pod")
# On cAdvisor and kube-state-metrics series these name the scrape target (a node, the kubelet
# or kube-state-metrics), not the service, so a configured value would match nothing.
SCRAPE_TARGET_LABELS = ("instance", "service", "job")


@dataclass(frozen=True, slots=True)
class Query:
    """A PromQL query and the metric name its series carry when the result drops `__name__`."""

    name: str
    promql: str


@dataclass(frozen=True, slots=True)
class Window:
    start: int
    end: int
    step: int


class PrometheusCollector:
    name = "prometheus"

    def __init__(
        self, url: str, client: PrometheusConnect | None = None, min_step: int = DEFAULT_MIN_STEP
    ) -> None:
        self.url = url.rstrip("/")
        self.client = client or PrometheusConnect(
            self.url,
            # One more try for a refused connection or a busy server; a slow answer is not asked again.
            retry=Retry(
                total=1,
                read=False,
                backoff_factor=0.25,
                status_forcelist=(502, 503, 504),
                raise_on_status=False,
            ),
        )
        self.min_step = min_step

    def collect(self, target: Target, timeout: float) -> Evidence:
        deadline = time.monotonic() + timeout
        window = self.window(target.since_seconds)
        queries = queries_for(target)
        evidence = Evidence()
        # The queries are independent: ask them side by side so one slow answer costs its own time.
        # Each gets the time left when it starts; none is waited for past the deadline.
        outcomes = run_parallel(
            [partial(self._series, q, window, deadline) for q in queries], deadline, QUERY_WORKERS
        )
        for outcome in outcomes:
            if outcome.error is not None:
                raise outcome.error
        results = [outcome.value if outcome.done else None for outcome in outcomes]
        for series in results:
            if series is None:
                answered = f"{sum(r is not None for r in results)} of {len(queries)} queries answered"
                raise CollectorError(f"{self.url}: timed out after {timeout:g}s ({answered})")
            evidence.extend(series)
        detail = (
            f"{len(queries)} queries, {len(evidence.facts)} series "
            f"over the last {target.since_seconds}s (step {window.step}s)"
        )
        evidence.sources.append(SourceReport("prometheus", "prometheus", "ok", detail))
        return evidence

    def window(self, since_seconds: int) -> Window:
        """The last `since_seconds`, with a step that gives about TARGET_POINTS points."""
        end = math.floor(time.time())
        step = max(self.min_step, math.ceil(since_seconds / TARGET_POINTS))
        return Window(end - since_seconds, end, step)

    def _series(self, query: Query, window: Window, deadline: float) -> list[Fact] | None:
        """The series a query returns; None when no answer came in time."""
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            return None
        body = self._query_range(query.promql, window, timeout)
        if body is None:
            return None
        answer = _decoded(body)
        if answer is None:
            raise CollectorError(f"{self.url}: not a Prometheus API answer to {_one_line(query.promql)}")
        return list(api_facts(answer, RawText(body), query.promql, 0, query.name))

    def _query_range(self, promql: str, window: Window, timeout: float) -> str | None:
        params = {"query": promql, "start": window.start, "end": window.end, "step": window.step}
        try:
            response = self.client._session.get(
                f"{self.url}/api/v1/query_range",
                params=params,
                headers=self.client.headers,
                auth=self.client.auth,
                timeout=timeout,
            )
        except requests.exceptions.Timeout:
            return None
        except requests.exceptions.RequestException as error:
            if "timed out" in str(error):  # after retries, a timeout surfaces as a ConnectionError
                return None
            raise CollectorError(f"{self.url}: {_connection_failure(error)}") from None
        if response.status_code != 200:
            raise CollectorError(
                f"{self.url}: HTTP {response.status_code} for {_one_line(promql)}: {_api_error(response)}"
            )
        # Decoded here: `response.text` would guess the charset of a body that names none, slowly.
        return bytes(response.content).decode("utf-8", errors="replace")


def queries_for(target: Target) -> list[Query]:
    """The built-in queries narrowed to the target, then the target's own queries as they are."""
    kubernetes = kubernetes_matchers(target)
    redis = redis_matchers(target)
    queries = [Query(name, selector(name, (*fixed, *kubernetes))) for name, fixed in KUBERNETES_SERIES]
    queries += [Query(name, selector(name, redis)) for name in REDIS_SERIES]
    queries += [Query(name, promql) for name, promql in target.prometheus_queries.items()]
    return queries


def kubernetes_matchers(target: Target) -> tuple[str, ...]:
    """The target's matchers, defaulting to its namespace and pods named after the service."""
    defaults = {"pod": f"=~{_quoted(_regex_literal(target.service) + '-.*')}"}
    if target.namespace:
        defaults["namespace"] = f"={_quoted(target.namespace)}"
    configured = {
        label: f"={_quoted(value)}"
        for label, value in target.prometheus_matchers.items()
        if label not in SCRAPE_TARGET_LABELS
    }
    return tuple(f"{label}{rest}" for label, rest in sorted({**defaults, **configured}.items()))


def redis_matchers(target: Target) -> tuple[str, ...]:
    """redis_exporter targets as configured, else instances named after the service."""
    configured = {k: v for k, v in target.prometheus_matchers.items() if k in REDIS_TARGET_LABELS}
    if not configured:
        return (f"instance=~{_quoted(_regex_literal(target.service) + '.*')}",)
    return tuple(f"{label}={_quoted(value)}" for label, value in sorted(configured.items()))


def selector(metric: str, matchers: tuple[str, ...]) -> str:
    return f"{metric}{{{','.join(matchers)}}}" if matchers else metric


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _regex_literal(name: str) -> str:
    # Kubernetes names hold only [a-z0-9.-]; of those, only the dot means something in a regex.
    return name.replace(".", "\\.")


def _decoded(body: str) -> dict[str, Any] | None:
    """A successful query API answer, else None."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) and answer.get("status") == "success" else None


def _api_error(response: Any) -> str:
    """Prometheus's own error message from an error body, else the HTTP reason."""
    try:
        message = response.json().get("error")
    except (ValueError, AttributeError):
        message = None
    return _one_line(str(message or response.reason or "no reason given"))


def _connection_failure(error: Exception) -> str:
    text = str(error)
    if "Connection refused" in text:
        return "connection refused"
    if re.search(r"Name or service not known|nodename nor servname|Failed to resolve", text):
        return "host not found"
    return f"cannot connect ({type(error).__name__})"


def _one_line(text: str) -> str:
    return " ".join(text.split())
