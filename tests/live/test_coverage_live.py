"""Issue 11, coverage: `triage check` says what it could not read, and its exit code says how much it read.

A real Redis and closed ports, through `triage`'s own entry point.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Console

from bot.check import SourceChoice, diagnose_live
from bot.cli import main
from bot.settings import AlertRoute, Catalog, ServiceConfig
from tests.live.bot_harness import RunningBot, start_bot, wait_for
from tests.live.conftest import RedisServer
from tests.standins.slack_api import Message, SlackApiStandIn
from tests.standins.slack_signing import slash_command_body

SERVICE = "session-cache"
CLEAN_ENVIRONMENT = ("TRIAGE_CONFIG", "KUBECONFIG", "PROMETHEUS_URL")
FIRST_SCREEN_LINES = 24


@pytest.fixture
def triage(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[..., tuple[int, str]]:
    """Runs `triage ARGS` in this process (no catalog, kubeconfig or $PROMETHEUS_URL): exit code, stdout."""
    for name in CLEAN_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setattr("bot.render.terminal.Console", lambda: Console(width=100, color_system=None))

    def run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(list(args))
        return code, capsys.readouterr().out

    return run


@pytest.fixture(scope="module")
def unbounded_redis(start_redis: Callable[..., RedisServer]) -> RedisServer:
    """A Redis like the seed's: maxmemory 0, noeviction, no persistence."""
    return start_redis("--maxmemory-policy", "noeviction")


def test_a_closed_redis_port_exits_4_and_the_first_screen_names_redis_and_the_failure(
    triage: Callable[..., tuple[int, str]], closed_port: int
) -> None:
    url = f"redis://127.0.0.1:{closed_port}"
    code, out = triage("check", SERVICE, "--redis-url", url, "--no-kubernetes", "--no-prometheus")

    assert code == 4, out
    first_screen = "\n".join(out.splitlines()[:FIRST_SCREEN_LINES])
    assert f"redis ({url}: connection refused)" in " ".join(first_screen.split()), first_screen
    assert "nothing in the evidence points to a fault" not in out


def test_every_source_skipped_exits_4(triage: Callable[..., tuple[int, str]]) -> None:
    code, out = triage("check", SERVICE, "--no-kubernetes", "--no-prometheus", "--no-redis", "--json")

    assert code == 4
    assert json.loads(out)["coverage"]["state"] == "nothing"


def test_a_closed_prometheus_beside_a_live_redis_exits_3_with_the_redis_findings(
    triage: Callable[..., tuple[int, str]], unbounded_redis: RedisServer, closed_port: int
) -> None:
    code, out = triage(
        "check", SERVICE, "--redis-url", unbounded_redis.url,
        "--prometheus-url", f"http://127.0.0.1:{closed_port}", "--no-kubernetes", "--json",
    )  # fmt: skip

    assert code == 3, out
    diagnosis = json.loads(out)
    assert "redis-maxmemory-unset" in {f["id"] for f in diagnosis["findings"]}
    assert diagnosis["coverage"]["answered"] == ["redis"]
    assert [f["name"] for f in diagnosis["coverage"]["failed"]] == ["prometheus"]


def test_a_live_redis_alone_exits_0(
    triage: Callable[..., tuple[int, str]], unbounded_redis: RedisServer
) -> None:
    code, out = triage(
        "check", SERVICE, "--redis-url", unbounded_redis.url, "--no-kubernetes", "--no-prometheus", "--json"
    )

    assert code == 0, out
    diagnosis = json.loads(out)
    assert diagnosis["coverage"]["state"] == "complete"
    assert "redis-maxmemory-unset" in {f["id"] for f in diagnosis["findings"]}


