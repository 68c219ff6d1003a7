"""disk-full: a volume or the container filesystem is out of space."""

from __future__ import annotations

from analyzer_kit import incident, only

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
