"""Ranking root causes: which findings explain the others."""

from __future__ import annotations

from typing import Any

from analyzer_kit import incident
from incidents import FLUENT_BIT_OOM_32MI_SIDECAR, SEARCH_API_CPU_LIMIT_300M, SESSION_STORE_OOM_64MI

from analyzers.correlate import MAX_ROOT_CAUSES, rank
from analyzers.diagnosis import Finding, Severity
from analyzers.evidence import Source

SESSION_STORE_MEMORY_PEAK = """\
    $ kubectl exec session-store-0 -n web -- redis-cli INFO memory
    # Memory
    used_memory:58982400
    used_memory_peak:59244544
    maxmemory:0
"""


def finding(
    finding_id: str, severity: Severity = "critical", confidence: float = 0.9, **data: Any
) -> Finding:
    source = Source("hand", "hand-built.txt", f"evidence for {finding_id}")
    return Finding(finding_id, severity, finding_id, "", confidence, (source,), data)


def test_image_pull_failed_beats_crash_loop() -> None:
    root_causes, ordered = rank([finding("crash-loop"), finding("image-pull-failed")])
    assert root_causes == ["image-pull-failed"]
    assert [f.id for f in ordered] == ["image-pull-failed", "crash-loop"]


def test_memory_limit_too_low_beats_container_oom_killed() -> None:
    root_causes, _ = rank(
        [finding("container-oom-killed", confidence=0.95), finding("memory-limit-too-low", confidence=0.9)]
    )
    assert root_causes == ["memory-limit-too-low"]


def test_a_sidecar_only_oom_never_leads_when_cpu_throttling_is_present() -> None:
    sidecar_oom = finding("container-oom-killed", "warning", 0.9, sidecar_only=True)
    throttled = finding("cpu-throttling", "warning", 0.9)
    root_causes, ordered = rank([sidecar_oom, throttled])
    assert root_causes == ["cpu-throttling"]
    assert ordered[0].id == "cpu-throttling"


def test_effects_lead_only_when_nothing_explains_them() -> None:
    root_causes, _ = rank([finding("crash-loop"), finding("container-oom-killed")])
    assert root_causes == ["container-oom-killed", "crash-loop"]
    root_causes, _ = rank([finding("crash-loop"), finding("container-oom-killed"), finding("cpu-throttling")])
    assert root_causes == ["cpu-throttling"]


def test_a_sidecar_only_oom_is_not_an_effect_to_lead_with_next_to_a_crash_loop() -> None:
    root_causes, _ = rank(
        [finding("container-oom-killed", "warning", sidecar_only=True), finding("crash-loop")]
    )
    assert root_causes == ["crash-loop"]


def test_informational_and_weak_findings_are_not_root_causes() -> None:
    root_causes, ordered = rank(
        [
            finding("redis-auth-disabled", "info", 0.85),
            finding("redis-noeviction-policy", "warning", 0.4),
            finding("redis-maxmemory-unset", "critical", 0.95),
        ]
    )
    assert root_causes == ["redis-maxmemory-unset"]
    assert len(ordered) == 3


def test_a_weakly_supported_cause_yields_to_a_well_supported_one_just_below_it() -> None:
    root_causes, _ = rank(
        [finding("memory-limit-too-low", confidence=0.6), finding("liveness-probe-failing", confidence=0.9)]
    )
    assert root_causes[0] == "liveness-probe-failing"


def test_at_most_three_root_causes_most_likely_first() -> None:
    root_causes, _ = rank(
        [
            finding("redis-keys-without-ttl", "warning"),
            finding("redis-noeviction-policy", "warning"),
            finding("redis-maxmemory-unset"),
            finding("memory-limit-too-low"),
            finding("app-config-error"),
        ]
    )
    assert len(root_causes) == MAX_ROOT_CAUSES
    assert root_causes == ["app-config-error", "memory-limit-too-low", "redis-maxmemory-unset"]


def test_a_redis_oom_killed_at_its_limit_is_blamed_on_the_limit_not_the_kill() -> None:
    pasted = incident(SESSION_STORE_OOM_64MI + SESSION_STORE_MEMORY_PEAK)
    diagnosis = pasted.diagnose("session-store")
    assert diagnosis.root_causes[0] == "memory-limit-too-low"
    assert "container-oom-killed" not in diagnosis.root_causes
    assert "crash-loop" not in diagnosis.root_causes
    found = [f.id for f in diagnosis.findings]
    assert (
        found.index("memory-limit-too-low") < found.index("container-oom-killed") < found.index("crash-loop")
    )


def test_a_failing_image_pull_leads_over_the_restarts_it_causes() -> None:
    pasted = incident(
        """
        $ kubectl get pods -n shop
        NAME                          READY   STATUS             RESTARTS       AGE
        orders-api-5b6c7d8e9f-t7r2q   0/1     ImagePullBackOff   0              6m
        orders-api-7c9f8d6b5-m4k2p    0/1     CrashLoopBackOff   12 (1m ago)    9d
        $ kubectl get events -n shop
        LAST SEEN   TYPE      REASON   OBJECT                            MESSAGE
        2m          Warning   Failed   pod/orders-api-5b6c7d8e9f-t7r2q   Failed to pull image "registry.local/orders-api:4.2.0": not found
        """
    )
    diagnosis = pasted.diagnose("orders-api")
    assert diagnosis.root_causes[0] == "image-pull-failed"
    assert "crash-loop" not in diagnosis.root_causes


def test_cpu_throttling_leads_over_an_oom_killed_logging_sidecar() -> None:
    labels = 'namespace="catalog",pod="search-api-5f6d7c8b9a-p2q3r",container="search-api"'
    pasted = incident(
        SEARCH_API_CPU_LIMIT_300M + FLUENT_BIT_OOM_32MI_SIDECAR,
        f"container_cpu_cfs_periods_total{{{labels}}} 120000\n"
        f"container_cpu_cfs_throttled_periods_total{{{labels}}} 48000\n",
    )
    diagnosis = pasted.diagnose("search-api")
    assert diagnosis.root_causes == ["cpu-throttling"]
    oom = diagnosis.finding("container-oom-killed")
    assert oom is not None and oom.data["sidecar_only"] is True
    assert diagnosis.findings[0].id == "cpu-throttling"
