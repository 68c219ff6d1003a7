#!/usr/bin/env python3
"""Parallel collection: `bot.collect.collect` over three slow sources, each about 1 s late.

The real collectors (Kubernetes, Prometheus, Redis) run through `bot.collect.collect` against:

* the Kubernetes API STAND-IN (tests/standins/kube_api.py) serving the seed incident's pod,
  ReplicaSet, Deployment, events and previous log, created with `delay=1.0`;
* a Prometheus STAND-IN: a tiny HTTP server answering `/api/v1/query_range` with an empty
  matrix (not a real Prometheus);
* a real `redis-server` on a free port, made slow for 1 s just before each collection by
  another client's `DEBUG SLEEP 1` (Redis serves one command at a time, so INFO waits).

The collectors make several calls each (the Kubernetes one about ten GETs, the Prometheus one
one query_range per series), so "1 s late" needs a choice:

* `--delay first` (default): each stand-in holds back only the first answer of a collection
  by the delay, so every source takes about 1 s and a sequential collection would take ~3 s;
* `--delay every`: every answer is held back (the Kubernetes stand-in's own `delay`; the
  Prometheus stand-in does the same), so each source takes (calls x 1 s).

Each collection is timed as a whole (wall time of `collect`) and each source inside it (a thin
wrapper around each collector). Printed: wall time per run (min / median / max), the slowest
single source per run, the sum of the sources (what one after another would cost) and the
ratios total / slowest (parallel: close to 1.0) and total / sum (sequential: 1.0).

This is a measurement, not a test: it asserts nothing and always exits 0.

    .venv/bin/python bench/bench_collect.py                # 5 runs, each source ~1 s late
    .venv/bin/python bench/bench_collect.py --repeat 10
    .venv/bin/python bench/bench_collect.py --delay every --repeat 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests/standins and the seed incident live in the checkout

if TYPE_CHECKING:
    from analyzers.evidence import Evidence
    from bot.collectors.base import Collector, Target
    from tests.standins.kube_api import KubeApiStandIn

SERVICE = "session-cache"
NAMESPACE = "ecommerce"
SESSION_KEYS = 3000
SOURCE_TIMEOUT = 60.0  # generous: the figures, not the time-outs, are measured here
DEADLINE = 120.0


# -- the Prometheus stand-in ---------------------------------------------------------------------
class PrometheusStandIn:
    """A STAND-IN for Prometheus: `/api/v1/query_range` -> an empty matrix, `delay` seconds late."""

    def __init__(self, delay: float, every: bool) -> None:
        self.delay = delay
        self.every = every
        self.answered = 0
        self._armed = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _PrometheusHandler)
        self._server.daemon_threads = True
        self._server.standin = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="prometheus-standin", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def arm(self) -> None:
        """The next answer (or, with `every`, each answer) comes `delay` seconds late."""
        self._armed.set()

    def disarm(self) -> None:
        self._armed.clear()

    def hold_back(self) -> None:
        if self.every and self._armed.is_set():
            time.sleep(self.delay)
        elif self._armed.is_set():
            self._armed.clear()
            time.sleep(self.delay)
        self.answered += 1

    def __enter__(self) -> PrometheusStandIn:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _PrometheusHandler(BaseHTTPRequestHandler):
    EMPTY = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": []}}).encode()

    def do_GET(self) -> None:
        if not self.path.startswith("/api/v1/query_range"):
            body = json.dumps({"status": "error", "errorType": "not_found", "error": "not found"}).encode()
            self._send(404, body)
            return
        self.server.standin.hold_back()  # type: ignore[attr-defined]
        self._send(200, self.EMPTY)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


# -- the Kubernetes stand-in, held back once per collection ----------------------------------------
def kube_standin(delay: float, every: bool) -> KubeApiStandIn:
    """The seed's cluster in the Kubernetes API stand-in, created with `delay`."""
    from tests.live.seed_history import default_end
    from tests.live.test_check_end_to_end import CONTAINER, POD, previous_log, seed_cluster
    from tests.standins.kube_api import KubeApiStandIn

    class FirstAnswerLate(KubeApiStandIn):
        """The stand-in, whose delay holds back only the first answer after each `arm()`."""

        def __init__(self, objects: list[dict[str, Any]], delay: float) -> None:
            super().__init__(objects)
            self.first_answer_delay = delay
            self.armed = threading.Event()

        def answer(
            self, method: str, target: str, content_type: str = "", data: bytes = b""
        ) -> tuple[int, str, str]:
            if self.armed.is_set():
                self.armed.clear()
                time.sleep(self.first_answer_delay)
            return super().answer(method, target, content_type, data)

    end = default_end()
    standin = (KubeApiStandIn if every else FirstAnswerLate)(seed_cluster(end), delay=delay)
    standin.set_log(NAMESPACE, POD, CONTAINER, previous_log(end), previous=True)
    return standin


