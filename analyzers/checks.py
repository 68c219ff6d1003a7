"""What to check first: the commands that confirm the diagnosis, most useful first."""

from __future__ import annotations

import re

from analyzers.context import Context
from analyzers.diagnosis import Finding

_CHECKS: dict[str, tuple[str, ...]] = {
    "container-oom-killed": ("kubectl {ns}describe pod {pod} | grep -A5 'Last State'",),
    "memory-limit-too-low": ("kubectl {ns}top pod {pod} --containers",),
    "crash-loop": ("kubectl {ns}logs {pod} --previous --tail=50",),
    "redis-maxmemory-unset": ("{cli} CONFIG GET maxmemory", "{cli} INFO memory"),
    "redis-noeviction-policy": ("{cli} CONFIG GET maxmemory-policy",),
    "redis-maxmemory-reached": (
        "{cli} INFO memory | grep -E 'used_memory:|maxmemory'",
        "{cli} INFO errorstats",
    ),
    "redis-fork-failed": (
        "{cli} INFO persistence | grep -E 'rdb_last_bgsave_status|aof_last_bgrewrite_status'",
    ),
    "redis-config-not-applied": (
        "{cli} CONFIG GET save",
        "kubectl {ns}get configmap -o yaml | grep -A20 redis.conf",
    ),
    "redis-persistence-disabled": ("{cli} CONFIG GET save", "{cli} CONFIG GET appendonly"),
    "redis-keys-without-ttl": (
        "{cli} INFO keyspace",
        "{cli} --scan --count 100 | head -20 | xargs -n1 {cli} TTL",
    ),
    "redis-maxclients-reached": (
        "{cli} INFO clients",
        "{cli} CLIENT LIST | awk '{{print $2}}' | cut -d= -f2 | cut -d: -f1 | sort | uniq -c | sort -rn | head",
    ),
    "redis-auth-disabled": ("{cli} ACL WHOAMI",),
    "redis-memory-fragmentation": ("{cli} MEMORY DOCTOR",),
    "cpu-throttling": (
        "kubectl {ns}top pod {pod} --containers",
        'sum(rate(container_cpu_cfs_throttled_periods_total{{pod=~"{service}.*"}}[5m])) / sum(rate(container_cpu_cfs_periods_total{{pod=~"{service}.*"}}[5m]))',
    ),
    "liveness-probe-failing": (
        "kubectl {ns}get events --field-selector involvedObject.name={pod},reason=Unhealthy",
        "kubectl {ns}get pod {pod} -o jsonpath='{{.spec.containers[0].livenessProbe}}'",
    ),
    "readiness-probe-failing": ("kubectl {ns}describe pod {pod} | grep -A3 Readiness",),
    "image-pull-failed": (
        "kubectl {ns}get rs -l app.kubernetes.io/name={service} -o wide",
        "kubectl {ns}rollout history deploy/{service}",
    ),
    "app-config-error": (
        "kubectl {ns}logs {pod} --previous | tail -20",
        "kubectl {ns}describe pod {pod} | grep -A20 Environment",
    ),
    "jvm-heap-exceeds-limit": (
        "kubectl {ns}exec {pod} -- jcmd 1 VM.flags | tr ' ' '\\n' | grep -E 'MaxHeapSize|MaxRAM'",
    ),
    "memory-growth-unbounded": ('container_memory_working_set_bytes{{pod=~"{service}.*",container!=""}}',),
    "node-memory-pressure": (
        "kubectl describe node $(kubectl {ns}get pod {pod} -o jsonpath='{{.spec.nodeName}}') | grep -A8 Conditions",
    ),
    "disk-full": ("kubectl {ns}exec {pod} -- df -h",),
    "dependency-unavailable": ("kubectl {ns}logs {pod} --tail=200 | grep -iE 'refused|timeout|reset'",),
    "downstream-latency": ("kubectl {ns}logs deploy/<client> --since=15m | grep -i slow",),
    "data-loss-on-restart": ("{cli} INFO server | grep uptime_in_seconds",),
}


def checks(context: Context, root_causes: list[str], findings: list[Finding]) -> list[str]:
    pod = _first(context, "pod") or f"<{context.service or 'pod'}-pod>"
    namespace = _first(context, "namespace")
    values = {
        "ns": f"-n {namespace} " if namespace else "",
        "pod": pod,
        "service": context.service or "<service>",
        "cli": redis_cli(context, namespace),
    }
    ordered = root_causes + [f.id for f in findings if f.id not in root_causes]
    result: list[str] = []
    for finding_id in ordered:
        for template in _CHECKS.get(finding_id, ()):
            command = template.format(**values)
            if command not in result:
                result.append(command)
    return result[:8]


def redis_cli(context: Context, namespace: str | None) -> str:
    """redis-cli as the Redis was reached: the URL a live check used (host, port, TLS, socket),
    else through the pod, else the host:port the exporter names, else the service's name."""
    live = _live_redis(context)
    if live:
        return live
    pod = _first(context, "pod")
    if pod:
        return f"kubectl {'-n ' + namespace + ' ' if namespace else ''}exec {pod} -- redis-cli"
    instance = next(
        (
            f.subject.instance
            for f in context.mine("metric")
            if f.subject.instance and re.fullmatch(r"[\w.-]+:\d+", f.subject.instance)
        ),
        None,
    )
    if instance:
        host, port = instance.rsplit(":", 1)
        return f"redis-cli -h {host} -p {port}"
    return f"redis-cli -h {context.service or '<redis-host>'} -p 6379"


def _live_redis(context: Context) -> str | None:
    """From the origin a live Redis fact cites: `redis://10.0.0.7:6380 INFO`."""
    for fact in context.evidence.facts:
        found = _ORIGIN.match(fact.source.ref) if fact.source.kind == "redis-live" else None
        if not found:
            continue
        scheme, where = found.group(1), found.group(2)
        if scheme == "unix":
            return f"redis-cli -s {where}"
        host, _, port = where.rpartition(":")
        host = host.strip("[]")
        return f"redis-cli -h {host} -p {port}" + (" --tls" if scheme == "rediss" else "")
    return None


_ORIGIN = re.compile(r"^(redis|rediss|unix)://(\S+)\s")


def _first(context: Context, part: str) -> str | None:
    for fact in context.evidence.facts:
        if context.relation(fact.subject) == "self":
            value = getattr(fact.subject, part)
            if value:
                return str(value)
    return None
