"""`triage serve` over HTTP: slash commands as Slack signs them, health, metrics."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests  # type: ignore[import-untyped, unused-ignore]

from analyzers.diagnosis import Diagnosis
from analyzers.evidence import Evidence
from bot.settings import Catalog, ServiceConfig
from tests.live.bot_harness import RunningBot, example_diagnosis, start_bot, wait_for
from tests.live.conftest import RedisServer
from tests.standins.slack_api import SlackApiStandIn
from tests.standins.slack_signing import slash_command_body

CHANNEL = "C0INCIDENTS"
CATALOG = Catalog(
    services={
        "session-cache": ServiceConfig(namespace="ecommerce", owners=["U0OWNER1", "S0CACHETEAM"]),
        "checkout": ServiceConfig(namespace="ecommerce"),
    },
    allowed_channels=[CHANNEL, "C0OTHER"],
)


@pytest.fixture
def slack() -> Iterator[SlackApiStandIn]:
    with SlackApiStandIn() as standin:
        yield standin


@pytest.fixture
def bot(start_redis: Callable[..., RedisServer], slack: SlackApiStandIn) -> Iterator[RunningBot]:
    running = start_bot(start_redis().url, slack.api_url, CATALOG)
    yield running
    running.stop()


def triage(bot: RunningBot, slack: SlackApiStandIn, text: str, channel: str = CHANNEL) -> requests.Response:
    body = slash_command_body(text=text, channel_id=channel, response_url=slack.response_url("r1"))
    return bot.slack(body)


def test_slash_command_is_acknowledged_then_the_diagnosis_and_chart_reach_the_channel(
    bot: RunningBot, slack: SlackApiStandIn
) -> None:
    answer = triage(bot, slack, "session-cache")

    assert answer.status_code == 200
    assert "Diagnosing *session-cache*" in answer.text
    wait_for(lambda: slack.messages(CHANNEL) and slack.uploads, "the diagnosis and its chart")
    message = slack.messages(CHANNEL)[0]
    texts = str(message.blocks)
    assert "OOM" in texts or "memory" in texts.lower()
    assert "<@U0ONCALL01>" in texts and "<!subteam^S0CACHETEAM>" in texts  # requester and owners
    assert slack.uploads[0].thread_ts == message.ts  # the chart goes into the diagnosis's thread


def test_help_unknown_service_and_disallowed_channel_answer_privately(
    bot: RunningBot, slack: SlackApiStandIn
) -> None:
    help_text = triage(bot, slack, "help").text
    unknown = triage(bot, slack, "sesion-cache").text
    elsewhere = triage(bot, slack, "session-cache", channel="C0RANDOM").text

    assert "/triage SERVICE [NAMESPACE]" in help_text
    assert "not a known service" in unknown and "`session-cache`" in unknown
    assert "not enabled in this channel" in elsewhere
    assert bot.bot.jobs.pending == 0 and _diagnoses(bot) == 0  # none of them started a diagnosis


@pytest.mark.parametrize("problem", ["bad signature", "stale timestamp"])
def test_requests_not_signed_by_slack_now_are_rejected(
    bot: RunningBot, slack: SlackApiStandIn, problem: str
) -> None:
    body = slash_command_body(text="session-cache")
    if problem == "bad signature":
        answer = bot.slack(body, secret="not-the-signing-secret")
    else:
        answer = bot.slack(body, timestamp=int(time.time()) - 6 * 60)

    assert answer.status_code == 401
    assert bot.bot.jobs.pending == 0 and _diagnoses(bot) == 0


def test_health_readiness_and_metrics(bot: RunningBot, slack: SlackApiStandIn) -> None:
    triage(bot, slack, "help")

    assert requests.get(f"{bot.url}/healthz", timeout=5).status_code == 200
    assert requests.get(f"{bot.url}/readyz", timeout=5).status_code == 200
    metrics = requests.get(f"{bot.url}/metrics", timeout=5).text
    assert 'triage_requests_total{endpoint="slack",status="200"} 1.0' in metrics


def test_metrics_negotiate_openmetrics_and_gzip(bot: RunningBot) -> None:
    plain = requests.get(f"{bot.url}/metrics", headers={"Accept-Encoding": "identity"}, timeout=5)
    assert plain.headers["Content-Type"].startswith("text/plain")
    assert "Content-Encoding" not in plain.headers
    open_metrics = requests.get(
        f"{bot.url}/metrics",
        headers={"Accept": "application/openmetrics-text; version=1.0.0", "Accept-Encoding": "gzip"},
        timeout=5,
    )
    assert open_metrics.headers["Content-Type"].startswith("application/openmetrics-text")
    assert open_metrics.headers["Content-Encoding"] == "gzip"
    assert open_metrics.text.rstrip().endswith("# EOF")  # requests has un-gzipped it
    assert "triage_requests_total" in open_metrics.text


def test_readiness_fails_when_slack_refuses_the_token(
    start_redis: Callable[..., RedisServer], slack: SlackApiStandIn
) -> None:
    running = start_bot(
        start_redis().url, slack.api_url, CATALOG, workers=False, slack_bot_token="xoxb-revoked"
    )
    try:
        answer = requests.get(f"{running.url}/readyz", timeout=5)
    finally:
        running.stop()

    assert answer.status_code == 503
    assert "invalid_auth" in answer.text


def test_a_channel_the_bot_is_not_in_gets_the_diagnosis_through_the_response_url(
    start_redis: Callable[..., RedisServer],
) -> None:
    with SlackApiStandIn(channels={"C0OTHER": "other"}) as slack:  # the bot is not in C0INCIDENTS
        running = start_bot(start_redis().url, slack.api_url, CATALOG)
        try:
            triage(running, slack, "session-cache")
            wait_for(lambda: slack.responses, "the answer through response_url")
        finally:
            running.stop()

    assert slack.responses[0].response_type == "in_channel"
    assert "session-cache" in json.dumps(slack.responses[0].body)


def test_the_acknowledgement_does_not_wait_for_the_collection(
    start_redis: Callable[..., RedisServer], slack: SlackApiStandIn
) -> None:
    collecting = threading.Event()
    release = threading.Event()

    def slow_sources(service: str, namespace: str | None) -> tuple[Diagnosis, Evidence]:
        collecting.set()
        release.wait(30)  # sources that hang until the test lets them go
        return example_diagnosis(service, namespace)

    running = start_bot(start_redis().url, slack.api_url, CATALOG, diagnose=slow_sources)
    try:
        started = time.monotonic()
        answer = triage(running, slack, "session-cache")
        acknowledged_after = time.monotonic() - started
        assert collecting.wait(5)
        assert slack.messages() == []  # still collecting, yet Slack has its answer
        release.set()
        wait_for(lambda: slack.messages(CHANNEL), "the diagnosis after the sources answered")
    finally:
        release.set()
        running.stop()

    assert answer.status_code == 200 and "Diagnosing" in answer.text
    assert acknowledged_after < 3.0  # Slack's limit; the benchmark measures the real figure


def _diagnoses(bot: RunningBot) -> int:
    return int(
        sum(s.value for s in bot.bot.metrics.diagnoses.collect()[0].samples if s.name.endswith("_total"))
    )
