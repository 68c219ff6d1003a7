"""Reconstruct what the system is from the evidence: purpose and components."""

from __future__ import annotations

import difflib
import re

from analyzers.context import Context, names_match
from analyzers.diagnosis import Component, Finding, Remediation, coverage_of
from analyzers.evidence import Series
from analyzers.ids import FindingId
from analyzers.quantity import format_redis_mb
from analyzers.redis_view import RedisView, redis_view

_RUNTIMES = (
    (re.compile(r"redis_exporter|redis-exporter"), "redis-exporter"),
    (re.compile(r"(^|/)redis[:@]|bitnami/redis|valkey"), "redis"),
    (re.compile(r"envoy"), "envoy"),
    (re.compile(r"fluent-?bit|fluentd|promtail"), "log-shipper"),
    (re.compile(r"postgres"), "postgres"),
)
_CALLS_US = re.compile(r"redis|OOM command not allowed|max number of clients", re.IGNORECASE)
_USAGE_NAMES = {"session": "session store", "cache": "cache", "queue": "job queue", "store": "data store"}


def reconstruct(context: Context) -> tuple[str, list[Component]]:
    service = context.service or "the service"
    redis = redis_view(context)
    components: list[Component] = []
    namespace = next(
        (
            f.subject.namespace
            for f in context.evidence.facts
            if f.subject.namespace and context.relation(f.subject) == "self"
        ),
        None,
    )
    clients = _clients(context)
    elsewhere = _redis_elsewhere(context)
    if redis.present and elsewhere:
        # The Redis in the evidence is another workload's: the named service is one of its users.
        detail = _redis_detail(redis)
        where = f" in namespace {namespace}" if namespace else ""
        purpose = f"{service}{where}: uses Redis {elsewhere} ({detail})"
        components.append(Component(elsewhere, "redis", detail))
        components.append(Component(service, "client", f"calls {elsewhere}"))
        return purpose, components
    if redis.present or _image_kind(context) == "redis":
        detail = _redis_detail(redis)
        usage = _USAGE_NAMES[redis.usage()]
        users = f" used by {', '.join(clients)}" if clients else ""
        where = f" in namespace {namespace}" if namespace else ""
        purpose = f"{detail.split(',')[0]}{users} as its {usage}{where}; " + ", ".join(detail.split(", ")[1:])
        components.append(Component(service, "redis", detail))
    else:
        kind = _image_kind(context) or _runtime(context) or ""
        image = next((str(f.value) for f in context.main("container.image")), "")
        purpose = f"{service}: a {kind + ' ' if kind else ''}service{' in namespace ' + namespace if namespace else ''}"
        if image:
            purpose += f", image {image.rsplit('/', 1)[-1]}"
        components.append(Component(service, kind or "workload", image or kind or "workload"))
    for fact in context.mine("container.image"):
        if context.is_sidecar(fact.subject) and fact.subject.container:
            name = fact.subject.container
            if all(c.name != name for c in components):
                components.append(
                    Component(name, _kind_of_image(str(fact.value)) or "sidecar", f"sidecar, {fact.value}")
                )
    for client in clients:
        components.append(Component(client, "client", f"calls {service}"))
    return purpose.rstrip("; "), components


def summarize(
    context: Context, root_causes: list[str], findings: list[Finding], fixes: list[Remediation]
) -> str:
    service = context.service or "The service"
    unknown = _unknown_service_note(context)
    if unknown:
        return unknown
    if not findings:
        coverage = coverage_of(context.evidence.sources, len(context.evidence.facts))
        if coverage.state == "nothing":
            unread = f" (not read: {coverage.not_read()})" if coverage.failed else ""
            return f"{service}: nothing could be read{unread}, so nothing is known about its state."
        if coverage.failed:
            return f"{service}: nothing found in what could be read; not read: {coverage.not_read()}."
        return f"{service}: nothing in the evidence points to a fault; see sources for what was read."
    by_id = {f.id: f for f in findings}
    symptoms = []
    if FindingId.CONTAINER_OOM_KILLED in by_id and not by_id[FindingId.CONTAINER_OOM_KILLED].data.get(
        "sidecar_only"
    ):
        symptoms.append("the OOM kills")
    if FindingId.CRASH_LOOP in by_id:
        symptoms.append(f"the crash loop ({by_id[FindingId.CRASH_LOOP].data.get('restarts', 0)} restarts)")
    root = by_id[root_causes[0]] if root_causes else findings[0]
    text = redis_owner_note(context) if root.id.startswith("redis-") else ""
    text = text or f"{service}: "
    text += root.title
    if symptoms and root.id not in (FindingId.CRASH_LOOP, FindingId.CONTAINER_OOM_KILLED):
        text += f", which explains {' and '.join(symptoms)}"
    text += "."
    if len(root_causes) > 1:
        text += " Also: " + "; ".join(by_id[i].title for i in root_causes[1:]) + "."
    if fixes:
        text += f" First: {fixes[0].title[0].lower()}{fixes[0].title[1:]}."
    return text


def _unknown_service_note(context: Context) -> str | None:
    """When nothing in the evidence is about the named service, say so and name what is there."""
    if not context.service or any(context.relation(f.subject) == "self" for f in context.evidence.facts):
        return None
    workloads = sorted({f.subject.workload for f in context.evidence.facts if f.subject.workload})
    if not workloads:
        return None
    close = difflib.get_close_matches(context.service, workloads, n=3, cutoff=0.4)
    listed = ", ".join(close or workloads[:5])
    return (
        f"Nothing in the evidence names {context.service}; it is about {listed}"
        + (" (closest names first)" if close else "")
        + ". Run again with --service set to one of them."
    )


