"""What the Slack stand-in records (every request, the messages, updates, uploads, responses), what a
test reads of it, and how request bodies are decoded."""

from __future__ import annotations

import copy
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

Json = dict[str, Any]

BOT_TOKEN = "xoxb-0000000000-standin-bot-token"
TEAM_ID = "T0STANDIN"
TEAM_NAME = "Triage Stand-in"
TEAM_URL = "https://triage-standin.slack.com/"
BOT_USER_ID = "U0TRIAGEBOT"
BOT_ID = "B0TRIAGEBOT"
APP_ID = "A0TRIAGEAPP"


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


SERVER_ERRORS = {
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "request_timeout",
}


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


class SlackRecords:
    """What the stand-in was sent and kept; the stand-in adds to it under `_lock`."""

    def __init__(self) -> None:
        self.requests: list[ServedRequest] = []
        self._messages: list[Message] = []
        self._updates: list[Update] = []
        self._ephemerals: list[Ephemeral] = []
        self._files: dict[str, UploadedFile] = {}
        self._responses: list[ResponsePost] = []
        self._posts: list[tuple[str, float]] = []  # accepted chat.postMessage: (channel, arrival)
        self._lock = threading.Lock()

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


# -- methods that only read or write what is recorded ---------------------------------------------
def history(messages: list[Message], channel: str, params: Json) -> Json:
    """conversations.history: the channel's top-level messages, newest first, from `oldest` on."""
    oldest = float(params.get("oldest") or 0)
    limit = int(params.get("limit") or 100)
    with_metadata = _flag(params.get("include_all_metadata"))
    found: list[Json] = []
    for message in reversed(messages):
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


def new_upload(files: dict[str, UploadedFile], file_id: str, params: Json, upload_base: str) -> Json:
    """files.getUploadURLExternal: a file to upload to, and where."""
    filename = str(params.get("filename") or "")
    try:
        length = int(params.get("length", ""))
    except ValueError:
        raise _Refusal("invalid_arguments") from None
    if not filename or length < 0:
        raise _Refusal("invalid_arguments")
    alt_txt, snippet_type = params.get("alt_txt"), params.get("snippet_type")
    files[file_id] = UploadedFile(
        file_id, filename, length, alt_txt=_str_or_none(alt_txt), snippet_type=_str_or_none(snippet_type)
    )
    return {"upload_url": f"{upload_base}{file_id}", "file_id": file_id}


def complete_uploads(
    files: dict[str, UploadedFile], params: Json, at: float, channel: str | None, thread_ts: str | None
) -> Json:
    """files.completeUploadExternal: uploaded files shared (in `channel`, `thread_ts`) or kept private."""
    try:
        items = _json_value(params.get("files"))
    except ValueError:
        raise _Refusal("invalid_arguments") from None
    if not isinstance(items, list) or not items:
        raise _Refusal("invalid_arguments")
    found: list[UploadedFile] = []
    for item in items:
        uploaded = files.get(str(item.get("id"))) if isinstance(item, dict) else None
        if uploaded is None or uploaded.data is None or uploaded.completed:
            raise _Refusal("file_not_found")
        found.append(uploaded)
    answers = []
    for item, uploaded in zip(items, found, strict=True):
        uploaded.title = str(item.get("title") or uploaded.filename)
        uploaded.completed = True
        uploaded.channel_id = channel
        uploaded.thread_ts = thread_ts
        uploaded.initial_comment = _str_or_none(params.get("initial_comment"))
        answers.append(_file_object(uploaded, at))
    return {"files": answers}
