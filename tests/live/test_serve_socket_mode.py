"""`triage serve --socket-mode` end to end: no public URL, Slack's WebSocket instead.

The bot runs as its own process with an app-level token. `apps.connections.open` (the Web API
stand-in) answers a ws://127.0.0.1 address of the Socket Mode stand-in, which sends envelopes as
Slack does: a slash command, button clicks and an event, each of which the bot acknowledges by
envelope_id. The answers are those `triage serve` gives over HTTP; when the socket drops, the bot
opens a new connection and keeps answering.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests  # type: ignore[import-untyped, unused-ignore]
import yaml

from bot.demo import history, incident
from bot.demo.simulated.kube_api import KubeApiStandIn
from bot.demo.simulated.slack_api import BOT_TOKEN, SlackApiStandIn
from bot.demo.simulated.slack_signing import block_actions_payload, signed_headers, slash_command_body
from tests.live.bot_harness import wait_for
from tests.live.conftest import RedisServer, free_port
from tests.standins.slack_socket_mode import SocketModeStandIn

TRIAGE = Path(sys.executable).with_name("triage")
APP_TOKEN = "xapp-1-A0TRIAGEAPP-0000-standin-app-token"
SIGNING_SECRET = "socket-mode-test-signing-secret"
SOCKET_CHANNEL, HTTP_CHANNEL = "C0SOCKET", "C0HTTP"
APPROVER, REQUESTER = "U0ALICE", "U0REQUEST"


def _catalog(folder: Path, kube_url: str) -> tuple[Path, Path]:
    kubeconfig = folder / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": kube_url}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    catalog = folder / "catalog.yaml"
    catalog.write_text(
        yaml.safe_dump(
            {
                "namespaces": [incident.NAMESPACE],
                "services": {
                    incident.SERVICE: {
                        "namespace": incident.NAMESPACE,
                        "approvers": [APPROVER],
                        "production": False,
                    }
                },
            }
        )
    )
    return kubeconfig, catalog


class Serve:
    def __init__(self, folder: Path, name: str, args: list[str], environment: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"{name}.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [str(TRIAGE), "serve", "--host", "127.0.0.1", "--port", str(self.port), *args],
                env={"PATH": os.environ.get("PATH", ""), "HOME": str(folder), **environment},
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while not _healthy(self.url):
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _healthy(url: str) -> bool:
    try:
        return bool(requests.get(f"{url}/healthz", timeout=1).status_code == 200)
    except requests.exceptions.RequestException:
        return False


@pytest.fixture
def setup(
    tmp_path: Path, start_redis: Callable[..., RedisServer]
) -> Iterator[tuple[SlackApiStandIn, SocketModeStandIn, KubeApiStandIn, Serve, Serve]]:
    with (
        SocketModeStandIn() as socket_mode,
        SlackApiStandIn(app_tokens=(APP_TOKEN,)) as slack,
        KubeApiStandIn(incident.objects(history.default_end())) as kube,
    ):
        slack.socket_mode_url = socket_mode.new_url
        kubeconfig, catalog = _catalog(tmp_path, kube.url)
        common = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": slack.api_url,
            "TRIAGE_CONFIG": str(catalog),
            "KUBECONFIG": str(kubeconfig),
        }
        over_socket = Serve(
            tmp_path,
            "socket",
            ["--socket-mode"],
            {**common, "SLACK_APP_TOKEN": APP_TOKEN, "TRIAGE_REDIS_URL": start_redis().url},
        )
        over_http = Serve(
            tmp_path,
            "http",
            [],
            {**common, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "TRIAGE_REDIS_URL": start_redis().url},
        )
        try:
            yield slack, socket_mode, kube, over_socket, over_http
        finally:
            over_http.process.terminate()  # both stop at once
            over_socket.stop()
            over_http.stop()


def test_slash_command_clicks_and_events_over_the_socket_answer_as_over_http(
    setup: tuple[SlackApiStandIn, SocketModeStandIn, KubeApiStandIn, Serve, Serve],
) -> None:
    slack, socket_mode, kube, _, over_http = setup
    socket_mode.wait_connected()
    assert [
        r.params.get("token") or r.headers.get("authorization") for r in slack.calls("apps.connections.open")
    ] == [f"Bearer {APP_TOKEN}"]

    # The slash command: acknowledged over the socket with the text the HTTP answer carries.
    command = _slash_command(SOCKET_CHANNEL)
    envelope = socket_mode.send("slash_commands", command, accepts_response_payload=True)
    ack = socket_mode.ack(envelope)
    body = slash_command_body(text="session-cache", user_id=REQUESTER, channel_id=HTTP_CHANNEL)
    http_ack = requests.post(
        f"{over_http.url}/slack/events", data=body, headers=signed_headers(body, SIGNING_SECRET), timeout=10
    )
    assert http_ack.status_code == 200, http_ack.text
    assert ack["envelope_id"] == envelope
    assert ack["payload"]["text"] == _text(http_ack.text)
    assert "Diagnosing *session-cache*" in ack["payload"]["text"]

    wait_for(lambda: slack.messages(SOCKET_CHANNEL) and slack.messages(HTTP_CHANNEL), "both diagnoses", 60)
    diagnosis = slack.messages(SOCKET_CHANNEL)[0]
    assert "Memory limit 64Mi is too low" in diagnosis.text
    assert diagnosis.text == slack.messages(HTTP_CHANNEL)[0].text

    # Buttons: the fix previewed, then approved, each click acknowledged by envelope_id.
    fix = _button(diagnosis.blocks, "remediation:")
    envelope = socket_mode.send(
        "interactive", _click(fix["action_id"], fix["value"], REQUESTER, diagnosis.ts)
    )
    assert socket_mode.ack(envelope)["envelope_id"] == envelope

    def previews() -> list[Any]:  # the thread also holds the diagnosis' "More on ..." reply
        return [m for m in slack.thread(SOCKET_CHANNEL, diagnosis.ts) if m.text.startswith("Preview")]

    wait_for(previews, "the preview")
    preview = previews()[0]
    wanted = re.search(r"memory limit of session-cache from 64Mi to (\d+Mi)", diagnosis.text)
    assert wanted, diagnosis.text
    assert "Preview" in preview.text and f"from 64Mi to {wanted.group(1)}" in preview.text
    approve = _button(preview.blocks, "approve")
    envelope = socket_mode.send(
        "interactive", _click("approve", approve["value"], APPROVER, preview.ts, diagnosis.ts)
    )
    assert socket_mode.ack(envelope)["envelope_id"] == envelope
    wait_for(lambda: _patches(kube), "the approved patch")
    wait_for(
        lambda: any(m.text.startswith("✅") for m in slack.thread(SOCKET_CHANNEL, diagnosis.ts)), "applied"
    )
    limits = kube.get("Deployment", incident.NAMESPACE, incident.SERVICE)["spec"]["template"]["spec"]
    assert limits["containers"][0]["resources"]["limits"]["memory"] == wanted.group(1)

    # An event the bot has no listener for is still acknowledged, so Slack does not retry it.
    envelope = socket_mode.send("events_api", _event())
    assert socket_mode.ack(envelope) == {"envelope_id": envelope}


def test_a_dropped_socket_is_reopened_and_the_bot_keeps_answering(
    setup: tuple[SlackApiStandIn, SocketModeStandIn, KubeApiStandIn, Serve, Serve],
) -> None:
    slack, socket_mode, _, over_socket, _ = setup
    socket_mode.wait_connected()
    socket_mode.drop()
    socket_mode.wait_connected(count=2, timeout=60)
    assert len(slack.calls("apps.connections.open")) >= 2  # a fresh URL for the new connection

    envelope = socket_mode.send(
        "slash_commands", _slash_command(SOCKET_CHANNEL), accepts_response_payload=True
    )
    assert "Diagnosing" in socket_mode.ack(envelope, timeout=20)["payload"]["text"]
    wait_for(lambda: slack.messages(SOCKET_CHANNEL), "the diagnosis after the reconnect", 60)
    assert over_socket.process.poll() is None


def _text(body: str) -> str:
    """An HTTP acknowledgement's text: Bolt answers `{"text": ...}` or, for text alone, the text."""
    try:
        decoded = json.loads(body)
    except ValueError:
        return body
    return str(decoded["text"]) if isinstance(decoded, dict) else body


