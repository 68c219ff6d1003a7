"""A container's resources in a Deployment or StatefulSet, as the change sees them: the workload as
read, the change planned, its patch and diff, the stale check and the roll back (no I/O here;
`kubernetes_change.py` talks to the API server)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from analyzers.quantity import parse_k8s_quantity
from bot.remediation.proposals import Basis, Resources, WorkloadTarget

WorkloadKind = Literal["Deployment", "StatefulSet"]
Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Workload:
    """What the change needs to know of a Deployment or StatefulSet, as read."""

    kind: WorkloadKind
    namespace: str
    name: str
    resource_version: str
    generation: int
    containers: dict[str, Resources]
    match_labels: dict[str, str]
    replicas: int
    status: Json
    uid: str = ""
    update_strategy: Json = field(default_factory=dict)  # a StatefulSet's spec.updateStrategy

    def resources(self, container: str) -> Resources | None:
        return self.containers.get(container)

    def basis(self, container: str) -> Basis:
        return Basis(
            resource_version=self.resource_version,
            generation=self.generation,
            resources=self.resources(container),
        )


# -- the change itself -------------------------------------------------------------------------------
def plan_resources(current: Resources, limits: dict[str, str]) -> Resources:
    """The values to write for new `limits`: the limits, and any request that would end up above them."""
    lowered: dict[str, str] = {}
    for name, limit in limits.items():
        request = current.requests.get(name)
        if request is not None and _bigger(request, limit):
            lowered[name] = limit
    return Resources(limits=dict(limits), requests=lowered)


def restore_resources(previous: Resources, written: Resources, current: Resources) -> Resources:
    """The values that put back what `written` replaced (from `previous`), requests kept under limits.

    Raises ValueError when a value to restore was not recorded (there was no such limit before).
    """
    limits: dict[str, str] = {}
    for name in written.limits:
        if name not in previous.limits:
            raise ValueError(f"there was no {name} limit before: nothing recorded to restore")
        limits[name] = previous.limits[name]
    planned = plan_resources(current, limits)
    requests_ = dict(planned.requests)
    for name in written.requests:
        if name in previous.requests:
            requests_[name] = previous.requests[name]
    return Resources(limits=limits, requests=requests_)


def resources_patch(container: str, change: Resources, resource_version: str | None = None) -> Json:
    """The strategic merge patch that writes `change` into one container and nothing else.

    With `resource_version` (of the read the stale check was made on), the API server refuses it
    with 409 Conflict when the workload changed since that read.
    """
    resources: Json = {}
    if change.limits:
        resources["limits"] = dict(change.limits)
    if change.requests:
        resources["requests"] = dict(change.requests)
    body: Json = {}
    if resource_version:
        body["metadata"] = {"resourceVersion": resource_version}
    body["spec"] = {"template": {"spec": {"containers": [{"name": container, "resources": resources}]}}}
    return body


def merged(current: Resources, change: Resources) -> Resources:
    """The container's resources after the change."""
    return Resources(
        limits={**current.limits, **change.limits}, requests={**current.requests, **change.requests}
    )


def same_quantity(left: str | None, right: str | None) -> bool:
    """Whether two quantities are the same amount ("1024Mi" and "1Gi", "0.5" and "500m")."""
    if left is None or right is None:
        return left is right
    return _same(left, right)


def same_resources(left: Resources, right: Resources) -> bool:
    """The same keys with the same amounts, however each is written."""
    return all(
        set(getattr(left, section)) == set(getattr(right, section))
        and all(
            same_quantity(value, getattr(right, section)[name])
            for name, value in getattr(left, section).items()
        )
        for section in ("limits", "requests")
    )


def stale_reason(basis: Basis, workload: Workload, container: str) -> tuple[str | None, str]:
    """(why the proposal is stale or None, a note on what moved that does not matter)."""
    where = f"{workload.kind} {workload.namespace}/{workload.name}"
    current = workload.resources(container)
    if current is None:
        return f"{where} has no container {container} any more", ""
    if basis.resources is not None and not same_resources(current, basis.resources):
        return (
            f"the resources of {container} in {where} changed since the proposal "
            f"(then {_compact(basis.resources)}, now {_compact(current)})",
            "",
        )
    note = ""
    if basis.resource_version and workload.resource_version != basis.resource_version:
        note = (
            f"{where} changed since the proposal (resourceVersion {basis.resource_version} -> "
            f"{workload.resource_version}, generation {basis.generation} -> {workload.generation}), "
            f"but not the resources of {container}"
        )
    return None, note


def resources_diff(target: WorkloadTarget, before: Resources, change: Resources) -> list[str]:
    """A YAML-like diff of the container's resources: `-` before, `+` after, others as they are."""
    after = merged(before, change)
    lines = [f"# {target.describe()}", "resources:"]
    for section in ("limits", "requests"):
        old: dict[str, str] = getattr(before, section)
        new: dict[str, str] = getattr(after, section)
        if not old and not new:
            continue
        lines.append(f"  {section}:")
        for name in sorted(set(old) | set(new)):
            if old.get(name) == new.get(name):
                lines.append(f"    {name}: {old[name]}")
                continue
            if name in old:
                lines.append(f"-   {name}: {old[name]}")
            if name in new:
                lines.append(f"+   {name}: {new[name]}")
    qos_before, qos_after = qos_class(before), qos_class(after)
    if qos_before != qos_after:
        lines.append(f"# QoS class of the pods: {qos_before} -> {qos_after} (only this container looked at)")
    return lines


def qos_class(resources: Resources) -> str:
    """The QoS class a pod of this one container would get."""
    if not resources.limits and not resources.requests:
        return "BestEffort"
    requests_ = {**resources.limits, **resources.requests}  # a limit without a request defaults it
    guaranteed = all(
        name in resources.limits and _same(requests_[name], resources.limits[name])
        for name in ("cpu", "memory")
    )
    return "Guaranteed" if guaranteed else "Burstable"


def persist_hint(target: WorkloadTarget, change: Resources) -> list[str]:
    """Where the same values must go so the next deploy does not put the old ones back."""
    values = [
        f"{section}.{name}: {value}"
        for section, d in (("limits", change.limits), ("requests", change.requests))
        for name, value in d.items()
    ]
    return [
        f"Put the same values in the chart or manifest of {target.kind} {target.name}, container "
        f"{target.container} (e.g. Helm values `resources:` of that container): " + ", ".join(values),
        "Otherwise the next helm upgrade / kubectl apply puts the old values back.",
    ]


def _bigger(left: str, right: str) -> bool:
    a, b = parse_k8s_quantity(left), parse_k8s_quantity(right)
    return a is not None and b is not None and a > b


def _same(left: str, right: str) -> bool:
    a, b = parse_k8s_quantity(left), parse_k8s_quantity(right)
    return a == b if a is not None and b is not None else left == right


def _compact(resources: Resources) -> str:
    parts = [f"limits.{k}={v}" for k, v in sorted(resources.limits.items())]
    parts += [f"requests.{k}={v}" for k, v in sorted(resources.requests.items())]
    return ", ".join(parts) or "none"
