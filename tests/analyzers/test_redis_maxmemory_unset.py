"""redis-maxmemory-unset: Redis has no memory bound of its own under a container limit."""

from __future__ import annotations

import pytest
from analyzer_kit import incident, only
from redis_snippets import config_get, info

from analyzers import redis_maxmemory_unset

SESSION_STORE_LIMIT = """
    $ kubectl describe pod session-store-0 -n web
    Name:             session-store-0
    Namespace:        web
    Controlled By:    StatefulSet/session-store
    Containers:
      redis:
        Image:          redis:7.2.4
        State:          Running
        Ready:          True
        Restart Count:  0
        Limits:
          memory:  64Mi
"""

DECLARED_WITHOUT_MAXMEMORY = """
    $ kubectl get configmap session-store-config -n web -o yaml
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: session-store-config
      namespace: web
    data:
      redis.conf: |
        maxmemory-policy allkeys-lru
        save 900 1
        appendonly no
"""


def test_maxmemory_0_under_a_64mi_limit_is_critical() -> None:
    pasted = incident(
        SESSION_STORE_LIMIT, info("session-store-0", "# Memory", "used_memory:41943040", "maxmemory:0")
    )
    finding = only(pasted.run(redis_maxmemory_unset.analyze, "session-store"), "redis-maxmemory-unset")
    assert finding.severity == "critical"
    assert finding.confidence == pytest.approx(0.95)
    assert "maxmemory 0" in finding.detail and "limited to 64Mi" in finding.detail
    assert [s.excerpt for s in finding.evidence] == ["maxmemory:0", "memory:  64Mi"]
    pasted.assert_cited(finding)


def test_maxmemory_0_without_a_known_limit_is_a_warning() -> None:
    pasted = incident(config_get("session-store-0", maxmemory="0"))
    finding = only(pasted.run(redis_maxmemory_unset.analyze, "session-store"), "redis-maxmemory-unset")
    assert finding.severity == "warning"
    pasted.assert_cited(finding)


def test_a_declared_config_without_maxmemory_runs_unbounded() -> None:
    pasted = incident(DECLARED_WITHOUT_MAXMEMORY)
    finding = only(pasted.run(redis_maxmemory_unset.analyze, "session-store"), "redis-maxmemory-unset")
    assert finding.confidence == pytest.approx(0.75)
    assert "maxmemory-policy allkeys-lru" in finding.evidence[0].excerpt
    pasted.assert_cited(finding)


@pytest.mark.parametrize(
    "maxmemory",
    [
        info("session-store-0", "# Memory", "used_memory:41943040", "maxmemory:943718400"),
        config_get("session-store-0", maxmemory="943718400"),
        "maxmemory 900mb\nmaxmemory-policy allkeys-lru\n",
    ],
    ids=["info", "config-get", "redis-conf"],
)
def test_maxmemory_900mb_is_a_bound(maxmemory: str) -> None:
    pasted = incident(SESSION_STORE_LIMIT, maxmemory)
    read = [
        f.value
        for kind in ("redis.info", "redis.config", "redis.declared")
        for f in pasted.read(kind, "maxmemory")
    ]
    assert read in (["943718400"], ["900mb"])
    assert pasted.run(redis_maxmemory_unset.analyze, "session-store") == []


def test_no_redis_evidence_at_all_gives_nothing() -> None:
    pasted = incident(SESSION_STORE_LIMIT)
    assert pasted.run(redis_maxmemory_unset.analyze, "session-store") == []


def test_another_redis_without_maxmemory_is_not_ours() -> None:
    pasted = incident(
        SESSION_STORE_LIMIT,
        'redis_config_maxmemory{instance="rate-limiter:6379",service="rate-limiter"} 0\n',
    )
    assert pasted.run(redis_maxmemory_unset.analyze, "session-store") == []


CHART_WITH_A_REDIS_AND_NO_BOUND = """
    redis:
      enabled: true
      image:
        repository: redis/redis-stack
        tag: "7.2.0-v8"
      resources:
        limits:
          cpu: 2000m
          memory: 4096Mi
"""


def test_a_chart_that_runs_redis_under_a_limit_with_no_maxmemory_anywhere() -> None:
    pasted = incident(CHART_WITH_A_REDIS_AND_NO_BOUND)
    finding = only(pasted.run(redis_maxmemory_unset.analyze, None), "redis-maxmemory-unset")
    assert "redis/redis-stack with a 4Gi memory limit" in finding.detail
    assert finding.confidence < 0.75  # a chart says what was asked for, not what runs
    pasted.assert_cited(finding)
    remediations = [r.id for r in pasted.diagnose(None).remediations]
    assert "set-redis-maxmemory" in remediations


def test_a_chart_that_passes_maxmemory_somewhere_is_bounded() -> None:
    flags = (
        CHART_WITH_A_REDIS_AND_NO_BOUND
        + """
      extraFlags:
        - "--maxmemory 3gb"
"""
    )
    assert incident(flags).run(redis_maxmemory_unset.analyze, None) == []


def test_a_chart_whose_redis_is_not_the_service_says_nothing_about_it() -> None:
    assert incident(CHART_WITH_A_REDIS_AND_NO_BOUND).run(redis_maxmemory_unset.analyze, "webui") == []
