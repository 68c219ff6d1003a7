"""cpu-throttling: the main container spends a large share of its CFS periods throttled."""

from __future__ import annotations

import pytest
from analyzer_kit import incident, only
from incidents import SEARCH_API_CPU_LIMIT_300M

from analyzers import cpu_throttling

SEARCH_API_POD = (
    SEARCH_API_CPU_LIMIT_300M
    + """\
        Requests:
          cpu:     300m
          memory:  512Mi
"""
)

TOP_AT_LIMIT = """
    $ kubectl top pod search-api-5f6d7c8b9a-p2q3r -n catalog --containers
    POD                            NAME         CPU(cores)   MEMORY(bytes)
    search-api-5f6d7c8b9a-p2q3r    search-api   298m         201Mi
"""


def cfs_counters(container: str, periods: int, throttled: int) -> str:
    labels = f'namespace="catalog",pod="search-api-5f6d7c8b9a-p2q3r",container="{container}"'
    return (
        f"container_cpu_cfs_periods_total{{{labels}}} {periods}\n"
        f"container_cpu_cfs_throttled_periods_total{{{labels}}} {throttled}\n"
    )


def cfs_range(periods: list[int], throttled: list[int]) -> str:
    labels = '"namespace":"catalog","pod":"search-api-5f6d7c8b9a-p2q3r","container":"search-api"'

    def values(counts: list[int]) -> str:
        return ",".join(f'[{1730600000 + 300 * i},"{c}"]' for i, c in enumerate(counts))

    return (
        '{"status":"success","data":{"resultType":"matrix","result":['
        f'{{"metric":{{"__name__":"container_cpu_cfs_periods_total",{labels}}},"values":[{values(periods)}]}},'
        f'{{"metric":{{"__name__":"container_cpu_cfs_throttled_periods_total",{labels}}},'
        f'"values":[{values(throttled)}]}}'
        "]}}"
    )


def test_half_the_periods_throttled_at_300m_is_critical() -> None:
    pasted = incident(SEARCH_API_POD, TOP_AT_LIMIT, cfs_counters("search-api", 120000, 60000))
    finding = only(pasted.run(cpu_throttling.analyze, "search-api"), "cpu-throttling")
    assert finding.severity == "critical"
    assert finding.data["container"] == "search-api"
    assert finding.data["share"] == pytest.approx(0.5)
    assert finding.data["cpu_limit"] == pytest.approx(0.3)
    assert "50%" in finding.title
    assert "limit of 300m" in finding.detail
    assert "pinned at the limit (298m)" in finding.detail
    excerpts = " ".join(s.excerpt for s in finding.evidence)
    assert "container_cpu_cfs_throttled_periods_total" in excerpts and "cpu:     300m" in excerpts
    pasted.assert_cited(finding)


def test_a_third_of_the_periods_throttled_over_a_range_is_a_warning() -> None:
    # Over the window: 6000 periods, 2000 of them throttled.
    pasted = incident(SEARCH_API_POD, cfs_range([50000, 53000, 56000], [1000, 2000, 3000]))
    finding = only(pasted.run(cpu_throttling.analyze, "search-api"), "cpu-throttling")
    assert finding.severity == "warning"
    assert finding.data["share"] == pytest.approx(1 / 3)
    pasted.assert_cited(finding)


def test_throttling_below_a_quarter_of_the_periods_stays_silent() -> None:
    pasted = incident(SEARCH_API_POD, TOP_AT_LIMIT, cfs_counters("search-api", 120000, 24000))
    assert len(pasted.read("metric")) == 2
    assert pasted.run(cpu_throttling.analyze, "search-api") == []


def test_old_throttling_in_the_counters_does_not_count_when_the_window_is_calm() -> None:
    # The counters say 57% since the container started, but only 10% during the window.
    pasted = incident(SEARCH_API_POD, cfs_range([100000, 103000, 106000], [60000, 60300, 60600]))
    assert pasted.run(cpu_throttling.analyze, "search-api") == []


