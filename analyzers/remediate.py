"""Remediations with concrete parameters computed from the evidence."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

from analyzers.context import Context
from analyzers.diagnosis import Finding, Remediation, Risk
from analyzers.ids import FindingId, RemediationId
from analyzers.param_values import whole_mib
from analyzers.quantity import MI, round_up
from analyzers.registry import answered_by
from analyzers.remediate_redis import _clients, _eviction, _maxmemory, _queue_retention, _redis_hygiene
from analyzers.remediation_params import (
    AppConfigFix,
    CpuLimitRaise,
    ImageRollback,
    JvmHeapSizing,
    MemoryLimitRaise,
    ProbeTuning,
)
from analyzers.remediation_plan import Plan
from analyzers.rollouts import last_good_image, main_image, previous_revision_image


def remediations(context: Context, findings: list[Finding]) -> list[Remediation]:
    """Every fix the findings call for, the fix of the most likely cause first."""
    plan = Plan(context, findings)
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
    ordered = [r for r in fixes if r.after is None and not r.alternative]
    for fix in fixes:
        if fix.after is not None:
            prior = [i for i, r in enumerate(ordered) if r.id == fix.after]
            ordered.insert(prior[-1] + 1 if prior else len(ordered), fix)
    for fix in fixes:  # an alternative follows the fix it replaces
        if fix.alternative:
            prior = [i for i, r in enumerate(ordered) if r.id == fix.id]
            ordered.insert(prior[-1] + 1 if prior else len(ordered), fix)
    return ordered


def _jvm(plan: Plan) -> list[Remediation]:
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
        JvmHeapSizing(container, max_ram_percentage=75, xmx_bytes=xmx * MI),
        "Replace the fixed -Xmx with a percentage so heap plus off-heap fits the limit.",
    )
    if finding.data.get("percentage"):
        return [lower]  # a heap sized as a share of the limit grows with any new limit
    if finding.data.get("chosen_by_jvm"):
        return [lower]  # a heap the JVM sized from the host: no limit should be raised to fit it
    needed = round_up(float(finding.data["heap"]) * 1.3, 256 * MI)
    return [
        lower,
        _raise_memory(container, limit, needed, "medium", "Or keep the heap and give the container room."),
    ]


def _memory_limit(plan: Plan) -> list[Remediation]:
    finding = plan.by_id.get(FindingId.MEMORY_LIMIT_TOO_LOW)
    if finding is None:
        return []
    detail = "Raise limit and request together so the pod keeps its QoS class."
    container = plan.container(finding.data.get("container"))
    if finding.data.get("limit_bytes") is None:
        # The limit is not in the evidence: say what the raise rests on, and what to read first.
        suggested = finding.data.get("suggested")
        params = MemoryLimitRaise(container, from_bytes=None, to_bytes=None)
        title = f"Raise the memory limit of {container} (its current limit is not in the evidence)"
        if suggested:
            plan.new_limit = float(suggested)
            params = replace(params, to_bytes=whole_mib(plan.new_limit))
            title = f"Raise the memory limit of {container} to {params.to_quantity} (twice its request)"
        detail += " Read the current limit first; the raise must be above it."
        return [Remediation(RemediationId.RAISE_MEMORY_LIMIT, title, "medium", False, params, detail)]
    plan.new_limit = float(finding.data["suggested"])
    return [_raise_memory(container, float(finding.data["limit_bytes"]), plan.new_limit, "low", detail)]


def _cpu(plan: Plan) -> list[Remediation]:
    finding = plan.by_id.get(FindingId.CPU_THROTTLING)
    if finding is None:
        return []
    if not finding.data.get("cpu_limit"):
        # Throttled, and the limit is not in the evidence: say what to do and what to read first.
        container = plan.container(finding.data.get("container"))
        return [
            Remediation(
                RemediationId.RAISE_CPU_LIMIT,
                f"Raise (or remove) the CPU limit of {container} (its current limit is not in the evidence)",
                "low",
                False,
                CpuLimitRaise(container, from_millicores=None, to_millicores=None),
                "Read the limit first (`kubectl get pod -o jsonpath='{..resources.limits.cpu}'`), then double it "
                "or remove it and keep the request.",
            )
        ]
    limit = float(finding.data["cpu_limit"])
    # The throttled share counts periods that hit the quota, not how much CPU the process wants:
    # double the limit, then look at throttling again.
    target = float(finding.data.get("target_cpu") or math.ceil(2 * limit * 10) / 10)
    container = plan.container(finding.data["container"])
    params = CpuLimitRaise(container, from_millicores=round(limit * 1000), to_millicores=round(target * 1000))
    return [
        Remediation(
            RemediationId.RAISE_CPU_LIMIT,
            f"Raise the CPU limit of {container} from {params.from_quantity} to {params.to_quantity}",
            "low",
            True,
            params,
            "Or remove the CPU limit and keep the request; throttling adds latency long before CPU runs out.",
        )
    ]


def _liveness(plan: Plan) -> list[Remediation]:
    finding = plan.by_id.get(FindingId.LIVENESS_PROBE_FAILING)
    if finding is None:
        return []
    readiness = plan.by_id.get(FindingId.READINESS_PROBE_FAILING)
    if finding.data.get("probe_command_missing") or (
        readiness and readiness.data.get("probe_command_missing")
    ):
        return []  # the probe's command is not in the image: no timing makes it pass
    params = ProbeTuning(
        timeout_seconds=5,
        failure_threshold=6,
        check_dependencies=False if finding.data.get("checks_dependency") else None,
    )
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


def _workload(plan: Plan) -> list[Remediation]:
    found: list[Remediation] = []
    pull = plan.by_id.get(FindingId.IMAGE_PULL_FAILED)
    if pull is not None and pull.data.get("previous_image"):
        previous = str(pull.data["previous_image"])
        found.append(
            Remediation(
                RemediationId.ROLLBACK_IMAGE,
                f"Roll back to {previous}",
                "low",
                True,
                ImageRollback(previous),
                "kubectl rollout undo, then fix the tag or push the image.",
            )
        )
    config = plan.by_id.get(FindingId.APP_CONFIG_ERROR)
    if config is not None:
        variable, source = (str(v) if (v := config.data.get(k)) else None for k in ("variable", "source"))
        found.append(
            Remediation(
                RemediationId.FIX_APP_CONFIG,
                f"Supply {config.data.get('variable') or 'the missing configuration'}",
                "medium",
                False,
                AppConfigFix(variable=variable, source=source),
                "Add the missing key to the Secret/ConfigMap or fix the reference.",
            )
        )
    if plan.has(FindingId.DISK_FULL):
        found.append(
            Remediation(RemediationId.EXPAND_VOLUME, "Grow the volume or free space on it", "medium", False)
        )
    if plan.leading == FindingId.CRASH_LOOP:  # nothing deeper explains it: undo the release it came with
        found.extend(_rollback_crash(plan))
    growth = plan.by_id.get(FindingId.MEMORY_GROWTH_UNBOUNDED)
    if growth is not None and growth.data.get("previous_image") and not plan.has(FindingId.IMAGE_PULL_FAILED):
        previous = str(growth.data["previous_image"])
        found.append(
            Remediation(
                RemediationId.ROLLBACK_IMAGE,
                f"Roll back to {previous}, the release before the growth began",
                "low",
                True,
                ImageRollback(previous),
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


def _rollback_crash(plan: Plan) -> list[Remediation]:
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
            ImageRollback(image),
            "The crash loop has no cause outside the code or image: undo the release while it is looked at.",
        )
    ]


def _raise_memory(container: str, current: float, target: float, risk: Risk, detail: str) -> Remediation:
    params = MemoryLimitRaise(container, from_bytes=math.ceil(current), to_bytes=whole_mib(target))
    return Remediation(
        RemediationId.RAISE_MEMORY_LIMIT,
        f"Raise the memory limit of {container} from {params.from_quantity} to {params.to_quantity}",
        risk,
        True,
        params,
        detail,
    )


_RULES: tuple[Callable[[Plan], list[Remediation]], ...] = (
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
