"""redis-maxmemory-unset: Redis has no memory bound of its own under a container limit."""

from __future__ import annotations

from analyzers.base import finding
from analyzers.containers import service_memory_limit
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.quantity import human_bytes
from analyzers.redis_view import redis_view


def analyze(context: Context) -> list[Finding]:
    redis = redis_view(context)
    if not redis.present:
        return []
    running = redis.setting("maxmemory")
    limit = service_memory_limit(context)
    if running is not None:
        if running.number:
            return []
        cited = [running.fact]
        how = "The running server reports maxmemory 0 (no bound)"
        confidence = 0.95
    else:
        declared = redis.declared
        if "maxmemory" in declared or not declared:
            return []
        anchor = declared.get("maxmemory-policy") or next(iter(declared.values()))
        cited = [anchor.fact]
        how = "The declared Redis configuration sets a policy and persistence but no maxmemory, so it runs unbounded"
        confidence = 0.75
    if limit:
        cited.append(limit[1])
        how += f" while the container is limited to {human_bytes(limit[0])}"
    detail = how + ": Redis never evicts or refuses writes before the kernel OOM-kills the whole process."
    declared_bound = redis.declared.get("maxmemory")
    config_lost = running is not None and declared_bound is not None and bool(declared_bound.number)
    caused_by = ["redis-config-not-applied"] if config_lost else []
    return [
        finding(
            "redis-maxmemory-unset",
            "critical" if limit else "warning",
            "Redis maxmemory is not set",
            detail,
            confidence,
            cited,
            caused_by=caused_by,
        )
    ]
