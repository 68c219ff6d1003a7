"""redis-keys-without-ttl: keys that should expire never do, so the store only grows."""

from __future__ import annotations

import re

from analyzers.base import finding
from analyzers.context import Context
from analyzers.diagnosis import Finding, Severity
from analyzers.ids import FindingId, RemediationId
from analyzers.quantity import human_bytes
from analyzers.redis_view import redis_view
from analyzers.spec import FindingSpec

HEADROOM_LOW = 0.85  # of maxmemory in use, with nothing evictable: the refusals are close


# Keys whose names say they hold something short-lived: a reply, a result, a session, a token, a lock.
_TRANSIENT_KEY = re.compile(r"reply|result|session|sess:|cache|token|\btmp|temp|lock|otp|csrf|nonce", re.I)


def analyze(context: Context) -> list[Finding]:
    redis = redis_view(context)
    samples = [f for f in context.mine("redis.info", "ttl_sample") if str(f.value) == "-1"]
    transient = [f for f in samples if _TRANSIENT_KEY.search(f.source.excerpt)]  # the key is on its row
    policy = redis.effective("maxmemory-policy")
    # A volatile-* policy says the team counts on keys expiring: it can evict nothing else.
    volatile = bool(policy and policy.value.startswith("volatile-"))
    if redis.usage() in ("queue", "store") and not transient and not volatile:
        return []  # jobs and primary data are kept on purpose; replies and sessions left forever are not
    maxmemory = redis.effective("maxmemory")
    if policy and policy.value.startswith("allkeys-") and maxmemory and maxmemory.number:
        return []  # eviction bounds the store whatever the TTLs
    keyspace = redis.keyspace()
    if keyspace is None and not samples:
        return []
    cited = (transient or samples)[:1]
    if keyspace:
        keys, expiring, fact = keyspace
        if keys < 100 or expiring > 0.1 * keys:
            return []
        cited.append(fact)
        share = f"{expiring} of {keys} keys have a TTL"
    else:
        read = [f for f in samples if f.source.kind != "notes"]
        share = (
            f"{len(read)} sampled key{'s have' if len(read) > 1 else ' has'} no TTL (TTL -1)"
            if read
            else "keys are reported to have no TTL (TTL -1)"
        )
    detail = f"{share}: entries that should expire (sessions, carts) stay forever, so the key count and memory only grow"
    if volatile and policy:
        detail += f"; its policy {policy.value} may evict only keys with a TTL, so it can free almost nothing"
        cited.append(policy.fact)
    severity: Severity = "warning"
    used = redis.number("used_memory")
    bound = maxmemory.number if maxmemory else None
    if maxmemory and bound and used:
        # A volatile policy can evict only keys with a TTL: with none, it refuses writes as noeviction does.
        headroom = used / bound
        detail += (
            f". Redis already holds {human_bytes(used)} of its {human_bytes(bound)} maxmemory ({headroom:.0%}), "
            "and nothing it may evict: once full it refuses every write"
        )
        cited += [redis.info["used_memory"].fact, maxmemory.fact]
        if headroom >= HEADROOM_LOW:
            severity = "critical"
    elif maxmemory is None:
        detail += "; no maxmemory was read, so nothing in the evidence bounds them"
    else:
        detail += ", and without maxmemory nothing ever removes them"
    return [
        finding(
            FindingId.REDIS_KEYS_WITHOUT_TTL,
            severity,
            "Keys are written without a TTL",
            detail + ".",
            0.85,
            cited,
            max_sources=5,
            used_share=round(used / bound, 2) if bound and used else None,
        )
    ]


SPEC = FindingSpec(
    FindingId.REDIS_KEYS_WITHOUT_TTL,
    analyze,
    "cause",
    42,
    checks=(
        "{cli} INFO keyspace",
        "{cli} --scan --count 100 | head -20 | xargs -n1 {cli} TTL",
    ),
    fixed_by=(RemediationId.ADD_SESSION_TTL,),
)
