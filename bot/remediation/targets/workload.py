"""Workload resources: a container's limits and requests in a Deployment or StatefulSet."""

from __future__ import annotations

import json
from collections import Counter

from analyzers.diagnosis import Remediation
from analyzers.evidence import Evidence
from analyzers.ids import RemediationId
from analyzers.quantity import parse_k8s_quantity
from analyzers.remediation_params import CpuLimitRaise, MemoryLimitRaise
from bot.readers.kubernetes_objects import workload_of_pod
from bot.remediation import policy
from bot.remediation.kubernetes_change import KubernetesChangeError
from bot.remediation.proposals import Applied, Change, Proposal, Resources, WorkloadTarget
from bot.remediation.results import CannotPropose, Preview, RemediationRefused, Stale
from bot.remediation.targets.base import Asked, Draft, Environment, RecordPrevious, Restore
from bot.remediation.workload_resources import (
    merged,
    persist_hint,
    plan_resources,
    resources_diff,
    resources_patch,
    restore_resources,
    same_quantity,
    same_resources,
    stale_reason,
)

REMEDIATIONS = (RemediationId.RAISE_MEMORY_LIMIT, RemediationId.RAISE_CPU_LIMIT)
MAIN_CONTAINER = "the main container"  # what remediate.py names a container it could not name


class Workloads:
    def __init__(self, env: Environment) -> None:
        self.env = env

    def propose(self, remediation: Remediation, evidence: Evidence, asked: Asked) -> Draft:
        container, resource, amount, new = _wanted(remediation)
        if not asked.namespace:
            raise CannotPropose(f"no namespace known for {asked.service} (set it in the catalog)")
        names = _workload_names(evidence, asked.namespace, container, asked.service)
        catalog = self.env.catalog
        workload = self.env.kube(catalog.context).find(asked.namespace, names)
        if container not in workload.containers:
            if len(workload.containers) == 1 and container in (MAIN_CONTAINER, asked.service):
                container = next(iter(workload.containers))
            else:
                raise CannotPropose(
                    f"{workload.kind} {workload.name} has no container {container} "
                    f"(it has {', '.join(workload.containers)})"
                )
        current = workload.resources(container) or Resources()
        current_limit = current.limits.get(resource)
        current_amount = parse_k8s_quantity(current_limit) if current_limit is not None else None
        if current_limit is not None and (current_amount is None or amount <= current_amount):
            raise CannotPropose(
                f"the {resource} limit of {container} is {current_limit} already (wanted {new})"
            )
        change = plan_resources(current, {resource: new})
        bounds = policy.memory_bounds(catalog, current_limit, amount, new) if resource == "memory" else ""
        target = WorkloadTarget(
            context=catalog.context,
            namespace=asked.namespace,
            kind=workload.kind,
            name=workload.name,
            container=container,
        )
        title = (
            f"Raise the {resource} limit of {container} in {workload.kind} {workload.name} "
            f"from {current_limit or 'none'} to {new}"
        )
        return Draft(
            remediation.id, title, target, Change(resources=change), workload.basis(container), bounds
        )

    def preview(self, proposal: Proposal, blocked: str) -> Preview:
        target = _target(proposal)
        changer = self.env.kube(target.context)
        workload = changer.read(target.kind, target.namespace, target.name)
        stale, note = stale_reason(proposal.basis, workload, target.container)
        change = proposal.change.resources or Resources()
        current = workload.resources(target.container) or Resources()
        body = resources_patch(target.container, change, workload.resource_version)
        command = (
            f"kubectl -n {target.namespace} patch {target.kind.lower()} {target.name} --type strategic "
            f"-p '{json.dumps(body, separators=(',', ':'))}'"
        )
        dry_run = ""
        reason = blocked or (f"stale: {stale}" if stale else "")
        notes = [note] if note else []
        if not stale:
            try:
                result = changer.patch_resources(
                    target, change, dry_run=True, resource_version=workload.resource_version
                )
            except KubernetesChangeError as error:
                dry_run = f"the API server refused the dry run: {error}"
                reason = reason or dry_run
            else:
                dry_run = "the API server accepts it (dryRun=All)"
                stored = result.resources(target.container)
                if stored is not None and not same_resources(stored, merged(current, change)):
                    notes.append(f"admission would store {stored.model_dump()} instead")
        return Preview(
            proposal,
            not reason,
            reason,
            diff=resources_diff(target, current, change),
            commands=[command],
            persist=persist_hint(target, change),
            dry_run=dry_run,
            notes=notes,
            approvers=proposal.approvers,
        )

    def apply(
        self, proposal: Proposal, user: str, record_previous: RecordPrevious
    ) -> tuple[Applied, Change | None, list[str]]:
        target = _target(proposal)
        changer = self.env.kube(target.context)
        change = proposal.change.resources or Resources()
        for attempt in (1, 2):
            workload = changer.read(target.kind, target.namespace, target.name)
            stale, note = stale_reason(proposal.basis, workload, target.container)
            if stale:
                raise Stale(stale)
            current = workload.resources(target.container) or Resources()
            version = workload.resource_version
            changer.patch_resources(target, change, dry_run=True, resource_version=version)
            restarts = changer.container_restarts(workload, target.container)
            record_previous(Change(resources=current))
            try:
                result = changer.patch_resources(target, change, dry_run=False, resource_version=version)
                break
            except KubernetesChangeError as error:
                # Changed between the read and the patch: read it again and check again, once.
                if error.code != "conflict" or attempt == 2:
                    raise
        applied = Applied(
            by=user,
            at=self.env.now(),
            resource_version=result.resource_version,
            generation=result.generation,
            restarts={pod: count for pod, (count, _, _) in restarts.items()},
        )
        lines = resources_diff(target, current, change) + ([f"# {note}"] if note else [])
        return applied, Change(resources=current), lines

    def watch(
        self, proposal: Proposal, applied: Applied, timeout: float, interval: float
    ) -> tuple[bool, list[str]]:
        # Watch until the deadline even once rolled out: a new pod may run out of memory minutes
        # after it started. Elapsed time is the injected clock's, and never less than the time
        # slept (a clock that stands still still ends the watch).
        target = _target(proposal)
        changer = self.env.kube(target.context)
        now = self.env.now
        started = now()
        slept = 0.0
        interval = max(interval, 0.001)
        while True:
            status = changer.rollout_status(target, applied, self.env.catalog.prometheus_url, now=now())
            if status.failed:
                return False, status.lines
            remaining = timeout - max(now() - started, slept)
            if remaining <= 0:
                if status.done:
                    return True, [*status.lines, f"held for the whole verification window ({timeout:g}s)"]
                return False, [f"not rolled out after {timeout:g}s", *status.lines]
            step = min(interval, remaining)
            self.env.sleep(step)
            slept += step

    def restore(self, original: Proposal, partial: bool) -> Restore:
        target = _target(original)
        workload = self.env.kube(target.context).read(target.kind, target.namespace, target.name)
        current = workload.resources(target.container)
        if current is None or original.previous is None or original.previous.resources is None:
            raise RemediationRefused("stale", f"{target.describe()}: the container is gone")
        if original.change.resources is None:
            raise RemediationRefused("stale", f"{target.describe()}: the container is gone")
        written = original.change.resources
        moved = {
            f"{section}.{name}": getattr(current, section).get(name)
            for section in ("limits", "requests")
            for name, value in getattr(written, section).items()
            if not same_quantity(getattr(current, section).get(name), value)
        }
        if moved:
            now = ", ".join(f"{key} is {value}" for key, value in sorted(moved.items()))
            if partial:
                raise RemediationRefused(
                    "stale", f"the failed change is not in place ({now}): nothing to roll back"
                )
            raise RemediationRefused("stale", f"changed since it was applied ({now}): not rolling that back")
        try:
            change = Change(resources=restore_resources(original.previous.resources, written, current))
        except ValueError as error:
            raise RemediationRefused("stale", str(error)) from None
        new_memory = (change.resources or Resources()).limits.get("memory")
        new_bytes = parse_k8s_quantity(new_memory) if new_memory else None  # as it was read from the workload
        bounds = (
            policy.memory_bounds(self.env.catalog, current.limits.get("memory"), new_bytes, new_memory)
            if new_memory
            else ""
        )
        restored = ", ".join(f"{k} {v}" for k, v in (change.resources or Resources()).limits.items())
        return Restore(change, workload.basis(target.container), target.namespace, restored, bounds)


