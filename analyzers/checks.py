"""What to check first: the commands that confirm the diagnosis, most useful first."""

from __future__ import annotations

import re

from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.registry import SPECS

# The commands that confirm each finding, from its registration.
_CHECKS: dict[str, tuple[str, ...]] = {spec.id: spec.checks for spec in SPECS}


def checks(context: Context, root_causes: list[str], findings: list[Finding]) -> list[str]:
    pod = _first(context, "pod") or (f"<{context.service}-pod>" if context.service else "<pod>")
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