# -- a real Redis, made slow -----------------------------------------------------------------------
@dataclass
class SlowRedis:
    """A real redis-server on a free port; `stall()` makes it sleep 1 s from another client."""

    port: int
    process: subprocess.Popen[bytes]
    delay: float
    _sleepers: list[socket.socket] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def stall(self) -> None:
        """Another client sends `DEBUG SLEEP` and does not wait for its reply."""
        sleeper = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        seconds = f"{self.delay:g}"
        sleeper.sendall(f"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n${len(seconds)}\r\n{seconds}\r\n".encode())
        self._sleepers.append(sleeper)
        time.sleep(0.02)  # let the server pick the command up before the collector's INFO arrives

    def settle(self) -> None:
        """Read the `+OK` of every DEBUG SLEEP sent, so the next run starts on a rested server."""
        for sleeper in self._sleepers:
            reply = sleeper.recv(64)
            if not reply.startswith(b"+OK"):
                print(f"  DEBUG SLEEP answered {reply!r}", file=sys.stderr)
            sleeper.close()
        self._sleepers.clear()


@contextmanager
def slow_redis(delay: float) -> Iterator[SlowRedis]:
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (Debian package redis-server)")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="bench-collect-redis-") as folder:
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--maxmemory", "0", "--maxmemory-policy", "noeviction", "--enable-debug-command", "local"]
        process = subprocess.Popen(args, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
            _wait_for(lambda: _pings(client), "redis-server", process)
            pipeline = client.pipeline(transaction=False)
            for number in range(SESSION_KEYS):
                pipeline.set(f"session:{uuid.UUID(int=number, version=4)}", '{"user_id": 1, "cart": []}')
            pipeline.execute()
            client.close()
            yield SlowRedis(port, process, delay)
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- timing each source inside `collect` -------------------------------------------------------------
class Timed:
    """A collector that records how long the one it wraps took."""

    def __init__(self, inner: Collector) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds = 0.0

    def collect(self, target: Target, timeout: float) -> Evidence:
        started = time.perf_counter()
        try:
            return self.inner.collect(target, timeout)
        finally:
            self.seconds = time.perf_counter() - started


@dataclass(frozen=True, slots=True)
class RunFigures:
    total: float
    sources: dict[str, float]
    statuses: dict[str, str]

    @property
    def slowest(self) -> tuple[str, float]:
        name = max(self.sources, key=lambda n: self.sources[n])
        return name, self.sources[name]

    @property
    def sequential(self) -> float:
        return sum(self.sources.values())


def run_once(target: Target, collectors: Sequence[Collector]) -> RunFigures:
    from bot.collect import collect

    timed = [Timed(c) for c in collectors]
    started = time.perf_counter()
    evidence = collect(target, timed, source_timeout=SOURCE_TIMEOUT, deadline=DEADLINE)
    total = time.perf_counter() - started
    statuses: dict[str, str] = {s.name: s.status for s in evidence.sources}
    return RunFigures(total, {t.name: t.seconds for t in timed}, statuses)


# -- the benchmark ---------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5, help="collections to time (default 5)")
    parser.add_argument("--seconds", type=float, default=1.0, help="how late each source is (default 1.0)")
    parser.add_argument(
        "--delay",
        choices=("first", "every"),
        default="first",
        help="hold back the first answer of each collection (default) or every answer",
    )
    args = parser.parse_args(argv)

    from kubernetes import client

    from bot.collectors.base import Target
    from bot.collectors.kubernetes_collector import KubernetesCollector
    from bot.collectors.prometheus_collector import PrometheusCollector
    from bot.collectors.redis_collector import RedisCollector

    every = args.delay == "every"
    kube = kube_standin(args.seconds, every)
    target = Target(SERVICE, namespace=NAMESPACE, since_seconds=3600)
    with kube, PrometheusStandIn(args.seconds, every) as prometheus, slow_redis(args.seconds) as redis_server:
        api_client = client.ApiClient(client.Configuration(host=kube.url))
        collectors: list[Collector] = [
            KubernetesCollector(api_client),
            PrometheusCollector(prometheus.url),
            RedisCollector(redis_server.url),
        ]
        delay, kube.delay = kube.delay, 0.0  # (with `first`, the stand-in's own delay is 0 anyway)
        warm = run_once(target, collectors)  # imports, first connections, no delays: not counted
        kube.delay = delay
        print(f"bench_collect: {args.repeat} runs, each source {args.seconds:g} s late ({args.delay} answer)")
        print(f"  warm-up without delays: {warm.total:.3f} s  {_per_source(warm)}")
        runs: list[RunFigures] = []
        for number in range(1, args.repeat + 1):
            _arm(kube, prometheus, every)
            redis_server.stall()
            figures = run_once(target, collectors)
            redis_server.settle()
            prometheus.disarm()
            runs.append(figures)
            name, slowest = figures.slowest
            print(
                f"  run {number}: total {figures.total:.3f} s, slowest {name} {slowest:.3f} s, "
                f"sum {figures.sequential:.3f} s, total/slowest {figures.total / slowest:.2f}  "
                f"{_per_source(figures)}"
            )
        api_client.close()  # type: ignore[no-untyped-call]
    _summary(runs)
    return 0


def _arm(kube: KubeApiStandIn, prometheus: PrometheusStandIn, every: bool) -> None:
    armed = getattr(kube, "armed", None)
    if not every and isinstance(armed, threading.Event):
        armed.set()
    prometheus.arm()


def _per_source(figures: RunFigures) -> str:
    return (
        "["
        + ", ".join(f"{n} {s:.3f} s {figures.statuses.get(n, '?')}" for n, s in figures.sources.items())
        + "]"
    )


def _summary(runs: list[RunFigures]) -> None:
    if not runs:
        return
    totals = [r.total for r in runs]
    slowest = [r.slowest[1] for r in runs]
    sums = [r.sequential for r in runs]
    ratios = [r.total / r.slowest[1] for r in runs]
    sequential_ratios = [r.total / r.sequential for r in runs]
    print("summary (min / median / max):")
    print(f"  wall time per run      {_spread(totals, 's')}")
    print(f"  slowest single source  {_spread(slowest, 's')}")
    for name in runs[0].sources:
        print(f"    {name:<20} {_spread([r.sources[name] for r in runs], 's')}")
    print(f"  sum of the sources     {_spread(sums, 's')}  (one after another)")
    print(f"  total / slowest        {_spread(ratios, '')}  (parallel: close to 1.0)")
    print(f"  total / sum            {_spread(sequential_ratios, '')}  (sequential: 1.0)")


def _spread(values: list[float], unit: str) -> str:
    suffix = f" {unit}" if unit else ""
    return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}{suffix}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _pings(client: Any) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def _wait_for(ready: Any, what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} exited with {process.returncode}")
        if ready():
            return
        time.sleep(0.05)
    sys.exit(f"{what} not ready after 20 s")


if __name__ == "__main__":
    sys.exit(main())
