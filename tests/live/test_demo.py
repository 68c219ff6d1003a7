"""`triage demo` as a person uses it: started as a command, driven from a real browser, stopped.

The page is driven with Playwright and Debian's chromium (./scripts/test installs both): the alert
thread appears by itself, `/triage session-cache` typed in the message box gets a diagnosis, the
memory-limit fix is previewed, refused for an outsider and approved by an approver, verified and
the alert resolved. Then SIGTERM stops the demo and every process it started.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests  # type: ignore[import-untyped, unused-ignore]

from bot.demo import incident
from tests.live.conftest import free_port

TRIAGE = Path(sys.executable).with_name("triage")
CHROMIUM = "/usr/bin/chromium"
SERVES_WITHIN = 120.0  # the bound: the page answers within two minutes of starting
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEPLOYMENT = f"/apis/apps/v1/namespaces/{incident.NAMESPACE}/deployments/{incident.SERVICE}"


@dataclass
class RunningDemo:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kube_url(self) -> str:
        """The simulated Kubernetes API's address, as the demo printed it."""
        found = re.search(r"simulated Kubernetes API on (http://127\.0\.0\.1:\d+)", self.output())
        assert found, self.output()
        return found.group(1)

    def memory_limit(self) -> str:
        deployment = requests.get(f"{self.kube_url()}{DEPLOYMENT}", timeout=5).json()
        containers = deployment["spec"]["template"]["spec"]["containers"]
        return str(containers[0]["resources"]["limits"]["memory"])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    folder = tmp_path_factory.mktemp("demo")
    port = free_port()
    log = folder / "demo.log"
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("TRIAGE_", "SLACK_"))
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(TRIAGE), "demo", "--no-browser", "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**environment, "TMPDIR": str(folder)},
        )
    running = RunningDemo(process, f"http://127.0.0.1:{port}", log)
    started = time.monotonic()
    try:
        while not _serves_page(running.url):
            if process.poll() is not None:
                pytest.fail(f"triage demo exited with {process.returncode}:\n{running.output()[-3000:]}")
            if time.monotonic() - started > SERVES_WITHIN:
                pytest.fail(f"the page did not answer within {SERVES_WITHIN:g}s:\n{running.output()[-3000:]}")
            time.sleep(0.2)
        yield running
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_the_page_in_a_browser_from_alert_to_verified_fix(demo: RunningDemo) -> None:
    sync_playwright = _playwright()
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{demo.url}/?user={incident.REQUESTER}")

            # The alert's thread appears by itself, with its diagnosis.
            parent = page.locator(".msg.top", has_text="KubePodOOMKilled").first
            parent.wait_for()
            alert_ts = parent.get_attribute("data-ts")
            alert_thread = page.locator(f'.thread[data-thread-of="{alert_ts}"]')
            alert_thread.locator(".msg", has_text="Memory limit 64Mi is too low").first.wait_for()

            # /triage session-cache in the message box: acknowledged, then the diagnosis in the channel.
            page.fill("#composer", "/triage session-cache")
            page.press("#composer", "Enter")
            page.locator(".msg.private", has_text="Diagnosing").first.wait_for()
            answer = page.locator(".msg.top", has_text="Memory limit 64Mi is too low").first
            answer.wait_for()
            answer_ts = answer.get_attribute("data-ts")
            assert answer_ts != alert_ts

            # Preview the memory-limit fix: the exact change, in the answer's thread.
            answer.locator("button", has_text="Preview: raise memory limit to").click()
            thread = page.locator(f'.thread[data-thread-of="{answer_ts}"]')
            preview = thread.locator(".msg", has_text="Preview: Raise the memory limit").first
            preview.wait_for()
            assert "256Mi" in preview.inner_text()

            # Someone outside the approvers clicks Approve: refused, privately, and nothing changes.
            page.select_option("#user", incident.OUTSIDER)
            preview.locator("button", has_text="Approve").click()
            page.click("#confirm-ok")
            refusal = page.locator(".msg.private", has_text="Not done").first
            refusal.wait_for()
            assert "approver" in refusal.inner_text().lower()
            assert demo.memory_limit() == "64Mi"

            # An approver approves: applied, rolled out in the simulated cluster, verified.
            page.select_option("#user", incident.APPROVER)
            preview.locator("button", has_text="Approve").click()
            page.click("#confirm-ok")
            thread.locator(".msg", has_text="verified").first.wait_for(timeout=90_000)
            assert demo.memory_limit() == "256Mi"
            assert "NOT verified" not in thread.inner_text()

            # No more OOM kills: the alert resolves, and its parent message says so.
            page.locator(f'.msg.top[data-ts="{alert_ts}"]', has_text="resolved").wait_for(timeout=90_000)
        except Exception:
            page.screenshot(path=str(demo.log.with_name("failure.png")))
            raise
        finally:
            browser.close()