def test_empty_standard_input_exits_4(
    triage: Callable[..., tuple[int, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, out = triage("diagnose", "-", "--format", "markdown")

    assert code == 4
    assert "nothing could be read" in out


# -- in Slack, through the real bot ------------------------------------------------------------------
CHANNEL = "C0INCIDENTS"
ALERT_CHANNEL = "C0ALERTS"


@pytest.fixture
def slack() -> Iterator[SlackApiStandIn]:
    with SlackApiStandIn() as standin:
        yield standin


@pytest.fixture
def unreachable_bot(
    start_redis: Callable[..., RedisServer],
    slack: SlackApiStandIn,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[tuple[RunningBot, str]]:
    """The bot as `triage serve` runs it (live diagnosis), for a service whose Redis is a closed port."""
    for name in CLEAN_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no kubeconfig: Kubernetes is not configured
    redis_url = f"redis://127.0.0.1:{closed_port}"
    catalog = Catalog(
        services={SERVICE: ServiceConfig(namespace="ecommerce", redis_url=redis_url)},
        allowed_channels=[CHANNEL],
        alert_routes=[AlertRoute(match={"namespace": "ecommerce"}, channel=ALERT_CHANNEL)],
    )
    running = start_bot(
        start_redis().url,
        slack.api_url,
        catalog,
        diagnose=lambda service, namespace: diagnose_live(
            service, catalog, SourceChoice(namespace=namespace)
        ),
    )
    yield running, redis_url
    running.stop()


def _texts(blocks: list[dict[str, object]]) -> str:
    return " ".join(" ".join(str(block).split()) for block in blocks)


def test_slash_command_for_a_service_whose_redis_cannot_be_reached_names_redis_and_the_failure(
    unreachable_bot: tuple[RunningBot, str], slack: SlackApiStandIn
) -> None:
    bot, redis_url = unreachable_bot
    body = slash_command_body(text=SERVICE, channel_id=CHANNEL, response_url=slack.response_url("r1"))
    assert bot.slack(body).status_code == 200

    wait_for(lambda: slack.messages(CHANNEL), "the diagnosis")
    message = slack.messages(CHANNEL)[0]
    posted = _texts(message.blocks)
    assert "no findings" not in posted
    assert f"redis ({redis_url}: connection refused)" in posted, posted
    assert "nothing could be read" in posted
    assert "connection refused" in message.text  # the notification and the plain-text fallback too


def test_an_alert_thread_shows_the_alert_severity_and_what_could_not_be_read(
    unreachable_bot: tuple[RunningBot, str], slack: SlackApiStandIn
) -> None:
    bot, redis_url = unreachable_bot
    labels = {"alertname": "KubePodOOMKilled", "namespace": "ecommerce", "service": SERVICE}
    notification = {
        "version": "4",
        "groupKey": '{}:{alertname="KubePodOOMKilled", service="session-cache"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "triage",
        "groupLabels": labels,
        "commonLabels": {**labels, "severity": "critical"},
        "commonAnnotations": {"summary": "Container redis was OOM-killed"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {**labels, "severity": "critical", "pod": "session-cache-0"},
                "annotations": {},
                "startsAt": "2026-11-28T03:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example:9090/graph",
                "fingerprint": "session-cache-0001",
            }
        ],
    }
    assert bot.alertmanager(json.dumps(notification).encode()).status_code == 202

    def diagnosis_in_thread() -> list[Message]:
        parent = next((m for m in slack.messages(ALERT_CHANNEL) if m.thread_ts is None), None)
        if parent is None:
            return []
        return [m for m in slack.thread(ALERT_CHANNEL, parent.ts) if "Coverage" in _texts(m.blocks)]

    wait_for(diagnosis_in_thread, "the diagnosis in the alert's thread")
    reply = diagnosis_in_thread()[0]
    assert reply.blocks[0]["type"] == "header"
    assert "critical" in str(reply.blocks[0]["text"]) and "warning" not in str(reply.blocks[0]["text"])
    posted = _texts(reply.blocks)
    assert f"redis ({redis_url}: connection refused)" in posted
    assert "not queried: kubernetes" in posted


def test_every_redis_cli_check_names_the_host_and_port_of_the_redis_url(
    triage: Callable[..., tuple[int, str]], unbounded_redis: RedisServer
) -> None:
    code, out = triage(
        "check", SERVICE, "--redis-url", unbounded_redis.url, "--no-kubernetes", "--no-prometheus", "--json"
    )

    checks = json.loads(out)["checks"]
    cli = [command for command in checks if "redis-cli" in command]
    assert code == 0 and cli, checks
    wanted = f"redis-cli -h 127.0.0.1 -p {unbounded_redis.port}"
    for command in cli:
        assert command.count("redis-cli") == command.count(wanted), command
