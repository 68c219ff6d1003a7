"""A client's own loopback address against the host its configuration names."""

from __future__ import annotations

import re

from analyzers.context import Context
from analyzers.evidence import Fact

_LOOPBACK_CONFIG_KEY = re.compile(r"HOST|URL|ADDR|SERVER|ENDPOINT|URI|DSN", re.IGNORECASE)
WELL_KNOWN_PORTS = {
    "6379": ("redis", "valkey"),
    "5432": ("postgres", "pg"),
    "3306": ("mysql", "mariadb"),
    "27017": ("mongo",),
    "5672": ("amqp", "rabbit"),
    "9092": ("kafka",),
    "11211": ("memcache",),
}


def configured_host(context: Context, port: str | None) -> Fact | None:
    """The env var, chart value or config line that names another host for the port the client dialled."""
    words = WELL_KNOWN_PORTS.get(port or "", ())
    for kind in ("container.env", "helm.value", "redis.declared"):
        for fact in context.mine(kind):
            key, value = fact.key or "", str(fact.value)
            named = re.search(r"(?:^|[=:/,@\s])([A-Za-z][\w.-]*):(\d{2,5})\b", value)
            if named and named.group(2) == port and not _loopback_host(named.group(1)):
                return fact
            host_like = re.fullmatch(r"[A-Za-z][\w.-]*", value.strip())
            if (
                host_like
                and _LOOPBACK_CONFIG_KEY.search(key.rsplit(".", 1)[-1])
                and not _loopback_host(value.strip())
                and any(w in key.lower() for w in words)
            ):
                return fact
    return None


def _loopback_host(host: str) -> bool:
    return bool(re.match(r"^(?:127\.|localhost$|::1$|0\.0\.0\.0$)", host))
