"""disk-full: a volume or the container filesystem is out of space."""

from __future__ import annotations

import pytest
from analyzer_kit import fact, ids, incident, only
from redis_snippets import info

from analyzers import disk_full


def test_writes_failing_with_no_space_left_on_device() -> None:
    pasted = incident(
        """
        $ kubectl logs orders-db-0 -n shop
        2024-11-03 02:11:09.114 UTC [812] PANIC:  could not write to file "pg_wal/xlogtemp.812": No space left on device
        2024-11-03 02:11:09.220 UTC [1] LOG:  server process (PID 812) was terminated by signal 6: Aborted
        """
    )
    finding = only(pasted.run(disk_full.analyze, "orders-db"), "disk-full")
    assert finding.severity == "critical"
    assert len(finding.evidence) == 1
    assert "No space left on device" in finding.evidence[0].excerpt
    pasted.assert_cited(finding)


def test_an_eviction_for_ephemeral_storage_is_a_full_disk() -> None:
    pasted = incident(
        """
        $ kubectl get events -n shop
        LAST SEEN   TYPE      REASON    OBJECT                           MESSAGE
        3m          Warning   Evicted   pod/orders-api-7c9f8d6b5-m4k2p   The node was low on resource: ephemeral-storage. Container orders-api was using 5Gi, which exceeds its request of 0.
        """
    )
    finding = only(pasted.run(disk_full.analyze, "orders-api"), "disk-full")
    assert "ephemeral-storage" in finding.evidence[0].excerpt
    pasted.assert_cited(finding)


def test_healthy_disk_usage_lines_give_nothing() -> None:
    pasted = incident(
        """
        $ kubectl logs orders-db-0 -n shop
        2024-11-03 02:11:10.114 UTC [77] LOG:  checkpoint complete: wrote 118 buffers (0.7%); 0 WAL file(s) added
        2024-11-03 02:12:10.114 UTC [77] WARNING:  autovacuum: table "orders" is 61% bloated
        """
    )
    assert pasted.run(disk_full.analyze, "orders-db") == []


def test_another_pod_out_of_ephemeral_storage_is_not_ours() -> None:
    pasted = incident(
        """
        $ kubectl get events -A
        NAMESPACE   LAST SEEN   TYPE      REASON    OBJECT                              MESSAGE
        payments    3m          Warning   Evicted   pod/ledger-worker-5d8f7c9b4-q2w7e   The node was low on resource: ephemeral-storage. Container ledger was using 9Gi, which exceeds its request of 0.
        """
    )
    assert pasted.run(disk_full.analyze, "orders-api") == []


def df(*rows: str) -> str:
    return "\n".join(
        [
            "$ kubectl exec orders-db-0 -n shop -- df -h",
            "Filesystem      Size  Used Avail Use% Mounted on",
            *rows,
        ]
    )


def test_a_df_row_at_98_percent_is_a_full_disk() -> None:
    pasted = incident(
        df(
            "overlay          80G   45G   35G  57% /",
            "/dev/nvme1n1     20G   19.6G 400M  98% /var/lib/postgresql/data",
        )
    )
    finding = only(pasted.run(disk_full.analyze, "orders-db"), "disk-full")
    assert finding.data["mount"] == "/var/lib/postgresql/data"
    assert "98%" in finding.evidence[0].excerpt
    pasted.assert_cited(finding)


def test_df_with_room_and_a_snap_image_at_100_percent_gives_nothing() -> None:
    pasted = incident(
        df(
            "overlay          80G   45G   35G  57% /",
            "/dev/loop3       56M   56M     0 100% /snap/core18/2128",
            "tmpfs           3.9G     0  3.9G   0% /dev/shm",
        )
    )
    assert len(pasted.read("volume.usage")) == 3
    assert pasted.run(disk_full.analyze, "orders-db") == []


MISCONF = """
    $ kubectl logs sidekiq-7d9f8c6b5-x2k4m -n web
    2024-11-03T02:11:09Z ERROR: heartbeat: MISCONF Redis is configured to save RDB snapshots, but is currently not able to persist on disk. Commands that may modify the data set are disabled.
"""


def test_misconf_alone_is_a_probably_full_disk_to_confirm() -> None:
    pasted = incident(MISCONF)
    finding = only(pasted.run(disk_full.analyze, "sidekiq"), "disk-full")
    assert finding.title == "Probably out of disk space"
    assert 0.5 <= finding.confidence < 0.6
    assert "Not confirmed" in finding.detail
    pasted.assert_cited(finding)


