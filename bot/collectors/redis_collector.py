"""Live Redis: `INFO` and `CONFIG GET` of the settings the analyzers use, read as if pasted.

The replies are turned into text exactly as `redis-cli` shows them and handed to the text
reader, so a live server and the same output pasted into a chat give the same facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from analyzers.evidence import Evidence, Fact, Source, SourceReport, Subject
from bot.collectors.base import CollectorError, Target
from bot.readers import read_string

SETTINGS = ("maxmemory", "maxmemory-policy", "save", "appendonly", "maxclients")
MAX_SOCKET_TIMEOUT = 2.0
MIN_SOCKET_TIMEOUT = 0.1  # 0 would make the socket non-blocking, not fast
SOURCE_KIND = "redis-live"

ClientFactory = Callable[..., redis.Redis]


@dataclass(frozen=True, slots=True)
class _Endpoint:
    """Where a Redis URL points, spelled without its credentials."""

    origin: str  # e.g. "redis://10.0.0.7:6379"
    instance: str  # e.g. "10.0.0.7:6379"
    has_password: bool

    @classmethod
    def parse(cls, url: str) -> _Endpoint:
        parts = urlsplit(url)
        scheme = parts.scheme or "redis"
        if scheme == "unix":
            return cls(f"unix://{parts.path}", parts.path, parts.password is not None)
        instance = f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
        return cls(f"{scheme}://{instance}", instance, parts.password is not None)


@dataclass
class _Replies:
    info: str
    settings: dict[str, str]
    refusal: str | None  # why CONFIG GET was refused, when it was
    users: list[str] = field(default_factory=list)  # ACL LIST rules, when the server answers it


class RedisCollector:
    name = "redis"

    def __init__(self, url: str | None = None, client_factory: ClientFactory = redis.Redis.from_url) -> None:
        self.url = url
        self.client_factory = client_factory

    def collect(self, target: Target, timeout: float) -> Evidence:
        url = target.redis_url or self.url
        if not url:
            raise CollectorError("no Redis URL configured")
        endpoint = _Endpoint.parse(url)
        socket_timeout = max(min(timeout, MAX_SOCKET_TIMEOUT), MIN_SOCKET_TIMEOUT)
        replies = self._query(url, endpoint, socket_timeout)
        about = Subject(target.namespace, None, None, target.service, endpoint.instance)
        return _evidence(replies, endpoint, about)

    def _query(self, url: str, endpoint: _Endpoint, socket_timeout: float) -> _Replies:
        client = self.client_factory(
            url,
            socket_connect_timeout=socket_timeout,
            socket_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),  # the caller's deadline is short: one attempt, no backoff
        )
        # Keep INFO as the text the server sent; redis-py would parse it into a dict.
        client.set_response_callback("INFO", _unparsed)
        try:
            pipeline = client.pipeline(transaction=False)
            # The default sections (errorstats included); `all` adds commandstats, whose
            # `cmdstat_acl|setuser:...,failed_calls=0` lines the text reader takes for log lines.
            pipeline.info()
            for setting in SETTINGS:
                pipeline.config_get(setting)
            pipeline.execute_command("ACL", "LIST")  # type: ignore[no-untyped-call]  # "user default on nopass"
            info, *configs, acl = pipeline.execute(raise_on_error=False)
        except redis.RedisError as error:
            raise CollectorError(f"{endpoint.origin}: {_failure(error, endpoint, socket_timeout)}") from None
        finally:
            client.close()
        if isinstance(info, redis.AuthenticationError):  # NOAUTH: no password was sent
            raise CollectorError(f"{endpoint.origin}: {_failure(info, endpoint, socket_timeout)}")
        if isinstance(info, Exception):
            raise CollectorError(f"{endpoint.origin}: INFO refused: {_message(info)}")
        replies = _replies(_text(info), configs)
        users = [_text(rule) for rule in acl] if isinstance(acl, list) else []
        return _Replies(replies.info, replies.settings, replies.refusal, users)


def _unparsed(response: Any, **_options: Any) -> Any:
    return response


def _replies(info: str, configs: list[Any]) -> _Replies:
    settings: dict[str, str] = {}
    refusal: str | None = None
    for reply in configs:
        if isinstance(reply, Exception):
            refusal = refusal or _message(reply)
            continue
        settings.update({_text(key): _text(value) for key, value in reply.items()})
    return _Replies(info, settings, refusal)


def _evidence(replies: _Replies, endpoint: _Endpoint, about: Subject) -> Evidence:
    evidence = Evidence()
    info = read_string(replies.info, f"{endpoint.origin} INFO", about=about, kind=SOURCE_KIND)
    evidence.extend(info.facts)
    for setting, value in replies.settings.items():
        evidence.extend(_setting_facts(setting, value, endpoint, about))
    for rule in replies.users:
        if rule.startswith("user default "):
            source = Source(SOURCE_KIND, f"{endpoint.origin} ACL LIST", rule)
            evidence.add(Fact("redis.info", about, rule, source, key="acl_default_user"))
    info_fields = sum(1 for fact in info.facts if fact.kind == "redis.info")
    if replies.refusal is None:
        detail = f"INFO ({info_fields} fields), CONFIG GET ({len(replies.settings)} settings)"
        evidence.sources.append(SourceReport("redis", "redis", "ok", detail))
        return evidence
    evidence.add(_refusal_note(replies.refusal, endpoint, about))
    detail = f"CONFIG GET refused: {replies.refusal}; INFO ({info_fields} fields) only"
    evidence.sources.append(SourceReport("redis", "redis", "partial", detail))
    return evidence


def _setting_facts(setting: str, value: str, endpoint: _Endpoint, about: Subject) -> list[Fact]:
    command = f"CONFIG GET {setting}"
    text = f'$ redis-cli {command}\n1) "{setting}"\n2) "{value}"\n'
    return read_string(text, f"{endpoint.origin} {command}", about=about, kind=SOURCE_KIND).facts


def _refusal_note(refusal: str, endpoint: _Endpoint, about: Subject) -> Fact:
    note = f"CONFIG GET is refused on this server ({refusal}); its settings are read from INFO only"
    source = Source(SOURCE_KIND, f"{endpoint.origin} CONFIG GET", refusal)
    return Fact("text.note", about, note, source)


def _failure(error: redis.RedisError, endpoint: _Endpoint, socket_timeout: float) -> str:
    if isinstance(error, redis.AuthenticationError):
        return "authentication failed" if endpoint.has_password else "authentication required"
    if isinstance(error, redis.TimeoutError):
        return f"timed out after {socket_timeout:g}s"
    message = _message(error)
    if "Connection refused" in message:
        return "connection refused"
    if "Name or service not known" in message or "nodename nor servname" in message:
        return "host not found"
    return message


def _message(error: Exception) -> str:
    """The first line of an error, without the arguments Redis echoes back."""
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return first_line.split(", with args beginning with")[0].strip()


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
