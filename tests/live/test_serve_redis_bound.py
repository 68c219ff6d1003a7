"""Issue 11: on a live Redis configured like the seed (maxmemory 0, noeviction, no Kubernetes), the
approver's click through the bot bounds Redis's memory, and the verification reports the effect."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.check import SourceChoice, diagnose_live
from bot.settings import Catalog
from tests.live.bot_harness import RunningBot, start_bot, wait_for
from tests.live.conftest import RedisServer
from tests.standins.slack_api import SlackApiStandIn
from tests.standins.slack_signing import block_actions_body, slash_command_body

SERVICE = "session-cache"
CHANNEL = "C0INCIDENTS"
REQUESTER, ALICE = "U0REQUEST", "U0ALICE"


@pytest.fixture
def seed_like_redis(start_redis: Callable[..., RedisServer]) -> RedisServer:
    """maxmemory 0 and noeviction, holding a few thousand sessions without TTL."""
    server = start_redis("--maxmemory-policy", "noeviction")
    with server.client() as client:
        pipeline = client.pipeline(transaction=False)
        for number in range(3000):
            pipeline.set(f"session:{number:05d}", json.dumps({"user_id": number, "cart": [1, 2, 3]}))
        pipeline.execute()
    return server


@pytest.fixture
def slack() -> Iterator[SlackApiStandIn]:
    with SlackApiStandIn() as standin:
        yield standin


@pytest.fixture
def bot(
    start_redis: Callable[..., RedisServer],
    seed_like_redis: RedisServer,
    slack: SlackApiStandIn,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[RunningBot]:
    for name in ("TRIAGE_CONFIG", "KUBECONFIG", "PROMETHEUS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no kubeconfig: Kubernetes is not queried
    catalog = Catalog.model_validate(
        {
            "services": {
                SERVICE: {"namespace": "ecommerce", "redis_url": seed_like_redis.url, "approvers": [ALICE]}
            },
            "remediation": {"verify_seconds": 2},
        }
    )
    running = start_bot(
        start_redis().url,
        slack.api_url,
        catalog,
        diagnose=lambda service, namespace: diagnose_live(
            service, catalog, SourceChoice(namespace=namespace)
        ),
    )
    yield running
    running.stop()


def _buttons(message: Any) -> dict[str, tuple[str, str]]:
    """Button label -> (action id, value)."""
    return {
        element["text"]["text"]: (element["action_id"], element["value"])
        for block in message.blocks
        for element in block.get("elements", [])
        if element.get("type") == "button"
    }


def _click(
    bot: RunningBot, action: str, value: str, user: str, message_ts: str, thread_ts: str | None
) -> None:
    body = block_actions_body(
        action, value, user_id=user, channel_id=CHANNEL, message_ts=message_ts, thread_ts=thread_ts
    )
    assert bot.slack(body).status_code == 200


def test_the_approvers_click_bounds_redis_and_the_verification_reports_the_effect(
    bot: RunningBot, slack: SlackApiStandIn, seed_like_redis: RedisServer
) -> None:
    bot.slack(slash_command_body(text=SERVICE, user_id=REQUESTER, channel_id=CHANNEL))
    wait_for(lambda: slack.messages(CHANNEL), "the diagnosis")
    message = slack.messages(CHANNEL)[0]
    buttons = _buttons(message)
    labels = list(buttons)
    assert labels and all(label.startswith("Preview: ") for label in labels), labels
    # maxmemory is 0: a policy alone would change nothing, so the bound is what is offered
    assert not any("maxmemory-policy" in label for label in labels), labels
    bound = next(label for label in labels if label.startswith("Preview: set maxmemory "))

    action, proposal_id = buttons[bound]
    _click(bot, action, proposal_id, ALICE, message.ts, None)
    wait_for(lambda: any("Preview" in m.text for m in slack.thread(CHANNEL, message.ts)), "the preview")
    preview = next(m for m in slack.thread(CHANNEL, message.ts) if "Preview" in m.text)
    assert "peak used memory" in json.dumps(preview.blocks) or "maxmemory" in json.dumps(preview.blocks)
    approve = next(value for label, (action, value) in _buttons(preview).items() if action == "approve")
    _click(bot, "approve", approve, ALICE, preview.ts, message.ts)

    wait_for(lambda: any("verified" in m.text for m in slack.thread(CHANNEL, message.ts)), "the verification")
    with seed_like_redis.client() as client:
        maxmemory = int(client.config_get("maxmemory")["maxmemory"])
        used = int(client.info("memory")["used_memory"])
    assert maxmemory > 0
    assert used <= maxmemory
    verified = next(m for m in slack.thread(CHANNEL, message.ts) if "verified" in m.text)
    said = verified.text + json.dumps(verified.blocks)
    assert "NOT verified" not in said, said
    assert "(no longer 0)" in said and "a test write was accepted" in said, said
