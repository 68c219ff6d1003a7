"""redis-maxmemory-reached: Redis is full and refuses writes."""

from __future__ import annotations

import pytest
from analyzer_kit import fact, incident, only
from redis_snippets import info

from analyzers import redis_maxmemory_reached
from analyzers.evidence import Subject

FULL_QUEUE_INFO = info(
    "media-redis-0",
    "# Memory",
    "used_memory:2147221504",
    "used_memory_human:2.00G",
    "maxmemory:2147483648",
    "maxmemory_human:2.00G",
    "maxmemory_policy:noeviction",
)

REFUSED_WRITE = """
    [2024-11-03T02:20:11Z] thumbnail-worker | level=error msg="BullMQ: failed to add job to queue thumbnails" err="OOM command not allowed when used memory > 'maxmemory'."
"""


def test_writes_refused_at_maxmemory_with_noeviction() -> None:
    pasted = incident(FULL_QUEUE_INFO, REFUSED_WRITE)
    finding = only(pasted.run(redis_maxmemory_reached.analyze, "media-redis"), "redis-maxmemory-reached")
    assert finding.severity == "critical"
    assert finding.confidence == pytest.approx(0.95)
    assert "(2Gi)" in finding.detail
    assert "policy is noeviction" in finding.detail
    excerpts = [s.excerpt for s in finding.evidence]
    assert any("OOM command not allowed" in e for e in excerpts)
    assert "maxmemory:2147483648" in excerpts and "used_memory:2147221504" in excerpts
    pasted.assert_cited(finding)


def test_used_memory_at_maxmemory_without_refusals_is_less_confident() -> None:
    pasted = incident(FULL_QUEUE_INFO)
    finding = only(pasted.run(redis_maxmemory_reached.analyze, "media-redis"), "redis-maxmemory-reached")
    assert finding.confidence == pytest.approx(0.7)
    pasted.assert_cited(finding)


def test_oom_error_counters_in_errorstats_count_as_refusals() -> None:
    # Hand-built: the reader does not take INFO fields with upper-case names (errorstat_OOM) yet.
    counter = fact(
        "redis.info",
        "count=1842",
        "errorstat_OOM:count=1842",
        key="errorstat_OOM",
        subject=Subject("web", "media-redis-0", None, "media-redis"),
    )
    pasted = incident(info("media-redis-0", "# Memory", "maxmemory:2147483648")).with_facts(counter)
    finding = only(pasted.run(redis_maxmemory_reached.analyze, "media-redis"), "redis-maxmemory-reached")
    assert any(s.excerpt == "errorstat_OOM:count=1842" for s in finding.evidence)
    pasted.assert_cited(finding)


def test_redis_at_60_percent_of_maxmemory_is_not_full() -> None:
    pasted = incident(
        info(
            "media-redis-0",
            "# Memory",
            "used_memory:1288490188",
            "maxmemory:2147483648",
            "maxmemory_policy:noeviction",
        )
    )
    assert pasted.run(redis_maxmemory_reached.analyze, "media-redis") == []


def test_redis_without_maxmemory_is_never_full_by_maxmemory() -> None:
    pasted = incident(info("media-redis-0", "# Memory", "used_memory:2147221504", "maxmemory:0"))
    assert pasted.run(redis_maxmemory_reached.analyze, "media-redis") == []


def _full(policy: str, expires: int) -> str:
    return info(
        "broker-redis-0",
        "# Memory",
        "used_memory:2147221504",
        "maxmemory:2147483648",
        f"maxmemory_policy:{policy}",
        "# Keyspace",
        f"db0:keys=6,expires={expires},avg_ttl=0",
    )


def test_a_volatile_policy_with_no_key_to_evict_refuses_writes_at_maxmemory() -> None:
    pasted = incident(_full("volatile-ttl", 0))
    finding = only(pasted.run(redis_maxmemory_reached.analyze, "broker-redis"), "redis-maxmemory-reached")
    assert "none of its 6 keys has one" in finding.detail
    pasted.assert_cited(finding)


def test_a_volatile_policy_with_keys_to_evict_is_working_at_maxmemory() -> None:
    pasted = incident(_full("volatile-ttl", 4))
    assert pasted.run(redis_maxmemory_reached.analyze, "broker-redis") == []


def test_a_volatile_policy_evicting_from_another_db_is_working() -> None:
    pasted = incident(
        _full("volatile-lru", 0).rstrip("\n")
        + "\ndb1:keys=200000,expires=199500,avg_ttl=0\nevicted_keys:1834221\n"
    )
    assert pasted.run(redis_maxmemory_reached.analyze, "broker-redis") == []
