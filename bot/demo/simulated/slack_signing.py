"""Requests as Slack sends them to an app, for tests: signed slash commands and button clicks.

`sign` computes the headers Slack puts on every request to an app (v0 signature: HMAC-SHA256
with the app's signing secret over `v0:{timestamp}:{body}`), so the app's own verification is
exercised. The body helpers build the exact bodies Slack POSTs: a slash command as an
`application/x-www-form-urlencoded` form, a button click as a form with one field, `payload`,
holding the `block_actions` JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

TEAM_ID = "T0STANDIN"
TEAM_DOMAIN = "triage-standin"
API_APP_ID = "A0TRIAGEAPP"
BOT_USER_ID = "U0TRIAGEBOT"
BOT_ID = "B0TRIAGEBOT"
VERIFICATION_TOKEN = "standin-verification-token"  # the deprecated token Slack still sends
DEFAULT_USER = "U0ONCALL01"
DEFAULT_CHANNEL = "C0INCIDENTS"


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The `X-Slack-Request-Timestamp` and `X-Slack-Signature` headers Slack sends with `body`."""
    stamp = int(time.time()) if timestamp is None else timestamp
    base = b"v0:" + str(stamp).encode() + b":" + body
    digest = hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(stamp), "X-Slack-Signature": f"v0={digest}"}


def signed_headers(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """`sign` plus the Content-Type of Slack's form bodies: all the headers a POST needs."""
    return {"Content-Type": FORM_CONTENT_TYPE, **sign(body, secret, timestamp)}


def slash_command_body(
    command: str = "/triage",
    text: str = "",
    user_id: str = DEFAULT_USER,
    channel_id: str = DEFAULT_CHANNEL,
    response_url: str = "https://hooks.slack.com/commands/T0STANDIN/1/standin",
    trigger_id: str = "1700000000.1.standintrigger",
    team_id: str = TEAM_ID,
    user_name: str = "oncall",
    channel_name: str = "incidents",
) -> bytes:
    """The form Slack POSTs for a slash command, with every field Slack sends."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return urlencode(fields).encode("utf-8")


def block_actions_payload(
    action_id: str,
    value: str,
    user_id: str = DEFAULT_USER,
    channel_id: str = DEFAULT_CHANNEL,
    message_ts: str = "1700000000.000100",
    thread_ts: str | None = None,
    response_url: str = "https://hooks.slack.com/actions/T0STANDIN/1/standin",
    block_id: str = "actions",
    button_text: str = "Approve",
    message_text: str = "",
    message_blocks: list[dict[str, Any]] | None = None,
    user_name: str = "oncall",
    channel_name: str = "incidents",
    trigger_id: str = "1700000000.2.standintrigger",
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """The `block_actions` payload of a click on a button of a bot message."""
    action_ts = f"{time.time():.6f}"
    button_label = {"type": "plain_text", "text": button_text, "emoji": True}
    button: dict[str, Any] = {"type": "button", "action_id": action_id, "text": button_label, "value": value}
    blocks = (
        message_blocks
        if message_blocks is not None
        else [{"type": "actions", "block_id": block_id, "elements": [button]}]
    )
    message: dict[str, Any] = {
        "type": "message",
        "subtype": "bot_message",
        "text": message_text,
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": API_APP_ID,
        "team": team_id,
        "ts": message_ts,
        "blocks": blocks,
    }
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel_id,
        "is_ephemeral": False,
    }
    if thread_ts is not None:
        message["thread_ts"] = thread_ts
        container["thread_ts"] = thread_ts
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": message,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": dict(button_label),
                "value": value,
                "type": "button",
                "action_ts": action_ts,
            }
        ],
    }


def block_actions_body(
    action_id: str,
    value: str,
    user_id: str = DEFAULT_USER,
    channel_id: str = DEFAULT_CHANNEL,
    message_ts: str = "1700000000.000100",
    thread_ts: str | None = None,
    response_url: str = "https://hooks.slack.com/actions/T0STANDIN/1/standin",
    **more: Any,
) -> bytes:
    """The form Slack POSTs for a button click: `payload=<block_actions JSON>`.

    `more` goes to `block_actions_payload` (block_id, button_text, message_text, message_blocks, ...).
    """
    payload = block_actions_payload(
        action_id, value, user_id, channel_id, message_ts, thread_ts, response_url, **more
    )
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode("utf-8")
