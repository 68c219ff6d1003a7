"""`triage serve` as its own process, as a pod runs it, against the Slack stand-in."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests  # type: ignore[import-untyped, unused-ignore]

from tests.live.bot_harness import ALERTMANAGER_TOKEN, SIGNING_SECRET
from tests.live.conftest import free_port
from tests.standins.slack_api import BOT_TOKEN
from tests.standins.slack_signing import signed_headers

TRIAGE = Path(sys.executable).with_name("triage")
START_TIMEOUT = 20.0


@dataclass
class ServeProcess:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def get(self, path: str, timeout: float = 5) -> requests.Response:
        return requests.get(f"{self.url}{path}", timeout=timeout)

    def slack(self, body: bytes) -> requests.Response:
        return requests.post(
            f"{self.url}/slack/events", data=body, headers=signed_headers(body, SIGNING_SECRET)
        )

    def alertmanager(self, body: bytes) -> requests.Response:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ALERTMANAGER_TOKEN}"}
        return requests.post(f"{self.url}/alertmanager", data=body, headers=headers, timeout=10)

    def rss_bytes(self) -> int:
        """The process's resident memory, from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc status")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_serve(
    folder: Path,
    redis_url: str,
    slack_api_url: str,
    catalog_yaml: str,
    port: int | None = None,
    **environment: str,
) -> ServeProcess:
    """Starts `triage serve` on `port` or a free one; returns once /healthz answers (or fails the test)."""
    port = port or free_port()
    catalog = folder / f"catalog-{port}.yaml"
    catalog.write_text(catalog_yaml)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(folder),
        "KUBECONFIG": str(folder / "no-kubeconfig"),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api_url,
        "TRIAGE_REDIS_URL": redis_url,
        "ALERTMANAGER_TOKEN": ALERTMANAGER_TOKEN,
        "TRIAGE_CONFIG": str(catalog),
        **environment,
    }
    log = folder / f"serve-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(TRIAGE), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    running = ServeProcess(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"triage serve exited with {process.returncode}:\n{running.output()[-3000:]}"
            )
        try:
            if running.get("/healthz", timeout=1).status_code == 200:
                return running
        except requests.exceptions.RequestException:
            pass
        time.sleep(0.1)
    running.stop()
    raise AssertionError(
        f"triage serve did not answer /healthz within {START_TIMEOUT:g}s:\n{running.output()}"
    )
