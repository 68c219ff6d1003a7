"""Remediations with concrete parameters computed from the evidence."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

from analyzers.containers import service_memory_limit
from analyzers.context import Context
from analyzers.diagnosis import Finding, Remediation, Risk
from analyzers.ids import FindingId, RemediationId
from analyzers.memory_need import forks_in_background
from analyzers.quantity import MI, format_cpu, format_mi, format_redis_mb, round_up
from analyzers.redis_view import redis_view
from analyzers.registry import answered_by
from analyzers.rollouts import last_good_image, main_image, previous_revision_image

MAXMEMORY_SHARE = 0.75  # of the container limit: room for buffers, clients and the allocator
MAXMEMORY_SHARE_FORKING = 0.70  # with RDB/AOF, also room for copy-on-write during a fork


class _Plan:
    """The findings by id, the Redis view and the limit every rule below reads."""

    def __init__(self, context: Context, findings: list[Finding]) -> None:
        self.context = context
        self.by_id = {f.id: f for f in findings}
        self.leading = findings[0].id if findings else None
        self.redis = redis_view(context)
        self.limit = service_memory_limit(context)
        self.new_limit: float | None = None
        self.maxmemory_offered = False  # set-redis-maxmemory sets the policy too

    def has(self, finding_id: str) -> bool:
        return finding_id in self.by_id

    def container(self, named: object) -> str:
        if named and not str(named).startswith("#"):
            return str(named)
        return self.context.service or "the main container"

    def eviction_policy(self) -> str:
        """noeviction for a queue or a store of record; volatile-lru for sessions with TTLs; else allkeys-lru."""
        usage = self.redis.usage()
        if usage in ("queue", "store"):
            return "noeviction"  # its keys are the data: refuse writes rather than lose any
        keyspace = self.redis.keyspace()
        if usage == "session" and keyspace and keyspace[0] and keyspace[1] >= 0.95 * keyspace[0]:
            return "volatile-lru"
        return "allkeys-lru"


def remediations(context: Context, findings: list[Finding]) -> list[Remediation]:
    """Every fix the findings call for, the fix of the most likely cause first."""
    plan = _Plan(context, findings)
    found: list[Remediation] = []
    for rule in _RULES:
        found.extend(rule(plan))
    position = {f.id: index for index, f in enumerate(findings)}

    def rank(remediation: Remediation) -> int:
        answered = [position[i] for i in answered_by(remediation.id) if i in position]
        return min(answered, default=len(position))

    return _in_order(sorted(found, key=rank))


def _in_order(fixes: list[Remediation]) -> list[Remediation]:
    """A fix that rests on another (`after`) comes after it: maxmemory after the limit it is a share of."""
    ordered = [r for r in fixes if not r.params.get("after") and not r.params.get("alternative")]
    for fix in fixes:
        if fix.params.get("after"):
            prior = [i for i, r in enumerate(ordered) if r.id == fix.params["after"]]
            ordered.insert(prior[-1] + 1 if prior else len(ordered), fix)
    for fix in fixes:  # an alternative follows the fix it replaces
        if fix.params.get("alternative"):
            prior = [i for i, r in enumerate(ordered) if r.id == fix.id]
            ordered.insert(prior[-1] + 1 if prior else len(ordered), fix)
    return ordered


def _jvm(plan: _Plan) -> list[Remediation]:
    finding = plan.by_id.get(FindingId.JVM_HEAP_EXCEEDS_LIMIT)
    if finding is None:
        return []
    limit = float(finding.data["limit"])
    xmx = math.floor(limit * 0.75 / MI)
    container = plan.container(finding.data.get("container"))
    lower = Remediation(
        RemediationId.LOWER_JVM_HEAP,
        f"Size the heap from the container limit: -XX:MaxRAMPercentage=75 (about {xmx}m)",
        "low",
        False,
        {"container": container, "flag": "-XX:MaxRAMPercentage=75", "xmx": f"{xmx}m"},
        "Replace the fixed -Xmx with a percentage so heap plus off-heap fits the limit.",
    )
    if finding.data.get("percentage"):
        return [lower]  # a heap sized as a share of the limit grows with any new limit
    needed = round_up(float(finding.data["heap"]) * 1.3, 256 * MI)
    return [
        lower,
        _raise_memory(container, limit, needed, "medium", "Or keep the heap and give the container room."),
    ]


def _memory_limit(plan: _Plan) -> list[Remediation]:
    finding = plan.by_id.get(FindingId.MEMORY_LIMIT_TOO_LOW)
    if finding is None:
        return []
    detail = "Raise limit and request together so the pod keeps its QoS class."
    container = plan.container(finding.data.get("container"))
    if finding.data.get("limit_bytes") is None:
        # The limit is not in the evidence: say what the raise rests on, and what to read first.
        suggested = finding.data.get("suggested")
        params: dict[str, object] = {"container": container, "from": "unknown"}
        title = f"Raise the memory limit of {container} (its current limit is not in the evidence)"
        if suggested:
            plan.new_limit = float(suggested)
            params["to"] = format_mi(plan.new_limit)
            title = (
                f"Raise the memory limit of {container} to {format_mi(plan.new_limit)} (twice its request)"
            )
        detail += " Read the current limit first; the raise must be above it."
        return [Remediation(RemediationId.RAISE_MEMORY_LIMIT, title, "medium", False, params, detail)]
    plan.new_limit = float(finding.data["suggested"])
    return [_raise_memory(container, float(finding.data["limit_bytes"]), plan.new_limit, "low", detail)]


def _maxmemory(plan: _Plan) -> list[Remediation]:
    """maxmemory as a share of the container limit, worked out against the data Redis holds now.

    A share of today's limit applies at once (CONFIG SET). When that is below the data Redis holds
    and a raise is proposed, the plan is: raise the limit, then maxmemory as a share of the new one;
    today's share stays on offer only as the high-risk alternative it is. With no limit known,
    maxmemory comes from peak used memory plus headroom.
    """
    if not (plan.redis.present or plan.has(FindingId.REDIS_MAXMEMORY_UNSET)):
        return []
    share = MAXMEMORY_SHARE_FORKING if forks_in_background(plan.context, plan.redis) else MAXMEMORY_SHARE
    current = plan.redis.effective("maxmemory")
    current_bytes = current.number if current and current.number else 0.0
    limit = plan.limit[0] if plan.limit else plan.new_limit
    raised = plan.new_limit if plan.new_limit and limit and plan.new_limit > limit else None
    unset = plan.has(FindingId.REDIS_MAXMEMORY_UNSET)
    if limit is None:
        derived = _derived_maxmemory(plan) if unset else None
        plan.maxmemory_offered = derived is not None
        return [derived] if derived else []
    target = math.floor(limit * share / MI) * MI
    raise_full_bound = (
        plan.has(FindingId.REDIS_MAXMEMORY_REACHED) and current_bytes and target > current_bytes * 1.1
    )
    above_limit = current_bytes > 0.9 * limit  # a maxmemory the container cannot hold
    if not unset and not raise_full_bound and not above_limit:
        return []
    plan.maxmemory_offered = True
    used = plan.redis.number("used_memory")
    share_of = f"{share:.0%} of the {format_mi(limit)} limit"
    today = _set_maxmemory(
        plan,
        target,
        f"Set maxmemory {format_redis_mb(target)} ({share_of})",
        share_of,
        "Put the same lines in the chart or ConfigMap so they survive a restart.",
    )
    if not raised:
        return [today]
    later = math.floor(raised * share / MI) * MI
    if used is None or target >= used:
        note = f" Once the limit is {format_mi(raised)}, maxmemory can grow to {format_redis_mb(later)}."
        return [replace(today, detail=today.detail + note)]
    new_share = f"{share:.0%} of the new {format_mi(raised)} limit"
    after = _set_maxmemory(
        plan,
        later,
        f"Then set maxmemory {format_redis_mb(later)} ({new_share})",
        f"{new_share}, after raise-memory-limit ({share_of} is below the {format_redis_mb(used)} held now)",
        f"Second, once the limit is {format_mi(raised)}: the restart that brings it also drops a CONFIG "
        "SET, so put the same lines in the chart or ConfigMap with the limit raise.",
        after=RemediationId.RAISE_MEMORY_LIMIT,
    )
    alternative = replace(
        today,
        title="Or, without the raise: " + today.title[0].lower() + today.title[1:],
        params={**today.params, "alternative": True},
    )
    return [after, alternative]


def _derived_maxmemory(plan: _Plan) -> Remediation | None:
    """No container limit known: peak used memory plus 25%, never above 75% of the node's memory."""
    peaks = [r for r in (plan.redis.peaks.get("used_memory_peak"), plan.redis.peaks.get("used_memory")) if r]
    peak = max((r.number or 0.0 for r in peaks), default=0.0)
    if peak <= 0:
        return None
    target = round_up(peak * 1.25, 8 * MI)
    rests_on = f"peak used memory {format_redis_mb(peak)} + 25% headroom; no container limit known"
    node = plan.redis.number("total_system_memory")
    if node and target > 0.75 * node:
        target = math.floor(0.75 * node / MI) * MI
        rests_on = f"75% of the node's {format_redis_mb(node)} (peak used memory {format_redis_mb(peak)})"
    title = f"Set maxmemory {format_redis_mb(target)} (peak used memory + 25%; no container limit known)"
    order = (
        "Size it again from the container limit once it is known; put the same lines in the chart or "
        "ConfigMap so they survive a restart."
    )
    return _set_maxmemory(plan, target, title, rests_on, order)


