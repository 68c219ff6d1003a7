"""`triage doctor`: one verdict per check, with the reason when it fails."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from bot.demo.simulated.kube_api import KubeApiStandIn
from bot.demo.simulated.slack_api import BOT_TOKEN, SlackApiStandIn
from bot.doctor import diagnose_setup
from tests.live.conftest import RedisServer

TRIAGE = Path(sys.executable).with_name("triage")


def kubeconfig(folder: Path, server: str) -> Path:
    path = folder / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    return path


def test_every_check_fails_against_a_closed_port_and_says_why(tmp_path: Path, closed_port: int) -> None:
    closed = f"http://127.0.0.1:{closed_port}"
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        yaml.safe_dump(
            {
                "prometheus_url": closed,
                "alertmanager_url": closed,
                "kubeconfig": str(kubeconfig(tmp_path, closed)),
                "services": {"session-cache": {"namespace": "ecommerce"}},
            }
        )
    )
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": f"{closed}/api/",
        "TRIAGE_REDIS_URL": f"redis://127.0.0.1:{closed_port}/0",
        "TRIAGE_CONFIG": str(catalog),
    }
    ran = subprocess.run(
        [str(TRIAGE), "doctor", "--timeout", "2"], env=environment, capture_output=True, text=True, timeout=60
    )

    lines = ran.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["slack", "FAIL"],
        ["redis", "FAIL"],
        ["prometheus", "FAIL"],
        ["alertmanager", "FAIL"],
        ["kubernetes", "FAIL"],
    ], ran.stdout
    assert all("Connection refused" in line for line in lines), ran.stdout
    assert ran.returncode == 1
    assert "5 failed" in ran.stderr


def test_a_missing_permission_is_named_and_unset_sources_are_skipped(
    tmp_path: Path, start_redis: Callable[..., RedisServer]
) -> None:
    redis_server = start_redis()
    with KubeApiStandIn() as kube, SlackApiStandIn() as slack:
        kube.forbid("pods/log", "get")
        kube.forbid("deployments", "patch")
        catalog = tmp_path / "catalog.yaml"
        catalog.write_text(
            yaml.safe_dump(
                {
                    "kubeconfig": str(kubeconfig(tmp_path, kube.url)),
                    "namespaces": ["payments"],
                    "services": {"session-cache": {"namespace": "ecommerce"}},
                }
            )
        )
        environment = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": slack.api_url,
            "TRIAGE_REDIS_URL": redis_server.url,
        }
        found = diagnose_setup(str(catalog), environment)
        reviews = [r for r in kube.requests if r.method == "POST"]

    checks = {c.name: c for c in found if c.name != "kubernetes"}
    assert checks["slack"].verdict == "ok"
    assert checks["redis"].verdict == "ok" and "no persistence" in checks["redis"].detail
    assert checks["prometheus"].verdict == checks["alertmanager"].verdict == "skip"
    kubernetes = [c for c in found if c.name == "kubernetes"]
    assert [c.detail.split(":")[0] for c in kubernetes] == ["ecommerce", "payments"]
    for check in kubernetes:
        assert check.verdict == "FAIL"
        assert "get pods/log" in check.detail and "patch deployments (apps)" in check.detail
        assert "list pods" not in check.detail
    assert len(reviews) == 2 * 13  # one review per permission and namespace


def test_a_refused_slack_token_is_a_failure_naming_slacks_error(tmp_path: Path) -> None:
    with SlackApiStandIn() as slack:
        environment = {"SLACK_BOT_TOKEN": "xoxb-not-the-right-one", "SLACK_API_URL": slack.api_url}
        checks = diagnose_setup(None, environment)
    slack_check = next(c for c in checks if c.name == "slack")
    assert slack_check.verdict == "FAIL" and "invalid_auth" in slack_check.detail
    assert next(c for c in checks if c.name == "redis").verdict == "skip"
    assert next(c for c in checks if c.name == "kubernetes").verdict == "skip"
