"""redis-maxmemory-unset: Redis has no memory bound of its own under a container limit."""

from __future__ import annotations

import re

from analyzers.base import finding
from analyzers.containers import service_memory_limit
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import Fact
from analyzers.ids import FindingId, RemediationId
from analyzers.quantity import human_bytes, parse_k8s_quantity
from analyzers.redis_view import redis_view
from analyzers.spec import FindingSpec

_REDIS_IMAGE = re.compile(r"\b(?:redis|valkey|keydb)\b", re.IGNORECASE)


def analyze(context: Context) -> list[Finding]:
    redis = redis_view(context)
    if not redis.present:
        return _chart_without_bound(context)
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
    caused_by = [FindingId.REDIS_CONFIG_NOT_APPLIED] if config_lost else []
    return [
        finding(
            FindingId.REDIS_MAXMEMORY_UNSET,
            "critical" if limit else "warning",
            "Redis maxmemory is not set",
            detail,
            confidence,
            cited,
            caused_by=caused_by,
        )
    ]


def _chart_without_bound(context: Context) -> list[Finding]:
    """Helm values that run a Redis image under a memory limit and say nothing of maxmemory anywhere."""
    values = list(context.mine("helm.value"))
    if any("maxmemory" in f"{f.key} {f.value}".lower() for f in values):
        return []
    for image in values:
        key = image.key or ""
        if not key.endswith("image.repository") or not _REDIS_IMAGE.search(str(image.value)):
            continue
        component = key.removesuffix("image.repository")
        if not _is_the_service(context, component.rstrip(".")):
            continue
        limit = _limit_of(values, component)
        if limit is None:
            continue
        amount = parse_k8s_quantity(str(limit.value)) or 0.0
        detail = (
            f"The chart runs {image.value} with a {human_bytes(amount)} memory limit and sets no maxmemory "
            "anywhere (no value, no extra flag or config): Redis grows until the kernel OOM-kills the "
            "whole process instead of evicting or refusing writes."
        )
        return [
            finding(
                FindingId.REDIS_MAXMEMORY_UNSET,
                "warning",
                "Redis maxmemory is not set",
                detail,
                0.6,
                [image, limit],
            )
        ]
    return []


def _is_the_service(context: Context, component: str) -> bool:
    """A chart's component (`redis`, `cache.redis`) is the service, or the service is not named."""
    service = context.service
    if not service or not component:
        return True
    name = component.rsplit(".", 1)[-1].lower()
    return name in service.lower() or service.lower() in name


def _limit_of(values: list[Fact], component: str) -> Fact | None:
    for fact in values:
        if fact.key == f"{component}resources.limits.memory" and parse_k8s_quantity(str(fact.value)):
            return fact
    return None


SPEC = FindingSpec(
    FindingId.REDIS_MAXMEMORY_UNSET,
    analyze,
    "cause",
    30,
    checks=(
        "{cli} CONFIG GET maxmemory",
        "{cli} INFO memory",
    ),
    fixed_by=(RemediationId.SET_REDIS_MAXMEMORY,),
)
