"""redis-config-not-applied: what was declared for Redis is not what the server does."""

from __future__ import annotations

from analyzer_kit import fact, incident, only
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


NO_CONFIG_START = """
    $ kubectl logs session-store-0 -n web
    1:C 03 Nov 2024 02:10:01.001 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo
    1:C 03 Nov 2024 02:10:01.001 # Redis version=7.2.4, bits=64, commit=00000000, modified=0, pid=1, just started
    1:C 03 Nov 2024 02:10:01.001 # Warning: no config file specified, using the default config. In order to specify a config file use redis-server /path/to/redis.conf
    1:M 03 Nov 2024 02:10:01.002 * Running mode=standalone, port=6379.
"""


def test_redis_starting_without_a_config_file_while_a_configmap_is_declared() -> None:
    pasted = incident(configmap("maxmemory 2gb", "maxmemory-policy allkeys-lru"), NO_CONFIG_START)
    finding = only(pasted.run(redis_config_drift.analyze, "session-store"), "redis-config-not-applied")
    assert any("without any config file" in c for c in finding.data["conflicts"])
    assert any("no config file specified" in s.excerpt for s in finding.evidence)
    pasted.assert_cited(finding)


def test_the_default_config_warning_alone_is_how_a_plain_redis_starts() -> None:
    pasted = incident(NO_CONFIG_START)
    assert any("no config file" in str(f.value) for f in pasted.read("log"))
    assert pasted.run(redis_config_drift.analyze, "session-store") == []


def test_a_warning_from_a_start_since_followed_by_a_start_with_its_config_is_history() -> None:
    pasted = incident(
        configmap("maxmemory 2gb"),
        NO_CONFIG_START
        + """
    1:C 03 Nov 2024 02:31:40.500 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo
    1:C 03 Nov 2024 02:31:40.500 # Redis version=7.2.4, bits=64, commit=00000000, modified=0, pid=1, just started
    1:C 03 Nov 2024 02:31:40.500 # Configuration loaded
    1:M 03 Nov 2024 02:31:40.501 * Running mode=standalone, port=6379.
""",
    )
    assert pasted.run(redis_config_drift.analyze, "session-store") == []


def test_another_services_configmap_does_not_make_our_warning_a_drift() -> None:
    other = configmap("maxmemory 2gb").replace("session-store-config", "billing-redis-config")
    pasted = incident(other, NO_CONFIG_START)
    assert pasted.read("redis.declared", "maxmemory")
    assert pasted.run(redis_config_drift.analyze, "session-store") == []


def test_an_empty_config_file_in_info_server_while_a_redis_conf_is_declared() -> None:
    pasted = incident(
        configmap("maxmemory 2gb", "appendonly no"),
        info("session-store-0", "# Server", "redis_version:7.2.4", "config_file:", "tcp_port:6379"),
    )
    finding = only(pasted.run(redis_config_drift.analyze, "session-store"), "redis-config-not-applied")
    assert any("empty config_file" in c for c in finding.data["conflicts"])
    assert "config_file:" in [s.excerpt for s in finding.evidence]
    pasted.assert_cited(finding)


def test_a_config_file_in_info_server_and_matching_settings_give_nothing() -> None:
    pasted = incident(
        configmap("maxmemory 2gb", "appendonly no"),
        info("session-store-0", "# Server", "config_file:/usr/local/etc/redis/redis.conf", "# Memory"),
        config_get("session-store-0", maxmemory="2147483648", appendonly="no"),
    )
    assert pasted.read("redis.info", "config_file")
    assert pasted.run(redis_config_drift.analyze, "session-store") == []


def test_settings_passed_as_arguments_leave_config_file_empty_but_arrive() -> None:
    pasted = incident(
        configmap("maxmemory 2gb", "appendonly yes"),
        info("session-store-0", "# Server", "config_file:"),
        config_get("session-store-0", maxmemory="2147483648", appendonly="yes"),
    )
    assert pasted.read("redis.info", "config_file")
    assert pasted.run(redis_config_drift.analyze, "session-store") == []


def test_the_chart_value_and_the_file_in_the_pod_disagree_on_appendonly() -> None:
    pasted = incident(
        """
        redis:
          configmap: |-
            appendonly no
            maxmemory 1Gb
        """,
        """
        $ kubectl exec redis-cluster-0 -- tail -2 /opt/bitnami/redis/etc/redis.conf
        appendonly yes
        maxmemory 1Gb
        """,
    )
    finding = only(pasted.run(redis_config_drift.analyze, "redis-cluster"), "redis-config-not-applied")
    assert finding.data["conflicts"] == ["appendonly is no in artifact-1.txt but yes in artifact-2.txt"]
    assert {s.excerpt for s in finding.evidence} == {"appendonly no", "appendonly yes"}
    pasted.assert_cited(finding)


def test_two_configs_spelling_the_same_settings_differently_agree() -> None:
    pasted = incident(
        """
        redis:
          configmap: |-
            appendonly yes
            maxmemory 1gb
        """,
        """
        $ kubectl exec redis-cluster-0 -- tail -2 /opt/bitnami/redis/etc/redis.conf
        appendonly "yes"
        maxmemory 1024mb
        """,
    )
    assert len(pasted.read("redis.declared", "maxmemory")) == 2
    assert pasted.run(redis_config_drift.analyze, "redis-cluster") == []


def test_any_directive_the_server_runs_differently_counts() -> None:
    pasted = incident(
        configmap("timeout 300", "tcp-keepalive 60"),
        config_get("session-store-0", timeout="0", tcp_keepalive="60"),
    )
    finding = only(pasted.run(redis_config_drift.analyze, "session-store"), "redis-config-not-applied")
    assert finding.data["conflicts"] == ["timeout is declared as 300 but the server runs with 0"]
    pasted.assert_cited(finding)


def test_a_relative_dir_the_server_resolved_is_not_a_drift() -> None:
    pasted = incident(configmap("dir ./", "appendonly no"), config_get("session-store-0", dir="/data"))
    assert pasted.read("redis.config", "dir")
    assert pasted.run(redis_config_drift.analyze, "session-store") == []


def test_same_setting_compares_by_meaning() -> None:
    assert redis_config_drift.same_setting("maxmemory", "1Gb", "1073741824")
    assert redis_config_drift.same_setting("appendonly", "yes", "1")
    assert redis_config_drift.same_setting("save", '""', "")
    assert redis_config_drift.same_setting("notify-keyspace-events", "KEA", "AKE")
    assert redis_config_drift.same_setting("lazyfree-lazy-eviction", "yes", "YES")
    assert not redis_config_drift.same_setting("appendonly", "no", "yes")
    assert not redis_config_drift.same_setting("save", "900 1", "3600 1 300 100 60 10000")


def test_a_note_that_a_configmap_is_mounted_is_a_declaration() -> None:
    note = fact(
        "text.note", "redis is not using config attached via configmap", "config attached via configmap"
    )
    pasted = incident(NO_CONFIG_START).with_facts(note)
    finding = only(pasted.run(redis_config_drift.analyze, "session-store"), "redis-config-not-applied")
    pasted.assert_cited(finding)
    alone = incident(info("session-store-0", "# Server", "config_file:/etc/redis/redis.conf")).with_facts(
        note
    )
    assert alone.run(redis_config_drift.analyze, "session-store") == []
