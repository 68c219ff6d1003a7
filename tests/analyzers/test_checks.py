"""The checks to run first paste as they are: the host, port, namespace and pod of the actual target."""

from __future__ import annotations

import re

from analyzer_kit import incident
from redis_snippets import info

from analyzers import analyze
from analyzers.evidence import Evidence, Fact, Source, Subject
from bot.check import with_kube_context

UNBOUNDED = (
    "# Memory",
    "used_memory:1500000",
    "maxmemory:0",
    "maxmemory_policy:noeviction",
    "# Keyspace",
    "db0:keys=3000,expires=0,avg_ttl=0",
)


def live_redis(origin: str) -> Evidence:
    """What the Redis collector gives for a server it reached at `origin` (INFO fields as facts)."""
    evidence = Evidence()
    about = Subject(None, None, None, "session-cache", origin.split("://", 1)[1])
    for line in UNBOUNDED:
        if ":" in line:
            key, value = line.split(":", 1)
            source = Source("redis-live", f"{origin} INFO", line)
            evidence.add(Fact("redis.info", about, value, source, key=key))
    return evidence


def redis_checks(evidence: Evidence, service: str = "session-cache") -> list[str]:
    checks = analyze(evidence, service).checks
    found = [c for c in checks if "redis-cli" in c]
    assert found, checks
    return found


def test_every_redis_cli_check_of_a_live_redis_names_its_host_and_port() -> None:
    for command in redis_checks(live_redis("redis://127.0.0.1:6391")):
        calls = re.findall(r"redis-cli(?: -h \S+ -p \d+)?", command)
        assert calls and all(call == "redis-cli -h 127.0.0.1 -p 6391" for call in calls), command


def test_tls_and_unix_socket_targets_keep_their_transport() -> None:
    assert all("--tls" in c for c in redis_checks(live_redis("rediss://cache.internal:6380")))
    assert all(
        "redis-cli -s /run/redis.sock" in c for c in redis_checks(live_redis("unix:///run/redis.sock"))
    )


def test_a_pasted_pod_is_reached_through_kubectl_exec_in_its_namespace() -> None:
    pasted = info("session-store-0", *UNBOUNDED)  # `$ kubectl exec -n web session-store-0 -- redis-cli INFO`
    checks = redis_checks(incident(pasted).evidence, "session-store")
    assert all("kubectl -n web exec session-store-0 -- redis-cli" in c for c in checks), checks


def test_without_pod_or_url_the_exporters_host_and_port_are_used() -> None:
    exposition = """
        # TYPE redis_memory_max_bytes gauge
        redis_memory_max_bytes{instance="session-cache.cache.svc:6379"} 0
        # TYPE redis_memory_used_bytes gauge
        redis_memory_used_bytes{instance="session-cache.cache.svc:6379"} 58720256
    """
    checks = analyze(incident(exposition).evidence, "session-cache").checks
    cli = [c for c in checks if "redis-cli" in c]
    assert cli and all("redis-cli -h session-cache.cache.svc -p 6379" in c for c in cli), checks


def test_kubectl_checks_are_pointed_at_the_context_the_collection_used() -> None:
    command = "kubectl describe node $(kubectl -n web get pod p -o jsonpath='{.spec.nodeName}')"
    assert with_kube_context(command, "prod-eu") == (
        "kubectl --context prod-eu describe node $(kubectl --context prod-eu -n web get pod p "
        "-o jsonpath='{.spec.nodeName}')"
    )
    assert with_kube_context("kubectl --context a get pods", "b") == "kubectl --context a get pods"
    assert with_kube_context("kubectl top pod", "my ctx") == "kubectl --context 'my ctx' top pod"
