"""ReplicaSets of the service's workload: which image ran before the current one."""

from __future__ import annotations

import re

from analyzers.context import Context
from analyzers.evidence import Fact, ReplicaSetInfo
from analyzers.quantity import duration_seconds

_TEMPLATE_HASH = re.compile(r"-([a-z0-9]{8,10})-[a-z0-9]{5}$")


def replicasets(context: Context) -> list[tuple[ReplicaSetInfo, Fact]]:
    return [(f.value, f) for f in context.mine("workload.replicaset") if isinstance(f.value, ReplicaSetInfo)]


def main_image(info: ReplicaSetInfo) -> str:
    """The first image of a ReplicaSet (`kubectl get rs -o wide` joins them with commas)."""
    return info.image.split(",")[0]


def age_seconds(age: str) -> float:
    """A ReplicaSet's age; an unknown age sorts as the oldest."""
    return duration_seconds(age) or float("inf")


def last_good_image(context: Context, failing: str | None) -> tuple[ReplicaSetInfo, Fact] | None:
    """The newest ReplicaSet with ready pods that runs another image than the failing one."""
    candidates = [
        (info, fact)
        for info, fact in replicasets(context)
        if info.ready > 0 and info.image and main_image(info) != failing
    ]
    return min(candidates, key=lambda c: age_seconds(c[0].age)) if candidates else None


def previous_of_pod(context: Context, pod: str) -> tuple[ReplicaSetInfo, Fact] | None:
    """The ReplicaSet that came before the one a pod belongs to, if it ran another image."""
    found = _TEMPLATE_HASH.search(pod)
    if not found:
        return None
    sets = replicasets(context)
    current = next((s for s in sets if s[0].name.endswith("-" + found.group(1))), None)
    if current is None:
        return None
    older = [
        s
        for s in sets
        if age_seconds(s[0].age) > age_seconds(current[0].age) and main_image(s[0]) != main_image(current[0])
    ]
    return min(older, key=lambda s: age_seconds(s[0].age)) if older else None


def previous_revision_image(context: Context, failing: str | None) -> tuple[str, Fact] | None:
    """From `kubectl rollout history`: the newest revision whose image is not the failing one."""
    revisions = [
        (int(f.key), str(f.value), f)
        for f in context.mine("workload.revision")
        if f.key and f.key.isdigit() and str(f.value) != failing
    ]
    if failing is None:
        revisions = sorted(revisions, key=lambda r: r[0])[:-1]  # the newest is what runs now
    if not revisions:
        return None
    _, image, fact = max(revisions, key=lambda r: r[0])
    return image, fact


def _template(pod: str) -> str:
    """`claims-engine-66f9c7d4b8-tq7wd` -> `claims-engine-66f9c7d4b8`: the ReplicaSet a pod came from."""
    return pod.rsplit("-", 1)[0]


def replaced(context: Context, pod: str | None) -> bool:
    """The pod belongs to a pod template whose place another one took: its own trouble is history.

    True when the service runs pods of another template (a later rollout) and none of this pod's.
    """
    if not pod:
        return False
    running = {
        f.subject.pod
        for f in context.mine("pod.status")
        if f.value == "Running" and f.subject.pod and f.subject.pod != pod
    }
    templates = {_template(name) for name in running}
    return bool(templates) and _template(pod) not in templates
