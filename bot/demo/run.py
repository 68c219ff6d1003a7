"""`triage demo`: the whole bot on one machine, used from a browser.

Started on loopback, in a temporary folder, and all stopped on Ctrl-C or SIGTERM:

* `triage serve`, the production code path, as its own process, its state in a real redis-server;
* the seed's service for real: a redis-server named session-cache configured like the seed (no
  maxmemory, noeviction, no saves, no password) holding tens of thousands of session keys;
* a SIMULATED Kubernetes cluster (bot/demo/cluster.py) serving the incident's namespace, reached
  by the bot through the official client and a generated kubeconfig;
* Prometheus with the incident's six hours of history (promtool backfill) and Alertmanager
  sending KubePodOOMKilled to the bot (the real Debian binaries; when Alertmanager is missing the
  demo posts the webhook itself and says which package makes it real);
* the local workspace (bot/demo/workspace.py): an emulated Slack Web API and the page.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import logging
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import redis
import requests  # type: ignore[import-untyped, unused-ignore]
import yaml

from bot.demo import history, incident
from bot.demo.alert_feed import AlertFeed
from bot.demo.cluster import SimulatedCluster
from bot.demo.simulated.slack_api import BOT_TOKEN
from bot.demo.workspace import Workspace

log = logging.getLogger("triage.demo")

START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
PACKAGES = {
    "redis-server": "redis-server",
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
}


class DemoError(Exception):
    """The demo cannot start; the message is one line saying what to install or change."""


def run_demo(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("urllib3", "kubernetes"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    demo = Demo(args.port)
    try:
        demo.start(say=lambda line: print(f"triage demo: {line}", flush=True))
        url = f"http://127.0.0.1:{args.port}/"
        print(f"triage demo: open {url}  (Ctrl-C stops everything)", flush=True)
        if not args.no_browser:
            with contextlib.suppress(Exception):
                webbrowser.open(url)
        while True:
            time.sleep(1)
            demo.watch()
    except KeyboardInterrupt:
        print("triage demo: stopping", flush=True)
    except DemoError as error:
        print(f"triage demo: {error}", file=sys.stderr, flush=True)
        return 2
    finally:
        demo.stop()
    print("triage demo: stopped", flush=True)
    return 0


@dataclass
class _Process:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


class Demo:
    def __init__(self, port: int) -> None:
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="triage-demo-"))
        self.processes: list[_Process] = []
        self.signing_secret = secrets.token_hex(16)
        self.alertmanager_token = secrets.token_hex(16)
        self.end = history.default_end()
        self.cluster: SimulatedCluster | None = None
        self.workspace: Workspace | None = None
        self.bot_url: str | None = None
        self.prometheus_url: str | None = None
        self.alertmanager_url: str | None = None
        self.session_keys = 0
        self.alerts: AlertFeed | None = None
        self._notes: dict[str, str] = {}
        self._stopped = False
        self.settings_file = self.folder / "triage.env"

    # -- start ----------------------------------------------------------------------------------------
    def start(self, say: Callable[[str], None]) -> None:
        if shutil.which("redis-server") is None:
            raise DemoError("redis-server is not installed: apt-get install redis-server (or ./scripts/demo)")
        try:
            self.workspace = Workspace(
                incident.CHANNEL_ID,
                incident.CHANNEL_NAME,
                incident.USERS,
                self.signing_secret,
                port=self.port,
                components=self.components,
            )
        except OSError as error:
            raise DemoError(
                f"cannot serve the page on 127.0.0.1:{self.port} ({error.strerror}): try --port"
            ) from None
        self.workspace.start()
        say(f"workspace page on http://127.0.0.1:{self.port}/ (Slack Web API emulated)")
        bot_redis = self._redis("bot-redis")
        session_redis = self._redis("session-cache", "--maxmemory", "0", "--maxmemory-policy", "noeviction")
        with redis.Redis(host="127.0.0.1", port=session_redis, socket_timeout=10) as client:
            self.session_keys = incident.fill_session_store(client)
        say(f"session-cache: redis-server on port {session_redis}, {self.session_keys} session keys, no TTL")
        self.cluster = SimulatedCluster(self.end).start()
        kubeconfig = self.folder / "kubeconfig"
        kubeconfig.write_text(self.cluster.kubeconfig())
        say(f"simulated Kubernetes API on {self.cluster.url} (kubeconfig {kubeconfig})")
        self.prometheus_url = self._prometheus(say)
        bot_port = _free_port()
        self.bot_url = f"http://127.0.0.1:{bot_port}"
        self.alertmanager_url = self._alertmanager(say)
        catalog = self.folder / "catalog.yaml"
        catalog.write_text(
            yaml.safe_dump(
                incident.catalog(
                    self.prometheus_url, self.alertmanager_url, f"redis://127.0.0.1:{session_redis}/0"
                ),
                sort_keys=False,
            )
        )
        self._serve(bot_port, bot_redis, catalog, kubeconfig)
        say(f"triage serve on {self.bot_url} (the production code path), state in redis-server :{bot_redis}")
        say(f"its settings: {self.settings_file} (set -a; . {self.settings_file}; triage doctor)")
        self.workspace.bot_url = self.bot_url
        self.alerts = AlertFeed(
            self.cluster, self.alertmanager_url, self.bot_url, self.alertmanager_token, self.end
        )
        self.alerts.start()

    def _redis(self, name: str, *extra: str) -> int:
        port = _free_port()
        args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *extra]
        started = self._start(name, ["redis-server", *args])
        self._wait(started, lambda: _redis_answers(port))
        return port

    def _prometheus(self, say: Callable[[str], None]) -> str | None:
        prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
        if prometheus is None or promtool is None:
            self._notes["prometheus"] = "not installed: apt-get install prometheus makes it real"
            say("Prometheus is not installed (apt-get install prometheus): the bot runs without it")
            return None
        workdir = self.folder / "prometheus"
        workdir.mkdir()
        series = history.write(workdir / "history.om", self.end)
        converted = subprocess.run(
            [promtool, "tsdb", "create-blocks-from", "openmetrics", str(series), str(workdir / "data")],
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_die_with_parent,
        )
        if converted.returncode != 0:
            raise DemoError(f"promtool could not backfill the history: {converted.stderr.strip()[-300:]}")
        series.unlink()
        port = _free_port()
        (workdir / "prometheus.yml").write_text("global:\n  scrape_interval: 15s\nscrape_configs: []\n")
        started = self._start(
            "prometheus",
            [
                prometheus,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                "--storage.tsdb.retention.time=30d",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
        )
        url = f"http://127.0.0.1:{port}"
        self._wait(started, lambda: _is_ready(url))
        say(f"Prometheus on {url} with the incident's {history.HOURS} hours of history")
        return url

    def _alertmanager(self, say: Callable[[str], None]) -> str | None:
        binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        if binary is None:
            self._notes["alertmanager"] = (
                "not installed: the demo posts the webhook itself; apt-get install prometheus-alertmanager "
                "makes it real"
            )
            say(
                "Alertmanager is not installed (apt-get install prometheus-alertmanager): posting the webhook itself"
            )
            return None
        workdir = self.folder / "alertmanager"
        workdir.mkdir()
        webhook = {
            "url": f"{self.bot_url}/alertmanager",
            "send_resolved": True,
            "http_config": {"authorization": {"type": "Bearer", "credentials": self.alertmanager_token}},
        }
        config = {
            "route": {
                "receiver": "triage",
                "group_by": ["alertname", "namespace", "service"],
                "group_wait": "2s",
                "group_interval": "10s",
                "repeat_interval": "4h",
            },
            "receivers": [{"name": "triage", "webhook_configs": [webhook]}],
        }
        (workdir / "alertmanager.yml").write_text(yaml.safe_dump(config))
        port = _free_port()
        started = self._start(
            "alertmanager",
            [
                binary,
                f"--config.file={workdir / 'alertmanager.yml'}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--web.external-url=http://127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
        )
        url = f"http://127.0.0.1:{port}"
        self._wait(started, lambda: _is_ready(url))
        say(f"Alertmanager on {url}, sending to the bot's /alertmanager")
        return url

    def _serve(self, port: int, bot_redis: int, catalog: Path, kubeconfig: Path) -> None:
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.folder),
            "PYTHONUNBUFFERED": "1",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_API_URL": self.workspace.api_url if self.workspace else "",
            "TRIAGE_REDIS_URL": f"redis://127.0.0.1:{bot_redis}/0",
            "ALERTMANAGER_TOKEN": self.alertmanager_token,
            "TRIAGE_ALERT_CHANNEL": incident.CHANNEL_ID,
            "TRIAGE_CONFIG": str(catalog),
            "KUBECONFIG": str(kubeconfig),
        }
        # The same settings for the commands a person runs beside it (`triage doctor`, `triage audit`).
        settings = {k: v for k, v in environment.items() if k not in ("PATH", "HOME", "PYTHONUNBUFFERED")}
        self.settings_file.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in settings.items()))
        command = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        started = self._start("triage-serve", command, environment)
        self._wait(started, lambda: _answers(f"{self.bot_url}/healthz"))

    def _start(self, name: str, command: list[str], environment: dict[str, str] | None = None) -> _Process:
        log_path = self.folder / f"{name}.log"
        with log_path.open("wb") as output:
            process = subprocess.Popen(
                command,
                cwd=self.folder,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=environment,
                preexec_fn=_die_with_parent,
            )
        started = _Process(name, process, log_path)
        self.processes.append(started)
        return started

    def _wait(self, started: _Process, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if started.process.poll() is not None:
                raise DemoError(
                    f"{started.name} exited with {started.process.returncode}: {_tail(started.log)}"
                )
            if ready():
                return
            time.sleep(0.1)
        raise DemoError(f"{started.name} not ready after {START_TIMEOUT:g}s: {_tail(started.log)}")

    # -- run ------------------------------------------------------------------------------------------
    def watch(self) -> None:
        """Raises DemoError when a process of the demo died."""
        for started in self.processes:
            if started.process.poll() is not None:
                raise DemoError(
                    f"{started.name} exited with {started.process.returncode}: {_tail(started.log)}"
                )

    def components(self) -> list[dict[str, Any]]:
        """What runs, for the page: each part, whether it is real or simulated, and where."""
        pids = {p.name: p.process.pid for p in self.processes}
        found: list[dict[str, Any]] = [
            _part("triage serve", "real", f"the production code path, pid {pids.get('triage-serve', '-')}"),
            _part("bot state", "real", f"redis-server, pid {pids.get('bot-redis', '-')}"),
            _part(
                "session-cache",
                "real",
                f"redis-server, {self.session_keys} session keys, no maxmemory, noeviction",
            ),
        ]
        if self.prometheus_url:
            found.append(
                _part(
                    "Prometheus", "real", f"{history.HOURS}h of the incident's history, {self.prometheus_url}"
                )
            )
        else:
            found.append(_part("Prometheus", "missing", self._notes.get("prometheus", "")))
        alert = self.alerts.status if self.alerts else "not started"
        if self.alertmanager_url:
            found.append(_part("Alertmanager", "real", f"KubePodOOMKilled {alert}"))
        else:
            found.append(_part("Alertmanager", "missing", f"{self._notes.get('alertmanager', '')}; {alert}"))
        pods = self.cluster.pods() if self.cluster else []
        found.append(
            _part(
                "Kubernetes API",
                "simulated",
                "not a cluster: "
                + (", ".join(f"{p['metadata']['name']} ({_pod_state(p)})" for p in pods) or "no pods"),
            )
        )
        found.append(_part("Slack Web API", "simulated", "emulated here; nothing leaves this machine"))
        return found

    # -- stop -----------------------------------------------------------------------------------------
    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.alerts is not None:
            self.alerts.stop()
        for started in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                started.process.terminate()
        for started in self.processes:
            try:
                started.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                started.process.kill()
                started.process.wait()
        if self.cluster is not None:
            self.cluster.stop()
        if self.workspace is not None:
            self.workspace.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _part(name: str, kind: str, detail: str) -> dict[str, Any]:
    return {"name": name, "kind": kind, "detail": detail}


def _pod_state(pod: dict[str, Any]) -> str:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") != incident.CONTAINER:
            continue
        state = status.get("state") or {}
        reason = (state.get("waiting") or {}).get("reason") or ("Running" if "running" in state else "?")
        return f"{reason}, {status.get('restartCount', 0)} restarts"
    return "?"


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when the demo dies, however it dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _redis_answers(port: int) -> bool:
    try:
        with redis.Redis(host="127.0.0.1", port=port, socket_timeout=1) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


def _is_ready(url: str) -> bool:
    return _answers(f"{url}/-/ready")


def _answers(url: str) -> bool:
    try:
        return bool(requests.get(url, timeout=1).status_code == 200)
    except requests.exceptions.RequestException:
        return False


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no output)"
    return " | ".join(lines[-5:]) or "(no output)"