@pytest.mark.parametrize(
    "other_reason",
    [
        "1:M 03 Nov 2024 02:11:08.001 # Can't save in background: fork: Cannot allocate memory",
        "1:M 03 Nov 2024 02:11:08.001 # Failed opening the RDB file dump.rdb (in server root dir /data) for saving: Permission denied",
    ],
)
def test_misconf_with_another_reason_for_the_failed_save_is_not_a_full_disk(other_reason: str) -> None:
    pasted = incident(
        MISCONF,
        f"""
        $ kubectl logs redis-0 -n web
        {other_reason}
        """,
    )
    assert pasted.run(disk_full.analyze, "sidekiq") == []


def test_misconf_with_df_showing_room_is_not_a_full_disk() -> None:
    pasted = incident(
        MISCONF,
        df("/dev/sda1        50G   21G   29G  42% /").replace("kubectl exec orders-db-0 -n shop -- ", ""),
    )
    pasted.with_facts(fact("text.note", "the disk is full again?", "the disk is full again?"))
    assert pasted.run(disk_full.analyze, "sidekiq") == []


def test_misconf_when_someone_reports_the_disk_ran_out() -> None:
    pasted = incident(MISCONF).with_facts(
        fact("text.note", "my instance shut down after I ran out of disk space", "I ran out of disk space")
    )
    finding = only(pasted.run(disk_full.analyze, "sidekiq"), "disk-full")
    assert {"MISCONF", "ran out of disk space"} <= {
        word for s in finding.evidence for word in ("MISCONF", "ran out of disk space") if word in s.excerpt
    }
    pasted.assert_cited(finding)


def test_misconf_with_no_space_left_in_the_redis_log() -> None:
    pasted = incident(
        MISCONF,
        """
        $ kubectl logs redis-0 -n web
        1:M 03 Nov 2024 02:11:01.118 # Write error saving DB on disk: No space left on device
        """,
    )
    finding = only(pasted.run(disk_full.analyze, "sidekiq"), "disk-full")
    pasted.assert_cited(finding)


def node_events(*rows: str) -> str:
    return "\n".join(
        [
            "$ kubectl describe node ip-10-0-3-17",
            "Events:",
            "  Type     Reason                Age    From     Message",
            "  ----     ------                ----   ----     -------",
            *rows,
        ]
    )


def test_the_kubelet_reclaiming_nodefs_is_a_full_disk() -> None:
    pasted = incident(
        node_events("  Warning  EvictionThresholdMet  4m32s  kubelet  Attempting to reclaim nodefs")
    )
    finding = only(pasted.run(disk_full.analyze, "orders-api"), "disk-full")
    assert "Attempting to reclaim nodefs" in finding.evidence[0].excerpt
    pasted.assert_cited(finding)


def test_the_kubelet_reclaiming_memory_is_not_a_full_disk() -> None:
    pasted = incident(
        node_events("  Warning  EvictionThresholdMet  4m32s  kubelet  Attempting to reclaim memory")
    )
    assert pasted.read("event")
    assert pasted.run(disk_full.analyze, "orders-api") == []


def test_an_eviction_for_disk_pressure_in_the_old_format() -> None:
    pasted = incident(
        """
        $ kubectl get events -n shop
        LAST SEEN   TYPE      REASON    OBJECT                           MESSAGE
        1m          Warning   Evicted   pod/orders-api-7c9f8d6b5-m4k2p   The node was low on resource: [DiskPressure].
        """
    )
    finding = only(pasted.run(disk_full.analyze, "orders-api"), "disk-full")
    pasted.assert_cited(finding)


def test_a_pod_described_as_evicted_for_ephemeral_storage() -> None:
    pasted = incident(
        """
        $ kubectl describe pod orders-api-7c9f8d6b5-m4k2p -n shop
        Name:         orders-api-7c9f8d6b5-m4k2p
        Namespace:    shop
        Status:       Failed
        Reason:       Evicted
        Message:      The node was low on resource: ephemeral-storage. Container orders-api was using 5Gi, which exceeds its request of 0.
        """
    )
    finding = only(pasted.run(disk_full.analyze, "orders-api"), "disk-full")
    assert any("ephemeral-storage" in s.excerpt for s in finding.evidence)
    pasted.assert_cited(finding)


def test_a_pod_described_as_evicted_for_memory_is_not_a_full_disk() -> None:
    pasted = incident(
        """
        $ kubectl describe pod orders-api-7c9f8d6b5-m4k2p -n shop
        Name:         orders-api-7c9f8d6b5-m4k2p
        Namespace:    shop
        Status:       Failed
        Reason:       Evicted
        Message:      The node was low on resource: memory. Container orders-api was using 402112Ki, which exceeds its request of 256Mi.
        """
    )
    assert pasted.read("text.note")
    assert pasted.run(disk_full.analyze, "orders-api") == []


