"""Remediation rules for Redis: maxmemory as a plan that works, eviction policy, hygiene, clients."""

from __future__ import annotations

import math
from dataclasses import replace

from analyzers.diagnosis import Remediation, Risk
from analyzers.ids import FindingId, RemediationId
from analyzers.memory_need import forks_in_background
from analyzers.quantity import MI, format_mi, format_redis_mb, round_up
from analyzers.remediation_params import (
    AppConfigFix,
    ConnectionPoolBound,
    EvictionPolicyChange,
    MaxclientsRaise,
    MaxmemorySetting,
)
from analyzers.remediation_plan import MAXMEMORY_SHARE, MAXMEMORY_SHARE_FORKING, Plan


def _maxmemory(plan: Plan) -> list[Remediation]:
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
    if target <= 0:
        return []  # a share of a limit under 2 MiB is no bound at all (maxmemory 0 is none)
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
        today, title="Or, without the raise: " + today.title[0].lower() + today.title[1:], alternative=True
    )
    return [after, alternative]


def _derived_maxmemory(plan: Plan) -> Remediation | None:
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
        if target <= 0:
            return None
    title = f"Set maxmemory {format_redis_mb(target)} (peak used memory + 25%; no container limit known)"
    order = (
        "Size it again from the container limit once it is known; put the same lines in the chart or "
        "ConfigMap so they survive a restart."
    )
    return _set_maxmemory(plan, target, title, rests_on, order)


def _set_maxmemory(
    plan: Plan, target: float, title: str, rests_on: str, order: str, after: RemediationId | None = None
) -> Remediation:
    """The proposal, with what it does to the data Redis holds now worked out first."""
    policy = plan.eviction_policy()
    params = MaxmemorySetting(int(target), policy, rests_on)
    size = params.maxmemory
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
        after=after,
    )


def _eviction(plan: Plan) -> list[Remediation]:
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
    # A policy does nothing until maxmemory is set: offered with it, it comes after it.
    after = RemediationId.SET_REDIS_MAXMEMORY if plan.maxmemory_offered else None
    return [
        Remediation(
            RemediationId.SET_REDIS_EVICTION_POLICY,
            f"Switch maxmemory-policy to {policy}",
            "low",
            True,
            EvictionPolicyChange(policy),
            f"CONFIG SET maxmemory-policy {policy}: a full cache then evicts instead of refusing writes.",
            after=after,
        )
    ]


def _queue_retention(plan: Plan) -> list[Remediation]:
    if not plan.has(FindingId.REDIS_MAXMEMORY_REACHED) or plan.redis.usage() != "queue":
        return []
    return [
        Remediation(
            RemediationId.FIX_APP_CONFIG,
            "Find what fills the queue (a stalled consumer, or failed/completed jobs kept) and bound it",
            "medium",
            False,
            AppConfigFix(what="job retention (removeOnFail / removeOnComplete)"),
            "A queue must not evict: drain the backlog, fix the consumer, or bound job retention.",
        )
    ]


def _redis_hygiene(plan: Plan) -> list[Remediation]:
    found: list[Remediation] = []
    if plan.has(FindingId.REDIS_CONFIG_NOT_APPLIED):
        found.append(
            Remediation(
                RemediationId.FIX_REDIS_CONFIG_MOUNT,
                "Make the declared Redis configuration reach the server",
                "medium",
                False,
                detail="Check that the ConfigMap/values key is mounted and the server starts with that file; "
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
                detail=why + "with 1 the copy-on-write child is allowed, as Redis recommends.",
            )
        )
        found.append(
            Remediation(
                RemediationId.DISABLE_REDIS_BACKGROUND_SAVE,
                'Stop background saves that cannot fork (save "")',
                "medium",
                True,
                detail="Or give the fork room with a higher limit.",
            )
        )
    if plan.has(FindingId.REDIS_KEYS_WITHOUT_TTL):
        found.append(
            Remediation(
                RemediationId.ADD_SESSION_TTL,
                "Write sessions and carts with an expiry (SET ... EX)",
                "low",
                False,
                detail="The application must set a TTL; Redis cannot add one by itself.",
            )
        )
    if plan.has(FindingId.REDIS_AUTH_DISABLED):
        found.append(
            Remediation(
                RemediationId.ENABLE_REDIS_AUTH,
                "Require a password (auth.enabled / requirepass)",
                "medium",
                False,
                detail="Roll the clients with the secret first.",
            )
        )
    return found


def _clients(plan: Plan) -> list[Remediation]:
    finding = plan.by_id.get(FindingId.REDIS_MAXCLIENTS_REACHED)
    if finding is None:
        return []
    pool = finding.data.get("pool")
    params = ConnectionPoolBound(max(10, int(pool) // 4) if pool else None)
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
    if maxclients and int(maxclients * 2) >= 1:  # a pasted maxclients under 0.5 has no double
        found.append(
            Remediation(
                RemediationId.RAISE_REDIS_MAXCLIENTS,
                f"Raise maxclients to {int(maxclients * 2)} as a stopgap",
                "medium",
                True,
                MaxclientsRaise(int(maxclients * 2)),
                "Buys time only; also raise the file-descriptor limit.",
            )
        )
    else:  # the limit is not in the evidence: say so rather than offer nothing
        found.append(
            Remediation(
                RemediationId.RAISE_REDIS_MAXCLIENTS,
                "Raise maxclients (its current value is not in the evidence)",
                "medium",
                False,
                MaxclientsRaise(),
                "Read it first (`CONFIG GET maxclients`); on a managed plan the plan sets it, so a bigger "
                "plan raises it. Buys time only while connections leak.",
            )
        )
    return found