def test_a_throttled_service_mesh_sidecar_is_not_the_service_throttled() -> None:
    pasted = incident(SEARCH_API_POD, cfs_counters("istio-proxy", 120000, 100000))
    assert pasted.run(cpu_throttling.analyze, "search-api") == []


def test_another_pod_being_throttled_is_not_ours() -> None:
    other = (
        'container_cpu_cfs_periods_total{namespace="catalog",pod="indexer-6b7c8d9e0f-z1y2x",'
        'container="indexer"} 120000\n'
        'container_cpu_cfs_throttled_periods_total{namespace="catalog",pod="indexer-6b7c8d9e0f-z1y2x",'
        'container="indexer"} 90000\n'
    )
    pasted = incident(SEARCH_API_POD, other)
    assert pasted.run(cpu_throttling.analyze, "search-api") == []


def _proxy_pod(cpu_limit: str, probe_message: str) -> str:
    return f"""
        $ kubectl -n edge describe pod proxy-84bb9dc8ff-lhcd2
        Name:         proxy-84bb9dc8ff-lhcd2
        Namespace:    edge
        Containers:
          proxy:
            Limits:
              cpu:     {cpu_limit}
              memory:  256Mi
        Events:
          Type     Reason     Age                  From               Message
          ----     ------     ----                 ----               -------
          Normal   Killing    90s (x2 over 2m)     kubelet            Container proxy failed liveness probe, will be restarted
          Warning  Unhealthy  80s (x7 over 2m20s)  kubelet            Liveness probe failed: {probe_message}
    """


def test_probe_kills_under_a_tiny_cpu_limit_are_a_starved_start() -> None:
    pasted = incident(
        _proxy_pod(
            "100m", "Get https://10.42.4.131:443/ping: dial tcp 10.42.4.131:443: connect: connection refused"
        )
    )
    finding = only(pasted.run(cpu_throttling.analyze, "proxy"), "cpu-throttling")
    assert "CPU limit of 100m" in finding.title
    assert finding.data["target_cpu"] == 0.5
    assert 0.5 <= finding.confidence < 0.9
    pasted.assert_cited(finding)
    diagnosis = pasted.diagnose("proxy")
    assert diagnosis.root_causes[0] == "cpu-throttling"


@pytest.mark.parametrize(
    ("cpu_limit", "probe_message"),
    [
        ("2", "Get https://10.42.4.131:443/ping: dial tcp 10.42.4.131:443: connect: connection refused"),
        ("100m", "HTTP probe failed with statuscode: 500"),  # it answers: not starved, broken
    ],
)
def test_probe_kills_stay_a_probe_problem_when_the_limit_is_ample_or_the_process_answers(
    cpu_limit: str, probe_message: str
) -> None:
    pasted = incident(_proxy_pod(cpu_limit, probe_message))
    assert pasted.run(cpu_throttling.analyze, "proxy") == []


def test_a_tiny_cpu_limit_alone_is_not_a_finding() -> None:
    pasted = incident(_proxy_pod("100m", "x").split("        Events:")[0])
    assert pasted.read("container.cpu_limit")
    assert pasted.run(cpu_throttling.analyze, "proxy") == []


@pytest.mark.parametrize(("limit", "found"), [("100m", True), ("4", False)])
def test_throttling_reported_in_words_with_a_small_limit_is_a_weak_finding(limit: str, found: bool) -> None:
    pasted = incident(
        'Reporter: "We have observed the controller hitting its CPU limit very often"\n',
        f"""
        $ kubectl describe pod controller-7d9f8c6b5-q2w8z
        Name:         controller-7d9f8c6b5-q2w8z
        Containers:
          controller:
            Limits:
              cpu:     {limit}
        """,
    )
    findings = pasted.run(cpu_throttling.analyze, "controller")
    if not found:
        assert findings == []
        return
    finding = only(findings, "cpu-throttling")
    assert finding.confidence == 0.5
    pasted.assert_cited(finding)