def test_pods_not_scheduled_for_lack_of_ephemeral_storage_requests_is_not_a_full_disk() -> None:
    pasted = incident(
        """
        $ kubectl get events -n shop
        LAST SEEN   TYPE      REASON             OBJECT                           MESSAGE
        1m          Warning   FailedScheduling   pod/orders-api-7c9f8d6b5-m4k2p   0/3 nodes are available: 3 Insufficient ephemeral-storage.
        """
    )
    assert pasted.read("event")
    assert pasted.run(disk_full.analyze, "orders-api") == []


def test_an_eviction_naming_only_another_pods_container_is_not_ours() -> None:
    pasted = incident(
        """
        $ kubectl get pods -A
        NAMESPACE   NAME                              READY   STATUS    RESTARTS   AGE
        payments    ledger-worker-5d8f7c9b4-q2w7e     0/1     Evicted   0          5m
        """,
        """
        $ kubectl describe pod ledger-worker-5d8f7c9b4-q2w7e -n payments | grep -A3 Containers
        Containers:
          ledger:
            Image:      registry.local/ledger:4.2.0
        """,
        "Warning  Evicted  6m28s  kubelet, host-1  The node was low on resource: ephemeral-storage. "
        "Container ledger was using 9Gi, which exceeds its request of 0.",
    )
    assert pasted.read("container.image")
    assert pasted.run(disk_full.analyze, "orders-api") == []


@pytest.mark.parametrize(
    "line",
    [
        "java.io.IOException: Disk quota exceeded",
        '{"level":"info","msg":"Detected low-disk space condition, avoid starting the instance","logging_pod":"db-1"}',
    ],
)
def test_other_wordings_of_a_full_volume(line: str) -> None:
    assert ids(incident(line).run(disk_full.analyze, "db")) == ["disk-full"]


def test_mysql_saying_its_disk_is_full_is_a_full_disk() -> None:
    pasted = incident(
        """
        $ kubectl logs mysql-0 -n kubeflow
        2022-12-05T10:01:02.123456Z 0 [ERROR] [MY-000035] [Server] Disk is full writing './binlog.~rec~' (OS errno 28 - No space left on device). Waiting for someone to free space...
        """
    )
    finding = only(pasted.run(disk_full.analyze, "mysql"), "disk-full")
    assert finding.confidence >= 0.9
    pasted.assert_cited(finding)


def test_a_full_memory_table_is_not_a_full_disk() -> None:
    pasted = incident(
        """
        $ kubectl logs mysql-0 -n shop
        2022-12-05T10:01:02.123456Z 12 [ERROR] [MY-013132] [Server] The table '/tmp/#sql1_2' is full!
        """
    )
    assert pasted.read("log")
    assert pasted.run(disk_full.analyze, "mysql") == []


def _listed_files(persistence_size: str) -> list[str]:
    return [
        f"""
        $ cat values.yaml
        master:
          persistence:
            size: {persistence_size}
        """,
        """
        $ kubectl exec redis-master-0 -- ls -lh /data
        total 19G
        -rw-r--r-- 1 redis redis  12G Mar  3 11:02 appendonly.aof
        -rw-r--r-- 1 redis redis 6.9G Mar  3 10:58 dump.rdb
        """,
    ]


def test_files_that_fill_the_declared_volume_are_a_full_disk() -> None:
    pasted = incident(*_listed_files("19Gi"))
    finding = only(pasted.run(disk_full.analyze, "redis"), "disk-full")
    assert "the files listed add up to" in finding.detail
    assert any("appendonly.aof" in s.excerpt for s in finding.evidence)
    pasted.assert_cited(finding)


def test_files_well_inside_the_declared_volume_are_not_a_full_disk() -> None:
    pasted = incident(*_listed_files("100Gi"))
    assert pasted.read("file.size")
    assert pasted.run(disk_full.analyze, "redis") == []


def test_misconf_while_redis_reports_its_last_save_ok_is_history() -> None:
    pasted = incident(MISCONF, info("redis-0", "# Persistence", "rdb_last_bgsave_status:ok"))
    assert pasted.run(disk_full.analyze, "sidekiq") == []


def test_an_errno_28_that_is_not_about_space_is_not_a_full_disk() -> None:
    pasted = incident(
        """
        $ kubectl logs api-0
        2024-11-03T02:11:09Z ERROR request failed: errno 28 from upstream parser, retrying
        """
    )
    assert pasted.read("log")
    assert pasted.run(disk_full.analyze, "api") == []
