"""Container facts grouped per pod and container: status, limits, restarts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from analyzers.context import Context
from analyzers.evidence import Fact, FactKind, Series
from analyzers.quantity import parse_k8s_quantity


@dataclass
class ContainerView:
    pod: str | None
    container: str | None
    sidecar: bool
    facts: dict[str, list[Fact]] = field(default_factory=dict)

    def last(self, kind: FactKind) -> Fact | None:
        found = self.facts.get(kind)
        return found[-1] if found else None

    def value(self, kind: FactKind) -> object:
        fact = self.last(kind)
        return fact.value if fact else None

    def number(self, kind: FactKind) -> float | None:
        value = self.value(kind)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    @property
    def label(self) -> str:
        return "/".join(p for p in (self.pod, self.container) if p) or "the container"


def containers(context: Context, include_sidecars: bool = True) -> list[ContainerView]:
    """The service's containers; facts without a container name join the pod's main one."""
    built = context.shared.get("containers")
    if not isinstance(built, list):
        built = context.shared["containers"] = _build_views(context)
    return built if include_sidecars else [v for v in built if not v.sidecar]


def _build_views(context: Context) -> list[ContainerView]:
    views: dict[tuple[str | None, str | None], ContainerView] = {}
    for fact in context.evidence.facts:
        if not fact.kind.startswith(("container.", "pod.")) or not context.ours(fact):
            continue
        key = (fact.subject.pod, fact.subject.container)
        if key not in views:
            views[key] = ContainerView(key[0], key[1], context.is_sidecar(fact.subject))
        views[key].facts.setdefault(fact.kind, []).append(fact)
    _fold_unnamed(views)
    return list(views.values())


def _fold_unnamed(views: dict[tuple[str | None, str | None], ContainerView]) -> None:
    """Facts of a pod with no container name belong to the pod's first main container."""
    for (pod, container), view in list(views.items()):
        if container is not None:
            continue
        named = [v for (p, c), v in views.items() if p == pod and c is not None and not v.sidecar]
        if len(named) >= 1:
            target = named[0]
            for kind, facts in view.facts.items():
                if kind.startswith("pod.") or kind not in target.facts:
                    target.facts.setdefault(kind, []).extend(facts)
            del views[(pod, container)]


def memory_limit(context: Context, view: ContainerView) -> tuple[float, Fact] | None:
    """A container's memory limit from its spec, or from kube-state-metrics or cAdvisor."""
    fact = view.last("container.memory_limit")
    if fact is not None and isinstance(fact.value, float | int):
        return float(fact.value), fact
    for series_fact, series in context.series(
        "kube_pod_container_resource_limits", "container_spec_memory_limit_bytes"
    ):
        if series.name == "kube_pod_container_resource_limits" and series.label("resource") != "memory":
            continue
        if _series_is_for(series, view) and series.last > 0:
            return series.last, series_fact
    return None


def _series_is_for(series: Series, view: ContainerView) -> bool:
    pod, container = series.label("pod"), series.label("container")
    if view.pod and pod and pod != view.pod:
        return False
    return not (view.container and container and container != view.container)


def service_memory_limit(context: Context) -> tuple[float, Fact, ContainerView] | None:
    """The main container's memory limit: its spec, else kube-state-metrics, else the chart's values."""
    for view in containers(context, include_sidecars=False):
        found = memory_limit(context, view)
        if found:
            return found[0], found[1], view
    for fact, series in context.series(
        "kube_pod_container_resource_limits", "container_spec_memory_limit_bytes"
    ):
        if series.name == "kube_pod_container_resource_limits" and series.label("resource") != "memory":
            continue
        if series.last > 0 and not context.is_sidecar(fact.subject):
            view = ContainerView(series.label("pod"), series.label("container"), False)
            return series.last, fact, view
    for fact in context.mine("helm.value"):
        if fact.key and fact.key.endswith("resources.limits.memory"):
            amount = parse_k8s_quantity(str(fact.value))
            if amount:
                return amount, fact, ContainerView(None, None, False)
    for fact in context.main("container.memory_limit"):  # a limit someone stated in words
        if isinstance(fact.value, float | int) and fact.value > 0:
            return float(fact.value), fact, ContainerView(fact.subject.pod, fact.subject.container, False)
    return None


def metric_oom_kills(context: Context) -> list[Fact]:
    """kube-state-metrics says the last termination of a main container was OOMKilled, lately.

    The gauge stays 1 until the next termination, however old: it counts only when the
    pod's restarts still climb in the window and its last restart is not long ago.
    """
    restarts = {s.label("pod"): s for _, s in context.series("kube_pod_container_status_restarts_total")}
    old_restarts = {
        v.pod
        for v in containers(context)
        if (v.number("pod.last_restart_ago") or 0) > STALE_AFTER.total_seconds()
    }
    found = []
    for fact, series in context.series("kube_pod_container_status_last_terminated_reason"):
        if series.label("reason") != "OOMKilled" or series.last <= 0 or context.is_sidecar(fact.subject):
            continue
        pod = series.label("pod")
        climbing = restarts.get(pod)
        if pod in old_restarts or (
            climbing and len(climbing.points) > 1 and climbing.last <= climbing.points[0][1]
        ):
            continue
        found.append(fact)
    return found


STALE_AFTER = timedelta(hours=6)


def recent_oom_kills(context: Context, view: ContainerView) -> list[Fact]:
    """The container's OOMKilled terminations, unless everything says they are history.

    `Last State: OOMKilled` stays on a pod until the next termination: after a limit or
    maxmemory fix it can be days old. It is history when the last restart was long ago
    or the termination ended long before the newest evidence.
    """
    killed = [f for f in view.facts.get("container.last_reason", []) if f.value == "OOMKilled"]
    killed += [f for f in view.facts.get("pod.status", []) if f.value == "OOMKilled"]
    if not killed:
        return []
    ago = view.number("pod.last_restart_ago")
    if ago is not None and ago > STALE_AFTER.total_seconds():
        return []
    ended = seconds_since_termination(context, view)
    if ended is not None and ended > STALE_AFTER.total_seconds():
        return []
    return killed


def seconds_since_termination(context: Context, view: ContainerView) -> float | None:
    """How long before the newest evidence the container's last termination ended, when both are known."""
    finished = view.last("container.last_finished")
    newest = context.newest
    if finished is None or finished.at is None or newest is None:
        return None
    return (newest - finished.at).total_seconds()
