"""redis-noeviction-policy: a cache or session store that refuses writes instead of evicting."""

from __future__ import annotations

from analyzer_kit import incident, only
from redis_snippets import config_get, info

from analyzers import redis_noeviction


def media_redis_values(purpose: str) -> str:
    return f"""
        mediaRedis:
          # {purpose}
          architecture: standalone
          master:
            resources:
              limits:
                memory: 4Gi
            configuration: |-
              maxmemory 2gb
              maxmemory-policy noeviction
    """


def test_noeviction_on_a_session_store_is_a_warning() -> None:
    pasted = incident(
        info(
            "session-store-0",
            "# Memory",
            "maxmemory_policy:noeviction",
            "# Keyspace",
            "db0:keys=48000,expires=47990",
        )
    )
    finding = only(pasted.run(redis_noeviction.analyze, "session-store"), "redis-noeviction-policy")
    assert finding.severity == "warning"
    assert finding.data["usage"] == "session"
    assert "100% of its keys carry a TTL" in finding.detail
    assert [s.excerpt for s in finding.evidence] == [
        "maxmemory_policy:noeviction",
        "db0:keys=48000,expires=47990",
    ]
    pasted.assert_cited(finding)


def test_noeviction_on_a_redis_described_as_a_cache_is_a_warning() -> None:
    pasted = incident(
        media_redis_values("Cache of rendered thumbnails, rebuilt from object storage on a miss")
    )
    finding = only(pasted.run(redis_noeviction.analyze, "media-redis"), "redis-noeviction-policy")
    assert finding.data["usage"] == "cache"
    assert finding.evidence[0].excerpt == "maxmemory-policy noeviction"
    pasted.assert_cited(finding)


def test_noeviction_on_a_bullmq_job_queue_is_right() -> None:
    pasted = incident(media_redis_values("BullMQ job queue for the thumbnail and transcode workers"))
    assert [f.value for f in pasted.read("redis.declared", "maxmemory-policy")] == ["noeviction"]
    assert pasted.run(redis_noeviction.analyze, "media-redis") == []


def test_noeviction_behind_workers_that_log_bullmq_jobs_is_right() -> None:
    # Every key carries a TTL, which alone would make it look like a cache.
    pasted = incident(
        config_get("media-redis-0", maxmemory_policy="noeviction"),
        info("media-redis-0", "# Keyspace", "db0:keys=5200,expires=5200"),
        """
        [2024-11-03T02:20:11Z] thumbnail-worker | level=warn msg="BullMQ: job 8812 failed after 3 attempts, retrying" queue=thumbnails
        """,
    )
    assert len(pasted.read("log")) == 1
    assert pasted.run(redis_noeviction.analyze, "media-redis") == []


def test_noeviction_on_a_primary_store_is_right() -> None:
    pasted = incident(config_get("profile-db-0", maxmemory_policy="noeviction"))
    assert pasted.run(redis_noeviction.analyze, "profile-db") == []


def test_an_evicting_policy_gives_nothing() -> None:
    pasted = incident(config_get("session-store-0", maxmemory_policy="volatile-lru"))
    assert pasted.run(redis_noeviction.analyze, "session-store") == []