def _slash_command(channel: str) -> dict[str, Any]:
    """A slash command as Socket Mode delivers it: the HTTP form's fields as a JSON object."""
    form = slash_command_body(text="session-cache", user_id=REQUESTER, channel_id=channel).decode()
    return dict(parse_qsl(form, keep_blank_values=True))


def _click(action_id: str, value: str, user: str, ts: str, thread_ts: str | None = None) -> dict[str, Any]:
    return block_actions_payload(
        action_id, value, user_id=user, channel_id=SOCKET_CHANNEL, message_ts=ts, thread_ts=thread_ts
    )


def _event() -> dict[str, Any]:
    return {
        "token": "standin-verification-token",
        "team_id": "T0STANDIN",
        "api_app_id": "A0TRIAGEAPP",
        "event": {
            "type": "app_mention",
            "user": REQUESTER,
            "text": "<@U0TRIAGEBOT> hello",
            "ts": "1700000000.000200",
            "channel": SOCKET_CHANNEL,
            "event_ts": "1700000000.000200",
        },
        "type": "event_callback",
        "event_id": "Ev0STANDIN01",
        "event_time": 1700000000,
    }


def _button(blocks: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    for block in blocks:
        for element in block.get("elements", []):
            if str(element.get("action_id", "")).startswith(prefix):
                return dict(element)
    raise AssertionError(f"no {prefix} button in {json.dumps(blocks)[:500]}")


def _patches(kube: KubeApiStandIn) -> list[Any]:
    return [r for r in kube.served("/deployments/") if r.method == "PATCH" and r.query.get("dryRun") != "All"]
