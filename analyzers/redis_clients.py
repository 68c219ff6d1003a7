"""redis-maxclients-reached: new connections are refused at maxclients."""

from __future__ import annotations

import re

from analyzers.base import finding, narrow
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import Fact
from analyzers.ids import FindingId, RemediationId
from analyzers.redis_view import redis_view
from analyzers.spec import FindingSpec

REFUSED = "max number of clients reached"


def analyze(context: Context) -> list[Finding]:
    redis = redis_view(context)
    refusals = [narrow(f, REFUSED) for f in context.evidence.of("log") if REFUSED in context.text_of(f)]
    refusals += [f for f in context.mine("redis.client_error") if REFUSED in str(f.value)]
    connected = redis.info.get("connected_clients")
    maxclients = redis.setting("maxclients")
    at_max = bool(
        connected
        and maxclients
        and connected.number
        and maxclients.number
        and connected.number >= 0.98 * maxclients.number
    )
    rejected = redis.info.get("rejected_connections")
    if not refusals and not at_max:
        return []
    detail = "Redis refuses new connections (`ERR max number of clients reached`)"
    cited: list[Fact] = refusals[:2]
    if connected and maxclients:
        detail += f": {connected.value} clients are connected and maxclients is {maxclients.value}"
        cited += [connected.fact, maxclients.fact]
    if rejected and rejected.number:
        detail += f"; {rejected.value} connections were rejected so far"
        cited.append(rejected.fact)
    pools = _pool_settings(context)
    if pools:
        detail += ". " + pools[0]
        cited = [*cited[:2], *pools[1], *cited[2:]]  # the pool's numbers are stated: never cut them
    detail += (
        ". The connections are held by the clients, not needed by the load: a pool sized per pod "
        "times the number of pods, or connections never closed, fills the server."
    )
    return [
        finding(
            FindingId.REDIS_MAXCLIENTS_REACHED,
            "critical",
            "Redis refuses connections at maxclients",
            detail,
            0.95 if refusals else 0.8,
            cited,
            max_sources=6,
            maxclients=maxclients.number if maxclients else None,
            pool=_pool_size(context),
            connected=connected.number if connected else None,
            rejected=rejected.number if rejected else None,
        )
    ]


def _pool_settings(context: Context) -> tuple[str, list[Fact]] | None:
    size = [
        f
        for f in context.evidence.of("helm.value")
        if f.key and re.search(r"(pool_?size|minIdleConns|maxIdle)", f.key, re.I)
    ]
    replicas = [f for f in context.evidence.of("helm.value") if f.key and f.key.endswith("maxReplicas")]
    if not size:
        return None
    text = f"each client pod keeps a pool of {size[0].value} connections"
    if replicas:
        text += f" and the autoscaler may run up to {replicas[0].value} pods"
    return text, size[:2] + replicas[:1]


def _pool_size(context: Context) -> int | None:
    for fact in context.evidence.of("helm.value"):
        if fact.key and re.search(r"pool_?size$", fact.key, re.I) and str(fact.value).isdigit():
            return int(str(fact.value))
    return None


SPEC = FindingSpec(
    FindingId.REDIS_MAXCLIENTS_REACHED,
    analyze,
    "cause",
    22,
    checks=(
        "{cli} INFO clients",
        "{cli} CLIENT LIST | awk '{{print $2}}' | cut -d= -f2 | cut -d: -f1 | sort | uniq -c | sort -rn | head",
    ),
    fixed_by=(
        RemediationId.FIX_CONNECTION_LEAK,
        RemediationId.RAISE_REDIS_MAXCLIENTS,
    ),
)
