"""node-memory-pressure: the node ran short of memory, not the container its limit."""

from __future__ import annotations

from analyzer_kit import incident, only
from incidents import ORDERS_API_RUNNING

from analyzers import node_pressure

MEMORY_PRESSURE_TOLERATION = """\
    Conditions:
      Type              Status
      Initialized       True
      Ready             True
      ContainersReady   True
      PodScheduled      True
    QoS Class:                   Burstable
    Node-Selectors:              <none>
    Tolerations:                 node.kubernetes.io/memory-pressure:NoSchedule op=Exists
                                 node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
                                 node.kubernetes.io/unreachable:NoExecute op=Exists for 300s
    Events:                      <none>
"""


def node_conditions(memory_pressure: str) -> str:
    return f"""
        $ kubectl describe node ip-10-0-3-17.ec2.internal
        Name:               ip-10-0-3-17.ec2.internal
        Conditions:
          Type             Status  LastHeartbeatTime                 LastTransitionTime                Reason                       Message
          ----             ------  -----------------                 ------------------                ------                       -------
          MemoryPressure   {memory_pressure}    Sun, 03 Nov 2024 02:15:40 +0000   Sun, 03 Nov 2024 02:11:02 +0000   KubeletHasInsufficientMemory kubelet has insufficient memory available
          DiskPressure     False   Sun, 03 Nov 2024 02:15:40 +0000   Sun, 03 Nov 2024 01:00:00 +0000   KubeletHasNoDiskPressure     kubelet has no disk pressure
    """


def test_our_pod_evicted_because_the_node_is_low_on_memory() -> None:
    pasted = incident(
        """
        $ kubectl get events -n shop
        LAST SEEN   TYPE      REASON    OBJECT                           MESSAGE
        3m          Warning   Evicted   pod/orders-api-7c9f8d6b5-m4k2p   The node was low on resource: memory. Threshold quantity: 100Mi, available: 91232Ki. Container orders-api was using 402112Ki, request is 256Mi, has larger consumption of memory.
        """
    )
    finding = only(pasted.run(node_pressure.analyze, "orders-api"), "node-memory-pressure")
    assert finding.severity == "critical"
    assert "low on resource: memory" in finding.evidence[0].excerpt
    pasted.assert_cited(finding)


def test_a_node_reporting_memory_pressure_true() -> None:
    pasted = incident(node_conditions("True"))
    finding = only(pasted.run(node_pressure.analyze, "orders-api"), "node-memory-pressure")
    assert finding.evidence[0].excerpt.startswith("MemoryPressure   True")
    pasted.assert_cited(finding)


def test_a_node_without_memory_pressure_gives_nothing() -> None:
    pasted = incident(node_conditions("False"))
    assert pasted.run(node_pressure.analyze, "orders-api") == []


def test_a_memory_pressure_toleration_is_not_memory_pressure() -> None:
    pasted = incident(ORDERS_API_RUNNING + MEMORY_PRESSURE_TOLERATION)
    assert pasted.run(node_pressure.analyze, "orders-api") == []


def test_an_eviction_for_disk_is_not_memory_pressure() -> None:
    pasted = incident(
        """
        $ kubectl get events -n shop
        LAST SEEN   TYPE      REASON    OBJECT                           MESSAGE
        3m          Warning   Evicted   pod/orders-api-7c9f8d6b5-m4k2p   The node was low on resource: ephemeral-storage. Threshold quantity: 2Gi, available: 1536Mi.
        """
    )
    assert pasted.run(node_pressure.analyze, "orders-api") == []


def test_another_service_evicted_elsewhere_is_not_ours() -> None:
    pasted = incident(
        """
        $ kubectl get events -A
        NAMESPACE   LAST SEEN   TYPE      REASON    OBJECT                              MESSAGE
        payments    3m          Warning   Evicted   pod/ledger-worker-5d8f7c9b4-q2w7e   The node was low on resource: memory. Threshold quantity: 100Mi, available: 80Mi.
        """
    )
    assert pasted.run(node_pressure.analyze, "orders-api") == []


GLOBAL_OOM = """
    $ journalctl -k --since "2024-11-03 02:00"
    2024-11-03T02:11:05+00:00 ip-10-0-3-17 kernel: oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=cri-containerd-9f2.scope,mems_allowed=0,global_oom,task_memcg=/kubepods/burstable/pod7/9f2,task=java,pid=4121,uid=1000
    2024-11-03T02:11:05+00:00 ip-10-0-3-17 kernel: Out of memory: Killed process 4121 (java) total-vm:9012345kB, anon-rss:6291456kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:14000kB oom_score_adj:984
"""

MEMCG_OOM = """
    $ journalctl -k --since "2024-11-03 02:00"
    2024-11-03T02:11:05+00:00 ip-10-0-3-17 kernel: oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=cri-containerd-9f2.scope,mems_allowed=0,oom_memcg=/kubepods/burstable/pod7,task_memcg=/kubepods/burstable/pod7/9f2,task=java,pid=4121,uid=1000
    2024-11-03T02:11:05+00:00 ip-10-0-3-17 kernel: Memory cgroup out of memory: Killed process 4121 (java) total-vm:5012345kB, anon-rss:1048576kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:4000kB oom_score_adj:984
"""


