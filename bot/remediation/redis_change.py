"""Change a running Redis with CONFIG SET, only if what it runs with is still what was proposed against.

`CONFIG REWRITE` is not attempted: in a container the config file is rarely writable, and a
chart renders it anew on every start anyway. `persist_hint` says what to put in the Helm values or
the ConfigMap instead, so the fix survives a restart.

The URL (which may hold a password) is only ever passed in, from the catalog, never stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.state.keys import KEYS

ClientFactory = Callable[[str], redis.Redis]


class RedisChangeError(Exception):
    """Redis could not be read or changed; `code` is "stale", "refused" or "unreachable"."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def default_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_connect_timeout=5, socket_timeout=5, retry=Retry(NoBackoff(), 0), decode_responses=False
    )


class RedisChanger:
    """CONFIG GET / CONFIG SET against the Redis a URL names."""

    def __init__(self, client_factory: ClientFactory = default_client) -> None:
        self.client_factory = client_factory

    def read(self, url: str, names: Iterable[str]) -> dict[str, str]:
        """The values the server runs with, as CONFIG GET says them (maxmemory in bytes)."""
        with self.client_factory(url) as client:
            return _config_get(client, names)

    def apply(
        self,
        url: str,
        values: Mapping[str, str],
        basis: Mapping[str, str],
        before_write: Callable[[dict[str, str]], None] | None = None,
    ) -> tuple[dict[str, str], dict[str, str]]:
        """CONFIG SET `values` if the server still runs with `basis`.

        Returns (the values before, the values after as CONFIG GET says them). Raises
        RedisChangeError("stale") without changing anything when a value moved. `before_write` is
        given the values before, ahead of the first CONFIG SET (to record them: whatever fails
        after that, they are known for a roll back).
        """
        with self.client_factory(url) as client:
            before = _config_get(client, values)
            moved = {
                name: (basis.get(name), before.get(name))
                for name in values
                if before.get(name) != basis.get(name)
            }
            if moved:
                detail = ", ".join(
                    f"{name} was {then!r}, is {now!r}" for name, (then, now) in sorted(moved.items())
                )
                raise RedisChangeError("stale", f"Redis changed since the proposal: {detail}")
            if before_write is not None:
                before_write(before)
            _config_set(client, values, before)
            return before, _config_get(client, values)

    def effect(self, url: str, values: Mapping[str, str]) -> tuple[bool, list[str]]:
        """Whether the change does what it is for, not only whether the value was written.

        A bound (maxmemory, or a policy, which only acts under one): maxmemory is no longer 0, used
        memory is within it, and a write is accepted (a short-lived `Keys.verify` key).
        """
        if "maxmemory" not in values and "maxmemory-policy" not in values:
            return True, []
        with self.client_factory(url) as client:
            try:
                memory = client.info("memory")
            except redis.RedisError as error:
                raise RedisChangeError("unreachable", f"cannot read INFO memory: {error}") from None
            maxmemory = int(memory.get("maxmemory", 0) or 0)
            used = int(memory.get("used_memory", 0) or 0)
            if maxmemory == 0:
                return False, ["maxmemory is 0: Redis's memory is not bounded, no policy evicts anything"]
            lines = [f"maxmemory is {_mb(maxmemory)} (no longer 0)"]
            bounded = used <= maxmemory
            lines.append(
                f"used memory {_mb(used)} is within maxmemory {_mb(maxmemory)}"
                if bounded
                else f"used memory {_mb(used)} is above maxmemory {_mb(maxmemory)}"
            )
            accepted, written = _probe_write(client)
            lines.append(written)
            return bounded and accepted, lines


def _probe_write(client: redis.Redis) -> tuple[bool, str]:
    """One small write that expires by itself: does Redis take writes under its new bound?"""
    key = KEYS.verify(uuid.uuid4().hex)
    try:
        client.set(key, b"1", px=10_000)
        client.delete(key)
    except redis.ResponseError as error:
        if "NOPERM" in str(error) or "NOAUTH" in str(error):
            return True, f"a test write could not be tried ({error}); writes not checked"
        return False, f"a test write was refused: {error}"
    except redis.RedisError as error:
        return False, f"a test write failed: {error}"
    return True, "a test write was accepted"


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f}mb"


def commands(values: Mapping[str, str]) -> list[str]:
    """The redis-cli commands applying `values` does."""
    return [f"CONFIG SET {name} {value}" for name, value in values.items()]


def persist_hint(values: Mapping[str, str]) -> list[str]:
    """What to change so the values survive a restart (CONFIG SET lives in memory only)."""
    lines = "\n".join(f"{name} {value}" for name, value in values.items())
    indented = "\n".join(f"  {name} {value}" for name, value in values.items())
    return [
        "CONFIG SET lasts until the next restart; CONFIG REWRITE is not attempted (the file is rarely "
        "writable in a container). Put the same directives where the server's configuration comes from:",
        f"redis.conf (ConfigMap):\n{lines}",
        f"Helm values (e.g. bitnami/redis `commonConfiguration`):\ncommonConfiguration: |-\n{indented}",
    ]


def _config_get(client: redis.Redis, names: Iterable[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        for name in names:
            reply = client.config_get(name)
            for key, value in reply.items():
                found[_text(key)] = _text(value)
    except redis.ResponseError as error:
        raise RedisChangeError("refused", f"CONFIG GET refused: {error}") from None
    except redis.RedisError as error:
        raise RedisChangeError("unreachable", f"cannot reach Redis: {error}") from None
    return found


def _config_set(client: redis.Redis, values: Mapping[str, str], before: Mapping[str, str]) -> None:
    """One CONFIG SET with every pair (all or nothing, Redis 7), else one pair at a time; then a
    pair that fails undoes those set before it (back to `before`)."""
    pairs = [part for name, value in values.items() for part in (name, value)]
    try:
        client.execute_command("CONFIG", "SET", *pairs)  # type: ignore[no-untyped-call]
        return
    except redis.ResponseError as error:
        if len(values) == 1 or "wrong number of arguments" not in str(error).lower():
            raise RedisChangeError("refused", f"CONFIG SET refused: {error}") from None
    except redis.RedisError as error:
        raise RedisChangeError("unreachable", f"cannot reach Redis: {error}") from None
    done: list[str] = []  # Redis 6 and older: one pair per CONFIG SET
    try:
        for name, value in values.items():
            client.config_set(name, value)
            done.append(name)
    except redis.RedisError as error:
        undone, left = [], []
        for name in reversed(done):
            try:
                client.config_set(name, before[name])
                undone.append(name)
            except (redis.RedisError, KeyError):
                left.append(name)
        what = "CONFIG SET refused" if isinstance(error, redis.ResponseError) else "cannot reach Redis"
        after = (f"; undone: {', '.join(undone)}" if undone else "") + (
            f"; NOT undone, still set: {', '.join(left)}" if left else ""
        )
        code = "refused" if isinstance(error, redis.ResponseError) else "unreachable"
        raise RedisChangeError(code, f"{what}: {error}{after}") from None


def _text(value: object) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
