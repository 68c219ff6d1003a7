"""One-click remediation through Slack: signed clicks on the bot's buttons, end to end.

Real Redis (proposals, locks, audit), the Kubernetes API stand-in (records every PATCH), the
Slack stand-in (records every message), and the bot as `triage serve` runs it.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
import redis as redis_py
from kubernetes import client

from bot.cli import audit_arguments as add_audit_arguments
from bot.remediation.audit_cli import run_audit
from bot.remediation.kubernetes_change import KubernetesChanger
from bot.settings import AlertRoute, Catalog
from tests.live.bot_harness import RunningBot, start_bot, wait_for
from tests.live.conftest import AlertmanagerServer, RedisServer
from tests.standins.kube_api import KubeApiStandIn
from tests.standins.slack_api import SlackApiStandIn
from tests.standins.slack_signing import block_actions_body, slash_command_body

CHANNEL = "C0INCIDENTS"
NAMESPACE = "ecommerce"
REQUESTER, ALICE, EVE = "U0REQUEST", "U0ALICE", "U0EVE"
CATALOG = Catalog.model_validate(
    {
        "services": {"session-cache": {"namespace": NAMESPACE, "approvers": [ALICE, "S0SRE"]}},
        "remediation": {"verify_seconds": 4},
    }
)


def deployment() -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": "session-cache", "namespace": NAMESPACE, "generation": 4, "uid": "d-1"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "session-cache"}},
            "template": {
                "metadata": {"labels": {"app": "session-cache"}},
                "spec": {
                    "containers": [
                        {
                            "name": "redis",
                            "image": "redis:7.2.4",
                            "resources": {"limits": {"memory": "64Mi"}, "requests": {"memory": "64Mi"}},
                        }
                    ]
                },
            },
        },
        "status": {"observedGeneration": 4, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1},
    }


@pytest.fixture
def kube() -> Iterator[KubeApiStandIn]:
    with KubeApiStandIn([deployment()]) as standin:
        yield standin


@pytest.fixture
def slack() -> Iterator[SlackApiStandIn]:
    with SlackApiStandIn() as standin:
        standin.set_usergroup("S0SRE", ["U0SREBOB"])
        yield standin


@pytest.fixture
def redis_url(start_redis: Callable[..., RedisServer]) -> str:
    return start_redis().url


@pytest.fixture
def start(redis_url: str, slack: SlackApiStandIn, kube: KubeApiStandIn) -> Iterator[Callable[[], RunningBot]]:
    running: list[RunningBot] = []

    def start_one() -> RunningBot:
        changer = KubernetesChanger(client.ApiClient(client.Configuration(host=kube.url)))
        bot = start_bot(redis_url, slack.api_url, CATALOG, kubernetes=changer)
        running.append(bot)
        return bot

    yield start_one
    for bot in running:
        bot.stop()


def click(
    bot: RunningBot, action_id: str, value: str, user: str, message_ts: str, thread_ts: str | None = None
) -> int:
    body = block_actions_body(
        action_id, value, user_id=user, channel_id=CHANNEL, message_ts=message_ts, thread_ts=thread_ts
    )
    return int(bot.slack(body).status_code)


def button(message: Any, action_id: str) -> str:
    for block in message.blocks:
        for element in block.get("elements", []):
            if element.get("action_id", "").startswith(action_id):
                return str(element["value"])
    raise AssertionError(f"no {action_id} button in {message.text!r}")


def real_patches(kube: KubeApiStandIn) -> list[Any]:
    return [r for r in kube.served("/deployments/") if r.method == "PATCH" and r.query.get("dryRun") != "All"]


def test_approve_apply_verify_roll_back_through_slack_and_the_audit_tells_it(
    start: Callable[[], RunningBot],
    slack: SlackApiStandIn,
    kube: KubeApiStandIn,
    redis_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bot = start()
    bot.slack(slash_command_body(text="session-cache", user_id=REQUESTER, channel_id=CHANNEL))
    wait_for(lambda: slack.messages(CHANNEL), "the diagnosis")
    diagnosis = slack.messages(CHANNEL)[0]
    proposal_id = button(diagnosis, "remediation:")
    assert "192Mi" not in proposal_id and len(proposal_id) >= 12  # an id, never the change

    assert click(bot, "remediation:0", proposal_id, ALICE, diagnosis.ts) == 200
    wait_for(lambda: any("Preview" in m.text for m in slack.thread(CHANNEL, diagnosis.ts)), "the preview")
    preview = next(m for m in slack.thread(CHANNEL, diagnosis.ts) if "Preview" in m.text)
    assert "Preview" in preview.text and "memory" in json.dumps(preview.blocks)
    assert "dryRun=All" in json.dumps(preview.blocks) or "accepts it" in json.dumps(preview.blocks)

    click(bot, "approve", proposal_id, EVE, preview.ts, diagnosis.ts)
    wait_for(lambda: slack.ephemerals, "the private refusal")
    assert slack.ephemerals[0].user == EVE and "Not done" in slack.ephemerals[0].text
    assert real_patches(kube) == []

    click(bot, "approve", proposal_id, ALICE, preview.ts, diagnosis.ts)
    wait_for(lambda: len(real_patches(kube)) == 1, "the patch")
    kube.roll_out("Deployment", NAMESPACE, "session-cache")
    wait_for(lambda: any("verified" in m.text for m in slack.thread(CHANNEL, diagnosis.ts)), "verification")
    applied = next(
        m
        for m in slack.thread(CHANNEL, diagnosis.ts)
        if m.text.startswith("✅") and "Roll back" in json.dumps(m.blocks)
    )
    assert real_patches(kube)[0].content_type.startswith("application/strategic-merge-patch+json")
    assert real_patches(kube)[0].body["spec"]["template"]["spec"]["containers"][0]["name"] == "redis"

    click(bot, "rollback", button(applied, "rollback"), "U0SREBOB", applied.ts, diagnosis.ts)
    wait_for(
        lambda: sum("Preview" in m.text for m in slack.thread(CHANNEL, diagnosis.ts)) == 2,
        "the roll-back preview",
    )
    back = [m for m in slack.thread(CHANNEL, diagnosis.ts) if "Preview" in m.text][-1]
    click(
        bot, "approve", button(back, "approve"), ALICE, back.ts, diagnosis.ts
    )  # a user group member proposed it
    wait_for(lambda: len(real_patches(kube)) == 2, "the roll-back patch")
    limits = kube.get("Deployment", NAMESPACE, "session-cache")["spec"]["template"]["spec"]["containers"][0][
        "resources"
    ]
    assert limits["limits"]["memory"] == "64Mi"

    parser = argparse.ArgumentParser()
    add_audit_arguments(parser)
    capsys.readouterr()
    assert (
        run_audit(parser.parse_args(["--redis-url", redis_url, "--json", "--service", "session-cache"])) == 0
    )
    events = [json.loads(line)["event"] for line in capsys.readouterr().out.splitlines()]
    for event in ("proposed", "previewed", "refused", "approved", "applied", "verified", "rollback_proposed"):
        assert event in events
    assert events.count("applied") == 2


def test_a_replayed_click_and_simultaneous_approvals_at_two_bots_apply_once(
    start: Callable[[], RunningBot], slack: SlackApiStandIn, kube: KubeApiStandIn, redis_url: str
) -> None:
    first, second = start(), start()
    first.slack(slash_command_body(text="session-cache", user_id=REQUESTER, channel_id=CHANNEL))
    wait_for(lambda: slack.messages(CHANNEL), "the diagnosis")
    diagnosis = slack.messages(CHANNEL)[0]
    proposal_id = button(diagnosis, "remediation:")

    body = block_actions_body(
        "approve", proposal_id, user_id=ALICE, channel_id=CHANNEL, message_ts=diagnosis.ts
    )
    replay = [first.slack(body).status_code, first.slack(body).status_code]  # the same payload twice
    other = block_actions_body(
        "approve", proposal_id, user_id="U0SREBOB", channel_id=CHANNEL, message_ts=diagnosis.ts
    )
    threads = [threading.Thread(target=lambda b=b: b.slack(other)) for b in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_for(lambda: _audited(redis_url, "applied") and _audited(redis_url, "refused"), "apply and refusals")
    time.sleep(0.5)  # let any second apply, if there were one, reach the stand-in

    assert replay == [200, 200]
    assert len(real_patches(kube)) == 1
    assert len(_audited(redis_url, "applied")) == 1
    assert any(entry["reason"] == "replay" for entry in _audited(redis_url, "refused"))


def _audited(redis_url: str, event: str) -> list[dict[str, Any]]:
    entries = redis_py.Redis.from_url(redis_url, decode_responses=True).xrange("triage:audit")
    return [fields for _, fields in entries if fields.get("event") == event]


def test_an_alert_thread_offers_a_silence_whose_length_the_approver_picks(
    redis_url: str,
    slack: SlackApiStandIn,
    kube: KubeApiStandIn,
    start_alertmanager: Callable[..., AlertmanagerServer],
) -> None:
    alertmanager = start_alertmanager("http://127.0.0.1:9/unused", "unused")
    catalog = CATALOG.model_copy(
        update={"alertmanager_url": alertmanager.url, "alert_routes": [AlertRoute(match={}, channel=CHANNEL)]}
    )
    changer = KubernetesChanger(client.ApiClient(client.Configuration(host=kube.url)))
    bot = start_bot(redis_url, slack.api_url, catalog, kubernetes=changer)
    labels = {"alertname": "KubePodOOMKilled", "namespace": NAMESPACE, "service": "session-cache"}
    body = {
        "version": "4",
        "groupKey": '{}:{alertname="KubePodOOMKilled"}',
        "status": "firing",
        "groupLabels": {"alertname": "KubePodOOMKilled"},
        "commonLabels": labels,
        "alerts": [
            {"status": "firing", "labels": labels, "startsAt": "2026-11-28T03:00:00Z", "fingerprint": "f1"}
        ],
    }
    try:
        assert bot.alertmanager(json.dumps(body).encode()).status_code == 202
        wait_for(
            lambda: slack.messages(CHANNEL) and slack.thread(CHANNEL, slack.messages(CHANNEL)[0].ts), "thread"
        )
        parent = slack.messages(CHANNEL)[0]
        diagnosis = slack.thread(CHANNEL, parent.ts)[0]
        silence_button = next(
            e
            for b in diagnosis.blocks
            for e in b.get("elements", [])
            if "Preview: silence KubePodOOMKilled" in json.dumps(e.get("text", {}))
        )

        click(bot, silence_button["action_id"], silence_button["value"], ALICE, diagnosis.ts, parent.ts)
        wait_for(lambda: any("Preview" in m.text for m in slack.thread(CHANNEL, parent.ts)), "the preview")
        preview = next(m for m in slack.thread(CHANNEL, parent.ts) if "Preview" in m.text)
        click(bot, "silence-for:28800", button(preview, "silence-for:28800"), ALICE, preview.ts, parent.ts)
        wait_for(lambda: any("for 8h" in m.text for m in slack.thread(CHANNEL, parent.ts)), "the 8h preview")
        longer = next(m for m in slack.thread(CHANNEL, parent.ts) if "for 8h" in m.text)
        click(bot, "approve", button(longer, "approve"), ALICE, longer.ts, parent.ts)
        wait_for(lambda: alertmanager.silences(), "the silence in Alertmanager")
    finally:
        bot.stop()

    (silence,) = alertmanager.silences()
    assert silence["createdBy"] == ALICE
    assert {m["name"]: m["value"] for m in silence["matchers"]} == labels
    lasts = datetime.fromisoformat(silence["endsAt"]) - datetime.fromisoformat(silence["startsAt"])
    assert abs(lasts.total_seconds() - 8 * 3600) < 60
