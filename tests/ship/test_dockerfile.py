"""The Dockerfile: hadolint-clean, slim pinned base, non-root, read-only friendly, `triage serve`.

No Docker engine runs here, so the image is not built; what can be checked without one is.
"""

from __future__ import annotations

import http.server
import json
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.ship.ship_kit import REPO, hadolint, tool

DOCKERFILE = REPO / "Dockerfile"
BASE = "python:3.11-slim-bookworm"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(
        r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    )
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def findings(path: Path) -> list[dict[str, object]]:
    done = subprocess.run(
        [hadolint(), "--no-color", "--format", "json", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip(), done.stderr
    parsed: list[dict[str, object]] = json.loads(done.stdout)
    return parsed


def test_hadolint_finds_nothing_above_info() -> None:
    serious = [f for f in findings(DOCKERFILE) if f["level"] in {"error", "warning"}]
    assert serious == [], serious


def test_hadolint_does_report_problems(tmp_path: Path) -> None:
    """The lint has teeth: an unpinned base and apt-get without pinned versions are warnings."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nUSER root\n")
    codes = {f["code"] for f in findings(bad) if f["level"] in {"error", "warning"}}
    assert {"DL3007", "DL3008"} <= codes, codes


def test_multi_stage_on_the_pinned_slim_base() -> None:
    stages = [args for keyword, args in instructions(DOCKERFILE.read_text()) if keyword == "FROM"]
    assert len(stages) >= 2
    for stage in stages:
        image = stage.split()[0]
        assert image == BASE, stage


def test_installs_the_package_from_the_repository() -> None:
    steps = instructions(DOCKERFILE.read_text())
    copied = " ".join(args for keyword, args in steps if keyword == "COPY" and "--from" not in args)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = [name.rstrip("*") for name in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    for needed in ["pyproject.toml", project["project"]["readme"], *(f"{p}/" for p in packages)]:
        assert needed in copied, needed
    assert any(keyword == "RUN" and "pip install" in args and " ." in args for keyword, args in steps)
    runtime = steps[max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM") :]
    assert any(keyword == "COPY" and "--from=build" in args for keyword, args in runtime)
    assert not any(keyword == "RUN" and "pip install" in args for keyword, args in runtime)


def test_runtime_is_non_root_read_only_ready_and_serves() -> None:
    steps = instructions(DOCKERFILE.read_text())
    runtime = steps[max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM") :]
    users = [args for keyword, args in runtime if keyword == "USER"]
    assert users, "the runtime stage sets no USER"
    user, _, group = users[-1].partition(":")
    assert user.isdigit() and int(user) > 0 and (not group or group.isdigit()), users[-1]
    env = " ".join(args for keyword, args in runtime if keyword == "ENV")
    assert re.search(r"\bHOME=/tmp\b", env), env
    assert re.search(r"\bMPLCONFIGDIR=/tmp/\S+", env), env
    assert [json.loads(args) for keyword, args in runtime if keyword == "ENTRYPOINT"] == [["triage", "serve"]]
    assert ("EXPOSE", "3000") in runtime
    (healthcheck,) = [args for keyword, args in runtime if keyword == "HEALTHCHECK"]
    assert "urllib" in healthcheck and "http://127.0.0.1:3000/healthz" in healthcheck
    assert "curl" not in healthcheck and "wget" not in healthcheck


def healthcheck_command(port: int) -> list[str]:
    (healthcheck,) = [
        args for keyword, args in instructions(DOCKERFILE.read_text()) if keyword == "HEALTHCHECK"
    ]
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    assert command[0] == "python"
    return [sys.executable, *(part.replace("127.0.0.1:3000", f"127.0.0.1:{port}") for part in command[1:])]


@contextmanager
def health_server(status: int) -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/healthz" else 404)
            self.end_headers()
            self.wfile.write(b"ok\n")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_healthcheck_command_runs_with_the_standard_library(status: int, healthy: bool) -> None:
    with health_server(status) as port:
        done = subprocess.run(healthcheck_command(port), capture_output=True, timeout=30)
    assert (done.returncode == 0) is healthy, shlex.join(healthcheck_command(port))


def test_healthcheck_fails_when_nothing_listens() -> None:
    with health_server(200) as port:
        pass
    done = subprocess.run(healthcheck_command(port), capture_output=True, timeout=30)
    assert done.returncode != 0


def test_dockerignore_keeps_the_context_to_what_the_image_needs() -> None:
    rules = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "exclude everything first, then let back in what the image needs"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copied = {
        part.rstrip("/")
        for keyword, args in instructions(DOCKERFILE.read_text())
        if keyword == "COPY" and "--from" not in args
        for part in args.split()[:-1]
    }
    assert copied <= allowed, copied - allowed
    assert not allowed & {".venv", ".git", "tests", ".hypothesis", "examples", "helm", "deploy"}


def test_a_missing_tool_fails_naming_its_package() -> None:
    with pytest.raises(pytest.fail.Exception, match="install the Debian package frobnicator"):
        tool("frobnicate-not-installed", "the Debian package frobnicator")
