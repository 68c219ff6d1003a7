"""The seed incident's history as OpenMetrics text, for `promtool tsdb create-blocks-from openmetrics`.

The seed (examples/session-cache/incident.txt): the Redis session store `session-cache` in
namespace `ecommerce`, pod `session-cache-7f4b8d9c65-xk2mv`, OOMKilled 43 times at a 64Mi limit
in about six hours, now in CrashLoopBackOff, its last restart 2 minutes ago; Redis held about
56 MiB (58720256 bytes) with 312 clients and no maxmemory.

This module writes the six hours before `end`, one sample every 15 s, as the exporters would
have reported them:

* kube-state-metrics (scraped as `job="kube-state-metrics"`, `honorLabels`, so `namespace`,
  `pod`, `container` and `uid` name the target pod): restarts climbing to 43, the last
  termination reason `OOMKilled`, the waiting reason `CrashLoopBackOff` while the kubelet backs
  off, and the container's memory/CPU limits and requests (`unit="byte"` / `unit="core"`);
* cAdvisor through the kubelet (`job="kubelet"`, `metrics_path="/metrics/cadvisor"`): the
  container's working set climbing to the 64Mi limit while it runs and vanishing at each kill
  (the `id`/`name` labels of each container instance are left out: one series per container);
* redis_exporter scraping `session-cache:6379` (`job="redis-exporter"`, `instance` the Redis
  address, as in the seed): used memory up to 58720256, 312 clients, maxmemory 0, only while
  Redis runs (a dead target gives `redis_up 0` and nothing else).

Each cycle: the container starts, fills memory for RUN_SECONDS, is OOM-killed, then waits out
the back-off (CrashLoopBackOff, at most 5 minutes) until the next restart. The last restart
is 120 s before `end` and its run lasts 45 s (Started 14:38:02, Finished 14:38:47 in the
seed), so at `end` the pod waits in CrashLoopBackOff with 43 restarts.

`python -m bot.demo.history FILE [--end UNIX_SECONDS]` writes the text to FILE.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

NAMESPACE = "ecommerce"
SERVICE = "session-cache"
POD = "session-cache-7f4b8d9c65-xk2mv"
POD_UID = "3f1c9a52-8e7d-4b60-a1f3-6d2e0c9b7a41"
CONTAINER = "session-cache"
IMAGE = "docker.io/library/redis:7.2-alpine"
NODE = "pool-general-3"
REDIS_INSTANCE = "session-cache:6379"

MEMORY_LIMIT = 64 * 2**20  # 67108864
MEMORY_REQUEST = 64 * 2**20
CPU_LIMIT = 0.25
CPU_REQUEST = 0.1
REDIS_PEAK = 58720256  # redis_memory_used_bytes in the seed, 30 minutes before the last crash
CLIENTS = 312
RESTARTS = 43

HOURS = 6
STEP = 15  # seconds between samples
RUN_SECONDS = 195  # how long a container runs before the kernel kills it
LAST_RESTART_AGO = 120  # "43 (2m ago)"
LAST_RUN_SECONDS = 45  # Started 14:38:02, Finished 14:38:47
WORKING_SET_START = 9 * 2**20  # an empty Redis and its allocator
WORKING_SET_LAST = 0.99 * MEMORY_LIMIT  # the last sample before the kill
REDIS_USED_START = 1 * 2**20

KSM = {"job": "kube-state-metrics", "instance": "10.42.2.9:8080", "service": "kube-state-metrics"}
KUBELET = {
    "job": "kubelet",
    "instance": "10.0.3.17:10250",
    "metrics_path": "/metrics/cadvisor",
    "endpoint": "https-metrics",
    "service": "kube-prometheus-stack-kubelet",
    "node": NODE,
}
REDIS_EXPORTER = {"job": "redis-exporter", "instance": REDIS_INSTANCE}
TARGET = {"namespace": NAMESPACE, "pod": POD, "container": CONTAINER, "uid": POD_UID}


@dataclass(frozen=True, slots=True)
class Run:
    """One container instance: started at `start`, OOM-killed at `killed`."""

    number: int  # the restart count while it runs: 0 for the first container
    start: float
    killed: float


@dataclass
class Family:
    """One metric family: its type, help and samples (labels, value, timestamp), in order."""

    name: str
    type: str
    help: str
    samples: list[tuple[dict[str, str], float, float]] = field(default_factory=list)

    def sample_name(self) -> str:
        return f"{self.name}_total" if self.type == "counter" else self.name


def default_end(now: float | None = None) -> int:
    """Two minutes before `now`, on a whole step: within the default retention and a 1h look-back."""
    moment = time.time() if now is None else now
    return int(moment - 120) // STEP * STEP


def runs(end: float) -> list[Run]:
    """The 44 container instances: the first one and the 43 restarts, the last killed before `end`."""
    start = end - HOURS * 3600
    last_start = end - LAST_RESTART_AGO
    cycle = (last_start - start) / RESTARTS
    found = []
    for number in range(RESTARTS):
        began = start + round(number * cycle / STEP) * STEP  # on the sample grid, like `end`
        found.append(Run(number, began, began + RUN_SECONDS))
    found.append(Run(RESTARTS, last_start, last_start + LAST_RUN_SECONDS))
    return found


def families(end: float) -> list[Family]:
    """All the series of the six hours before `end`."""
    start = end - HOURS * 3600
    instances = runs(end)
    ksm_labels = {**KSM, **TARGET}
    restarts = Family(
        "kube_pod_container_status_restarts", "counter", "The number of container restarts per container."
    )
    last_terminated = Family(
        "kube_pod_container_status_last_terminated_reason",
        "gauge",
        "Describes the last reason the container was in terminated state.",
    )
    waiting = Family(
        "kube_pod_container_status_waiting_reason",
        "gauge",
        "Describes the reason the container is currently in waiting state.",
    )
    limits = Family(
        "kube_pod_container_resource_limits",
        "gauge",
        "The number of requested limit resource by a container.",
    )
    requests = Family(
        "kube_pod_container_resource_requests",
        "gauge",
        "The number of requested request resource by a container.",
    )
    working_set = Family(
        "container_memory_working_set_bytes", "gauge", "Current working set of the container in bytes"
    )
    used = Family("redis_memory_used_bytes", "gauge", "used_memory metric")
    clients = Family("redis_connected_clients", "gauge", "connected_clients metric")
    config_maxmemory = Family("redis_config_maxmemory", "gauge", "config_maxmemory metric")
    memory_max = Family("redis_memory_max_bytes", "gauge", "maxmemory metric")
    up = Family("redis_up", "gauge", "Information about the Redis instance")

    cadvisor_labels = {**KUBELET, "namespace": NAMESPACE, "pod": POD, "container": CONTAINER, "image": IMAGE}
    for moment in _moments(start, end):
        run = _running(instances, moment)
        count = max((r.number for r in instances if r.start <= moment), default=0)
        killed_once = any(r.killed <= moment for r in instances)
        restarts.samples.append((ksm_labels, count, moment))
        if killed_once:
            last_terminated.samples.append(({**ksm_labels, "reason": "OOMKilled"}, 1, moment))
        if run is None and killed_once:
            waiting.samples.append(({**ksm_labels, "reason": "CrashLoopBackOff"}, 1, moment))
        for family, memory, cpu in (
            (limits, MEMORY_LIMIT, CPU_LIMIT),
            (requests, MEMORY_REQUEST, CPU_REQUEST),
        ):
            family.samples.append(
                ({**ksm_labels, "node": NODE, "resource": "memory", "unit": "byte"}, memory, moment)
            )
            family.samples.append(
                ({**ksm_labels, "node": NODE, "resource": "cpu", "unit": "core"}, cpu, moment)
            )
        up.samples.append((REDIS_EXPORTER, 0 if run is None else 1, moment))
        if run is None:
            continue  # no container: cAdvisor drops its series, redis_exporter reads nothing
        filled = _filled(run, moment)
        working_set.samples.append(
            (
                cadvisor_labels,
                round(WORKING_SET_START + filled * (WORKING_SET_LAST - WORKING_SET_START)),
                moment,
            )
        )
        used.samples.append(
            (REDIS_EXPORTER, round(REDIS_USED_START + filled * (REDIS_PEAK - REDIS_USED_START)), moment)
        )
        clients.samples.append((REDIS_EXPORTER, CLIENTS, moment))
        config_maxmemory.samples.append((REDIS_EXPORTER, 0, moment))
        memory_max.samples.append((REDIS_EXPORTER, 0, moment))
    return [
        restarts,
        last_terminated,
        waiting,
        limits,
        requests,
        working_set,
        used,
        clients,
        config_maxmemory,
        memory_max,
        up,
    ]


def openmetrics(end: float) -> str:
    """The OpenMetrics text of the six hours before `end` (timestamps in seconds, `# EOF` last)."""
    return "".join(_lines(families(end)))


def write(path: Path, end: float) -> Path:
    path.write_text(openmetrics(end))
    return path


def _lines(found: list[Family]) -> Iterator[str]:
    for family in found:
        yield f"# HELP {family.name} {family.help}\n"
        yield f"# TYPE {family.name} {family.type}\n"
        # Series by series, each in time order: a family's samples must stay together.
        by_series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
        for labels, value, moment in family.samples:
            by_series.setdefault(tuple(labels.items()), []).append((value, moment))
        for labels_items, points in by_series.items():
            text = ",".join(f'{key}="{_escaped(value)}"' for key, value in labels_items)
            for value, moment in points:
                yield f"{family.sample_name()}{{{text}}} {_number(value)} {_number(moment)}\n"
    yield "# EOF\n"


def _moments(start: float, end: float) -> Iterator[float]:
    steps = math.floor((end - start) / STEP)
    for index in range(steps + 1):
        yield start + index * STEP


def _running(instances: list[Run], moment: float) -> Run | None:
    return next((r for r in instances if r.start <= moment < r.killed), None)


def _filled(run: Run, moment: float) -> float:
    """How far the run has filled its memory: 0 at start, 1 at the last sample before the kill."""
    last_sample = run.start + math.floor((run.killed - run.start - 1e-9) / STEP) * STEP
    span = max(last_sample - run.start, STEP)
    return min(max((moment - run.start) / span, 0.0), 1.0)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("file", type=Path)
    parser.add_argument("--end", type=float, help="the last sample, in Unix seconds (default: now - 2m)")
    args = parser.parse_args(argv)
    write(args.file, args.end if args.end is not None else default_end())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