def _set_maxmemory(
    plan: _Plan, target: float, title: str, rests_on: str, order: str, after: str | None = None
) -> Remediation:
    """The proposal, with what it does to the data Redis holds now worked out first."""
    policy = plan.eviction_policy()
    size = format_redis_mb(target)
    params: dict[str, object] = {
        "maxmemory": size,
        "policy": policy,
        "bytes": int(target),
        "rests_on": rests_on,
    }
    if after:
        params["after"] = after
    used = plan.redis.number("used_memory")
    risk: Risk = "low"
    effect = ""
    if used and target < used:
        # Below what Redis holds now: evicts (or, under noeviction, refuses writes) at once.
        risk = "high"
        what = (
            "refuses every write"
            if policy == "noeviction"
            else f"evicts about {format_redis_mb(used - target)}"
        )
        effect = f" Redis holds {format_redis_mb(used)} now: at {size} it {what} at once."
        title += f": below the {format_redis_mb(used)} Redis holds now"
    return Remediation(
        RemediationId.SET_REDIS_MAXMEMORY,
        f"{title}, policy {policy}",
        risk,
        True,
        params,
        f"CONFIG SET maxmemory {size} and CONFIG SET maxmemory-policy {policy}.{effect} {order}",
    )


def _eviction(plan: _Plan) -> list[Remediation]:
    usage = plan.redis.usage()
    refuses = plan.has(FindingId.REDIS_MAXMEMORY_REACHED) and usage in ("cache", "session")
    if not plan.has(FindingId.REDIS_NOEVICTION_POLICY) and not refuses:
        return []
    current = plan.redis.effective("maxmemory")
    if (current is not None and not current.number) or (current is None and plan.maxmemory_offered):
        # No policy evicts anything while maxmemory is 0: only set-redis-maxmemory bounds it, and
        # it sets the policy with the bound.
        return []
    policy = plan.eviction_policy()
    running = plan.redis.effective("maxmemory-policy")
    if running is not None and running.value.strip("\"'") == policy:
        return []  # it already runs with that policy: switching to it changes nothing
    params: dict[str, object] = {"policy": policy}
    if plan.maxmemory_offered:
        params["after"] = RemediationId.SET_REDIS_MAXMEMORY  # a policy does nothing until maxmemory is set
    return [
        Remediation(
            RemediationId.SET_REDIS_EVICTION_POLICY,
            f"Switch maxmemory-policy to {policy}",
            "low",
            True,
            params,
            f"CONFIG SET maxmemory-policy {policy}: a full cache then evicts instead of refusing writes.",
        )
    ]


