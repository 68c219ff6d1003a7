"""Real servers for the live collector tests: Redis, redis_exporter and Prometheus; and
Alertmanager, for the bot's webhook.

Each runs on a free local port in a temporary folder, is started once for the session (they
take a few seconds together) and is stopped when the session ends.
"""

from __future__ import annotations

import datetime
import functools
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import requests  # type: ignore[import-untyped, unused-ignore]
from redis.backoff import NoBackoff
from redis.retry import Retry

# The binaries the servers need and the Debian package of each.
PACKAGES = {
    "redis-server": "redis-server",
    "redis-cli": "redis-tools",
    "prometheus": "prometheus",
    "prometheus-redis-exporter": "prometheus-redis-exporter",
    "prometheus-alertmanager": "prometheus-alertmanager",
}
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
# The labels Prometheus attaches to the exporter's series, as a Kubernetes scrape would.
EXPORTED_LABELS = {
    "namespace": "web",
    "pod": "session-cache-0",
    "service": "session-cache",
    "instance": "session-cache-0:6379",
}


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: the live tests need the Debian package {PACKAGES[name]} "
            f"(apt-get install {PACKAGES[name]})",
            pytrace=False,
        )
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Servers:
    """The server processes of the session, each logging to a file in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, *args: str, files: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Starts `name` in a folder of its own, holding `files` (name -> content)."""
        workdir = self.folder / f"{name}-{len(self.processes)}"
        workdir.mkdir()
        for file_name, content in (files or {}).items():
            (workdir / file_name).write_text(content)
        log = workdir / "server.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [binary(name), *args], cwd=workdir, stdout=output, stderr=subprocess.STDOUT
            )
        self.processes.append((process, log))
        return process

    def wait_until(self, ready: Callable[[], bool], what: str, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"{what} exited with {process.returncode}:\n{self._log_of(process)}")
            if ready():
                return
            time.sleep(0.1)
        pytest.fail(f"{what} not ready after {START_TIMEOUT:g}s:\n{self._log_of(process)}")

    def stop_all(self) -> None:
        for process, _ in reversed(self.processes):
            process.terminate()
        for process, _ in self.processes:
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _log_of(self, process: subprocess.Popen[bytes]) -> str:
        log = next(path for started, path in self.processes if started is process)
        return log.read_text(errors="replace")[-3000:]


@dataclass(frozen=True, slots=True)
class RedisServer:
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"redis://{self.address}"

    def client(self, password: str | None = None) -> redis.Redis:
        # No retries: the readiness poll asks again by itself, and a retried refusal costs seconds.
        return redis.Redis(
            host="127.0.0.1", port=self.port, password=password, socket_timeout=5, retry=Retry(NoBackoff(), 0)
        )


@dataclass(frozen=True, slots=True)
class PrometheusServer:
    url: str
    redis: RedisServer  # the server the exporter reads; left as it started


@dataclass(frozen=True, slots=True)
class AlertmanagerServer:
    """A real Alertmanager, sending every group to one webhook; `push` alerts to it as Prometheus would."""

    url: str

    def push(self, alerts: list[dict[str, Any]]) -> None:
        """POST /api/v2/alerts: each alert has `labels` and may have `annotations`, `startsAt`,
        `endsAt` (RFC 3339) and `generatorURL`."""
        answer = requests.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=5)
        answer.raise_for_status()

    def resolve(self, labels: dict[str, str]) -> None:
        """Ends the alert with these labels now, as Prometheus does when its rule stops firing."""
        self.push([{"labels": labels, "endsAt": _rfc3339(datetime.datetime.now(datetime.UTC))}])

    def alerts(self) -> list[dict[str, Any]]:
        """GET /api/v2/alerts: the alerts Alertmanager holds, with their fingerprints and status."""
        answer = requests.get(f"{self.url}/api/v2/alerts", timeout=5)
        answer.raise_for_status()
        alerts: list[dict[str, Any]] = answer.json()
        return alerts

    def silences(self) -> list[dict[str, Any]]:
        """GET /api/v2/silences."""
        answer = requests.get(f"{self.url}/api/v2/silences", timeout=5)
        answer.raise_for_status()
        silences: list[dict[str, Any]] = answer.json()
        return silences


def launch_redis(servers: Servers, *extra: str, port: int | None = None) -> RedisServer:
    """A new Redis without persistence or memory bound, on `port` or a free one; extra arguments
    are passed on."""
    port = port or free_port()
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = servers.start("redis-server", *args, "--maxmemory", "0", *extra)
    server = RedisServer(port)
    servers.wait_until(lambda: _answers(server), f"redis-server on port {port}", process)
    return server


