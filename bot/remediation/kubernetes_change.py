"""Change one container's resources in a Deployment or StatefulSet, and watch the rollout.

Only the workload is patched, never a pod (its controller would undo it, and a pod's resources
cannot change in place anyway). The patch is a strategic merge patch of that one container's
resources, so the other containers and every other field are left as they are:

    {"spec": {"template": {"spec": {"containers": [
        {"name": "redis", "resources": {"limits": {"memory": "192Mi"}}}]}}}}

sent as `application/strategic-merge-patch+json` (a JSON merge patch would replace the whole
containers list), first with `dryRun=All` so admission (webhooks, LimitRanges, quotas) can refuse
it without effect, then for real.

Requests are kept as they are, except that a request is never left above its limit: when a
limit goes down (a roll back) below its request, the request is lowered to the limit too. A
Guaranteed pod whose limit is raised alone becomes Burstable; the preview says so.

Stale check: `metadata.resourceVersion` changes on every status update of a Deployment (replica
counts, conditions), so comparing it alone would call nearly every proposal stale. A proposal is
stale when the container it changes is gone or its resources (limits and requests, every key)
differ from those it was computed against; a moved resourceVersion or generation alone is only
reported. The patch carries `metadata.resourceVersion` of the read the stale check was made on, so
a change in between (a window of one round trip) makes the API server answer 409 Conflict; the
workload is then read again, checked again, and the patch sent once more.

    {"metadata": {"resourceVersion": "4711"}, "spec": {"template": ...}}
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests  # type: ignore[import-untyped, unused-ignore]
import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from analyzers.quantity import parse_k8s_quantity
from bot.kubernetes_api import KubeConfigError, load_api_client, one_line, status_message
from bot.remediation.proposals import Applied, Resources, WorkloadTarget
from bot.remediation.workload_resources import (
    Json,
    Workload,
    WorkloadKind,
    merged,
    persist_hint,
    plan_resources,
    qos_class,
    resources_diff,
    resources_patch,
    restore_resources,
    same_quantity,
    same_resources,
    stale_reason,
)

__all__ = [
    "KubernetesChangeError",
    "KubernetesChanger",
    "RolloutStatus",
    "Workload",
    "client_from_config",
    "merged",
    "newest_replica_set_hash",
    "persist_hint",
    "plan_resources",
    "pod_regex",
    "qos_class",
    "resources_diff",
    "resources_patch",
    "restore_resources",
    "rollout_done",
    "same_quantity",
    "same_resources",
    "stale_reason",
]

STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
KINDS: tuple[WorkloadKind, ...] = ("Deployment", "StatefulSet")
_RESOURCE = {"Deployment": "deployments", "StatefulSet": "statefulsets"}
# The container's peak working set in the pods of the new revision since the change: {namespace},
# {pods} (a regex alternation of exactly those pod names), {container}, {window} (e.g. "300s", since
# the change and at least a minute); {name} (the workload) is there too for a query that wants it.
MEMORY_QUERY = (
    'max(max_over_time(container_memory_working_set_bytes{{namespace="{namespace}",pod=~"{pods}",'
    'container="{container}"}}[{window}]))'
)
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
POD_TEMPLATE_HASH = "pod-template-hash"
CONTROLLER_REVISION_HASH = "controller-revision-hash"
MEMORY_FULL = 0.95  # a peak at this share of the new limit fails the verification


class KubernetesChangeError(Exception):
    """The API server refused or could not be reached; `code` says which, the message is one line."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # "not_found", "forbidden", "invalid", "conflict", "unreachable", "error"


@dataclass(frozen=True, slots=True)
class RolloutStatus:
    """Where the rollout of an applied change stands, one line per check."""

    done: bool  # every check passed
    failed: bool  # a check failed for good (a restart, memory at the new limit); waiting won't help
    lines: list[str] = field(default_factory=list)


# -- the API ------------------------------------------------------------------------------------------
def client_from_config(kubeconfig: str | None, context: str | None) -> client.ApiClient:
    try:
        return load_api_client(kubeconfig, context)
    except KubeConfigError as error:
        raise KubernetesChangeError("error", str(error)) from None


