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
