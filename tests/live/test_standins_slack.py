"""The Slack Web API stand-in and the Slack request builders, checked with slack_sdk's own client
and signature verifier; and the real Alertmanager fixture, checked with a webhook receiver."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests  # type: ignore[import-untyped, unused-ignore]
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier

from tests.live.conftest import AlertmanagerServer
from tests.standins.slack_api import BOT_ID, BOT_TOKEN, BOT_USER_ID, TEAM_ID, SlackApiStandIn
from tests.standins.slack_signing import (
    block_actions_body,
    sign,
    signed_headers,
    slash_command_body,
)

CHANNEL = "C0INCIDENTS"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def slack() -> Iterator[SlackApiStandIn]:
    with SlackApiStandIn() as standin:
        yield standin


@pytest.fixture
def client(slack: SlackApiStandIn) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=slack.api_url, timeout=5)


def section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def refusal(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as raised:
        call()
    data: dict[str, Any] = raised.value.response.data
    return data


# -- messages ------------------------------------------------------------------------------------
def test_auth_test_names_the_bot(client: WebClient) -> None:
    answer = client.auth_test()
    assert (answer["user_id"], answer["bot_id"], answer["team_id"]) == (BOT_USER_ID, BOT_ID, TEAM_ID)
    assert answer["url"].startswith("https://")


def test_token_is_required_and_checked(slack: SlackApiStandIn) -> None:
    assert refusal(lambda: WebClient(base_url=slack.api_url).chat_postMessage(channel=CHANNEL, text="x")) == {
        "ok": False,
        "error": "not_authed",
    }
    wrong = WebClient(token="xoxb-wrong", base_url=slack.api_url)
    assert refusal(lambda: wrong.chat_postMessage(channel=CHANNEL, text="x"))["error"] == "invalid_auth"
    assert refusal(lambda: wrong.auth_test())["error"] == "invalid_auth"  # form body, token field too
    assert slack.messages() == []


def test_post_update_and_thread(slack: SlackApiStandIn, client: WebClient) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "OOMKilled: checkout"}},
        section("*why*"),
    ]
    root = client.chat_postMessage(channel=CHANNEL, text="checkout is OOMKilled", blocks=blocks)
    reply = client.chat_postMessage(channel=CHANNEL, text="evidence", thread_ts=root["ts"])
    other = client.chat_postMessage(channel="C0OTHER", text="elsewhere")

    assert root["channel"] == CHANNEL and root["message"]["bot_id"] == BOT_ID
    assert root["ts"] < reply["ts"] < other["ts"]
    assert abs(float(root["ts"]) - time.time()) < 60 and len(root["ts"].split(".")[1]) == 6
    assert all(block["block_id"] for block in root["message"]["blocks"])  # Slack names unnamed blocks
    assert [m.ts for m in slack.messages(CHANNEL)] == [root["ts"], reply["ts"]]
    assert [m.text for m in slack.thread(CHANNEL, root["ts"])] == ["evidence"]

    updated = client.chat_update(
        channel=CHANNEL, ts=root["ts"], text="checkout recovered", blocks=[section("ok")]
    )
    assert updated["ts"] == root["ts"] and updated["text"] == "checkout recovered"
    message = slack.message(CHANNEL, root["ts"])
    assert (message.text, message.blocks[0]["text"]["text"], message.edits) == ("checkout recovered", "ok", 1)
    assert [(u.ts, u.text) for u in slack.updates] == [(root["ts"], "checkout recovered")]


def test_thread_and_update_need_an_existing_message(client: WebClient) -> None:
    root = client.chat_postMessage(channel=CHANNEL, text="root")
    assert refusal(lambda: client.chat_postMessage(channel="C0OTHER", text="x", thread_ts=root["ts"])) == {
        "ok": False,
        "error": "thread_not_found",
    }
    assert refusal(lambda: client.chat_update(channel=CHANNEL, ts="1600000000.000100", text="x"))[
        "error"
    ] == ("message_not_found")
    assert refusal(lambda: client.chat_postMessage(channel="", text="x"))["error"] == "channel_not_found"
    assert (
        refusal(lambda: client.chat_postMessage(channel=CHANNEL, text="x" * 40_001))["error"]
        == "msg_too_long"
    )
    with pytest.warns(UserWarning):  # slack_sdk warns before sending
        assert refusal(lambda: client.chat_postMessage(channel=CHANNEL))["error"] == "no_text"


def test_known_channels_only_when_given() -> None:
    with SlackApiStandIn(channels={"C0INCIDENTS": "incidents"}) as slack:
        client = WebClient(token=BOT_TOKEN, base_url=slack.api_url)
        assert client.chat_postMessage(channel="#incidents", text="x")["channel"] == "C0INCIDENTS"
        assert (
            refusal(lambda: client.chat_postMessage(channel="C0NOPE", text="x"))["error"]
            == "channel_not_found"
        )
        assert client.conversations_info(channel="C0INCIDENTS")["channel"]["name"] == "incidents"


def test_blocks_without_text_are_taken_with_a_warning(slack: SlackApiStandIn, client: WebClient) -> None:
    with pytest.warns(UserWarning):  # slack_sdk warns too
        answer = client.chat_postMessage(channel=CHANNEL, blocks=[section("only blocks")])
    assert answer["response_metadata"]["warnings"] == ["missing_text_in_blocks"]
    assert slack.messages()[0].warnings == ("missing_text_in_blocks",)


def test_ephemeral_and_usergroups(slack: SlackApiStandIn, client: WebClient) -> None:
    answer = client.chat_postEphemeral(channel=CHANNEL, user="U0ONCALL01", text="only you")
    assert answer["message_ts"]
    assert [(e.user, e.text) for e in slack.ephemerals] == [("U0ONCALL01", "only you")]
    assert slack.messages() == []

    slack.set_usergroup("S0APPROVERS", ["U0A", "U0B"])
    assert client.usergroups_users_list(usergroup="S0APPROVERS")["users"] == ["U0A", "U0B"]
    assert refusal(lambda: client.usergroups_users_list(usergroup="S0NONE"))["error"] == "no_such_subteam"


def test_json_and_form_bodies_are_both_understood(slack: SlackApiStandIn) -> None:
    blocks = [section("form")]
    as_form = requests.post(
        f"{slack.api_url}chat.postMessage",
        data={"token": BOT_TOKEN, "channel": CHANNEL, "text": "form", "blocks": json.dumps(blocks)},
        timeout=5,
    ).json()
    as_json = requests.post(
        f"{slack.api_url}chat.postMessage",
        json={"channel": CHANNEL, "text": "json", "blocks": blocks},
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
        timeout=5,
    ).json()
    assert as_form["ok"] and as_json["ok"]
    assert [m.blocks[0]["text"]["text"] for m in slack.messages()] == ["form", "form"]
    calls = slack.calls("chat.postMessage")
    assert (
        calls[0].params["token"] == BOT_TOKEN and calls[1].headers["authorization"] == f"Bearer {BOT_TOKEN}"
    )


def test_files_upload_v2_end_to_end(slack: SlackApiStandIn, client: WebClient) -> None:
    root = client.chat_postMessage(channel=CHANNEL, text="memory of checkout")
    png = bytes(range(256)) * 40
    answer = client.files_upload_v2(
        channel=CHANNEL,
        thread_ts=root["ts"],
        content=png,
        filename="memory.png",
        title="Memory",
        initial_comment="?",
    )
    assert answer["file"]["name"] == "memory.png" and answer["file"]["size"] == len(png)
    (uploaded,) = slack.uploads
    assert (uploaded.filename, uploaded.title, uploaded.data) == ("memory.png", "Memory", png)
    assert (uploaded.channel_id, uploaded.thread_ts, uploaded.initial_comment) == (CHANNEL, root["ts"], "?")
    assert [c.method for c in slack.requests[1:]] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    assert slack.calls("files.getUploadURLExternal")[0].params["length"] == str(len(png))


def test_upload_checks_thread_and_completion(slack: SlackApiStandIn, client: WebClient) -> None:
    assert refusal(lambda: client.files_upload_v2(channel=CHANNEL, thread_ts="1.000001", content="x"))[
        "error"
    ] == ("thread_not_found")
    started = client.files_getUploadURLExternal(filename="a.txt", length=1)
    never_sent = [{"id": started["file_id"], "title": "a"}]
    assert refusal(lambda: client.files_completeUploadExternal(files=never_sent, channel_id=CHANNEL))[
        "error"
    ] == ("file_not_found")
    assert slack.uploads == []


# -- Block Kit validation --------------------------------------------------------------------------
BAD_BLOCKS = {
    "too many blocks": [section(str(n)) for n in range(51)],
    "long header": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
    "long section": [section("s" * 3001)],
    "eleven fields": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
    "long field": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
    "eleven context elements": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
    "26 buttons": [
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "b"}, "action_id": f"a{n}"}
                for n in range(26)
            ],
        }
    ],
    "long button text": [
        {
            "type": "actions",
            "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76}}],
        }
    ],
    "long action_id": [
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "b"}, "action_id": "a" * 256}
            ],
        }
    ],
    "long value": [
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "b"}, "value": "v" * 2001}
            ],
        }
    ],
    "duplicate block_id": [section("a", "same"), section("b", "same")],
    "long block_id": [section("a", "b" * 256)],
    "unknown type": [{"type": "carousel"}],
    "mrkdwn header": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}],
    "empty section": [{"type": "section"}],
}


@pytest.mark.parametrize("blocks", BAD_BLOCKS.values(), ids=BAD_BLOCKS.keys())
def test_invalid_blocks_are_refused(slack: SlackApiStandIn, client: WebClient, blocks: list[Any]) -> None:
    data = refusal(lambda: client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks))
    assert data["error"] == "invalid_blocks"
    assert data["errors"] and all("[json-pointer:/blocks" in error for error in data["errors"])
    assert slack.messages() == []


def test_blocks_at_the_limits_are_taken(client: WebClient) -> None:
    button = {"type": "button", "text": {"type": "plain_text", "text": "b" * 75}, "value": "v" * 2000}
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        section("s" * 3000, "x" * 255),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000}] * 10},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 10},
        {"type": "actions", "elements": [{**button, "action_id": f"{n:0255d}"} for n in range(25)]},
        *[{"type": "divider"}] * 45,
    ]
    assert len(blocks) == 50
    assert client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks)["ok"]


def test_updates_and_ephemerals_are_validated_too(client: WebClient) -> None:
    root = client.chat_postMessage(channel=CHANNEL, text="root")
    too_long = [section("s" * 3001)]
    assert refusal(lambda: client.chat_update(channel=CHANNEL, ts=root["ts"], text="t", blocks=too_long))[
        "error"
    ] == ("invalid_blocks")
    assert refusal(lambda: client.chat_postEphemeral(channel=CHANNEL, user="U0A", text="t", blocks=too_long))[
        "error"
    ] == ("invalid_blocks")


# -- response_url ----------------------------------------------------------------------------------
def test_response_url_takes_json_five_times(slack: SlackApiStandIn) -> None:
    url = slack.response_url("cmd-1")
    body = {"response_type": "in_channel", "replace_original": True, "text": "done"}
    for _ in range(5):
        assert requests.post(url, json=body, timeout=5).json() == {"ok": True}
    assert requests.post(url, json=body, timeout=5).status_code == 404
    bad = requests.post(slack.response_url("cmd-2"), json={"text": "t", "blocks": [section("")]}, timeout=5)
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_blocks")
    assert len(slack.responses) == 5
    assert (slack.responses[0].response_type, slack.responses[0].replace_original) == ("in_channel", True)


# -- signing and request bodies --------------------------------------------------------------------
def test_signature_is_accepted_by_slack_sdk() -> None:
    body = slash_command_body(text="why checkout", response_url="http://127.0.0.1:1/response/1")
    headers = sign(body, SECRET)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("other-secret").is_valid_request(body, headers)
    stale = sign(body, SECRET, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)  # Slack apps refuse replays over 5 minutes
    # The documented example of Slack's signing guide.
    assert (
        verifier.generate_signature(timestamp="1531420618", body=body.decode())
        == sign(body, SECRET, 1531420618)["X-Slack-Signature"]
    )
    assert signed_headers(body, SECRET)["Content-Type"] == "application/x-www-form-urlencoded"


def test_slash_command_body_has_slacks_fields() -> None:
    body = slash_command_body(text="why checkout", user_id="U0X", channel_id="C0Y", response_url="http://r")
    form = {key: values[0] for key, values in parse_qs(body.decode(), keep_blank_values=True).items()}
    assert form["command"] == "/triage" and form["text"] == "why checkout"
    assert (form["user_id"], form["channel_id"], form["response_url"]) == ("U0X", "C0Y", "http://r")
    assert {
        "token",
        "team_id",
        "team_domain",
        "channel_name",
        "user_name",
        "api_app_id",
        "trigger_id",
    } <= set(form)


def test_block_actions_body_has_slacks_shape() -> None:
    body = block_actions_body(
        "approve", "plan-7", "U0X", "C0Y", "1700000000.000100", thread_ts="1700000000.000000"
    )
    (payload_text,) = parse_qs(body.decode())["payload"]
    payload = json.loads(payload_text)
    assert payload["type"] == "block_actions"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1700000000.000100",
        "channel_id": "C0Y",
        "is_ephemeral": False,
        "thread_ts": "1700000000.000000",
    }
    assert payload["message"]["thread_ts"] == "1700000000.000000"
    (action,) = payload["actions"]
    assert (action["action_id"], action["value"], action["type"]) == ("approve", "plan-7", "button")
    assert {"block_id", "action_ts"} <= set(action)
    assert payload["user"]["id"] == "U0X" and payload["channel"]["id"] == "C0Y"
    assert {"api_app_id", "token", "trigger_id", "team", "response_url"} <= set(payload)


# -- faults and rate accounting --------------------------------------------------------------------
def test_rate_limit_is_retried_after_retry_after(slack: SlackApiStandIn) -> None:
    slack.fail_next("chat.postMessage", 429, retry_after=1)
    bare = WebClient(token=BOT_TOKEN, base_url=slack.api_url)
    with pytest.raises(SlackApiError) as raised:
        bare.chat_postMessage(channel=CHANNEL, text="x")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "1"
    assert raised.value.response["error"] == "ratelimited"

    slack.fail_next("chat.postMessage", 429, retry_after=1)
    patient = WebClient(
        token=BOT_TOKEN,
        base_url=slack.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert patient.chat_postMessage(channel=CHANNEL, text="y")["ok"]
    first, second = slack.calls("chat.postMessage")[1:]
    assert (first.status, second.status) == (429, 200)
    assert second.time - first.time >= 1.0
    assert [m.text for m in slack.messages()] == ["y"]


def test_server_errors_are_answered_count_times(slack: SlackApiStandIn) -> None:
    slack.fail_next("chat.postMessage", 503, count=2)
    retrying = WebClient(
        token=BOT_TOKEN,
        base_url=slack.api_url,
        retry_handlers=[ServerErrorRetryHandler(max_retry_count=2, interval_calculator=_quick())],
    )
    assert retrying.chat_postMessage(channel=CHANNEL, text="x")["ok"]
    assert [c.status for c in slack.calls("chat.postMessage")] == [503, 503, 200]
    slack.fail_next("chat.update", 500)
    with pytest.raises(SlackApiError) as raised:
        WebClient(token=BOT_TOKEN, base_url=slack.api_url).chat_update(channel=CHANNEL, ts="1", text="x")
    assert raised.value.response.status_code == 500


def test_delay_holds_answers_back(slack: SlackApiStandIn, client: WebClient) -> None:
    slack.set_delay("auth.test", 0.3)
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.3


def test_posting_rate_is_measured_per_channel(slack: SlackApiStandIn, client: WebClient) -> None:
    for n in range(3):
        client.chat_postMessage(channel=CHANNEL, text=str(n))
    client.chat_postMessage(channel="C0OTHER", text="x")
    assert slack.max_messages_in_window(CHANNEL, 1.0) == 3
    assert slack.max_messages_in_window("C0OTHER", 1.0) == 1
    assert slack.max_messages_in_window("C0NONE", 1.0) == 0
    times = slack.post_times(CHANNEL)
    assert len(times) == 3 and times == sorted(times)
    assert slack.max_messages_in_window(CHANNEL, (times[2] - times[0]) / 2) < 3  # a narrower window


def _quick() -> FixedValueRetryIntervalCalculator:
    return FixedValueRetryIntervalCalculator(0.05)


# -- Alertmanager ----------------------------------------------------------------------------------
class _Webhook(BaseHTTPRequestHandler):
    """Takes Alertmanager's notifications: (headers, JSON body) into the server's queue."""

    server: _WebhookServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.put(({k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _WebhookServer(ThreadingHTTPServer):
    daemon_threads = True
    received: queue.Queue[tuple[dict[str, str], dict[str, Any]]]


@pytest.fixture
def webhook() -> Iterator[_WebhookServer]:
    server = _WebhookServer(("127.0.0.1", 0), _Webhook)
    server.received = queue.Queue()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_alertmanager_sends_webhook_v4_with_bearer_token(
    start_alertmanager: Callable[..., AlertmanagerServer], webhook: _WebhookServer
) -> None:
    port = webhook.server_address[1]
    alertmanager = start_alertmanager(f"http://127.0.0.1:{port}/alertmanager", "am-secret-token")
    labels = {
        "alertname": "KubePodOOMKilled",
        "namespace": "shop",
        "service": "checkout",
        "pod": "checkout-7d9f-abcde",
        "severity": "critical",
    }
    alertmanager.push(
        [
            {
                "labels": labels,
                "annotations": {"summary": "checkout was OOMKilled"},
                "generatorURL": "http://prometheus.example/graph?g0.expr=up",
            }
        ]
    )
    headers, firing = webhook.received.get(timeout=10)
    assert headers["authorization"] == "Bearer am-secret-token"
    assert headers["content-type"].startswith("application/json")
    assert (firing["version"], firing["status"], firing["receiver"]) == ("4", "firing", "triage")
    assert firing["groupKey"] and firing["externalURL"]
    assert firing["groupLabels"] == {
        "alertname": "KubePodOOMKilled",
        "namespace": "shop",
        "service": "checkout",
    }
    assert firing["commonLabels"] == labels
    assert firing["commonAnnotations"] == {"summary": "checkout was OOMKilled"}
    assert firing["truncatedAlerts"] == 0
    (alert,) = firing["alerts"]
    assert alert["status"] == "firing" and alert["labels"] == labels and alert["fingerprint"]
    assert alert["generatorURL"] == "http://prometheus.example/graph?g0.expr=up"
    assert alert["endsAt"] == "0001-01-01T00:00:00Z" or alert["endsAt"] > alert["startsAt"]
    assert [a["fingerprint"] for a in alertmanager.alerts()] == [alert["fingerprint"]]
    assert alertmanager.silences() == []

    alertmanager.resolve(labels)
    _, resolved = webhook.received.get(timeout=10)
    assert (resolved["status"], resolved["groupKey"]) == ("resolved", firing["groupKey"])
    assert [(a["status"], a["fingerprint"]) for a in resolved["alerts"]] == [
        ("resolved", alert["fingerprint"])
    ]


# -- slack_bolt takes all of it --------------------------------------------------------------------
def test_slack_bolt_app_runs_on_the_standin_and_the_signed_bodies(slack: SlackApiStandIn) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=slack.api_url)
    app = App(signing_secret=SECRET, client=client, process_before_response=True)  # listeners run inline
    assert [c.method for c in slack.requests] == ["auth.test"]  # bolt checks its token at start

    @app.command("/triage")
    def triage(ack: Any, command: dict[str, Any], respond: Any, say: Any) -> None:
        ack()
        say(text=f"triaging {command['text']}")
        respond(text="started", response_type="ephemeral")

    @app.action("approve")
    def approve(ack: Any, body: dict[str, Any], respond: Any, client: WebClient) -> None:
        ack()
        client.chat_postMessage(
            channel=body["channel"]["id"],
            thread_ts=body["container"]["message_ts"],
            text=body["actions"][0]["value"],
        )
        respond(replace_original=True, text="approved")

    command = slash_command_body(text="checkout", channel_id=CHANNEL, response_url=slack.response_url("c1"))
    answer = app.dispatch(_bolt_request(command, SECRET))
    assert answer.status == 200
    (root,) = slack.messages(CHANNEL)
    assert root.text == "triaging checkout"

    click = block_actions_body(
        "approve", "plan-7", "U0X", CHANNEL, root.ts, response_url=slack.response_url("a1")
    )
    assert app.dispatch(_bolt_request(click, SECRET)).status == 200
    assert [m.text for m in slack.thread(CHANNEL, root.ts)] == ["plan-7"]
    assert [(r.response_id, r.body["text"]) for r in slack.responses] == [
        ("c1", "started"),
        ("a1", "approved"),
    ]
    assert slack.responses[1].replace_original

    forged = app.dispatch(_bolt_request(click, "not-the-secret"))
    assert forged.status == 401


def _bolt_request(body: bytes, secret: str) -> BoltRequest:
    headers: dict[str, str | Sequence[str]] = {**signed_headers(body, secret)}
    return BoltRequest(body=body.decode(), headers=headers)