class KubernetesChanger:
    """Reads and patches workloads through the kubernetes client."""

    def __init__(
        self, api_client: client.ApiClient, timeout: float = 10.0, memory_query: str = MEMORY_QUERY
    ) -> None:
        self.api_client = api_client
        self.apps = client.AppsV1Api(api_client)
        self.core = client.CoreV1Api(api_client)
        self.timeout = timeout
        self.memory_query = memory_query

    def read(self, kind: WorkloadKind, namespace: str, name: str) -> Workload:
        read = (
            self.apps.read_namespaced_deployment
            if kind == "Deployment"
            else self.apps.read_namespaced_stateful_set
        )
        body = self._call("get", kind, namespace, name, lambda **kw: read(name, namespace, **kw))
        return _workload(kind, body)

    def find(self, namespace: str, names: Iterable[str]) -> Workload:
        """The first of `names` that is a Deployment, else a StatefulSet, in the namespace."""
        tried: list[str] = []
        for name in dict.fromkeys(names):
            for kind in KINDS:
                try:
                    return self.read(kind, namespace, name)
                except KubernetesChangeError as error:
                    if error.code != "not_found":
                        raise
                    tried.append(f"{kind} {name}")
        raise KubernetesChangeError(
            "not_found", f"no workload found in {namespace}: tried {', '.join(tried) or 'none'}"
        )

    def patch_resources(
        self, target: WorkloadTarget, change: Resources, dry_run: bool, resource_version: str | None = None
    ) -> Workload:
        """Send the strategic merge patch (with dryRun=All when `dry_run`); the workload it gives.

        With `resource_version`, a workload changed since raises KubernetesChangeError("conflict")."""
        body = resources_patch(target.container, change, resource_version)
        patch = (
            self.apps.patch_namespaced_deployment
            if target.kind == "Deployment"
            else self.apps.patch_namespaced_stateful_set
        )
        result = self._call(
            "patch",
            target.kind,
            target.namespace,
            target.name,
            lambda **kw: patch(
                target.name,
                target.namespace,
                body,
                dry_run="All" if dry_run else None,
                _content_type=STRATEGIC_MERGE_PATCH,
                **kw,
            ),
        )
        return _workload(target.kind, result)

    def pods(self, workload: Workload) -> list[Json]:
        """The pods the workload's selector matches (of every revision)."""
        selector = _selector(workload)
        body = self._call(
            "list",
            "Pod",
            workload.namespace,
            None,
            lambda **kw: self.core.list_namespaced_pod(
                workload.namespace, label_selector=selector or None, **kw
            ),
        )
        return [pod for pod in body.get("items") or [] if isinstance(pod, dict)]

    def container_restarts(self, workload: Workload, container: str) -> dict[str, tuple[int, str, str]]:
        """Pod -> (restarts of the container, its last termination reason, when that ended)."""
        return restarts_of(self.pods(workload), container)

    def new_revision(self, workload: Workload) -> str | None:
        """The pod label value of the newest revision: for a Deployment the `pod-template-hash` of its
        ReplicaSet with the highest revision annotation, for a StatefulSet `status.updateRevision`;
        None when that cannot be told (no ReplicaSet found, or not allowed to list them)."""
        if workload.kind == "StatefulSet":
            return str(workload.status.get("updateRevision") or "") or None
        selector = _selector(workload)
        try:
            body = self._call(
                "list",
                "ReplicaSet",
                workload.namespace,
                None,
                lambda **kw: self.apps.list_namespaced_replica_set(
                    workload.namespace, label_selector=selector or None, **kw
                ),
            )
        except KubernetesChangeError as error:
            if error.code in ("forbidden", "not_found"):
                return None
            raise
        return newest_replica_set_hash(workload, body.get("items") or [])

    def new_revision_pods(self, workload: Workload, since: float) -> tuple[list[Json], str]:
        """(the pods of the newest revision, which revision that is in words).

        Failing a revision to go by, the pods created since `since` (epoch seconds)."""
        pods = self.pods(workload)
        revision = self.new_revision(workload)
        if revision:
            label = POD_TEMPLATE_HASH if workload.kind == "Deployment" else CONTROLLER_REVISION_HASH
            chosen = [pod for pod in pods if _labels(pod).get(label) == revision]
            return chosen, f"{label} {revision}"
        after = math.floor(since)
        chosen = [pod for pod in pods if (_created(pod) or 0) >= after]
        return chosen, "created since the change"

    def rollout_status(
        self,
        target: WorkloadTarget,
        applied: Applied,
        prometheus_url: str | None = None,
        now: float | None = None,
    ) -> RolloutStatus:
        """Rolled out (kubectl's rule, see `rollout_done`), no restarts of the container in the pods of
        the new revision since the apply, and, with Prometheus, their memory under the new limit.

        Pods of the old revision are not looked at: during the rollout they still have the old
        limit and may well keep failing; what matters is whether the new ones hold."""
        workload = self.read(target.kind, target.namespace, target.name)
        done, lines = rollout_done(workload, applied.generation)
        failed = False
        pods, revision = self.new_revision_pods(workload, applied.at)
        restarts = restarts_of(pods, target.container)
        since = {pod: count - applied.restarts.get(pod, 0) for pod, (count, _, _) in restarts.items()}
        restarted = {pod: n for pod, n in since.items() if n > 0}
        if restarted:
            failed = True
            reasons = {restarts[pod][1] for pod in restarted if restarts[pod][1]}
            lines.append(
                f"{target.container} restarted since the change: "
                + ", ".join(f"{pod} x{n}" for pod, n in sorted(restarted.items()))
                + (f" (last: {', '.join(sorted(reasons))})" if reasons else "")
            )
        else:
            lines.append(
                f"no restarts of {target.container} in the new pods ({len(restarts)} pods, {revision})"
            )
        limit = (workload.resources(target.container) or Resources()).limits.get("memory")
        if prometheus_url and limit:
            if not restarts:
                lines.append("memory not checked: no pod of the new revision yet")
            else:
                seconds = max(60, math.ceil((now if now is not None else applied.at) - applied.at))
                query = self.memory_query.format(
                    namespace=target.namespace,
                    name=target.name,
                    container=target.container,
                    pods=pod_regex(sorted(restarts)),
                    window=f"{seconds}s",
                )
                line, full = _memory_check(prometheus_url, query, limit, self.timeout, seconds)
                lines.append(line)
                failed = failed or full
        return RolloutStatus(done=done and not failed, failed=failed, lines=lines)

    def _call(self, verb: str, kind: str, namespace: str, name: str | None, send: Any) -> Json:
        try:
            response = send(_preload_content=False, _request_timeout=self.timeout)
            try:
                data: bytes = response.read()
            finally:
                response.release_conn()
        except ApiException as error:
            raise _api_error(error, verb, kind, namespace, name) from None
        except urllib3.exceptions.HTTPError as error:
            raise KubernetesChangeError(
                "unreachable",
                f"cannot reach the Kubernetes API to {verb} {kind} {name or ''}: {one_line(error)}",
            ) from None
        try:
            body = json.loads(data)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise KubernetesChangeError(
                "error", f"{verb} {kind} {name or ''}: the answer is not a JSON object"
            )
        return body


