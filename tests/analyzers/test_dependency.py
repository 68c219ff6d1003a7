"""dependency-unavailable: the service fails because something it depends on drops it."""

from __future__ import annotations

import pytest
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


def test_two_failed_connections_in_a_long_busy_log_are_not_an_outage() -> None:
    busy = [f"WARN  http: request {n} took 1.{n}s" for n in range(12)]
    pasted = incident(orders_logs(REFUSED, *busy, REFUSED))
    assert len(pasted.read("log")) == 14
    assert pasted.run(dependency.analyze, "orders-api") == []


def test_a_single_clear_line_naming_the_peer_is_enough_when_it_is_all_the_paste_has() -> None:
    pasted = incident(
        """
        $ kubectl logs pipecd-server-67dcf95d8c-t7fg2
        failed to create filestore      {"error": "failed to check if bucket exists: Get \\"http://pipecd-minio:9000/quickstart/?location=\\": dial tcp <REMOVED>:9000: connect: connection refused"}
        """
    )
    finding = only(pasted.run(dependency.analyze, "pipecd-server"), "dependency-unavailable")
    assert finding.data["dependency"] == "pipecd-minio:9000"
    assert finding.confidence >= 0.5
    pasted.assert_cited(finding)


def test_client_wordings_name_host_and_port() -> None:
    lines = {
        "sentry-sentry-redis-master:6379": "Error 111 connecting to sentry-sentry-redis-master:6379. Connection refused.",
        "valkey-primary:6379": "production.ERROR: Connection refused [tcp://valkey-primary:6379]",
        "redis.cache:6379": "[ERROR] consumer: Cannot connect to redis://redis.cache:6379/0: Error 111.",
        "10.0.0.1:9000": "ERROR dial tcp 10.0.0.1:9000: connect: connection refused",
        "orders-pg": "ERROR dial tcp: lookup orders-pg on 10.96.0.10:53: no such host",
        "db.internal": 'FATAL: could not translate host name "db.internal" to address: Name or service not known',
        "cache:6379": "[ioredis] Unhandled error event: Error: connect ECONNREFUSED cache:6379",
    }
    for name, line in lines.items():
        pasted = incident(orders_logs(line))
        finding = only(pasted.run(dependency.analyze, "orders-api"), "dependency-unavailable")
        assert finding.data["dependency"] == name, line
        pasted.assert_cited(finding)


def test_a_peer_named_only_by_its_protocol_is_named_by_kind() -> None:
    pasted = incident("RedisException LOADING Redis is loading the dataset in memory\n")
    finding = only(pasted.run(dependency.analyze, "horizon"), "dependency-unavailable")
    assert finding.data["dependency"] == "Redis"
    assert finding.data["failure"] == "loading"


def test_a_redis_loading_in_a_redis_services_own_paste_is_not_a_dependency() -> None:
    pasted = incident("RedisException LOADING Redis is loading the dataset in memory\n")
    assert pasted.read("log")
    assert pasted.run(dependency.analyze, "session-redis") == []


def test_the_service_refusing_its_own_clients_is_not_a_dependency() -> None:
    pasted = incident("Error 111 connecting to orders-api:8080. Connection refused.\n")
    assert pasted.read("log")
    assert pasted.run(dependency.analyze, "orders-api") == []


def test_failures_that_stopped_long_before_the_newest_evidence_are_history() -> None:
    later = "\n".join(f"2024-11-03T04:{m:02d}:00Z WARN http: request took 1.2s" for m in range(10, 15))
    pasted = incident(
        orders_logs(REFUSED, REFUSED, REFUSED), f"$ kubectl logs orders-api-7c9f8d6b5-m4k2p -n shop\n{later}"
    )
    assert len(pasted.read("log")) == 8
    assert pasted.run(dependency.analyze, "orders-api") == []


def test_kubelet_probes_dialling_the_pod_are_not_a_dependency() -> None:
    pasted = incident(
        """
        Warning  Unhealthy  81s (x7 over 2m21s)  kubelet, kw4       Readiness probe failed: Get https://10.42.4.131:443/ping: dial tcp 10.42.4.131:443: connect: connection refused
        """
    )
    assert pasted.read("log") or pasted.read("event")
    assert pasted.run(dependency.analyze, "pomerium-proxy") == []


def test_failures_in_another_services_logs_are_not_ours() -> None:
    pasted = incident(orders_logs(REFUSED, REFUSED, REFUSED, pod="ledger-worker-5d8f7c9b4-q2w7e"))
    assert pasted.run(dependency.analyze, "orders-api") == []


def test_unattributed_lines_beside_the_services_own_logs_are_not_its_failures() -> None:
    pasted = incident(
        orders_logs("WARN  http: request took 2.3s"),
        "\n".join(f"2024-11-03T02:11:0{i}Z {REFUSED}" for i in range(4)),
    )
    assert len(pasted.read("log")) == 5
    assert pasted.run(dependency.analyze, "orders-api") == []


def test_a_loopback_peer_is_flagged_as_such() -> None:
    line = "Cannot connect to redis://127.0.0.1:6379/0: Error 111 connecting to 127.0.0.1:6379. Connection refused.."
    pasted = incident(orders_logs(line))
    finding = only(pasted.run(dependency.analyze, "orders-api"), "dependency-unavailable")
    assert finding.data["loopback"] is True
    assert "the client is pointed at the wrong host" in finding.detail


def test_a_dependency_name_reported_not_resolving_is_a_weak_dns_failure() -> None:
    pasted = incident('Reporter: "Looks like the postgres db hostname is not resolving"\n')
    finding = only(pasted.run(dependency.analyze, None), "dependency-unavailable")
    assert finding.data["failure"] == "dns"
    assert "as reported" in finding.detail
    assert 0.5 <= finding.confidence < 0.6
    pasted.assert_cited(finding)


@pytest.mark.parametrize(
    "sentence",
    [
        'Reporter: "Is the postgres hostname not resolving, or is it the firewall?"',
        'Reporter: "I am not sure if the postgres hostname does not resolve from the pod"',
        'Reporter: "The hostname is not resolving but I do not know which one"',  # no server named
    ],
)
def test_a_question_a_doubt_or_no_named_server_is_not_a_dns_failure(sentence: str) -> None:
    pasted = incident(sentence + "\n")
    assert pasted.read("text.note")
    assert pasted.run(dependency.analyze, None) == []


@pytest.mark.parametrize(
    "sentence",
    [
        'Reporter: "The postgres hostname was not resolving during the CoreDNS upgrade, it works now"',
        'Reporter: "From my laptop the redis hostname does not resolve, which is expected"',
        'Reporter: "The docs say: when the MySQL service name fails to resolve, the pod restarts"',
    ],
)
def test_a_dns_failure_that_is_over_expected_or_quoted_is_not_one(sentence: str) -> None:
    pasted = incident(sentence + "\n")
    assert pasted.run(dependency.analyze, None) == []


def test_a_python_requests_connection_error_names_host_and_port() -> None:
    pasted = incident(
        "ticker_1  | requests.exceptions.ConnectionError: HTTPConnectionPool(host='138.197.160.134', port=8545): "
        "Max retries exceeded with url: / (Caused by NewConnectionError('<urllib3.connection.HTTPConnection "
        "object at 0x7f>: Failed to establish a new connection: [Errno 111] Connection refused',))\n"
    )
    finding = only(pasted.run(dependency.analyze, None), "dependency-unavailable")
    assert finding.data["dependency"] == "138.197.160.134:8545"
