"""redis-config-not-applied: what was declared for Redis is not what the server does."""

from __future__ import annotations

from analyzer_kit import incident, only
from redis_snippets import config_get, info

from analyzers import redis_config_drift


def configmap(*directives: str) -> str:
    body = "\n".join(f"    {d}" for d in directives)
    return (
        "$ kubectl get configmap session-store-config -n web -o yaml\n"
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: session-store-config\n"
        "  namespace: web\n"
        "data:\n"
        "  redis.conf: |\n"
        f"{body}\n"
    )


def test_maxmemory_declared_but_the_server_runs_without_it() -> None:
    pasted = incident(
        configmap("maxmemory 2gb", "maxmemory-policy allkeys-lru"),
        config_get("session-store-0", maxmemory="0", maxmemory_policy="noeviction"),
    )
    finding = only(pasted.run(redis_config_drift.analyze, "session-store"), "redis-config-not-applied")
    assert finding.severity == "warning"
    assert finding.data["conflicts"] == [
        "maxmemory is declared as 2gb but the server runs with 0",
        "maxmemory-policy is declared as allkeys-lru but the server runs with noeviction",
    ]
    excerpts = [s.excerpt for s in finding.evidence]
    assert "maxmemory 2gb" in excerpts and "maxmemory-policy allkeys-lru" in excerpts
    pasted.assert_cited(finding)


def test_snapshots_declared_off_while_the_server_saves_in_the_background() -> None:
    pasted = incident(
        configmap('save ""', "appendonly no"),
        """
        $ kubectl logs session-store-0 -n web
        1:M 03 Nov 2024 02:14:07.118 * 100 changes in 300 seconds. Saving...
        1:M 03 Nov 2024 02:14:07.120 * Background saving started by pid 311
        """,
    )
    finding = only(pasted.run(redis_config_drift.analyze, "session-store"), "redis-config-not-applied")
    assert any("snapshots are disabled" in c for c in finding.data["conflicts"])
    pasted.assert_cited(finding)


def test_maxmemory_900mb_declared_equals_943718400_at_runtime() -> None:
    pasted = incident(
        configmap("maxmemory 900mb", "maxmemory-policy allkeys-lru"),
        config_get("session-store-0", maxmemory="943718400", maxmemory_policy="allkeys-lru"),
    )
    assert [f.value for f in pasted.read("redis.declared", "maxmemory")] == ["900mb"]
    assert [f.value for f in pasted.read("redis.config", "maxmemory")] == ["943718400"]
    assert pasted.run(redis_config_drift.analyze, "session-store") == []


def test_a_declared_config_the_server_runs_exactly_gives_nothing() -> None:
    pasted = incident(
        configmap(
            "maxmemory 1gb", "maxmemory-policy volatile-lru", "save 900 1", "save 300 100", "appendonly no"
        ),
        config_get("session-store-0", maxmemory_policy="volatile-lru", save="900 1 300 100"),
        info("session-store-0", "# Memory", "maxmemory:1073741824", "# Persistence", "aof_enabled:0"),
    )
    assert pasted.run(redis_config_drift.analyze, "session-store") == []


def test_a_declared_config_with_nothing_to_compare_it_to_gives_nothing() -> None:
    pasted = incident(configmap("maxmemory 2gb", "maxmemory-policy allkeys-lru"))
    assert pasted.run(redis_config_drift.analyze, "session-store") == []


def test_a_redis_log_older_than_its_container_is_called_out() -> None:
    pasted = incident(
        """
        $ kubectl -n shop describe pod basket-cache-5d9f7b6c84-q2x7m | tail -8
        Last State: Terminated
        Reason: OOMKilled
        Exit Code: 137
        Started: Mon, 03 Mar 2025 09:12:30 +0000
        Finished: Mon, 03 Mar 2025 09:13:10 +0000
        basketCache:
        configuration: |-
        save ""
        [2025-03-03T09:11:58Z] redis | 1:M 03 Mar 2025 09:11:58.100 * Running mode=standalone, port=6379.
        [2025-03-03T09:12:50Z] redis | 1:M 03 Mar 2025 09:12:50.200 # Can't save in background: fork: Cannot allocate memory
        """
    )
    finding = only(pasted.run(redis_config_drift.analyze, "basket-cache"), "redis-config-not-applied")
    assert "09:11:58" in finding.detail and "09:12:30" in finding.detail
    assert any("Running mode=standalone" in s.excerpt for s in finding.evidence)
    pasted.assert_cited(finding)
