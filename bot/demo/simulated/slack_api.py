"""A STAND-IN for the Slack Web API, for tests: NOT Slack, and no message leaves this machine.

A small threaded `http.server` on a free local port that answers the Web API methods the bot
calls, as `slack_sdk.WebClient(token=BOT_TOKEN, base_url=f"{standin.url}/api/")` sends them
(`POST /api/<method>` with a form-encoded or JSON body, `GET /api/<method>?...` for the read
methods, the token as `Authorization: Bearer xoxb-...` or as a `token` form field), with
Slack's JSON answers: `{"ok": true, ...}`, or `{"ok": false, "error": "..."}` with HTTP 200.

  auth.test, apps.connections.open (app-level tokens only), chat.postMessage, chat.update, chat.postEphemeral, conversations.info,
  conversations.history (with `metadata` when include_all_metadata is set),
  usergroups.users.list, files.getUploadURLExternal, files.completeUploadExternal
  POST /upload/v1/<file_id>   the upload URL files.getUploadURLExternal hands out (raw bytes)
  POST /response/<id>         a slash command's or button's response_url (JSON body)

It refuses what Slack refuses: no token (`not_authed`), an unknown one (`invalid_auth`), no or
an unknown channel (`channel_not_found`), a `thread_ts` that is no message of that channel
(`thread_not_found`), chat.update of an unknown ts (`message_not_found`), text over 40,000
characters (`msg_too_long`), and blocks that break Block Kit's rules (`invalid_blocks`, with
`errors` naming each violation), checked by rules of its own (`block_kit.py`), not the
slack_sdk models the bot builds its blocks with. A message with blocks and no `text` is
accepted with the warning `missing_text_in_blocks`.

Faults on demand: `fail_next("chat.postMessage", 429, retry_after=1)` answers Slack's rate
limit (`Retry-After` header, `ratelimited`), `fail_next(method, 500|503, count=n)` a server
error; `set_delay(method, seconds)` holds a method's answers back.

Everything served is recorded in `requests`; accepted messages, updates, ephemerals, uploads
and response_url posts in their own lists, and `max_messages_in_window` measures how close the
bot comes to Slack's posting limit of about one message a second per channel.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar
from urllib.parse import urlsplit

from bot.demo.simulated.block_kit import validate_blocks
from bot.demo.simulated.server import LocalStandIn, QuietServer
from bot.demo.simulated.slack_records import (
    APP_ID,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    SERVER_ERRORS,
    TEAM_ID,
    TEAM_NAME,
    TEAM_URL,
    Ephemeral,
    Message,
    ResponsePost,
    ServedRequest,
    SlackRecords,
    Update,
    UploadedFile,
    _Answer,
    _decode,
    _Fault,
    _flag,
    _json_value,
    _Refusal,
    _warned,
    complete_uploads,
    history,
    new_upload,
)

Json = dict[str, Any]

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "TEAM_ID",
    "TEAM_NAME",
    "TEAM_URL",
    "Ephemeral",
    "Message",
    "ResponsePost",
    "ServedRequest",
    "SlackApiStandIn",
    "Update",
    "UploadedFile",
    "validate_blocks",
]


MAX_TEXT = 40_000
RESPONSE_URL_USES = 5  # Slack takes a response_url up to five times


# -- the stand-in -------------------------------------------------------------------------------
class SlackApiStandIn(SlackRecords, LocalStandIn):
    """Stand-in Slack Web API: `with SlackApiStandIn() as slack:` then
    `WebClient(token=BOT_TOKEN, base_url=slack.api_url)`.

    `channels` (id -> name), if given, are the only channels that exist; otherwise any channel
    id does (and a `#name` is its own id). `tokens` are the tokens accepted.
    """

    def __init__(
        self,
        channels: Mapping[str, str] | None = None,
        tokens: Iterable[str] = (BOT_TOKEN,),
        delay: float = 0.0,
        port: int = 0,
        app_tokens: Iterable[str] = (),
        socket_mode_url: Callable[[], str] | None = None,
    ) -> None:
        self.channels = dict(channels) if channels is not None else None
        self.tokens = set(tokens)
        self.app_tokens = set(app_tokens)  # xapp-...: apps.connections.open only
        self.socket_mode_url = socket_mode_url  # the WebSocket URL apps.connections.open hands out
        self.delay = delay
        SlackRecords.__init__(self)
        self._response_uses: dict[str, int] = {}
        self._usergroups: dict[str, list[str]] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, float] = {}
        # Like Slack's, a ts is the time of posting (microseconds), unique and increasing.
        self._ts = itertools.count(int(time.time()) * 1_000_000 + 100, 100)
        self._file_ids = itertools.count(1)
        self._block_ids = itertools.count(1)
        self._stopping = threading.Event()
        server = _Server(("127.0.0.1", port), _Handler)
        server.standin = self
        self._serve(server, "slack-api-standin")

    # -- what the test sets up ------------------------------------------------------------------
    def set_usergroup(self, group_id: str, users: Iterable[str]) -> None:
        """The members usergroups.users.list answers for `group_id` (e.g. "S0ONCALL")."""
        with self._lock:
            self._usergroups[group_id] = list(users)

    def fail_next(self, method: str, status: int = 429, retry_after: int = 1, count: int = 1) -> None:
        """Answer the next `count` calls of `method` with `status` instead of serving them.

        429 is Slack's rate limit (`Retry-After: retry_after`, error `ratelimited`); 5xx a server
        error. `method` is a Slack method, or "upload" / "response_url".
        """
        with self._lock:
            self._faults.setdefault(method, []).append(_Fault(status, retry_after, count))

    def set_delay(self, method: str, seconds: float) -> None:
        """Hold every answer to `method` back by `seconds` (0 to stop)."""
        with self._lock:
            self._delays[method] = seconds

    # -- addresses ------------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        """The `base_url` for `slack_sdk.WebClient` (and slack_bolt's `App(client=...)`)."""
        return f"{self.url}/api/"

    def response_url(self, response_id: str) -> str:
        """A response_url to put in a slash command or block_actions body."""
        return f"{self.url}/response/{response_id}"

    # -- lifecycle ------------------------------------------------------------------------------
    # -- answering ------------------------------------------------------------------------------
    def answer(self, http_method: str, target: str, headers: dict[str, str], body: bytes) -> _Answer:
        """The answer to one request; records it."""
        arrival = time.monotonic()
        parts = urlsplit(target)
        path = parts.path
        if path.startswith("/api/"):
            method = path.removeprefix("/api/")
        elif path.startswith("/upload/v1/"):
            method = "upload"
        elif path.startswith("/response/"):
            method = "response_url"
        else:
            method = ""
        params = _decode(parts.query, headers.get("content-type", ""), body, raw=method == "upload")
        with self._lock:
            wait = self._delays.get(method, 0.0) or self.delay
        if wait:
            self._stopping.wait(wait)
        answer = self._fault(method) or self._route(method, http_method, path, headers, params, body, arrival)
        with self._lock:
            self.requests.append(
                ServedRequest(method, http_method, path, params, headers, arrival, answer.status, answer.body)
            )
        return answer

    def _fault(self, method: str) -> _Answer | None:
        with self._lock:
            faults = self._faults.get(method)
            if not faults:
                return None
            fault = faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                faults.pop(0)
        if fault.status == 429:
            return _Answer(
                429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(fault.retry_after)}
            )
        return _Answer(fault.status, {"ok": False, "error": SERVER_ERRORS.get(fault.status, "fatal_error")})

    def _route(
        self,
        method: str,
        http_method: str,
        path: str,
        headers: dict[str, str],
        params: Json,
        body: bytes,
        at: float,
    ) -> _Answer:
        if method == "upload":
            return self._upload(path.removeprefix("/upload/v1/"), http_method, body)
        if method == "response_url":
            return self._respond(path.removeprefix("/response/"), http_method, headers, params, at)
        if not method:
            return _Answer(404, {"ok": False, "error": "not_found"})
        handler = self._METHODS.get(method)
        try:
            token = self._authenticate(headers, params)
            if handler is None:
                raise _Refusal("unknown_method")
            # An app-level token (xapp-) opens Socket Mode connections and nothing else; a bot token
            # cannot open them.
            if (token in self.app_tokens) != (method == "apps.connections.open"):
                raise _Refusal("not_allowed_token_type")
            with self._lock:
                result = handler(self, params, at)
        except _Refusal as refusal:
            return _Answer(200, {"ok": False, "error": refusal.error, **refusal.extra})
        return _Answer(200, {"ok": True, **result})

    def _authenticate(self, headers: dict[str, str], params: Json) -> str:
        authorization = headers.get("authorization", "")
        token = authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""
        token = token or str(params.get("token") or "")
        if not token:
            raise _Refusal("not_authed")
        if token not in self.tokens and token not in self.app_tokens:
            raise _Refusal("invalid_auth")
        return token

    # -- methods (called holding the lock) -------------------------------------------------------
    def _auth_test(self, params: Json, at: float) -> Json:
        return {
            "url": TEAM_URL,
            "team": TEAM_NAME,
            "user": "triage",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, params: Json, at: float) -> Json:
        channel = self._channel(params)
        text, blocks, warnings = self._content(params, required=True)
        thread_ts = self._thread_ts(channel, params)
        message = Message(
            channel=channel,
            ts=self._next_ts(),
            text=text or "",
            blocks=self._with_block_ids(blocks or []),
            thread_ts=thread_ts,
            params=params,
            time=at,
            warnings=warnings,
            reply_broadcast=_flag(params.get("reply_broadcast")),
        )
        self._messages.append(message)
        self._posts.append((channel, at))
        return {"channel": channel, "ts": message.ts, "message": message.as_slack(), **_warned(warnings)}

    def _update(self, params: Json, at: float) -> Json:
        channel = self._channel(params)
        ts = str(params.get("ts") or "")
        message = next((m for m in self._messages if m.channel == channel and m.ts == ts), None)
        if message is None:
            raise _Refusal("message_not_found")
        text, blocks, warnings = self._content(params, required=False)
        if text is None and blocks is None:
            raise _Refusal("no_text")
        if text is not None:
            message.text = text
        if blocks is not None:
            message.blocks = self._with_block_ids(blocks)
        elif params.get("blocks") in ("[]", []):
            message.blocks = []  # Slack: "to remove previous blocks, include an empty array"
        message.edits += 1
        self._updates.append(Update(channel, ts, text, blocks, params, at))
        return {
            "channel": channel,
            "ts": ts,
            "text": message.text,
            "message": message.as_slack(),
            **_warned(warnings),
        }

    def _post_ephemeral(self, params: Json, at: float) -> Json:
        channel = self._channel(params)
        user = str(params.get("user") or "")
        if not user:
            raise _Refusal("user_not_found")
        text, blocks, warnings = self._content(params, required=True)
        thread_ts = self._thread_ts(channel, params)
        ts = self._next_ts()
        self._ephemerals.append(Ephemeral(channel, user, ts, text or "", blocks or [], thread_ts, params, at))
        return {"message_ts": ts, **_warned(warnings)}

    def _connections_open(self, params: Json, at: float) -> Json:
        """A Socket Mode WebSocket URL (Slack's is wss://wss-primary.slack.com/link/?ticket=...)."""
        if self.socket_mode_url is None:
            raise _Refusal("internal_error")
        return {"url": self.socket_mode_url()}

    def _conversations_info(self, params: Json, at: float) -> Json:
        channel = self._channel(params)
        name = (self.channels or {}).get(channel, channel.lower())
        return {
            "channel": {
                "id": channel,
                "name": name,
                "is_channel": True,
                "is_group": False,
                "is_im": False,
                "is_private": False,
                "is_archived": False,
                "is_member": True,
                "context_team_id": TEAM_ID,
                "created": 1_600_000_000,
            }
        }

    def _usergroup_users(self, params: Json, at: float) -> Json:
        group = str(params.get("usergroup") or "")
        if group not in self._usergroups:
            raise _Refusal("no_such_subteam")
        return {"users": list(self._usergroups[group])}

    def _get_upload_url(self, params: Json, at: float) -> Json:
        return new_upload(self._files, f"F{next(self._file_ids):010d}", params, f"{self.url}/upload/v1/")

    def _complete_upload(self, params: Json, at: float) -> Json:
        channel: str | None = None
        if params.get("channel_id") or params.get("channels"):
            channel = self._channel(
                {"channel": params.get("channel_id") or str(params["channels"]).split(",")[0]}
            )
        thread_ts = self._thread_ts(channel, params) if channel else None
        if params.get("thread_ts") and channel is None:
            raise _Refusal("invalid_arguments")
        return complete_uploads(self._files, params, at, channel, thread_ts)

    def _conversations_history(self, params: Json, at: float) -> Json:
        """The channel's top-level messages, newest first, from `oldest` on; metadata on request."""
        return history(self._messages, self._channel(params), params)

    _METHODS: ClassVar[dict[str, Callable[[SlackApiStandIn, Json, float], Json]]] = {
        "auth.test": _auth_test,
        "apps.connections.open": _connections_open,
        "chat.postMessage": _post_message,
        "chat.update": _update,
        "chat.postEphemeral": _post_ephemeral,
        "conversations.info": _conversations_info,
        "conversations.history": _conversations_history,
        "usergroups.users.list": _usergroup_users,
        "files.getUploadURLExternal": _get_upload_url,
        "files.completeUploadExternal": _complete_upload,
    }

    # -- the upload URL and response_url -----------------------------------------------------------
    def _upload(self, file_id: str, http_method: str, body: bytes) -> _Answer:
        with self._lock:
            uploaded = self._files.get(file_id)
            if http_method != "POST" or uploaded is None or uploaded.completed:
                return _Answer(404, "Not Found")
            uploaded.data = body
        return _Answer(200, f"OK - {len(body)}")

    def _respond(
        self, response_id: str, http_method: str, headers: dict[str, str], params: Json, at: float
    ) -> _Answer:
        if http_method != "POST":
            return _Answer(405, {"ok": False, "error": "method_not_allowed"})
        if not headers.get("content-type", "").startswith("application/json"):
            return _Answer(400, {"ok": False, "error": "invalid_payload"})
        with self._lock:
            uses = self._response_uses.get(response_id, 0)
            if uses >= RESPONSE_URL_USES:
                return _Answer(404, {"ok": False, "error": "used_url"})
            try:
                self._content(params, required=True)
            except _Refusal as refusal:
                return _Answer(400, {"ok": False, "error": refusal.error, **refusal.extra})
            self._response_uses[response_id] = uses + 1
            self._responses.append(ResponsePost(response_id, params, at))
        return _Answer(200, {"ok": True})

    # -- checks (called holding the lock) ----------------------------------------------------------
    def _channel(self, params: Json) -> str:
        given = str(params.get("channel") or "")
        if not given:
            raise _Refusal("channel_not_found")
        if self.channels is None:
            return given
        if given in self.channels:
            return given
        name = given.removeprefix("#")
        for channel_id, channel_name in self.channels.items():
            if channel_name == name:
                return channel_id
        raise _Refusal("channel_not_found")

    def _thread_ts(self, channel: str | None, params: Json) -> str | None:
        thread_ts = params.get("thread_ts")
        if thread_ts in (None, ""):
            return None
        if not any(m.channel == channel and m.ts == str(thread_ts) for m in self._messages):
            raise _Refusal("thread_not_found")
        return str(thread_ts)

    def _content(self, params: Json, required: bool) -> tuple[str | None, list[Json] | None, tuple[str, ...]]:
        """(text, blocks, warnings) of a message; refuses what Slack refuses."""
        text = params.get("text")
        if text is not None and not isinstance(text, str):
            text = str(text)
        if text is not None and len(text) > MAX_TEXT:
            raise _Refusal("msg_too_long")
        blocks: list[Json] | None = None
        if params.get("blocks") not in (None, "", "[]", []):
            try:
                raw = _json_value(params["blocks"])
            except ValueError:
                raise _Refusal("invalid_blocks_format") from None
            if not isinstance(raw, list):
                raise _Refusal("invalid_blocks_format")
            errors = validate_blocks(raw)
            if errors:
                raise _Refusal("invalid_blocks", errors=errors)
            blocks = raw
        has_attachments = params.get("attachments") not in (None, "", "[]", [])
        if required and not text and not blocks and not has_attachments:
            raise _Refusal("no_text")
        warnings = ("missing_text_in_blocks",) if blocks and not text else ()
        return text, blocks, warnings

    def _next_ts(self) -> str:
        micros = next(self._ts)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _with_block_ids(self, blocks: list[Json]) -> list[Json]:
        """Slack gives a block without a block_id one of its own."""
        stored = copy.deepcopy(blocks)
        for block in stored:
            block.setdefault("block_id", f"sb{next(self._block_ids):04d}")
        return stored


# -- the HTTP server ------------------------------------------------------------------------------
class _Server(QuietServer):
    standin: SlackApiStandIn


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, http_method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = self.server.standin.answer(http_method, self.path, headers, body)
        if isinstance(answer.body, bytes):
            data, content_type = answer.body, "application/octet-stream"
        elif isinstance(answer.body, str):
            data, content_type = answer.body.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            data, content_type = json.dumps(answer.body).encode("utf-8"), "application/json; charset=utf-8"
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type or content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass
