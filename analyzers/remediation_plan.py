"""What every remediation rule reads: the findings by id, the Redis view, the limit."""

from __future__ import annotations

from analyzers.containers import service_memory_limit
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.param_values import EvictionPolicy
from analyzers.redis_view import redis_view

MAXMEMORY_SHARE = 0.75  # of the container limit: room for buffers, clients and the allocator
MAXMEMORY_SHARE_FORKING = 0.70  # with RDB/AOF, also room for copy-on-write during a fork


class Plan:
    """The findings by id, the Redis view and the limit every rule below reads."""

    def __init__(self, context: Context, findings: list[Finding]) -> None:
        self.context = context
        self.by_id = {f.id: f for f in findings}
        self.leading = findings[0].id if findings else None
        self.redis = redis_view(context)
        self.limit = service_memory_limit(context)
        self.new_limit: float | None = None
        self.maxmemory_offered = False  # set-redis-maxmemory sets the policy too

    def has(self, finding_id: str) -> bool:
        return finding_id in self.by_id

    def container(self, named: object) -> str:
        if named and not str(named).startswith("#"):
            return str(named)
        return self.context.service or "the main container"

    def eviction_policy(self) -> EvictionPolicy:
        """noeviction for a queue or a store of record; volatile-lru for sessions with TTLs; else allkeys-lru."""
        usage = self.redis.usage()
        if usage in ("queue", "store"):
            return EvictionPolicy.NOEVICTION  # its keys are the data: refuse writes rather than lose any
        keyspace = self.redis.keyspace()
        if usage == "session" and keyspace and keyspace[0] and keyspace[1] >= 0.95 * keyspace[0]:
            return EvictionPolicy.VOLATILE_LRU
        return EvictionPolicy.ALLKEYS_LRU