def _wanted(remediation: Remediation) -> tuple[str, str, float, str]:
    """The container and resource a fix changes, the new limit in the quantity's own unit (bytes,
    cores) and as the quantity the patch writes: all read from the fix's typed parameters."""
    params = remediation.params
    if isinstance(params, CpuLimitRaise):
        if params.to_millicores is None:
            raise CannotPropose(f"no new CPU limit for {params.container} could be worked out")
        return params.container, "cpu", params.to_millicores / 1000, params.to_quantity
    if isinstance(params, MemoryLimitRaise):
        if params.to_bytes is None or params.to_quantity is None:
            raise CannotPropose(f"no new memory limit for {params.container} could be worked out")
        return params.container, "memory", params.to_bytes, params.to_quantity
    raise CannotPropose(f"{remediation.id} does not change a container's resources")


def _target(proposal: Proposal) -> WorkloadTarget:
    assert isinstance(proposal.target, WorkloadTarget)
    return proposal.target


def _workload_names(evidence: Evidence, namespace: str, container: str, service: str) -> list[str]:
    """Workload names the evidence gives for the container (the most cited first), then the service's."""
    counts: Counter[str] = Counter()
    for fact in evidence.facts:
        subject = fact.subject
        if subject.namespace not in (None, namespace) or subject.container not in (None, container):
            continue
        name = subject.workload or (workload_of_pod(subject.pod) if subject.pod else None)
        if name:
            counts[name] += 1
    return [name for name, _ in counts.most_common()] + [service]