def _redis_elsewhere(context: Context) -> str | None:
    """The name of the Redis the evidence shows, when it is not the named service (`--service webapp`
    on a paste about session-cache): from a Redis container's workload or pod, else an exporter's instance."""
    service = context.service
    if not service:
        return None
    names: list[str] = []
    for fact in context.evidence.of("container.image"):
        if _kind_of_image(str(fact.value)) == "redis" and not context.is_sidecar(fact.subject):
            subject = fact.subject
            names.append(
                subject.workload or re.sub(r"(-[a-z0-9]{5,10})?-[a-z0-9]{5}$|-\d+$", "", subject.pod or "")
            )
    for fact in context.evidence.of("metric"):
        if isinstance(fact.value, Series) and fact.value.name.startswith("redis_"):
            instance = fact.value.label("instance") or fact.subject.instance or ""
            names.append(instance.split(":")[0].split(".")[0])
    name = next((n for n in names if n), None)
    if name is None or names_match(name, service) or any(names_match(name, a) for a in context.aliases):
        return None
    return name


def redis_owner_note(context: Context) -> str:
    """`webapp uses Redis session-cache: ` when the findings are about another workload's Redis."""
    elsewhere = _redis_elsewhere(context) if redis_view(context).present else None
    return f"{context.service} uses Redis {elsewhere}: " if elsewhere else ""


def _redis_detail(redis: RedisView) -> str:
    version, mode = _redis_version_and_mode(redis)
    parts = [" ".join(p for p in ("Redis", version, mode) if p)]
    save, appendonly = redis.effective("save"), redis.effective("appendonly")
    if save is not None and appendonly is not None:
        persistence = []
        if save.value.strip("\"' "):
            persistence.append("RDB snapshots")
        if appendonly.value in ("yes", "1"):
            persistence.append("AOF")
        parts.append(" and ".join(persistence) if persistence else "no persistence")
    maxmemory = redis.effective("maxmemory")
    if maxmemory is not None:
        parts.append(f"maxmemory {format_redis_mb(maxmemory.number)}" if maxmemory.number else "no maxmemory")
    policy = redis.effective("maxmemory-policy")
    if policy:
        parts.append(f"policy {policy.value}")
    clients = redis.info.get("connected_clients")
    if clients:
        parts.append(f"{clients.value} clients")
    if any(
        f.key and f.key.endswith("auth.enabled") and f.value == "false"
        for f in redis.context.mine("helm.value")
    ):
        parts.append("no auth")
    return ", ".join(parts)


def _redis_version_and_mode(redis: RedisView) -> tuple[str | None, str | None]:
    """From INFO, else the start-up log, else the image tag (pod spec or chart values)."""
    context = redis.context
    version = redis.info["redis_version"].value if "redis_version" in redis.info else None
    mode = redis.info["redis_mode"].value if "redis_mode" in redis.info else None
    for fact in context.logs():
        text = context.text_of(fact)
        if version is None and (found := re.search(r"Redis version=([\d.]+)", text)):
            version = found.group(1)
        if mode is None and (found := re.search(r"Running mode=(\w+)", text)):
            mode = found.group(1)
    if version is None:
        version = _version_from_image(context)
    return version, mode


def _version_from_image(context: Context) -> str | None:
    images = [
        str(f.value) for f in context.main("container.image") if _kind_of_image(str(f.value)) == "redis"
    ]
    tags = [str(f.value) for f in context.mine("helm.value") if f.key and f.key.endswith("image.tag")]
    repositories = [
        str(f.value) for f in context.mine("helm.value") if f.key and f.key.endswith("image.repository")
    ]
    if images and ":" in images[0]:
        tags = [images[0].rsplit(":", 1)[1]]
    elif not any("redis" in r for r in repositories):
        tags = []
    found = re.match(r"v?(\d+(?:\.\d+){0,2})", tags[0]) if tags else None
    return found.group(1) if found else None


def _clients(context: Context) -> list[str]:
    service = context.service or ""
    names: set[str] = set()
    for fact in context.evidence.of("log"):
        origin = fact.subject.origin
        if origin and not names_match(origin, service) and origin not in ("redis", service):
            names.add(origin)
        elif (
            context.relation(fact.subject) == "other"
            and fact.subject.workload
            and (service in context.text_of(fact) or _CALLS_US.search(context.text_of(fact)))
        ):
            names.add(fact.subject.workload)
    return sorted(names)[:4]


def _image_kind(context: Context) -> str | None:
    for fact in context.main("container.image"):
        kind = _kind_of_image(str(fact.value))
        if kind:
            return kind
    for fact in context.mine("metric"):
        if isinstance(fact.value, Series) and fact.value.name.startswith("redis_"):
            return "redis"
    return None


def _kind_of_image(image: str) -> str | None:
    for pattern, kind in _RUNTIMES:
        if pattern.search(image):
            return kind
    return None


def _runtime(context: Context) -> str | None:
    for fact in context.main("container.env"):
        if fact.key in ("JAVA_TOOL_OPTIONS", "JAVA_OPTS"):
            return "JVM"
        if fact.key == "NODE_OPTIONS" or (fact.key == "NODE_ENV"):
            return "Node.js"
        if fact.key in ("GOMAXPROCS", "GOMEMLIMIT"):
            return "Go"
    return None
