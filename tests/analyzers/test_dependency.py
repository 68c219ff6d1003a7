"""dependency-unavailable: the service fails because something it depends on drops it."""

from __future__ import annotations

from analyzer_kit import incident, only

from analyzers import dependency

REFUSED = "ERROR db: dial tcp orders-postgres.shop.svc.cluster.local:5432: connect: connection refused"


def orders_logs(*lines: str, pod: str = "orders-api-7c9f8d6b5-m4k2p") -> str:
    stamped = [f"2024-11-03T02:11:{10 + 5 * i:02d}Z {line}" for i, line in enumerate(lines)]
    return "\n".join([f"$ kubectl logs {pod} -n shop", *stamped]) + "\n"


def test_repeated_refused_connections_name_the_dependency() -> None:
    pasted = incident(orders_logs(REFUSED, REFUSED, "WARN  http: request took 2.3s", REFUSED, REFUSED))
    finding = only(pasted.run(dependency.analyze, "orders-api"), "dependency-unavailable")
    assert finding.severity == "warning"
    assert finding.data["host"] == "orders-postgres.shop.svc.cluster.local"
    assert "4 failed connections" in finding.detail
    assert len(finding.evidence) == 2
    assert all("connection refused" in s.excerpt for s in finding.evidence)
    pasted.assert_cited(finding)


def test_the_dependency_failing_most_is_the_one_named() -> None:
    timeout = "WARN  payments: dial tcp payments-gateway.pay.svc:443: i/o timeout"
    pasted = incident(orders_logs(timeout, REFUSED, timeout, timeout))
    finding = only(pasted.run(dependency.analyze, "orders-api"), "dependency-unavailable")
    assert finding.data["host"] == "payments-gateway.pay.svc"
    assert "3 failed connections" in finding.detail


def test_two_failed_connections_are_not_an_outage() -> None:
    pasted = incident(orders_logs(REFUSED, "INFO  db: reconnected", REFUSED))
    assert pasted.run(dependency.analyze, "orders-api") == []


def test_failures_in_another_services_logs_are_not_ours() -> None:
    pasted = incident(orders_logs(REFUSED, REFUSED, REFUSED, pod="ledger-worker-5d8f7c9b4-q2w7e"))
    assert pasted.run(dependency.analyze, "orders-api") == []


def test_lines_we_cannot_attribute_to_the_service_are_not_enough() -> None:
    pasted = incident("\n".join(f"2024-11-03T02:11:0{i}Z {REFUSED}" for i in range(4)))
    assert pasted.run(dependency.analyze, "orders-api") == []
