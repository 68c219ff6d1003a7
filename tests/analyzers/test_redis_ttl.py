"""redis-keys-without-ttl: keys that should expire never do, so the store only grows."""

from __future__ import annotations

from analyzer_kit import incident, only
from redis_snippets import info

from analyzers import redis_ttl

TTL_NEVER = """
    $ kubectl exec -n web session-store-0 -- redis-cli TTL session:7f3a9c21
    (integer) -1
"""


def keyspace(keys: int, expires: int, pod: str = "session-store-0") -> str:
    return info(pod, "# Keyspace", f"db0:keys={keys},expires={expires},avg_ttl=0")


def test_almost_no_session_key_carries_a_ttl() -> None:
    pasted = incident(keyspace(48000, 12))
    finding = only(pasted.run(redis_ttl.analyze, "session-store"), "redis-keys-without-ttl")
    assert finding.severity == "warning"
    assert "12 of 48000 keys have a TTL" in finding.detail
    assert [s.excerpt for s in finding.evidence] == ["db0:keys=48000,expires=12,avg_ttl=0"]
    pasted.assert_cited(finding)


def test_a_sampled_session_key_without_ttl_is_enough() -> None:
    pasted = incident(TTL_NEVER)
    finding = only(pasted.run(redis_ttl.analyze, "session-store"), "redis-keys-without-ttl")
    assert "TTL -1" in finding.detail
    assert [s.excerpt for s in finding.evidence] == ["(integer) -1"]
    pasted.assert_cited(finding)


def test_keys_that_all_carry_a_ttl_give_nothing() -> None:
    pasted = incident(keyspace(48000, 48000))
    assert len(pasted.read("redis.info", "db0")) == 1
    assert pasted.run(redis_ttl.analyze, "session-store") == []


def test_a_sampled_key_with_a_ttl_gives_nothing() -> None:
    pasted = incident(TTL_NEVER.replace("(integer) -1", "(integer) 1740"))
    assert pasted.run(redis_ttl.analyze, "session-store") == []


def test_a_handful_of_keys_is_too_few_to_judge() -> None:
    pasted = incident(keyspace(40, 0))
    assert pasted.run(redis_ttl.analyze, "session-store") == []


def test_jobs_in_a_queue_are_kept_on_purpose() -> None:
    pasted = incident(keyspace(1830211, 0, pod="render-queue-0"))
    assert pasted.run(redis_ttl.analyze, "render-queue") == []


HEADROOM_NEARLY_GONE = """
    $ redis-cli -h session-store INFO
    # Memory
    used_memory:966367641
    maxmemory:1073741824
    maxmemory_policy:noeviction
    # Keyspace
    db0:keys=2450113,expires=0,avg_ttl=0
"""


def test_keys_without_ttl_near_a_maxmemory_with_nothing_to_evict_are_critical() -> None:
    pasted = incident(HEADROOM_NEARLY_GONE)
    finding = only(pasted.run(redis_ttl.analyze, "session-store"), "redis-keys-without-ttl")
    assert finding.severity == "critical" and finding.data["used_share"] == 0.9
    assert "921.6Mi of its 1Gi maxmemory (90%)" in finding.detail
    assert "without maxmemory" not in finding.detail  # maxmemory is set: that sentence would be false
    pasted.assert_cited(finding)


def test_keys_without_ttl_with_room_left_stay_a_warning() -> None:
    roomy = HEADROOM_NEARLY_GONE.replace("used_memory:966367641", "used_memory:107374182")
    finding = only(incident(roomy).run(redis_ttl.analyze, "session-store"), "redis-keys-without-ttl")
    assert finding.severity == "warning" and finding.data["used_share"] == 0.1


def _scan(key: str) -> str:
    return f"""
    Celery broker, keys scanned with a script:
    Key                                                          | idletime (secs) | ttl | Memory (mb)
    b'{key}'  |            8118 |  -1 |            3
    """


def test_reply_keys_left_forever_in_a_queue_broker_are_keys_without_ttl() -> None:
    pasted = incident(_scan("132fe875-4f6e-3764-b532-ac1e7ea20444.reply.celery.pidbox"))
    assert pasted.read("redis.info", "ttl_sample")
    finding = only(pasted.run(redis_ttl.analyze, None), "redis-keys-without-ttl")
    assert "1 sampled key has no TTL" in finding.detail
    assert "no maxmemory was read" in finding.detail
    pasted.assert_cited(finding)


def test_the_queue_list_itself_without_ttl_is_how_a_broker_works() -> None:
    pasted = incident(_scan("celery"))
    assert pasted.read("redis.info", "ttl_sample")
    assert pasted.run(redis_ttl.analyze, None) == []


def test_a_volatile_policy_over_keys_without_ttl_counts_even_for_a_job_queue() -> None:
    pasted = incident(
        "Reporter: \"I'm processing a large number of jobs and running into OOM issues in Redis with "
        'maxmemory-policy set to volatile-lru."\n',
        "db0:keys=1810656,expires=1,avg_ttl=176611\n",
    )
    assert pasted.read("redis.info", "db0")
    finding = only(pasted.run(redis_ttl.analyze, "redis"), "redis-keys-without-ttl")
    assert "volatile-lru may evict only keys with a TTL" in finding.detail
    pasted.assert_cited(finding)


def test_a_job_queue_without_ttls_and_without_a_volatile_policy_is_kept_on_purpose() -> None:
    pasted = incident(
        'Reporter: "I\'m processing a large number of jobs with resque workers."\n',
        "db0:keys=1810656,expires=1,avg_ttl=176611\n",
    )
    assert pasted.read("redis.info", "db0")
    assert pasted.run(redis_ttl.analyze, "redis") == []