def launch_alertmanager(
    servers: Servers,
    webhook_url: str,
    bearer_token: str,
    group_wait: str = "1s",
    group_interval: str = "2s",
    repeat_interval: str = "1h",
    group_by: Sequence[str] = ("alertname", "namespace", "service"),
) -> AlertmanagerServer:
    """A new Alertmanager, clustering off, that sends each alert group to `webhook_url`
    (webhook v4, resolved alerts too, `Authorization: Bearer <bearer_token>`)."""
    port = free_port()
    webhook = {
        "url": webhook_url,
        "send_resolved": True,
        "max_alerts": 0,
        "http_config": {"authorization": {"type": "Bearer", "credentials": bearer_token}},
    }
    config = {
        "route": {
            "receiver": "triage",
            "group_by": list(group_by),
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
        },
        "receivers": [{"name": "triage", "webhook_configs": [webhook]}],
    }
    process = servers.start(
        "prometheus-alertmanager",
        "--config.file=alertmanager.json",
        "--storage.path=data",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # no gossip: a lone Alertmanager, ready at once
        files={"alertmanager.json": json.dumps(config)},  # JSON is YAML too
    )
    server = AlertmanagerServer(f"http://127.0.0.1:{port}")
    servers.wait_until(lambda: _is_ready(server.url), f"alertmanager on port {port}", process)
    return server


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    started = Servers(tmp_path_factory.mktemp("servers"))
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture(scope="session")
def start_redis(servers: Servers) -> Callable[..., RedisServer]:
    """Starts a new Redis without persistence or memory bound; extra arguments are passed on."""

    return functools.partial(launch_redis, servers)


@pytest.fixture(scope="module")
def bot_server(start_redis: Callable[..., RedisServer]) -> RedisServer:
    """The bot's own Redis (proposals, locks, audit), one per test module."""
    return start_redis()


@pytest.fixture
def bot_redis(bot_server: RedisServer) -> Iterator[redis.Redis]:
    """A client of the bot's Redis, emptied for each test."""
    with bot_server.client() as connection:
        connection.flushdb()
        yield connection


@pytest.fixture(scope="session")
def prometheus(servers: Servers, start_redis: Callable[..., RedisServer]) -> PrometheusServer:
    """Prometheus scraping redis_exporter every second, with a few samples of each series already.

    Prometheus hands new targets to its scrapers only every 5 seconds, so this takes about 10.
    """
    redis_server = start_redis()
    exporter_address = _start_exporter(servers, redis_server)
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "redis",
                "static_configs": [{"targets": [exporter_address], "labels": EXPORTED_LABELS}],
            }
        ],
    }
    process = servers.start(
        "prometheus",
        "--config.file=prometheus.json",
        "--storage.tsdb.path=data",
        f"--web.listen-address=127.0.0.1:{port}",
        files={"prometheus.json": json.dumps(config)},  # JSON is YAML too
    )
    url = f"http://127.0.0.1:{port}"
    servers.wait_until(lambda: _is_ready(url), "prometheus", process)
    # A range query ends on a whole second and may miss the newest sample: keep some to spare.
    servers.wait_until(lambda: _samples(url, "redis_memory_used_bytes") >= 5, "prometheus scrapes", process)
    return PrometheusServer(url, redis_server)


@pytest.fixture(scope="session")
def start_alertmanager(servers: Servers) -> Callable[..., AlertmanagerServer]:
    """Starts a new Alertmanager: see `launch_alertmanager`."""
    return functools.partial(launch_alertmanager, servers)


@pytest.fixture(scope="session")
def redis_cli() -> Callable[..., str]:
    """Runs `redis-cli` against a server and returns what it prints, as a person would paste it."""
    path = binary("redis-cli")

    def run(server: RedisServer, *command: str) -> str:
        args = [path, "--no-raw", "-p", str(server.port), *command]
        return subprocess.run(args, check=True, capture_output=True, text=True, timeout=10).stdout

    return run


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on."""
    return free_port()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A local port that takes connections and never answers, like a hung server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def _start_exporter(servers: Servers, redis_server: RedisServer) -> str:
    address = f"127.0.0.1:{free_port()}"
    process = servers.start(
        "prometheus-redis-exporter", f"--redis.addr={redis_server.url}", f"--web.listen-address={address}"
    )
    servers.wait_until(lambda: _exports_redis(address), "prometheus-redis-exporter", process)
    return address


def _answers(server: RedisServer) -> bool:
    try:
        with server.client() as client:
            return bool(client.ping())
    except redis.AuthenticationError:
        return True  # it answers; it wants a password
    except redis.ConnectionError:
        return False


def _is_ready(url: str) -> bool:
    try:
        return bool(requests.get(f"{url}/-/ready", timeout=1).status_code == 200)
    except requests.exceptions.RequestException:
        return False


def _exports_redis(address: str) -> bool:
    try:
        return "\nredis_up 1" in requests.get(f"http://{address}/metrics", timeout=1).text
    except requests.exceptions.RequestException:
        return False


def _samples(url: str, metric: str) -> int:
    """How many samples of `metric` Prometheus holds from the last minute (0 before it is ready)."""
    try:
        answer = requests.get(
            f"{url}/api/v1/query", params={"query": f"count_over_time({metric}[1m])"}, timeout=1
        ).json()
    except (requests.exceptions.RequestException, ValueError):
        return 0
    results = answer.get("data", {}).get("result", [])
    return int(float(results[0]["value"][1])) if results else 0


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