def test_doctor_against_the_demos_own_servers_says_ok_for_each(demo: RunningDemo) -> None:
    found = re.search(r"its settings: (\S+)", demo.output())
    assert found, demo.output()
    settings = dict(
        shlex.split(line)[0].split("=", 1) for line in Path(found.group(1)).read_text().splitlines()
    )
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": str(demo.log.parent), **settings}
    ran = subprocess.run([str(TRIAGE), "doctor"], env=environment, capture_output=True, text=True, timeout=60)
    verdicts = {line.split()[0]: line.split()[1] for line in ran.stdout.splitlines()}
    assert verdicts == {
        "slack": "ok",
        "redis": "ok",
        "prometheus": "ok",
        "alertmanager": "ok",
        "kubernetes": "ok",
    }, ran.stdout + ran.stderr
    assert ran.returncode == 0
    assert f"{incident.NAMESPACE}: all 13 permissions" in ran.stdout


def test_sigterm_stops_every_process_the_demo_started(demo: RunningDemo) -> None:
    children = _descendants(demo.process.pid)
    names = {name for _, _, name in children}
    # The real servers and `triage serve` are children: a test that found none would prove nothing.
    assert {"redis-server", "prometheus", "prometheus-aler"} <= names, names
    assert sum(name == "redis-server" for _, _, name in children) == 2
    assert any(name.startswith("python") for _, _, name in children), names

    demo.process.send_signal(signal.SIGTERM)
    assert demo.process.wait(30) == 0
    left = [(pid, name) for pid, started, name in children if _alive(pid, started)]
    assert left == [], demo.output()[-3000:]
    assert "triage demo: stopped" in demo.output()


def _serves_page(url: str) -> bool:
    try:
        answer = requests.get(f"{url}/", timeout=2)
    except requests.exceptions.RequestException:
        return False
    return bool(answer.status_code == 200 and "# oncall" in answer.text)


def _playwright() -> Any:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "chromium is not installed: apt-get install chromium (./scripts/test does)", pytrace=False
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "playwright is not installed: pip install playwright (./scripts/test does)", pytrace=False
        )
    return sync_playwright


def _stat(pid: int) -> tuple[int, int, str] | None:
    """(parent pid, start time in clock ticks, command name) from /proc, or None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None  # a zombie has exited
    return int(fields[1]), int(fields[19]), name


def _descendants(root: int) -> list[tuple[int, int, str]]:
    """Every process under `root`: (pid, start time, name)."""
    table: dict[int, tuple[int, int, str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            found = _stat(int(entry.name))
            if found is not None:
                table[int(entry.name)] = found
    found_pids: list[tuple[int, int, str]] = []
    parents = {root}
    while parents:
        children = [pid for pid, (parent, _, _) in table.items() if parent in parents]
        found_pids += [(pid, table[pid][1], table[pid][2]) for pid in children]
        parents = set(children)
    return found_pids


def _alive(pid: int, started: int) -> bool:
    found = _stat(pid)
    return found is not None and found[1] == started
