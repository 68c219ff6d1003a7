"""Remediations with concrete parameters computed from the evidence."""

from __future__ import annotations

import math

from analyzers.containers import service_memory_limit
from analyzers.context import Context
from analyzers.diagnosis import Finding, Remediation
from analyzers.memory_need import forks_in_background
from analyzers.quantity import MI, format_cpu, format_mi, format_redis_mb, round_up
from analyzers.redis_view import RedisView

MAXMEMORY_SHARE = 0.75  # of the container limit, leaving room for buffers, clients and the allocator
MAXMEMORY_SHARE_FORKING = 0.70  # with RDB/AOF, also room for copy-on-write during a fork


def remediations(context: Context, findings: list[Finding]) -> list[Remediation]:
    by_id = {f.id: f for f in findings}
    redis = RedisView(context)
    found: list[Remediation] = []
    limit = service_memory_limit(context)
    new_limit: float | None = None

    if (f := by_id.get("jvm-heap-exceeds-limit")) is not None:
        limit_bytes = float(f.data["limit"])
        xmx = math.floor(limit_bytes * 0.75 / MI)
        found.append(Remediation(
            "lower-jvm-heap", f"Size the heap from the container limit: -XX:MaxRAMPercentage=75 (about {xmx}m)",
            "low", False, {"container": f.data.get("container"), "flag": "-XX:MaxRAMPercentage=75", "xmx": f"{xmx}m"},
            "Replace the fixed -Xmx with a percentage so heap plus off-heap fits the limit.",
        ))
        needed = round_up(float(f.data["heap"]) * 1.3, 256 * MI)
        found.append(_raise_memory(f.data.get("container"), limit_bytes, needed, "medium",
                                   "Or keep the heap and give the container room for it."))

    if (f := by_id.get("memory-limit-too-low")) is not None:
        new_limit = float(f.data["suggested"])
        found.append(_raise_memory(f.data.get("container"), float(f.data["limit_bytes"]), new_limit, "low",
                                   "Raise limit and request together so the pod keeps its QoS class."))

    bound = new_limit or (limit[0] if limit else None)
    if redis.present and bound:
        share = MAXMEMORY_SHARE_FORKING if forks_in_background(context, redis) else MAXMEMORY_SHARE
        target = math.floor(bound * share / MI) * MI
        usage = redis.usage()
        policy = "noeviction" if usage == "queue" else "allkeys-lru"
        current = redis.effective("maxmemory")
        current_bytes = current.number if current and current.number else 0.0
        unset = "redis-maxmemory-unset" in by_id
        full = "redis-maxmemory-reached" in by_id and current_bytes and target > current_bytes * 1.1
        if unset or full:
            title = f"Set maxmemory {format_redis_mb(target)} ({share:.0%} of the {format_mi(bound)} limit), policy {policy}"
            found.append(Remediation(
                "set-redis-maxmemory", title, "low", True,
                {"maxmemory": format_redis_mb(target), "policy": policy, "bytes": int(target)},
                f"CONFIG SET maxmemory {format_redis_mb(target)} and CONFIG SET maxmemory-policy {policy} now; "
                "put the same lines in the chart or ConfigMap so they survive a restart.",
            ))

    if "redis-noeviction-policy" in by_id or ("redis-maxmemory-reached" in by_id and redis.usage() in ("cache", "session")):
        policy = "volatile-lru" if redis.usage() == "session" else "allkeys-lru"
        found.append(Remediation(
            "set-redis-eviction-policy", f"Switch maxmemory-policy to {policy}", "low", True, {"policy": policy},
            f"CONFIG SET maxmemory-policy {policy}: a full cache then evicts instead of refusing writes.",
        ))

    if "redis-maxmemory-reached" in by_id and redis.usage() == "queue":
        found.append(Remediation(
            "fix-app-config", "Bound what the queue keeps: drain or trim failed and completed jobs", "medium", False,
            {"what": "job retention (removeOnFail / removeOnComplete)"},
            "A queue must not evict; find what accumulates (e.g. failed jobs kept for days) and bound it.",
        ))

    if "redis-config-not-applied" in by_id:
        found.append(Remediation("fix-redis-config-mount", "Make the declared Redis configuration reach the server",
                                 "medium", False, {}, "Check that the ConfigMap/values key is mounted and the server "
                                 "is started with that file; compare CONFIG GET with the file after a restart."))

    if (f := by_id.get("redis-fork-failed")) is not None:
        if f.data.get("overcommit_warning"):
            found.append(Remediation("set-vm-overcommit", "Set vm.overcommit_memory = 1 on the Redis nodes", "medium",
                                     False, {}, "Lets fork succeed under memory pressure."))
        found.append(Remediation("disable-redis-background-save", 'Stop background saves that cannot fork (save "")',
                                 "medium", True, {}, "Or give the fork room with a higher limit."))

    if "redis-keys-without-ttl" in by_id:
        found.append(Remediation("add-session-ttl", "Write sessions and carts with an expiry (SET ... EX)", "low",
                                 False, {}, "The application must set a TTL; Redis cannot add one by itself."))

    if "redis-auth-disabled" in by_id:
        found.append(Remediation("enable-redis-auth", "Require a password (auth.enabled / requirepass)", "medium",
                                 False, {}, "Roll the clients with the secret first."))

    if (f := by_id.get("redis-maxclients-reached")) is not None:
        maxclients = f.data.get("maxclients")
        params: dict[str, object] = {}
        if f.data.get("pool"):
            params["pool_size"] = max(10, int(f.data["pool"]) // 4)
        found.append(Remediation("fix-connection-leak", "Bound the clients' connection pools (and close idle ones)",
                                 "medium", False, params,
                                 "Per-pod pool size x pods must stay well under maxclients; set an idle timeout."))
        if maxclients:
            found.append(Remediation("raise-redis-maxclients", f"Raise maxclients to {int(maxclients * 2)} as a stopgap",
                                     "medium", True, {"to": int(maxclients * 2)},
                                     "Buys time only; also raise the file-descriptor limit."))

    if (f := by_id.get("cpu-throttling")) is not None and f.data.get("cpu_limit"):
        current = float(f.data["cpu_limit"])
        share = float(f.data["share"])
        target = max(2 * current, current / max(0.05, 1 - share) * 1.2)
        target = math.ceil(target * 10) / 10
        found.append(Remediation(
            "raise-cpu-limit", f"Raise the CPU limit of {f.data['container']} from {format_cpu(current)} to {format_cpu(target)}",
            "low", True, {"container": f.data["container"], "from": format_cpu(current), "to": format_cpu(target)},
            "Or remove the CPU limit and keep the request; throttling adds latency long before CPU is exhausted.",
        ))

    if (f := by_id.get("liveness-probe-failing")) is not None:
        params = {"timeoutSeconds": 5, "failureThreshold": 6}
        if f.data.get("checks_dependency"):
            params["check_dependencies"] = False
        found.append(Remediation("tune-liveness-probe", "Give the liveness probe a realistic timeout; keep dependencies out of it",
                                 "low", True, params,
                                 "Liveness should only say the process is alive; slow dependencies belong in readiness."))

    if (f := by_id.get("image-pull-failed")) is not None and f.data.get("previous_image"):
        found.append(Remediation("rollback-image", f"Roll back to {f.data['previous_image']}", "low", True,
                                 {"to": f.data["previous_image"]}, "kubectl rollout undo, then fix the tag or push."))

    if (f := by_id.get("app-config-error")) is not None:
        params = {k: v for k, v in (("variable", f.data.get("variable")), ("source", f.data.get("source"))) if v}
        found.append(Remediation("fix-app-config", f"Supply {f.data.get('variable') or 'the missing configuration'}",
                                 "medium", False, params, "Add the missing key to the Secret/ConfigMap or fix the reference."))

    if "disk-full" in by_id:
        found.append(Remediation("expand-volume", "Grow the volume or free space on it", "medium", False, {}, ""))

    if "memory-growth-unbounded" in by_id and "memory-limit-too-low" not in by_id and limit:
        found.append(_raise_memory(limit[2].container, limit[0], round_up(limit[0] * 1.5, 64 * MI), "medium",
                                   "Buys time while the leak or unbounded cache is found."))
    return found


def _raise_memory(container: object, current: float, target: float, risk: str, detail: str) -> Remediation:
    name = str(container) if container and not str(container).startswith("#") else "the main container"
    return Remediation(
        "raise-memory-limit", f"Raise the memory limit of {name} from {format_mi(current)} to {format_mi(target)}",
        risk, True,  # type: ignore[arg-type]
        {"container": name, "from": format_mi(current), "to": format_mi(target)}, detail,
    )
