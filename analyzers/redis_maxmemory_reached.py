"""redis-maxmemory-reached: Redis is full and refuses writes."""

from __future__ import annotations

import re

from analyzers.base import finding, is_recent, narrow
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import Fact
from analyzers.ids import FindingId, RemediationId
from analyzers.quantity import human_bytes
from analyzers.redis_view import redis_view
from analyzers.spec import FindingSpec

OOM_REPLY = "OOM command not allowed"
# Redis's refusal as clients quote it: with its `OOM` error code, or without it (kombu, some wrappers).
_REFUSAL = "command not allowed when used memory"


def analyze(context: Context) -> list[Finding]:
    redis = redis_view(context)
    refusals: list[Fact] = [
        narrow(f, OOM_REPLY if OOM_REPLY in context.text_of(f) else _REFUSAL)
        for kind in ("log", "text.note")
        for f in context.evidence.of(kind)
        if OOM_REPLY in context.text_of(f) or _REFUSAL in context.text_of(f)
    ]
    counters = [r.fact for key, r in redis.info.items() if key == "errorstat_OOM"]
    counters += [f for f, s in context.series("redis_errors_total") if s.label("err") == "OOM" and s.last > 0]
    used, maxmemory = redis.number("used_memory"), redis.setting("maxmemory")
    policy = redis.effective("maxmemory-policy")
    # At maxmemory an evicting policy is working as meant; only noeviction refuses writes, and so does a
    # volatile-* policy when no key has a TTL: it has nothing it may evict.
    keyspace = redis.keyspace()
    nothing_volatile = bool(
        policy
        and policy.value.startswith("volatile-")
        and keyspace
        and keyspace[1] == 0
        and not (redis.number("evicted_keys") or 0)  # it has evicted: there were keys it could
        and not any(
            re.search(r"expires=[1-9]", r.value)
            for key, r in redis.info.items()
            if re.fullmatch(r"db\d+", key)
        )
    )
    refuses = policy is None or policy.value == "noeviction" or nothing_volatile
    full = bool(refuses and used and maxmemory and maxmemory.number and used >= 0.98 * maxmemory.number)
    if used and maxmemory and maxmemory.number and not full:
        # Redis has room now: only refusals from the last hour of the evidence still count.
        refusals = [f for f in refusals if f.kind == "log" and is_recent(context, f)]  # notes have no time
        counters = []
    if not refusals and not counters and not full:
        return []
    detail = "Redis has reached maxmemory"
    if maxmemory and maxmemory.number:
        detail += f" ({human_bytes(maxmemory.number)})"
    if policy and policy.value == "noeviction":
        detail += " and its policy is noeviction, so every write is refused with `OOM command not allowed`"
    elif nothing_volatile and policy and keyspace:
        detail += (
            f" and its policy {policy.value} may evict only keys with a TTL, but none of its {keyspace[0]} keys "
            "has one: it evicts nothing and refuses writes as noeviction would"
        )
    else:
        detail += " and writes are refused"
    detail += "; the clients see errors on every write until memory is freed or the bound is raised."
    cited = refusals[:2] + counters[:1]
    if maxmemory:
        cited.append(maxmemory.fact)
    if used and "used_memory" in redis.info:
        cited.append(redis.info["used_memory"].fact)
    if nothing_volatile and keyspace:
        cited += [policy.fact, keyspace[2]] if policy else [keyspace[2]]
    return [
        finding(
            FindingId.REDIS_MAXMEMORY_REACHED,
            "critical",
            "Redis is full and refuses writes",
            detail,
            0.95 if refusals or counters else 0.7,
            cited,
            max_sources=5,
        )
    ]


SPEC = FindingSpec(
    FindingId.REDIS_MAXMEMORY_REACHED,
    analyze,
    "cause",
    22,
    checks=(
        "{cli} INFO memory | grep -E 'used_memory:|maxmemory'",
        "{cli} INFO errorstats",
    ),
    fixed_by=(
        RemediationId.SET_REDIS_MAXMEMORY,
        RemediationId.SET_REDIS_EVICTION_POLICY,
        RemediationId.FIX_APP_CONFIG,
    ),
)
