"""`triage check` waits only as long as asked: a source that never answers costs its time-out, no more."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from analyzers.evidence import Evidence
from bot.collect import GRACE, collect
from bot.collectors.base import Target


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def test_a_prometheus_that_never_answers_holds_check_under_8_s(silent_port: int, tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "TRIAGE_CONFIG")}
    environment["HOME"] = str(tmp_path)  # no ~/.kube/config: Kubernetes is skipped as not configured
    url = f"http://127.0.0.1:{silent_port}"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check", "session-cache", "--json", "--prometheus-url", url],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    took = time.monotonic() - started
    assert took < 8, f"{took:.1f} s"  # the bound: 5 s time-out, start-up and exit included
    assert done.returncode == 4, done.stderr  # nothing could be read
    sources = {s["name"]: s for s in json.loads(done.stdout)["sources"]}
    assert sources["prometheus"]["status"] == "error"
    assert "timed out" in sources["prometheus"]["detail"] or "no answer" in sources["prometheus"]["detail"]


class Stuck:
    name = "stuck"

    def __init__(self) -> None:
        self.release = threading.Event()

    def collect(self, target: Target, timeout: float) -> Evidence:
        self.release.wait(30)
        return Evidence()


def test_a_stuck_source_is_abandoned_at_its_time_out_on_a_daemon_thread() -> None:
    stuck = Stuck()
    started = time.monotonic()
    evidence = collect(Target("session-cache"), [stuck], source_timeout=0.3)
    took = time.monotonic() - started
    try:
        assert took < 0.3 + GRACE + 1.0
        assert [(s.name, s.status) for s in evidence.sources] == [("stuck", "error")]
        assert "0.3 s time-out" in evidence.sources[0].detail
        busy = [t for t in threading.enumerate() if t.is_alive() and t.name.startswith("parallel-")]
        assert busy and all(t.daemon for t in busy)  # the process may exit without it
    finally:
        stuck.release.set()


def test_the_deadline_defaults_to_the_time_out() -> None:
    stuck = Stuck()
    try:
        evidence = collect(Target("session-cache"), [stuck], source_timeout=0.2, deadline=0.1)
        assert "0.1 s deadline" in evidence.sources[0].detail
        evidence = collect(Target("session-cache"), [stuck], source_timeout=0.2)
        assert "0.2 s time-out" in evidence.sources[0].detail
    finally:
        stuck.release.set()