def _queue_retention(plan: _Plan) -> list[Remediation]:
    if not plan.has(FindingId.REDIS_MAXMEMORY_REACHED) or plan.redis.usage() != "queue":
        return []
    return [
        Remediation(
            RemediationId.FIX_APP_CONFIG,
            "Find what fills the queue (a stalled consumer, or failed/completed jobs kept) and bound it",
            "medium",
            False,
            {"what": "job retention (removeOnFail / removeOnComplete)"},
            "A queue must not evict: drain the backlog, fix the consumer, or bound job retention.",
        )
    ]


def _redis_hygiene(plan: _Plan) -> list[Remediation]:
    found: list[Remediation] = []
    if plan.has(FindingId.REDIS_CONFIG_NOT_APPLIED):
        found.append(
            Remediation(
                RemediationId.FIX_REDIS_CONFIG_MOUNT,
                "Make the declared Redis configuration reach the server",
                "medium",
                False,
                {},
                "Check that the ConfigMap/values key is mounted and the server starts with that file; "
                "compare CONFIG GET with the file after a restart.",
            )
        )
    fork = plan.by_id.get(FindingId.REDIS_FORK_FAILED)
    if fork is not None:
        # fork() is refused with ENOMEM by the kernel's overcommit accounting (the copy-on-write child
        # is counted as if it copied everything): overcommit_memory = 1 is Redis's own advice.
        why = (
            "Redis warned at start that overcommit_memory is 0; "
            if fork.data.get("overcommit_warning")
            else "fork() fails with ENOMEM under the kernel's overcommit accounting; "
        )
        found.append(
            Remediation(
                RemediationId.SET_VM_OVERCOMMIT,
                "Set vm.overcommit_memory = 1 on the Redis nodes",
                "medium",
                False,
                {},
                why + "with 1 the copy-on-write child is allowed, as Redis recommends.",
            )
        )
        found.append(
            Remediation(
                RemediationId.DISABLE_REDIS_BACKGROUND_SAVE,
                'Stop background saves that cannot fork (save "")',
                "medium",
                True,
                {},
                "Or give the fork room with a higher limit.",
            )
        )
    if plan.has(FindingId.REDIS_KEYS_WITHOUT_TTL):
        found.append(
            Remediation(
                RemediationId.ADD_SESSION_TTL,
                "Write sessions and carts with an expiry (SET ... EX)",
                "low",
                False,
                {},
                "The application must set a TTL; Redis cannot add one by itself.",
            )
        )
    if plan.has(FindingId.REDIS_AUTH_DISABLED):
        found.append(
            Remediation(
                RemediationId.ENABLE_REDIS_AUTH,
                "Require a password (auth.enabled / requirepass)",
                "medium",
                False,
                {},
                "Roll the clients with the secret first.",
            )
        )
    return found