def rollout_done(workload: Workload, applied_generation: int | None) -> tuple[bool, list[str]]:
    """Whether the rollout is complete, as kubectl rollout status decides it, and one line on where it is.

    The controller has seen the generation (observedGeneration >= generation), every replica is
    of the new template and available (status.replicas == updatedReplicas == availableReplicas, at
    least spec.replicas of them: no old pod is left), and for a StatefulSet currentRevision ==
    updateRevision. A StatefulSet with updateStrategy OnDelete, or a partition, never rolls out
    by itself: a warning line says so.
    """
    status = workload.status
    lines: list[str] = []
    if workload.kind == "StatefulSet":
        strategy = workload.update_strategy
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        if strategy.get("type") == "OnDelete":
            lines.append(
                "warning: updateStrategy OnDelete: a pod gets the change only when it is deleted; "
                "this rollout never completes by itself"
            )
        elif partition > 0:
            lines.append(
                f"warning: rollingUpdate.partition is {partition}: pods below ordinal {partition} keep "
                "the old revision; this rollout never completes by itself"
            )
    observed = int(status.get("observedGeneration") or 0)
    wanted = max(applied_generation or 0, workload.generation)
    if observed < wanted:
        lines.append(f"waiting: the controller has not seen generation {wanted} yet (observed {observed})")
        return False, lines
    total = int(status.get("replicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < workload.replicas or not total == updated == available:
        lines.append(
            f"waiting: {updated}/{workload.replicas} updated, {available} available, "
            f"{max(total - updated, 0)} old still running"
        )
        return False, lines
    if workload.kind == "StatefulSet" and status.get("currentRevision") != status.get("updateRevision"):
        lines.append(
            f"waiting: currentRevision {status.get('currentRevision')} is not yet the "
            f"updateRevision {status.get('updateRevision')}"
        )
        return False, lines
    lines.append(f"rolled out: {updated}/{workload.replicas} updated and available at generation {observed}")
    return True, lines


def newest_replica_set_hash(workload: Workload, replica_sets: Iterable[Json]) -> str | None:
    """The pod-template-hash of the Deployment's ReplicaSet with the highest revision annotation."""
    best: tuple[int, str] | None = None
    for replica_set in replica_sets:
        meta = replica_set.get("metadata") or {}
        owned = any(
            owner.get("kind") == "Deployment"
            and (owner.get("uid") == workload.uid if workload.uid else owner.get("name") == workload.name)
            for owner in meta.get("ownerReferences") or []
        )
        if not owned:
            continue
        try:
            revision = int((meta.get("annotations") or {}).get(REVISION_ANNOTATION) or "")
        except ValueError:
            continue
        template_labels = ((replica_set.get("spec") or {}).get("template") or {}).get("metadata") or {}
        revision_hash = (meta.get("labels") or {}).get(POD_TEMPLATE_HASH) or (
            template_labels.get("labels") or {}
        ).get(POD_TEMPLATE_HASH)
        if revision_hash and (best is None or revision > best[0]):
            best = (revision, str(revision_hash))
    return best[1] if best else None


def restarts_of(pods: Iterable[Json], container: str) -> dict[str, tuple[int, str, str]]:
    """Pod -> (restarts of the container, its last termination reason, when that ended)."""
    found: dict[str, tuple[int, str, str]] = {}
    for pod in pods:
        name = str((pod.get("metadata") or {}).get("name"))
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            if status.get("name") == container:
                terminated = (status.get("lastState") or {}).get("terminated") or {}
                found[name] = (
                    int(status.get("restartCount") or 0),
                    str(terminated.get("reason") or ""),
                    str(terminated.get("finishedAt") or ""),
                )
    return found


def pod_regex(names: Iterable[str]) -> str:
    """A PromQL regex (in a double-quoted string) matching exactly these pod names."""
    return "|".join(name.replace("\\", "\\\\").replace(".", "\\\\.") for name in names)


def _selector(workload: Workload) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(workload.match_labels.items()))


def _labels(obj: Json) -> dict[str, str]:
    return {str(k): str(v) for k, v in ((obj.get("metadata") or {}).get("labels") or {}).items()}


def _created(obj: Json) -> float | None:
    stamp = str((obj.get("metadata") or {}).get("creationTimestamp") or "")
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _workload(kind: WorkloadKind, body: Json) -> Workload:
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return Workload(
        kind=kind,
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        resource_version=str(meta.get("resourceVersion") or ""),
        generation=int(meta.get("generation") or 0),
        containers={str(c.get("name")): _resources(c.get("resources") or {}) for c in containers},
        match_labels={
            str(k): str(v) for k, v in ((spec.get("selector") or {}).get("matchLabels") or {}).items()
        },
        replicas=int(spec.get("replicas", 1)),
        status=body.get("status") or {},
        uid=str(meta.get("uid") or ""),
        update_strategy=spec.get("updateStrategy") or {},
    )


def _resources(raw: Json) -> Resources:
    return Resources(
        limits={str(k): str(v) for k, v in (raw.get("limits") or {}).items()},
        requests={str(k): str(v) for k, v in (raw.get("requests") or {}).items()},
    )


def _api_error(
    error: ApiException, verb: str, kind: str, namespace: str, name: str | None
) -> KubernetesChangeError:
    status = int(error.status or 0)
    message = status_message(error)
    resource = _RESOURCE.get(kind, kind.lower() + "s")
    what = f"{kind} {namespace}/{name}" if name else f"{resource} in {namespace}"
    if status == 403:
        group = ' in API group "apps"' if kind in _RESOURCE else ""
        return KubernetesChangeError(
            "forbidden",
            f'403 Forbidden: cannot {verb} {resource} in namespace "{namespace}" '
            f'(RBAC needs verb "{verb}" on "{resource}"{group})',
        )
    if status == 404:
        return KubernetesChangeError("not_found", f"{what} not found")
    if status == 409:
        return KubernetesChangeError("conflict", f"409 Conflict: {verb} {what}: {message}")
    if status == 422:
        return KubernetesChangeError("invalid", f"422 Invalid: {message}")
    if status == 0:
        return KubernetesChangeError(
            "unreachable", f"cannot reach the Kubernetes API to {verb} {what}: {message}"
        )
    return KubernetesChangeError("error", f"{status} {error.reason}: {verb} {what}: {message}")


def _memory_check(url: str, query: str, limit: str, timeout: float, seconds: int) -> tuple[str, bool]:
    """(a line on the container's peak working set against the new limit, whether it is near the limit)."""
    try:
        answer = requests.get(
            f"{url.rstrip('/')}/api/v1/query", params={"query": query}, timeout=timeout
        ).json()
        results = answer.get("data", {}).get("result", [])
        used = float(results[0]["value"][1]) if results else None
    except (requests.exceptions.RequestException, ValueError, KeyError, IndexError, TypeError) as error:
        return f"memory not checked: Prometheus did not answer ({one_line(error)})", False
    limit_bytes = parse_k8s_quantity(limit)
    if used is None or not limit_bytes:
        return "memory not checked: no working-set series in Prometheus", False
    share = used / limit_bytes
    line = f"memory peak {math.ceil(used / 2**20)}Mi = {share:.0%} of the new {limit} limit (new pods, {seconds}s)"
    return line, share >= MEMORY_FULL
