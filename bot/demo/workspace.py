"""The demo's local Slack workspace: the SIMULATED Slack Web API plus the page that shows it.

`Workspace` is the Slack Web API stand-in (bot/demo/simulated/slack_api.py: the methods, answers
and refusals of Slack's Web API, nothing of the bot's own models) on one port, with the page of
the demo beside it:

  GET  /                  the workspace page (one #oncall channel, threads, Block Kit)
  GET  /demo/state        the channel as the page shows it, for one user (?user=U...)
  GET  /demo/files/<id>   an uploaded file's bytes (the memory chart)
  POST /demo/command      {"user", "text"}: a slash command, POSTed to the bot signed as Slack signs it
  POST /demo/action       {"user", "ts", "action_id", ...}: a button click, sent as `block_actions`

Everything the page does goes to the bot as Slack would send it: the same form bodies, the same
v0 signature over them with the app's signing secret.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests  # type: ignore[import-untyped, unused-ignore]

from bot.demo.simulated.slack_api import SlackApiStandIn
from bot.demo.simulated.slack_records import _Answer
from bot.demo.simulated.slack_signing import block_actions_body, signed_headers, slash_command_body

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Notice:
    """Something only one user sees: a slash command's acknowledgement, or a note of the page's."""

    user: str
    text: str
    at: float


class Workspace(SlackApiStandIn):
    def __init__(
        self,
        channel_id: str,
        channel_name: str,
        users: Mapping[str, str],
        signing_secret: str,
        port: int = 0,
        components: Callable[[], list[Json]] = list,
    ) -> None:
        super().__init__(channels={channel_id: channel_name}, port=port)
        self.channel_id = channel_id
        self.channel_name = channel_name
        self.users = dict(users)
        self.signing_secret = signing_secret
        self.bot_url: str | None = None  # set once `triage serve` answers
        self.components = components
        self._notices: list[Notice] = []
        self._response_ids = itertools.count(1)
        self._triggers = itertools.count(1)
        self._notice_lock = threading.Lock()

    # -- the page -----------------------------------------------------------------------------------
    def answer(self, http_method: str, target: str, headers: dict[str, str], body: bytes) -> _Answer:
        parts = urlsplit(target)
        path = parts.path
        if path in ("/", "/index.html") and http_method == "GET":
            page = resources.files("bot.demo").joinpath("page.html").read_text(encoding="utf-8")
            return _Answer(200, page, content_type="text/html; charset=utf-8")
        if path == "/demo/state" and http_method == "GET":
            user = (parse_qs(parts.query).get("user") or [""])[-1]
            return _Answer(200, self.state(user))
        if path.startswith("/demo/files/") and http_method == "GET":
            return self._file(path.removeprefix("/demo/files/"))
        if path in ("/demo/command", "/demo/action") and http_method == "POST":
            try:
                sent = json.loads(body or b"{}")
            except ValueError:
                return _Answer(400, {"ok": False, "error": "a JSON object, please"})
            if not isinstance(sent, dict) or str(sent.get("user", "")) not in self.users:
                return _Answer(400, {"ok": False, "error": "unknown user"})
            if path == "/demo/command":
                return self._command(sent)
            return self._action(sent)
        return super().answer(http_method, target, headers, body)

    def state(self, user: str) -> Json:
        """The channel for the page: messages with their replies and files, and what only `user` sees."""
        messages = self.messages(self.channel_id)
        files = [f for f in self.uploads if f.channel_id == self.channel_id]
        shown: list[Json] = []
        for message in messages:
            shown.append(
                {
                    "ts": message.ts,
                    "thread_ts": message.thread_ts,
                    "text": message.text,
                    "blocks": message.blocks,
                    "edited": message.edits > 0,
                    "user": "triage",
                }
            )
        for number, uploaded in enumerate(files):
            shown.append(
                {
                    "ts": f"{uploaded.file_id}",
                    "order": number,
                    "thread_ts": uploaded.thread_ts,
                    "text": uploaded.initial_comment or "",
                    "blocks": [],
                    "file": {
                        "url": f"/demo/files/{uploaded.file_id}",
                        "title": uploaded.title or uploaded.filename,
                        "alt": uploaded.alt_txt or uploaded.title or uploaded.filename,
                    },
                    "user": "triage",
                }
            )
        private: list[Json] = [
            {"text": e.text, "blocks": e.blocks, "thread_ts": e.thread_ts, "at": e.time}
            for e in self.ephemerals
            if e.user == user and e.channel == self.channel_id
        ]
        with self._notice_lock:
            private += [
                {"text": n.text, "blocks": [], "thread_ts": None, "at": n.at}
                for n in self._notices
                if n.user == user
            ]
        for response in self.responses:
            owner = response.response_id.split("-", 1)[0]
            if owner == user and response.response_type != "in_channel":
                private.append(
                    {
                        "text": str(response.body.get("text") or ""),
                        "blocks": response.body.get("blocks") or [],
                        "thread_ts": None,
                        "at": response.time,
                    }
                )
        private.sort(key=lambda item: float(item["at"]))
        return {
            "channel": {"id": self.channel_id, "name": self.channel_name},
            "users": [{"id": uid, "name": name} for uid, name in self.users.items()],
            "messages": shown,
            "private": private,
            "components": self.components(),
            "bot": self.bot_url is not None,
        }

    def notify(self, user: str, text: str) -> None:
        with self._notice_lock:
            self._notices.append(Notice(user, text, time.monotonic()))

    def _file(self, file_id: str) -> _Answer:
        found = next((f for f in self.uploads if f.file_id == file_id and f.data is not None), None)
        if found is None:
            return _Answer(404, "no such file")
        kind = "image/png" if found.filename.lower().endswith(".png") else "application/octet-stream"
        return _Answer(200, found.data or b"", content_type=kind)

    # -- what the page sends, as Slack sends it --------------------------------------------------------
    def _command(self, sent: Json) -> _Answer:
        user = str(sent["user"])
        text = str(sent.get("text", "")).strip()
        command, _, argument = text.partition(" ")
        if not command.startswith("/"):
            return _Answer(
                200, {"ok": False, "error": "only slash commands here, e.g. /triage session-cache"}
            )
        body = slash_command_body(
            command=command,
            text=argument.strip(),
            user_id=user,
            channel_id=self.channel_id,
            channel_name=self.channel_name,
            user_name=self.users[user].split(" ")[0].lower(),
            response_url=self.response_url(f"{user}-{next(self._response_ids)}"),
            trigger_id=f"{time.time():.0f}.{next(self._triggers)}.demo",
        )
        answer = self._to_bot(body)
        if answer is None:
            return _Answer(200, {"ok": False, "error": "the bot is not up yet"})
        status, reply = answer
        # Slack shows the acknowledgement's text to the one who typed the command.
        shown = _ack_text(reply) if status == 200 else f"/{command.lstrip('/')} failed: HTTP {status}"
        if shown:
            self.notify(user, shown)
        return _Answer(200, {"ok": status == 200, "status": status})

    def _action(self, sent: Json) -> _Answer:
        user = str(sent["user"])
        ts = str(sent.get("ts", ""))
        try:
            message = self.message(self.channel_id, ts)
        except StopIteration:
            return _Answer(200, {"ok": False, "error": "message_not_found"})
        action_id, value = str(sent.get("action_id", "")), str(sent.get("value", ""))
        element = _element(message.blocks, action_id, value)
        if element is None:
            return _Answer(200, {"ok": False, "error": "no such button on that message"})
        block_id, button = element
        body = block_actions_body(
            action_id,
            value,
            user_id=user,
            channel_id=self.channel_id,
            message_ts=message.ts,
            thread_ts=message.thread_ts,
            response_url=self.response_url(f"{user}-{next(self._response_ids)}"),
            block_id=block_id,
            button_text=str((button.get("text") or {}).get("text", "")),
            message_text=message.text,
            message_blocks=message.blocks,
            user_name=self.users[user].split(" ")[0].lower(),
            channel_name=self.channel_name,
            trigger_id=f"{time.time():.0f}.{next(self._triggers)}.demo",
        )
        answer = self._to_bot(body)
        if answer is None:
            return _Answer(200, {"ok": False, "error": "the bot is not up yet"})
        return _Answer(200, {"ok": answer[0] == 200, "status": answer[0]})

    def _to_bot(self, body: bytes) -> tuple[int, str] | None:
        if self.bot_url is None:
            return None
        try:
            reply = requests.post(
                f"{self.bot_url}/slack/events",
                data=body,
                headers=signed_headers(body, self.signing_secret),
                timeout=10,
            )
        except requests.exceptions.RequestException:
            return None
        return int(reply.status_code), str(reply.text)


def _ack_text(reply: str) -> str:
    """The text of an acknowledgement (JSON with `text`, or plain text, or nothing)."""
    if not reply.strip():
        return ""
    try:
        decoded = json.loads(reply)
    except ValueError:
        return reply.strip()
    return str(decoded.get("text") or "") if isinstance(decoded, dict) else ""


def _element(blocks: list[Json], action_id: str, value: str) -> tuple[str, Json] | None:
    """The block id and the button of a message with this action_id and value (Slack sends both)."""
    for block in blocks:
        candidates = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for element in candidates:
            if element.get("action_id") == action_id and str(element.get("value", "")) == value:
                return str(block.get("block_id", "")), element
    return None
