"""Posting to Slack without flooding it and without losing a message.

- 429 (with Retry-After), 5xx and dropped connections are retried with backoff by slack_sdk's
  retry handlers.
- Each channel is paced by a token bucket kept in Redis, so several bot replicas together stay
  under Slack's posting rate (about one message per second per channel, short bursts allowed).
- A message Slack refuses for its content (e.g. `invalid_blocks`) is logged with Slack's error
  and posted again as plain text; only if that fails too does the caller see an error.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

from bot.alerts.ports import PacingTimeout
from bot.runtime.metrics import BotMetrics
from bot.state.keys import KEYS

__all__ = ["PacingTimeout", "SlackPoster", "make_web_client"]

log = logging.getLogger(__name__)

# Errors about the message itself: a plain-text version may still get through.
CONTENT_ERRORS = frozenset(
    {"invalid_blocks", "invalid_blocks_format", "msg_too_long", "invalid_arguments", "invalid_metadata"}
)
FALLBACK_TEXT_MAX = 3900
RETRIES = 4

# A token bucket per channel in Redis. Every caller takes a token at once, even one not there yet
# (the count goes negative), and waits until its token would have been refilled: callers queue up in
# arrival order and the bucket never lets more than `burst` through at once.
_TAKE_TOKEN = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate) - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""


class AnyServerErrorRetryHandler(ServerErrorRetryHandler):
    """slack_sdk's handler retries 500 and 503 only; a proxy's 502 or 504 is as passing."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and 500 <= response.status_code < 600


def make_web_client(token: str, base_url: str, timeout: int = 10, retries: int = RETRIES) -> WebClient:
    client = WebClient(token=token, base_url=base_url, timeout=timeout)
    if not retries:
        client.retry_handlers.clear()  # slack_sdk retries dropped connections by default
    else:
        client.retry_handlers.extend(
            [
                RateLimitErrorRetryHandler(max_retry_count=retries),
                AnyServerErrorRetryHandler(max_retry_count=retries),
                ConnectionErrorRetryHandler(max_retry_count=2),
            ]
        )
    return client


class SlackPoster:
    def __init__(
        self,
        client: WebClient,
        state: redis.Redis,
        metrics: BotMetrics,
        rate_per_second: float = 1.0,
        burst: int = 3,
    ) -> None:
        self.client = client
        self.metrics = metrics
        self._rate = rate_per_second
        self._burst = burst
        self._take_token = state.register_script(_TAKE_TOKEN)
        # For posts that must not be repeated blindly: only rate limits (Slack posted nothing) are
        # retried; a time-out, a dropped connection or a 5xx may have posted it.
        self._once_client = WebClient(
            token=client.token,
            base_url=client.base_url,
            timeout=client.timeout,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RETRIES)],
        )

    def post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
        max_wait: float | None = None,
        once: bool = False,
    ) -> str:
        """Posts (paced for the channel) and returns the message's ts; raises SlackApiError if lost.

        `once`: no retry of time-outs, dropped connections or 5xx, which may have posted it; the
        caller looks for the message before posting again."""
        arguments: dict[str, Any] = {"channel": channel, "text": _fit(text), "unfurl_links": False}
        if thread_ts:
            arguments["thread_ts"] = thread_ts
        if metadata:
            arguments["metadata"] = metadata
        self.wait_for_turn(channel, max_wait)
        answer = self._call("chat_postMessage", arguments, blocks, self._once_client if once else None)
        self.metrics.slack_messages.labels("reply" if thread_ts else "message").inc()
        return str(answer["ts"])

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """Edits a message; edits have a bucket of their own per channel, twice the posting rate."""
        self._wait(KEYS.pace_edits(channel), 2 * self._rate, 2 * self._burst, None)
        self._call("chat_update", {"channel": channel, "ts": ts, "text": _fit(text)}, blocks)
        self.metrics.slack_messages.labels("update").inc()

    def history(self, channel: str, oldest: float, pages: int) -> list[dict[str, Any]]:
        """Top-level messages from `oldest` on, with their metadata, at most `pages` pages of 200;
        when Slack refuses part way, what was read (and a warning)."""
        messages: list[dict[str, Any]] = []
        cursor: str | None = None
        try:
            for _ in range(pages):
                answer = self.client.conversations_history(
                    channel=channel,
                    oldest=f"{oldest:.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
                messages.extend(answer.get("messages") or [])
                cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    break
        except SlackApiError as error:
            log.warning(
                "cannot read %s's history to find lost threads: %s", channel, error.response.get("error")
            )
        return messages

    def ephemeral(self, channel: str, user: str, text: str) -> None:
        self._call("chat_postEphemeral", {"channel": channel, "user": user, "text": _fit(text)}, None)

    def upload(self, channel: str, thread_ts: str, content: bytes, filename: str, title: str) -> None:
        try:
            self.client.files_upload_v2(
                channel=channel, thread_ts=thread_ts, content=content, filename=filename, title=title
            )
        except SlackApiError as error:
            self._count_error("files_upload_v2", error)
            raise

    def respond(self, response_url: str, text: str, ephemeral: bool = True) -> None:
        """Answers a slash command through its response_url (works where the bot is not a member)."""
        answer = WebhookClient(response_url, timeout=10).send(
            text=_fit(text), response_type="ephemeral" if ephemeral else "in_channel"
        )
        if answer.status_code != 200:
            self.metrics.slack_errors.labels("response_url", str(answer.status_code)).inc()
            log.error("slack response_url answered %s: %s", answer.status_code, answer.body[:200])

    def wait_for_turn(self, channel: str, max_wait: float | None = None) -> None:
        """Sleeps until the channel may take one more message; PacingTimeout if over `max_wait`."""
        self._wait(KEYS.pace(channel), self._rate, self._burst, max_wait)

    def _wait(self, bucket: str, rate: float, burst: int, max_wait: float | None) -> None:
        wait = float(self._take_token(keys=[bucket], args=[rate, burst]))
        if max_wait is not None and wait > max_wait:
            raise PacingTimeout(f"{bucket}: {wait:.0f}s of messages queued before this one")
        if wait > 0:
            time.sleep(wait)

    def _call(
        self,
        method: str,
        arguments: dict[str, Any],
        blocks: list[dict[str, Any]] | None,
        client: WebClient | None = None,
    ) -> Any:
        call = getattr(client or self.client, method)
        try:
            return call(**arguments, **({"blocks": blocks} if blocks else {}))
        except SlackApiError as error:
            self._count_error(method, error)
            if not blocks or _error_code(error) not in CONTENT_ERRORS:
                raise
            log.error(
                "slack refused a %s (%s: %s); sending it as plain text",
                method,
                _error_code(error),
                error.response.get("errors") or error.response.get("response_metadata") or "",
            )
            fallback = dict(arguments, text=_fit(f"{arguments['text']}\n(formatting was refused by Slack)"))
            fallback.pop("metadata", None)
            if method == "chat_update":
                fallback["blocks"] = []  # without it, Slack would keep showing the old blocks
            self.metrics.slack_messages.labels("fallback").inc()
            return call(**fallback)

    def _count_error(self, method: str, error: SlackApiError) -> None:
        self.metrics.slack_errors.labels(method, _error_code(error)).inc()


def _error_code(error: SlackApiError) -> str:
    return str(error.response.get("error") or error.response.status_code)


def _fit(text: str) -> str:
    return text if len(text) <= FALLBACK_TEXT_MAX else text[: FALLBACK_TEXT_MAX - 1] + "…"
