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
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from bot.demo.simulated.block_kit import validate_blocks
from bot.demo.simulated.server import LocalStandIn, QuietServer

Json = dict[str, Any]

BOT_TOKEN = "xoxb-0000000000-standin-bot-token"
TEAM_ID = "T0STANDIN"
TEAM_NAME = "Triage Stand-in"
TEAM_URL = "https://triage-standin.slack.com/"
BOT_USER_ID = "U0TRIAGEBOT"
BOT_ID = "B0TRIAGEBOT"
APP_ID = "A0TRIAGEAPP"

MAX_TEXT = 40_000
RESPONSE_URL_USES = 5  # Slack takes a response_url up to five times

SERVER_ERRORS = {
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "request_timeout",
}


# -- what is recorded ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ServedRequest:
    """One request served: `method` is the Slack method, "upload" or "response_url"."""

    method: str
    http_method: str
    path: str
    params: Json  # the JSON body, or the form / query fields (last value of each)
    headers: dict[str, str]  # names in lower case
    time: float  # time.monotonic() on arrival
    status: int
    response: Json | str | bytes


@dataclass(slots=True)
class Message:
    """A message as the channel shows it now: chat.update changes `text` and `blocks`."""

    channel: str
    ts: str
    text: str
    blocks: list[Json]
    thread_ts: str | None
    params: Json  # what chat.postMessage was given
    time: float
    warnings: tuple[str, ...] = ()
    reply_broadcast: bool = False
    edits: int = 0

    def as_slack(self) -> Json:
        """The `message` object of Slack's answers."""
        message: Json = {
            "type": "message",
            "subtype": "bot_message",
            "text": self.text,
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": self.ts,
        }
        if self.blocks:
            message["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts is not None:
            message["thread_ts"] = self.thread_ts
        return message


@dataclass(frozen=True, slots=True)
class Update:
    channel: str
    ts: str
    text: str | None  # None: not given, the message kept its text
    blocks: list[Json] | None
    params: Json
    time: float


@dataclass(frozen=True, slots=True)
class Ephemeral:
    channel: str
    user: str
    message_ts: str
    text: str
    blocks: list[Json]
    thread_ts: str | None
    params: Json
    time: float


@dataclass(slots=True)
class UploadedFile:
    file_id: str
    filename: str
    length: int  # as announced to files.getUploadURLExternal
    data: bytes | None = None  # None until the bytes are POSTed to the upload URL
    title: str | None = None
    alt_txt: str | None = None
    snippet_type: str | None = None
    completed: bool = False
    channel_id: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None


@dataclass(frozen=True, slots=True)
class ResponsePost:
    """A post to a response_url (accepted ones only)."""

    response_id: str
    body: Json
    time: float

    @property
    def response_type(self) -> str:
        return str(self.body.get("response_type", "ephemeral"))

    @property
    def replace_original(self) -> bool:
        return bool(self.body.get("replace_original", False))


@dataclass(slots=True)
class _Fault:
    status: int
    retry_after: int
    remaining: int


class _Refusal(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass(slots=True)
class _Answer:
    status: int
    body: Json | str | bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None  # None: JSON for a dict, plain text for a str


# -- the stand-in -------------------------------------------------------------------------------
class SlackApiStandIn(LocalStandIn):
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
        self.requests: list[ServedRequest] = []
        self._messages: list[Message] = []
        self._updates: list[Update] = []
        self._ephemerals: list[Ephemeral] = []
        self._files: dict[str, UploadedFile] = {}
        self._responses: list[ResponsePost] = []
        self._response_uses: dict[str, int] = {}
        self._posts: list[tuple[str, float]] = []  # accepted chat.postMessage: (channel, arrival)
        self._usergroups: dict[str, list[str]] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, float] = {}
        # Like Slack's, a ts is the time of posting (microseconds), unique and increasing.
        self._ts = itertools.count(int(time.time()) * 1_000_000 + 100, 100)
        self._file_ids = itertools.count(1)
        self._block_ids = itertools.count(1)
        self._lock = threading.Lock()
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

    # -- what the test reads --------------------------------------------------------------------
    def calls(self, method: str) -> list[ServedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method]

    def messages(self, channel: str | None = None) -> list[Message]:
        """Accepted chat.postMessage messages (as updated since), oldest first."""
        with self._lock:
            return [m for m in self._messages if channel is None or m.channel == channel]

    def message(self, channel: str, ts: str) -> Message:
        with self._lock:
            return next(m for m in self._messages if m.channel == channel and m.ts == ts)

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The replies in the thread of the message `ts` (not the message itself)."""
        with self._lock:
            return [m for m in self._messages if m.channel == channel and m.thread_ts == ts and m.ts != ts]

    @property
    def updates(self) -> list[Update]:
        with self._lock:
            return list(self._updates)

    @property
    def ephemerals(self) -> list[Ephemeral]:
        with self._lock:
            return list(self._ephemerals)

    @property
    def uploads(self) -> list[UploadedFile]:
        """Files whose upload was completed by files.completeUploadExternal."""
        with self._lock:
            return [f for f in self._files.values() if f.completed]

    @property
    def responses(self) -> list[ResponsePost]:
        with self._lock:
            return list(self._responses)

    def post_times(self, channel: str) -> list[float]:
        """Arrival times (time.monotonic()) of the accepted chat.postMessage calls to `channel`."""
        with self._lock:
            return sorted(at for posted_to, at in self._posts if posted_to == channel)

    def max_messages_in_window(self, channel: str, seconds: float) -> int:
        """The most messages posted to `channel` within any span of `seconds` (sliding)."""
        if seconds <= 0:
            raise ValueError("a window lasts more than 0 seconds")
        times = self.post_times(channel)
        most = 0
        start = 0
        for end, at in enumerate(times):
            while at - times[start] >= seconds:
                start += 1
            most = max(most, end - start + 1)
        return most

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
        filename = str(params.get("filename") or "")
        try:
            length = int(params.get("length", ""))
        except ValueError:
            raise _Refusal("invalid_arguments") from None
        if not filename or length < 0:
            raise _Refusal("invalid_arguments")
        file_id = f"F{next(self._file_ids):010d}"
        alt_txt, snippet_type = params.get("alt_txt"), params.get("snippet_type")
        self._files[file_id] = UploadedFile(
            file_id, filename, length, alt_txt=_str_or_none(alt_txt), snippet_type=_str_or_none(snippet_type)
        )
        return {"upload_url": f"{self.url}/upload/v1/{file_id}", "file_id": file_id}

    def _complete_upload(self, params: Json, at: float) -> Json:
        try:
            files = _json_value(params.get("files"))
        except ValueError:
            raise _Refusal("invalid_arguments") from None
        if not isinstance(files, list) or not files:
            raise _Refusal("invalid_arguments")
        channel: str | None = None
        if params.get("channel_id") or params.get("channels"):
            channel = self._channel(
                {"channel": params.get("channel_id") or str(params["channels"]).split(",")[0]}
            )
        thread_ts = self._thread_ts(channel, params) if channel else None
        if params.get("thread_ts") and channel is None:
            raise _Refusal("invalid_arguments")
        found: list[UploadedFile] = []
        for item in files:
            uploaded = self._files.get(str(item.get("id"))) if isinstance(item, dict) else None
            if uploaded is None or uploaded.data is None or uploaded.completed:
                raise _Refusal("file_not_found")
            found.append(uploaded)
        answers = []
        for item, uploaded in zip(files, found, strict=True):
            uploaded.title = str(item.get("title") or uploaded.filename)
            uploaded.completed = True
            uploaded.channel_id = channel
            uploaded.thread_ts = thread_ts
            uploaded.initial_comment = _str_or_none(params.get("initial_comment"))
            answers.append(_file_object(uploaded, at))
        return {"files": answers}

    def _conversations_history(self, params: Json, at: float) -> Json:
        """The channel's top-level messages, newest first, from `oldest` on; metadata on request."""
        channel = self._channel(params)
        oldest = float(params.get("oldest") or 0)
        limit = int(params.get("limit") or 100)
        with_metadata = _flag(params.get("include_all_metadata"))
        found: list[Json] = []
        for message in reversed(self._messages):
            if message.channel != channel or message.thread_ts not in (None, message.ts):
                continue
            if float(message.ts) < oldest:
                continue
            shown = message.as_slack()
            metadata = message.params.get("metadata")
            if with_metadata and metadata:
                shown["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
            found.append(shown)
            if len(found) >= limit:
                break
        return {"messages": found, "has_more": False, "pin_count": 0}

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


# -- decoding -------------------------------------------------------------------------------------
def _decode(query: str, content_type: str, body: bytes, raw: bool) -> Json:
    params: Json = {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}
    if raw or not body:
        return params
    if content_type.startswith("application/json"):
        try:
            decoded = json.loads(body)
        except ValueError:
            return {**params, "_undecodable": body.decode("utf-8", "replace")}
        if isinstance(decoded, dict):
            params.update(decoded)
        return params
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    params.update({key: values[-1] for key, values in form.items()})
    return params


def _json_value(value: Any) -> Any:
    """A form field holding JSON (blocks, files) decoded; a JSON body's value as it is."""
    return json.loads(value) if isinstance(value, str) else value


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _str_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _warned(warnings: tuple[str, ...]) -> Json:
    if not warnings:
        return {}
    return {"warning": ",".join(warnings), "response_metadata": {"warnings": list(warnings)}}


def _file_object(uploaded: UploadedFile, at: float) -> Json:
    created = int(time.time())
    shares: Json = {}
    if uploaded.channel_id:
        share: Json = {"ts": "", "channel_name": uploaded.channel_id.lower(), "team_id": TEAM_ID}
        if uploaded.thread_ts:
            share["thread_ts"] = uploaded.thread_ts
        shares = {"public": {uploaded.channel_id: [share]}}
    return {
        "id": uploaded.file_id,
        "created": created,
        "timestamp": created,
        "name": uploaded.filename,
        "title": uploaded.title,
        "mimetype": "",
        "filetype": "",
        "user": BOT_USER_ID,
        "size": len(uploaded.data or b""),
        "is_public": bool(uploaded.channel_id),
        "channels": [uploaded.channel_id] if uploaded.channel_id else [],
        "shares": shares,
    }


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
