"""Alertmanager notifications through `triage serve`: one thread per group, whatever is re-sent."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis as redis_py

from bot.runtime.metrics import BotMetrics
from bot.settings import AlertRoute, Catalog, ServiceConfig
from bot.slack.poster import SlackPoster, make_web_client
from tests.live.bot_harness import ALERTMANAGER_TOKEN, RunningBot, start_bot, wait_for
from tests.live.conftest import AlertmanagerServer, RedisServer
from tests.standins.slack_api import BOT_TOKEN, SlackApiStandIn

CHANNEL = "C0ALERTS"
CATALOG = Catalog(
    services={"session-cache": ServiceConfig(namespace="ecommerce", owners=["U0OWNER1"])},
    alert_routes=[AlertRoute(match={"namespace": "ecommerce"}, channel=CHANNEL)],
)
OOM_LABELS = {
    "alertname": "KubePodOOMKilled",
    "namespace": "ecommerce",
    "service": "session-cache",
    "severity": "critical",
}


def notification(
    group: str = "session-cache", status: str = "firing", alerts: int = 1, severity: str = "critical"
) -> dict[str, Any]:
    labels = {**OOM_LABELS, "service": group, "severity": severity}
    group_labels = {key: labels[key] for key in ("alertname", "namespace", "service")}
    return {
        "version": "4",
        "groupKey": '{}:{alertname="KubePodOOMKilled", namespace="ecommerce", service="' + group + '"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "triage",
        "groupLabels": group_labels,
        "commonLabels": labels,
        "commonAnnotations": {"summary": "Container redis was OOM-killed"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [
            {
                "status": status,
                "labels": {**labels, "pod": f"{group}-{n}"},
                "annotations": {},
                "startsAt": "2026-11-28T03:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-28T03:30:00Z",
                "generatorURL": "http://prometheus.example:9090/graph",
                "fingerprint": f"{group}-{n:04d}",
            }
            for n in range(alerts)
        ],
    }


@pytest.fixture
def slack() -> Iterator[SlackApiStandIn]:
    with SlackApiStandIn() as standin:
        yield standin


@pytest.fixture
def redis_url(start_redis: Callable[..., RedisServer]) -> str:
    return start_redis().url


@pytest.fixture
def bots(redis_url: str, slack: SlackApiStandIn) -> Iterator[list[RunningBot]]:
    """Two bot processes (each its own server, workers and Redis connections) sharing one Redis."""
    running = [start_bot(redis_url, slack.api_url, CATALOG) for _ in range(2)]
    yield running
    for bot in running:
        bot.stop()


def parents(slack: SlackApiStandIn) -> list[Any]:
    return [m for m in slack.messages(CHANNEL) if m.thread_ts is None]


def test_one_group_delivered_five_times_to_two_bots_makes_one_thread_and_resolution_updates_it(
    bots: list[RunningBot], slack: SlackApiStandIn
) -> None:
    body = json.dumps(notification()).encode()
    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda i=i: answers.append(bots[i % 2].alertmanager(body).status_code))
        for i in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [202] * 5
    wait_for(lambda: parents(slack) and slack.thread(CHANNEL, parents(slack)[0].ts), "thread and diagnosis")
    wait_for(lambda: _handled(bots) >= 5, "all five deliveries handled")
    assert len(parents(slack)) == 1
    parent = parents(slack)[0]
    assert "KubePodOOMKilled" in parent.text and "1 firing" in parent.text

    bots[1].alertmanager(json.dumps(notification(status="resolved")).encode())
    wait_for(lambda: "resolved after" in slack.message(CHANNEL, parent.ts).text, "the parent marked resolved")
    wait_for(lambda: any("Resolved after" in r.text for r in slack.thread(CHANNEL, parent.ts)), "the reply")
    assert len(parents(slack)) == 1


def test_new_alerts_and_refires_go_into_the_same_thread(
    bots: list[RunningBot], slack: SlackApiStandIn
) -> None:
    bots[0].alertmanager(json.dumps(notification(alerts=1)).encode())
    wait_for(lambda: parents(slack), "the thread")
    parent = parents(slack)[0]
    bots[1].alertmanager(json.dumps(notification(alerts=3)).encode())
    wait_for(
        lambda: any("2 more alert(s)" in r.text for r in slack.thread(CHANNEL, parent.ts)), "the new alerts"
    )
    bots[0].alertmanager(json.dumps(notification(status="resolved", alerts=3)).encode())
    wait_for(lambda: "resolved" in slack.message(CHANNEL, parent.ts).text, "resolution")
    bots[1].alertmanager(json.dumps(notification(alerts=3)).encode())
    wait_for(lambda: any("Firing again" in r.text for r in slack.thread(CHANNEL, parent.ts)), "the re-fire")

    assert len(parents(slack)) == 1
    assert "3 firing" in slack.message(CHANNEL, parent.ts).text


def test_losing_redis_state_does_not_open_a_second_thread(
    bots: list[RunningBot], slack: SlackApiStandIn, redis_url: str
) -> None:
    body = json.dumps(notification()).encode()
    bots[0].alertmanager(body)
    wait_for(lambda: parents(slack), "the thread")
    wait_for(lambda: _handled(bots) >= 1, "the first delivery handled")
    redis_py.Redis.from_url(redis_url).flushall()  # a Redis restart without persistence
    # Alertmanager re-sends a firing group one repeat interval (4 h here) after the last time.
    for bot in bots:
        bot.bot.groups._clock = lambda: time.time() + 4 * 3600 + 60

    bots[1].alertmanager(body)
    wait_for(lambda: _handled(bots) >= 2, "the re-send handled")

    assert len(parents(slack)) == 1


def test_a_real_alertmanager_groups_and_resends_into_one_thread(
    bots: list[RunningBot], slack: SlackApiStandIn, start_alertmanager: Callable[..., AlertmanagerServer]
) -> None:
    managers = [
        start_alertmanager(f"{bot.url}/alertmanager", ALERTMANAGER_TOKEN, repeat_interval="2s")
        for bot in bots
    ]
    alerts = [{"labels": {**OOM_LABELS, "pod": f"session-cache-{n}"}} for n in range(3)]
    for manager in managers:
        manager.push(alerts)

    wait_for(lambda: _accepted(bots) >= 5, "five deliveries from the two Alertmanagers", timeout=30)
    wait_for(lambda: _handled(bots) >= 5, "the deliveries handled")
    assert len(parents(slack)) == 1
    assert "3 firing" in parents(slack)[0].text

    for manager in managers:
        for alert in alerts:
            manager.resolve(alert["labels"])
    wait_for(
        lambda: "resolved after" in parents(slack)[0].text, "the resolution from Alertmanager", timeout=30
    )
    assert len(parents(slack)) == 1


def test_an_alert_storm_becomes_one_digest_without_losing_a_group(
    redis_url: str, slack: SlackApiStandIn
) -> None:
    bot = start_bot(redis_url, slack.api_url, CATALOG, storm_groups=3, storm_threads=2)
    try:
        for number in range(20):
            severity = "critical" if number % 5 == 0 else "warning"
            assert (
                bot.alertmanager(
                    json.dumps(notification(f"svc-{number:02d}", severity=severity)).encode()
                ).status_code
                == 202
            )
        wait_for(lambda: _handled([bot]) >= 20, "every group handled", timeout=60)
        digests = [m for m in parents(slack) if "Alert storm" in m.text]
        assert len(digests) == 1
        wait_for(
            lambda: "17 alert groups" in slack.message(CHANNEL, digests[0].ts).text, "the digest listing all"
        )
    finally:
        bot.stop()

    digest = slack.message(CHANNEL, digests[0].ts)
    listed = json.dumps(digest.blocks)
    threaded = [m.text for m in parents(slack) if "Alert storm" not in m.text]
    for number in range(20):  # every group is findable: its own thread or a line of the digest
        name = f"svc-{number:02d}"
        assert name in listed or any(name in text for text in threaded)
    # Before the storm was seen, 3 groups opened threads; in it, only 2 more, both critical.
    assert len(threaded) == 5
    assert all(text.startswith("🔴") for text in threaded[3:])
    # A bucket of 3 refilled at 1/s: at most the burst plus what refills within the window.
    assert slack.max_messages_in_window(CHANNEL, 1.0) <= 3 + 1
    assert slack.max_messages_in_window(CHANNEL, 5.0) <= 3 + 5


@pytest.mark.parametrize(
    ("body", "token", "status", "reason"),
    [
        (b"{}", None, 401, "bearer token"),
        (b"{}", "wrong", 401, "bearer token"),
        (b"not json", ALERTMANAGER_TOKEN, 400, "not JSON"),
        (b"[]", ALERTMANAGER_TOKEN, 400, "JSON object"),
        (json.dumps({**notification(), "version": "3"}).encode(), ALERTMANAGER_TOKEN, 400, "version"),
        (json.dumps({**notification(), "alerts": []}).encode(), ALERTMANAGER_TOKEN, 400, "alerts"),
        (
            json.dumps({k: v for k, v in notification().items() if k != "groupKey"}).encode(),
            ALERTMANAGER_TOKEN,
            400,
            "groupKey",
        ),
    ],
)
def test_malformed_or_unauthorised_webhooks_get_the_reason(
    bots: list[RunningBot], slack: SlackApiStandIn, body: bytes, token: str | None, status: int, reason: str
) -> None:
    answer = bots[0].alertmanager(body, token=token)

    assert answer.status_code == status
    assert reason in answer.json()["error"]
    assert slack.messages() == []


def test_an_alert_no_route_matches_is_refused_with_the_reason(bots: list[RunningBot]) -> None:
    body = notification()
    body["commonLabels"] = {**body["commonLabels"], "namespace": "payments"}
    body["groupLabels"] = {**body["groupLabels"], "namespace": "payments"}

    answer = bots[0].alertmanager(json.dumps(body).encode())

    assert answer.status_code == 422
    assert "TRIAGE_ALERT_CHANNEL" in answer.json()["error"]


def test_slack_rate_limits_and_errors_are_retried_and_refused_blocks_fall_back_to_text(
    redis_url: str, slack: SlackApiStandIn
) -> None:
    metrics = BotMetrics()
    poster = SlackPoster(
        make_web_client(BOT_TOKEN, slack.api_url), redis_py.Redis.from_url(redis_url), metrics
    )
    slack.fail_next("chat.postMessage", 429, retry_after=1)
    slack.fail_next("chat.postMessage", 500, count=2)

    poster.post(CHANNEL, "after a rate limit and two errors")
    too_long_header = [{"type": "header", "text": {"type": "plain_text", "text": "x" * 200}}]
    poster.post(CHANNEL, "the text of a message Slack refused", too_long_header)

    texts = [m.text for m in slack.messages(CHANNEL)]
    assert texts[0] == "after a rate limit and two errors"
    assert texts[1].startswith("the text of a message Slack refused")
    assert slack.messages(CHANNEL)[1].blocks == []
    assert metrics.slack_errors.labels("chat_postMessage", "invalid_blocks")._value.get() == 1


def _handled(bots: list[RunningBot]) -> int:
    """Notifications the bots have acted on or recognised as repeats."""
    total = 0
    for bot in bots:
        for sample in bot.bot.metrics.alert_notifications.collect()[0].samples:
            if sample.name.endswith("_total") and sample.labels["outcome"] not in (
                "accepted",
                "rejected",
                "unrouted",
            ):
                total += int(sample.value)
    return total


def _accepted(bots: list[RunningBot]) -> int:
    return sum(int(bot.bot.metrics.alert_notifications.labels("accepted")._value.get()) for bot in bots)


def test_alert_labels_cannot_mention_anyone_or_smuggle_links(
    bots: list[RunningBot], slack: SlackApiStandIn
) -> None:
    body = notification()
    hostile = "<!channel> look <@U0BOSS> & <https://evil.example|login>"
    body["commonLabels"] = {**body["commonLabels"], "alertname": hostile}
    body["commonAnnotations"] = {"summary": "<!everyone>"}
    body["alerts"][0]["generatorURL"] = "http://x/>|<!here"

    bots[0].alertmanager(json.dumps(body).encode())
    wait_for(lambda: parents(slack), "the thread")

    shown = parents(slack)[0].text + json.dumps(parents(slack)[0].blocks)
    for mention in ("<!channel>", "<@U0BOSS>", "<!everyone>", "<!here", "<https://evil"):
        assert mention not in shown
    assert "&lt;!channel&gt; look" in shown


def test_slack_gateway_errors_are_retried_and_a_refused_update_clears_the_old_blocks(
    redis_url: str, slack: SlackApiStandIn
) -> None:
    poster = SlackPoster(
        make_web_client(BOT_TOKEN, slack.api_url), redis_py.Redis.from_url(redis_url), BotMetrics()
    )
    slack.fail_next("chat.postMessage", 502)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "firing"}}]
    ts = poster.post(CHANNEL, "firing", blocks)

    too_long_header = [{"type": "header", "text": {"type": "plain_text", "text": "x" * 200}}]
    poster.update(CHANNEL, ts, "resolved", too_long_header)

    message = slack.message(CHANNEL, ts)
    assert message.text.startswith("resolved") and message.blocks == []


def test_new_alerts_arriving_close_together_are_announced_in_one_later_reply(
    bots: list[RunningBot], slack: SlackApiStandIn
) -> None:
    for bot in bots:
        bot.bot.groups._announce_every = 2.0
    bots[0].alertmanager(json.dumps(notification(alerts=1)).encode())
    wait_for(lambda: parents(slack), "the thread")
    parent = parents(slack)[0]
    bots[0].alertmanager(json.dumps(notification(alerts=2)).encode())  # announced at once
    wait_for(lambda: any("1 more alert(s)" in r.text for r in slack.thread(CHANNEL, parent.ts)), "first")
    bots[1].alertmanager(json.dumps(notification(alerts=4)).encode())  # within 2 s: batched
    bots[0].alertmanager(json.dumps(notification(alerts=5)).encode())

    wait_for(lambda: "5 firing" in slack.message(CHANNEL, parent.ts).text, "the parent's count")
    wait_for(lambda: any("3 more alert(s)" in r.text for r in slack.thread(CHANNEL, parent.ts)), "the batch")
    replies = [r.text for r in slack.thread(CHANNEL, parent.ts) if "more alert(s)" in r.text]
    assert len(replies) == 2  # one for the first new alert, one for the three that followed
    assert all(f"session-cache-{n}" in replies[1] for n in (2, 3, 4))