def test_the_kernels_global_oom_killer_is_node_pressure() -> None:
    pasted = incident(GLOBAL_OOM)
    finding = only(pasted.run(node_pressure.analyze, "orders-api"), "node-memory-pressure")
    assert "global OOM killer" in finding.detail and "killed java" in finding.detail
    assert any("constraint=CONSTRAINT_NONE" in s.excerpt for s in finding.evidence)
    pasted.assert_cited(finding)


def test_a_memory_cgroup_oom_is_the_containers_own_limit() -> None:
    pasted = incident(MEMCG_OOM)
    assert len(pasted.read("log")) == 2
    assert pasted.run(node_pressure.analyze, "orders-api") == []


def test_a_global_oom_from_hours_before_the_incident_is_history() -> None:
    pasted = incident(
        GLOBAL_OOM.replace("2024-11-03T02:11", "2024-11-02T14:11"),
        """
        $ kubectl logs orders-api-7c9f8d6b5-m4k2p -n shop
        2024-11-03T02:14:07Z ERROR upstream timed out while reading response header
        """,
    )
    assert len(pasted.read("log")) == 3
    assert pasted.run(node_pressure.analyze, "orders-api") == []


def test_another_pods_global_oom_lines_are_not_ours() -> None:
    pasted = incident(
        """
        $ kubectl logs -n payments node-problem-detector-x7k2p
        2024-11-03T02:11:05+00:00 ip-10-0-3-17 kernel: Out of memory: Killed process 4121 (java) total-vm:9012345kB, anon-rss:6291456kB
        """
    )
    assert pasted.read("log")
    assert pasted.run(node_pressure.analyze, "orders-api") == []


def test_a_pod_described_as_evicted_for_memory() -> None:
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
    finding = only(pasted.run(node_pressure.analyze, "orders-api"), "node-memory-pressure")
    assert any("low on resource: memory" in s.excerpt for s in finding.evidence)
    pasted.assert_cited(finding)


def test_a_pod_described_as_evicted_for_ephemeral_storage_is_not_memory() -> None:
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
    assert pasted.read("pod.status")
    assert pasted.run(node_pressure.analyze, "orders-api") == []


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


def test_the_kubelet_reclaiming_disk_is_not_memory_pressure() -> None:
    pasted = incident(
        node_events(
            "  Warning  EvictionThresholdMet  4m32s  kubelet  Attempting to reclaim ephemeral-storage",
            "  Warning  EvictionThresholdMet  3m10s  kubelet  Attempting to reclaim nodefs",
            "  Warning  EvictionThresholdMet  2m     kubelet  Attempting to reclaim imagefs",
        )
    )
    assert len(pasted.read("event")) == 3
    assert pasted.run(node_pressure.analyze, "orders-api") == []


def test_the_kubelet_reclaiming_memory_and_a_system_oom_are_memory_pressure() -> None:
    pasted = incident(
        node_events(
            "  Warning  EvictionThresholdMet  4m32s  kubelet  Attempting to reclaim memory",
            "  Warning  SystemOOM             3m     kubelet  System OOM encountered, victim process: java, pid: 4121",
        )
    )
    finding = only(pasted.run(node_pressure.analyze, "orders-api"), "node-memory-pressure")
    assert len(finding.evidence) == 2
    pasted.assert_cited(finding)


def test_a_memory_eviction_days_ago_is_history() -> None:
    pasted = incident(
        """
        $ kubectl get events -n shop
        LAST SEEN   TYPE      REASON    OBJECT                           MESSAGE
        3d          Warning   Evicted   pod/orders-api-7c9f8d6b5-m4k2p   The node was low on resource: memory. Threshold quantity: 100Mi, available: 91232Ki.
        """
    )
    assert pasted.read("event")
    assert pasted.run(node_pressure.analyze, "orders-api") == []


EVICTED_CLAIMS_POD = """
    $ kubectl -n insure describe pod claims-engine-66f9c7d4b8-tq7wd
    Name:             claims-engine-66f9c7d4b8-tq7wd
    Status:           Failed
    Reason:           Evicted
    Message:          The node was low on resource: memory. Container claims-engine was using 2587112Ki.
"""


def test_an_eviction_of_a_pod_template_a_later_rollout_replaced_is_history() -> None:
    pods = """
        $ kubectl -n insure get pods -l app=claims-engine
        NAME                              READY   STATUS    RESTARTS   AGE
        claims-engine-66f9c7d4b8-tq7wd    0/1     Evicted   0          31d
        claims-engine-7b5c9d8f6-4kx2m     1/1     Running   0          6d
    """
    assert incident(pods, EVICTED_CLAIMS_POD).run(node_pressure.analyze, "claims-engine") == []


def test_an_eviction_with_no_later_rollout_is_node_pressure() -> None:
    finding = only(
        incident(EVICTED_CLAIMS_POD).run(node_pressure.analyze, "claims-engine"), "node-memory-pressure"
    )
    assert any("low on resource: memory" in s.excerpt for s in finding.evidence)
