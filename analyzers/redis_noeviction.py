"""redis-noeviction-policy: a cache or session store that refuses writes instead of evicting."""

from __future__ import annotations

from analyzers.base import finding
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.ids import FindingId, RemediationId
from analyzers.redis_view import redis_view
from analyzers.spec import FindingSpec


def analyze(context: Context) -> list[Finding]:
    redis = redis_view(context)
    policy = redis.effective("maxmemory-policy")
    if policy is None or policy.value != "noeviction":
        return []
    usage = redis.usage()
    if usage not in ("cache", "session"):
        return []  # a queue or a primary store must not lose keys: noeviction is right there
    keyspace = redis.keyspace()
    detail = (
        f"The policy is noeviction on a Redis used as a {usage} store: when it is full it refuses writes "
        "instead of dropping the least useful keys, which a cache can always afford to lose."
    )
    cited = [policy.fact]
    if keyspace and keyspace[0]:
        detail += f" {keyspace[1] / keyspace[0]:.0%} of its keys carry a TTL."
        cited.append(keyspace[2])
    return [
        finding(
            FindingId.REDIS_NOEVICTION_POLICY,
            "warning",
            f"noeviction on a {usage} store",
            detail,
            0.8,
            cited,
            usage=usage,
            ttl_share=keyspace[1] / keyspace[0] if keyspace and keyspace[0] else None,
        )
    ]


SPEC = FindingSpec(
    FindingId.REDIS_NOEVICTION_POLICY,
    analyze,
    "cause",
    40,
    checks=("{cli} CONFIG GET maxmemory-policy",),
    fixed_by=(RemediationId.SET_REDIS_EVICTION_POLICY,),
)
