"""jvm-heap-exceeds-limit: the JVM may grow its heap past the container's memory limit."""

from __future__ import annotations

import pytest
from analyzer_kit import fact, incident, only
from incidents import BILLING_SVC_RUNNING

from analyzers import jvm_heap, memory_limit
from analyzers.evidence import LogRecord, Subject
from analyzers.quantity import GI, MI

BILLING_SVC_XMX_1536M_NO_LIMIT = (
    BILLING_SVC_RUNNING
    + """\
        Environment:
          JAVA_TOOL_OPTIONS:  -Xmx1536m
"""
)


def billing_pod(java_options: str, memory: str, last_reason: str = "OOMKilled") -> str:
    return f"""
        $ kubectl describe pod billing-svc-6d7f8b9c5d-k3j4h -n finance
        Name:             billing-svc-6d7f8b9c5d-k3j4h
        Namespace:        finance
        Controlled By:    ReplicaSet/billing-svc-6d7f8b9c5d
        Containers:
          billing-svc:
            Image:          registry.local/billing-svc:2.8.0
            State:          Running
            Last State:     Terminated
              Reason:       {last_reason}
              Exit Code:    137
            Ready:          True
            Restart Count:  3
            Limits:
              cpu:     1
              memory:  {memory}
            Requests:
              cpu:     500m
              memory:  {memory}
            Environment:
              JAVA_TOOL_OPTIONS:  {java_options}
              SPRING_PROFILES_ACTIVE:  prod
    """


def test_an_xmx_larger_than_the_limit_is_critical() -> None:
    pasted = incident(billing_pod("-Xms512m -Xmx1536m -XX:+UseG1GC", "1Gi"))
    finding = only(pasted.run(jvm_heap.analyze, "billing-svc"), "jvm-heap-exceeds-limit")
    assert finding.severity == "critical"
    assert finding.data["heap"] == 1536 * MI
    assert finding.data["limit"] == GI
    assert finding.data["container"] == "billing-svc"
    assert "1.5Gi" in finding.detail and "1Gi" in finding.detail
    excerpts = [s.excerpt for s in finding.evidence]
    assert any("-Xmx1536m" in e for e in excerpts)
    assert any("memory:  1Gi" in e for e in excerpts)
    assert any("OOMKilled" in e for e in excerpts)
    pasted.assert_cited(finding)


def test_a_heap_that_fits_but_leaves_no_room_off_heap_is_a_warning() -> None:
    # 900m of heap plus at least 256Mi off-heap does not fit in 1Gi.
    pasted = incident(billing_pod("-Xmx900m", "1Gi"))
    finding = only(pasted.run(jvm_heap.analyze, "billing-svc"), "jvm-heap-exceeds-limit")
    assert finding.severity == "warning"
    assert finding.data["heap"] == 900 * MI
    pasted.assert_cited(finding)


def test_max_ram_percentage_is_read_as_a_share_of_the_limit() -> None:
    pasted = incident(billing_pod("-XX:MaxRAMPercentage=90.0", "1Gi"))
    finding = only(pasted.run(jvm_heap.analyze, "billing-svc"), "jvm-heap-exceeds-limit")
    assert finding.data["heap"] == pytest.approx(0.9 * GI)
    assert finding.severity == "warning"


def test_a_gc_log_line_past_the_limit_is_cited() -> None:
    pod = "billing-svc-6d7f8b9c5d-k3j4h"
    gc_line = (
        "[2024-10-21T08:14:03.512+0000][info][gc] GC(412) Pause Young (Normal) 1190M->1102M(1248M) 18.204ms"
    )
    pasted = incident(billing_pod("-Xmx1536m", "1Gi")).with_facts(
        fact("log", LogRecord(gc_line, "info"), gc_line, subject=Subject("finance", pod, None, "billing-svc"))
    )
    finding = only(pasted.run(jvm_heap.analyze, "billing-svc"), "jvm-heap-exceeds-limit")
    assert any("GC(412)" in s.excerpt for s in finding.evidence)
    pasted.assert_cited(finding)


def test_an_oom_kill_caused_by_the_heap_setting_is_not_blamed_on_the_limit() -> None:
    pasted = incident(billing_pod("-Xmx1536m", "1Gi"))
    assert pasted.run(memory_limit.analyze, "billing-svc") == []


def test_xmx512m_under_a_2gi_limit_stays_silent() -> None:
    pasted = incident(billing_pod("-Xms256m -Xmx512m", "2Gi", last_reason="Completed"))
    assert [f.value for f in pasted.read("container.env", "JAVA_TOOL_OPTIONS")] == ["-Xms256m -Xmx512m"]
    assert pasted.run(jvm_heap.analyze, "billing-svc") == []


def test_max_ram_percentage_75_fits_the_limit() -> None:
    pasted = incident(billing_pod("-XX:MaxRAMPercentage=75", "2Gi", last_reason="Completed"))
    assert pasted.run(jvm_heap.analyze, "billing-svc") == []


def test_java_options_without_a_memory_limit_give_nothing() -> None:
    pasted = incident(BILLING_SVC_XMX_1536M_NO_LIMIT)
    assert pasted.run(jvm_heap.analyze, "billing-svc") == []


START_SCRIPT_HEAP = """
    $ kubectl logs ledger-api-5c9d7b8f6-x7k2p
    + exec java -Xmx3072m -jar /app/ledger.jar
    $ kubectl get deploy ledger-api -o jsonpath='{.spec.template.spec.containers[*].resources.limits.memory}'
    2Gi
"""


def test_a_heap_set_by_a_start_script_above_the_limit_with_no_oom_yet() -> None:
    pasted = incident(START_SCRIPT_HEAP)
    finding = only(pasted.run(jvm_heap.analyze, "ledger-api"), "jvm-heap-exceeds-limit")
    assert finding.severity == "critical"  # the heap alone is larger than the limit
    assert "3Gi" in finding.detail and "2Gi" in finding.detail
    pasted.assert_cited(finding)


def test_a_chart_value_that_carries_heap_flags() -> None:
    values = """
        esJavaOpts: "-Xmx2g -Xms2g"
        resources:
          limits:
            memory: 2Gi
    """
    finding = only(incident(values).run(jvm_heap.analyze, None), "jvm-heap-exceeds-limit")
    assert "heap of 2Gi" in finding.detail


def test_a_start_script_heap_that_fits_is_silent() -> None:
    fits = START_SCRIPT_HEAP.replace("-Xmx3072m", "-Xmx1024m")
    assert incident(fits).run(jvm_heap.analyze, "ledger-api") == []


def test_another_services_java_command_is_not_ours() -> None:
    other = START_SCRIPT_HEAP.replace(
        "$ kubectl logs ledger-api-5c9d7b8f6-x7k2p", "$ kubectl logs billing-7d9f8c6b5-q2w8z"
    )
    assert incident(other).run(jvm_heap.analyze, "ledger-api") == []