def _clients(plan: _Plan) -> list[Remediation]:
    finding = plan.by_id.get(FindingId.REDIS_MAXCLIENTS_REACHED)
    if finding is None:
        return []
    params: dict[str, object] = {}
    if finding.data.get("pool"):
        params["pool_size"] = max(10, int(finding.data["pool"]) // 4)
    found = [
        Remediation(
            RemediationId.FIX_CONNECTION_LEAK,
            "Bound the clients' connection pools (and close idle ones)",
            "medium",
            False,
            params,
            "Per-pod pool size x pods must stay well under maxclients; set an idle timeout.",
        )
    ]
    maxclients = finding.data.get("maxclients")
    if maxclients:
        found.append(
            Remediation(
                RemediationId.RAISE_REDIS_MAXCLIENTS,
                f"Raise maxclients to {int(maxclients * 2)} as a stopgap",
                "medium",
                True,
                {"to": int(maxclients * 2)},
                "Buys time only; also raise the file-descriptor limit.",
            )
        )
    return found


def _cpu(plan: _Plan) -> list[Remediation]:
    finding = plan.by_id.get(FindingId.CPU_THROTTLING)
    if finding is None or not finding.data.get("cpu_limit"):
        return []
    limit = float(finding.data["cpu_limit"])
    # The throttled share counts periods that hit the quota, not how much CPU the process wants:
    # double the limit, then look at throttling again.
    target = math.ceil(2 * limit * 10) / 10
    container = plan.container(finding.data["container"])
    return [
        Remediation(
            RemediationId.RAISE_CPU_LIMIT,
            f"Raise the CPU limit of {container} from {format_cpu(limit)} to {format_cpu(target)}",
            "low",
            True,
            {"container": container, "from": format_cpu(limit), "to": format_cpu(target)},
            "Or remove the CPU limit and keep the request; throttling adds latency long before CPU runs out.",
        )
    ]


def _liveness(plan: _Plan) -> list[Remediation]:
    finding = plan.by_id.get(FindingId.LIVENESS_PROBE_FAILING)
    if finding is None:
        return []
    readiness = plan.by_id.get(FindingId.READINESS_PROBE_FAILING)
    if finding.data.get("probe_command_missing") or (
        readiness and readiness.data.get("probe_command_missing")
    ):
        return []  # the probe's command is not in the image: no timing makes it pass
    params: dict[str, object] = {"timeoutSeconds": 5, "failureThreshold": 6}
    if finding.data.get("checks_dependency"):
        params["check_dependencies"] = False
    return [
        Remediation(
            RemediationId.TUNE_LIVENESS_PROBE,
            "Give the liveness probe a realistic timeout; keep dependencies out of it",
            "low",
            True,
            params,
            "Liveness should only say the process is alive; slow dependencies belong in readiness.",
        )
    ]


def _workload(plan: _Plan) -> list[Remediation]:
    found: list[Remediation] = []
    pull = plan.by_id.get(FindingId.IMAGE_PULL_FAILED)
    if pull is not None and pull.data.get("previous_image"):
        previous = pull.data["previous_image"]
        found.append(
            Remediation(
                RemediationId.ROLLBACK_IMAGE,
                f"Roll back to {previous}",
                "low",
                True,
                {"to": previous},
                "kubectl rollout undo, then fix the tag or push the image.",
            )
        )
    config = plan.by_id.get(FindingId.APP_CONFIG_ERROR)
    if config is not None:
        params = {k: v for k in ("variable", "source") if (v := config.data.get(k))}
        found.append(
            Remediation(
                RemediationId.FIX_APP_CONFIG,
                f"Supply {config.data.get('variable') or 'the missing configuration'}",
                "medium",
                False,
                params,
                "Add the missing key to the Secret/ConfigMap or fix the reference.",
            )
        )
    if plan.has(FindingId.DISK_FULL):
        found.append(
            Remediation(
                RemediationId.EXPAND_VOLUME, "Grow the volume or free space on it", "medium", False, {}, ""
            )
        )
    if plan.leading == FindingId.CRASH_LOOP:  # nothing deeper explains it: undo the release it came with
        found.extend(_rollback_crash(plan))
    growth = plan.by_id.get(FindingId.MEMORY_GROWTH_UNBOUNDED)
    if growth is not None and growth.data.get("previous_image") and not plan.has(FindingId.IMAGE_PULL_FAILED):
        previous = growth.data["previous_image"]
        found.append(
            Remediation(
                RemediationId.ROLLBACK_IMAGE,
                f"Roll back to {previous}, the release before the growth began",
                "low",
                True,
                {"to": previous},
                "kubectl rollout undo; then find what the new release keeps in memory.",
            )
        )
    elif growth is not None and not plan.has(FindingId.MEMORY_LIMIT_TOO_LOW) and plan.limit:
        limit, _, view = plan.limit
        found.append(
            _raise_memory(
                plan.container(view.container),
                limit,
                round_up(limit * 1.5, 64 * MI),
                "medium",
                "Buys time while the leak or unbounded cache is found.",
            )
        )
    return found


def _rollback_crash(plan: _Plan) -> list[Remediation]:
    current = next((str(f.value) for f in plan.context.main("container.image")), None)
    previous = last_good_image(plan.context, current)
    image = main_image(previous[0]) if previous else None
    if image is None:
        revision = previous_revision_image(plan.context, current)
        image = revision[0] if revision else None
    if not image or image == current:
        return []
    return [
        Remediation(
            RemediationId.ROLLBACK_IMAGE,
            f"Roll back to {image}, the image that ran before the crashes",
            "medium",
            True,
            {"to": image},
            "The crash loop has no cause outside the code or image: undo the release while it is looked at.",
        )
    ]


def _raise_memory(container: str, current: float, target: float, risk: Risk, detail: str) -> Remediation:
    return Remediation(
        RemediationId.RAISE_MEMORY_LIMIT,
        f"Raise the memory limit of {container} from {format_mi(current)} to {format_mi(target)}",
        risk,
        True,
        {"container": container, "from": format_mi(current), "to": format_mi(target)},
        detail,
    )


_RULES: tuple[Callable[[_Plan], list[Remediation]], ...] = (
    _jvm,
    _memory_limit,
    _maxmemory,
    _eviction,
    _queue_retention,
    _redis_hygiene,
    _clients,
    _cpu,
    _liveness,
    _workload,
)
