"""The Kubernetes API -> evidence: a service's pods, their workload, events, logs and ConfigMaps.

Every object is read from the raw JSON body of its response and handed to the same
`ObjectReader` that reads pasted `kubectl get -o json`, so live data and pasted text give the
same facts and the same findings; the excerpts are real text of the responses and the refs are
the REST paths that were read.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.util.retry import Retry

from analyzers.evidence import Evidence, SourceReport, Subject
from bot.collectors.base import BadRequestError, CollectorError, MissingError, RefusedError, Target
from bot.kubernetes_api import KubeConfigError, load_api_client, one_line, status_message, uses_kubeconfig
from bot.readers import read_string
from bot.readers.kubernetes_objects import ObjectReader, workload_of_pod, workload_of_replicaset

SELECTOR_KEYS = ("app", "app.kubernetes.io/name", "app.kubernetes.io/instance")
OBJECT_KIND = "k8s-api"
LOG_KIND = "k8s-logs"
MAX_PODS = 10  # pods read in detail (logs, events); the most troubled first
MAX_LOG_BYTES = 2 * 2**20
# The time-out bounds the whole collection: each GET gets the time left as its `_request_timeout`,
# and a GET that timed out is not asked again (urllib3 would, three times); a refused connect is.
NO_READ_RETRIES = Retry(total=1, connect=1, read=0, status=0, redirect=0)
IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")

Json = dict[str, Any]


class KubernetesCollector:
    """Reads what `kubectl get/describe/logs/get events` would show about one service."""

    name = "kubernetes"

    def __init__(
        self,
        api_client: client.ApiClient | None = None,
        kubeconfig: str | None = None,
        context: str | None = None,
    ) -> None:
        self.api_client = api_client
        self.kubeconfig = kubeconfig
        self.context = context
        self.default_namespace = "default"

    def collect(self, target: Target, timeout: float) -> Evidence:
        if timeout <= 0:
            raise CollectorError(f"no time left to query the Kubernetes API (timeout {timeout:g}s)")
        api_client = self._client()
        return _Collection(api_client, target, timeout, self.default_namespace).run()

    def _client(self) -> client.ApiClient:
        if self.api_client is None:
            self.api_client, self.default_namespace = _load_client(self.kubeconfig, self.context)
        return self.api_client


# -- configuration ------------------------------------------------------------------------------
def _load_client(kubeconfig: str | None, context: str | None) -> tuple[client.ApiClient, str]:
    """A client, and the namespace its configuration defaults to."""
    try:
        api_client = load_api_client(kubeconfig, context, retries=NO_READ_RETRIES)
    except KubeConfigError as error:
        raise CollectorError(str(error)) from None
    if uses_kubeconfig(kubeconfig, context):
        return api_client, _kubeconfig_namespace(kubeconfig, context)
    return api_client, _in_cluster_namespace()


def _kubeconfig_namespace(kubeconfig: str | None, context: str | None) -> str:
    contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else active
    return str(((chosen or {}).get("context") or {}).get("namespace") or "default")


def _in_cluster_namespace() -> str:
    try:
        return IN_CLUSTER_NAMESPACE.read_text().strip() or "default"
    except OSError:
        return "default"


# -- one API call -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Call:
    """One GET: what RBAC calls it (verb, resource, group) and its REST path, which is the fact ref."""

    verb: str
    resource: str
    namespace: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    group: str = ""

    @property
    def ref(self) -> str:
        return f"{self.path}?{urlencode(self.query)}" if self.query else self.path

    def forbidden(self) -> str:
        group = f' in API group "{self.group}"' if self.group else ""
        return (
            f'403 Forbidden: cannot {self.verb} {self.resource} in namespace "{self.namespace}" '
            f'(RBAC needs verb "{self.verb}" on "{self.resource}"{group})'
        )


def _api_error(call: _Call, error: ApiException) -> CollectorError:
    status = int(error.status or 0)
    message = status_message(error)
    if status == 403:
        return RefusedError(call.forbidden())
    if status == 404:
        return MissingError(f"404 Not Found: GET {call.ref}: {message}")
    if status == 400:
        return BadRequestError(f"400 Bad Request: GET {call.ref}: {message}")
    if status == 401:
        return CollectorError(f"401 Unauthorized: the API server rejected the credentials (GET {call.ref})")
    if status == 0:
        return CollectorError(f"cannot reach the Kubernetes API for GET {call.ref}: {message}")
    return CollectorError(f"{status} {error.reason}: GET {call.ref}: {message}")


def _transport_error(call: _Call, error: urllib3.exceptions.HTTPError, timeout: float) -> CollectorError:
    cause = error.reason if isinstance(error, urllib3.exceptions.MaxRetryError) else error
    # NewConnectionError subclasses ConnectTimeoutError in urllib3, but a refused connection is no timeout.
    timed_out = isinstance(cause, urllib3.exceptions.TimeoutError)
    if timed_out and not isinstance(cause, urllib3.exceptions.NewConnectionError):
        return CollectorError(f"timed out after {timeout:g}s waiting for GET {call.ref}")
    return CollectorError(f"cannot reach the Kubernetes API for GET {call.ref}: {one_line(cause)}")


@dataclass
class _PodSet:
    namespace: str
    selector: str
    pods: list[Json]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(_name(pod) for pod in self.pods)


@dataclass
class _Workloads:
    """What the owner chain told: each pod's workload and the objects events are asked about."""

    of_pod: dict[str, str] = field(default_factory=dict)
    event_names: list[str] = field(default_factory=list)
    described: list[str] = field(default_factory=list)  # e.g. "Deployment session-cache"


class _Collection:
    """One `collect` call: its deadline, what it read and what it could not."""

    def __init__(self, api_client: client.ApiClient, target: Target, timeout: float, namespace: str) -> None:
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.target = target
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.default_namespace = namespace
        self.evidence = Evidence()
        self.counts: Counter[str] = Counter()
        self.notes: list[str] = []
        self.refused: dict[str, str] = {}  # resource -> why it was refused
        self.problems: list[str] = []
        self.in_flight = ""

    def run(self) -> Evidence:
        chosen, selection_note = self._choose_pods()
        if not chosen.pods:
            self.evidence.sources.append(SourceReport("kubernetes", "kubernetes", "partial", self._no_pods()))
            return self.evidence
        if selection_note:
            self.notes.append(selection_note)
        namespace = chosen.namespace
        pods = [pod for pod in map(partial(self._read_pod, namespace), self._detailed(chosen)) if pod]
        workloads = self._read_workloads(namespace, pods)
        self._read_events(namespace, [_name(pod) for pod in pods] + workloads.event_names)
        self._read_logs(namespace, pods, workloads)
        self._read_configmaps(namespace, pods)
        self.evidence.sources.append(self._report(chosen, len(pods), workloads))
        return self.evidence

    # -- calls ----------------------------------------------------------------------------------
    def _get(self, call: _Call, fetch: Callable[..., Any]) -> str:
        """The body of one GET, as text; API errors become `CollectorError`s."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise CollectorError(f"timed out after {self.timeout:g}s before GET {call.ref}")
        self.in_flight = call.ref
        try:
            response = fetch(_preload_content=False, _request_timeout=remaining)
            try:
                body: bytes = response.read()
            finally:
                response.release_conn()
        except ApiException as error:
            raise _api_error(call, error) from None
        except urllib3.exceptions.HTTPError as error:
            raise _transport_error(call, error, self.timeout) from None
        return body.decode("utf-8", errors="replace")

    def _get_json(self, call: _Call, fetch: Callable[..., Any]) -> tuple[str, Json]:
        text = self._get(call, fetch)
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            raise CollectorError(f"GET {call.ref}: the response is not a JSON object")
        return text, obj

    def _read_facts(self, text: str, ref: str, obj: Json | list[Json]) -> None:
        self.evidence.extend(ObjectReader(text, ref, OBJECT_KIND, 0, self.problems).read(obj))

    # -- pods -----------------------------------------------------------------------------------
    def _choose_pods(self) -> tuple[_PodSet, str]:
        """The pod set of the selector (or label key) that matches most pods, and why it won."""
        target = self.target
        selectors = (
            [target.selector] if target.selector else [f"{key}={target.service}" for key in SELECTOR_KEYS]
        )
        candidates = [self._list_pods(ns, selector) for ns in self._namespaces() for selector in selectors]
        chosen = max(candidates, key=lambda c: len(c.pods))  # ties: the first label key wins
        return chosen, _selection_note(chosen, candidates)

    def _namespaces(self) -> tuple[str, ...]:
        target = self.target
        return (target.namespace,) if target.namespace else target.namespaces or (self.default_namespace,)

    def _list_pods(self, namespace: str, selector: str) -> _PodSet:
        path = f"/api/v1/namespaces/{namespace}/pods"
        call = _Call("list", "pods", namespace, path, (("labelSelector", selector),))
        _, body = self._get_json(
            call, partial(self.core.list_namespaced_pod, namespace, label_selector=selector)
        )
        items = [item for item in body.get("items") or [] if isinstance(item, dict)]
        return _PodSet(namespace, selector, items)

    def _detailed(self, chosen: _PodSet) -> list[str]:
        ranked = sorted(chosen.pods, key=lambda pod: (-_restarts(pod), _name(pod)))
        if len(ranked) > MAX_PODS:
            self.notes.append(f"read {MAX_PODS} of {len(ranked)} pods in detail, the most restarted first")
        return [_name(pod) for pod in ranked[:MAX_PODS]]

    def _read_pod(self, namespace: str, name: str) -> Json | None:
        call = _Call("get", "pods", namespace, f"/api/v1/namespaces/{namespace}/pods/{name}")
        try:
            text, pod = self._get_json(call, partial(self.core.read_namespaced_pod, name, namespace))
        except MissingError:
            self.notes.append(f"pod {name} went away while being read")
            return None
        self._read_facts(text, call.ref, pod)
        return pod

    # -- owners ---------------------------------------------------------------------------------
    def _read_workloads(self, namespace: str, pods: list[Json]) -> _Workloads:
        workloads = _Workloads()
        followed: dict[tuple[str, str], str] = {}
        for pod in pods:
            owner = _controller(pod)
            if owner is None:
                workloads.of_pod[_name(pod)] = workload_of_pod(_name(pod))
                continue
            if owner not in followed:
                followed[owner] = self._follow(namespace, owner, workloads)
            workloads.of_pod[_name(pod)] = followed[owner]
        return workloads

    def _follow(self, namespace: str, owner: tuple[str, str], workloads: _Workloads) -> str:
        """Read a pod's controller (and a ReplicaSet's Deployment); the workload's name."""
        kind, name = owner
        if kind == "ReplicaSet":
            return self._follow_replicaset(namespace, name, workloads)
        if kind in ("StatefulSet", "DaemonSet"):
            if self._read_workload(namespace, kind, name):
                workloads.event_names.append(name)
                workloads.described.append(f"{kind} {name}")
            return name
        self.notes.append(f"owner {kind} {name} not read")
        return name

    def _follow_replicaset(self, namespace: str, name: str, workloads: _Workloads) -> str:
        call = _workload_call("replicasets", namespace, name)
        try:
            text, replicaset = self._get_json(
                call, partial(self.apps.read_namespaced_replica_set, name, namespace)
            )
        except MissingError:
            self.notes.append(f"ReplicaSet {name} not found")
            return workload_of_replicaset(name)
        workloads.event_names.append(name)
        parent = _controller(replicaset)
        if parent and parent[0] == "Deployment" and self._read_deployment(namespace, parent[1]):
            workloads.event_names.append(parent[1])
            workloads.described.append(f"Deployment {parent[1]}")
            return parent[1]
        # A bare ReplicaSet: its own body is the only place its facts come from.
        self._read_facts(text, call.ref, replicaset)
        workloads.described.append(f"ReplicaSet {name}")
        return workload_of_replicaset(name)

    def _read_workload(self, namespace: str, kind: str, name: str) -> Json | None:
        resource, read = {
            "Deployment": ("deployments", self.apps.read_namespaced_deployment),
            "StatefulSet": ("statefulsets", self.apps.read_namespaced_stateful_set),
            "DaemonSet": ("daemonsets", self.apps.read_namespaced_daemon_set),
        }[kind]
        call = _workload_call(resource, namespace, name)
        try:
            text, obj = self._get_json(call, partial(read, name, namespace))
        except MissingError:
            self.notes.append(f"{kind} {name} not found")
            return None
        except RefusedError as refusal:  # e.g. no read on daemonsets: the pods still tell most of it
            self.refused[resource] = str(refusal)
            return None
        self._read_facts(text, call.ref, obj)
        return obj

    def _read_deployment(self, namespace: str, name: str) -> bool:
        """The Deployment and all its ReplicaSets, so the previous image is known too."""
        deployment = self._read_workload(namespace, "Deployment", name)
        if deployment is None:
            return False
        match_labels = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        selector = ",".join(f"{key}={value}" for key, value in sorted(match_labels.items()))
        path = f"/apis/apps/v1/namespaces/{namespace}/replicasets"
        query = (("labelSelector", selector),) if selector else ()
        call = _Call("list", "replicasets", namespace, path, query, "apps")
        text, body = self._get_json(
            call, partial(self.apps.list_namespaced_replica_set, namespace, label_selector=selector or None)
        )
        uid = (deployment.get("metadata") or {}).get("uid")
        owned = [rs for rs in body.get("items") or [] if isinstance(rs, dict) and _owned_by(rs, name, uid)]
        self._read_facts(text, call.ref, owned)
        return True

    # -- events, logs, ConfigMaps ---------------------------------------------------------------
    def _read_events(self, namespace: str, names: Iterable[str]) -> None:
        path = f"/api/v1/namespaces/{namespace}/events"
        for name in dict.fromkeys(names):
            selector = f"involvedObject.name={name}"
            call = _Call("list", "events", namespace, path, (("fieldSelector", selector),))
            fetch = partial(self.core.list_namespaced_event, namespace, field_selector=selector)
            text, body = self._get_json(call, fetch)
            self.counts["event"] += len(body.get("items") or [])
            self._read_facts(text, call.ref, body)

    def _read_logs(self, namespace: str, pods: list[Json], workloads: _Workloads) -> None:
        for pod in pods:
            pod_name = _name(pod)
            for container in (pod.get("spec") or {}).get("containers") or []:
                subject = Subject(namespace, pod_name, str(container.get("name")), workloads.of_pod[pod_name])
                for previous in (False, True):
                    if "pods/log" not in self.refused:
                        self._read_log(subject, previous)

    def _read_log(self, subject: Subject, previous: bool) -> None:
        namespace, pod, container = str(subject.namespace), str(subject.pod), str(subject.container)
        query = (("container", container), *((("previous", "true"),) if previous else ()))
        path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
        call = _Call("get", "pods/log", namespace, path, query)
        fetch = partial(
            self.core.read_namespaced_pod_log,
            pod,
            namespace,
            container=container,
            previous=previous or None,
            tail_lines=self.target.log_tail_lines if self.target.log_tail_lines > 0 else None,
            since_seconds=self.target.since_seconds if self.target.since_seconds > 0 else None,
            limit_bytes=MAX_LOG_BYTES,
        )
        try:
            text = self._get(call, fetch)
        except (BadRequestError, MissingError):
            return  # no previous container, or one that has not started: nothing to read
        except RefusedError as refusal:
            self.refused["pods/log"] = str(refusal)
            return
        self.counts["log stream"] += 1
        self.evidence.extend(read_string(text, call.ref, about=subject, kind=LOG_KIND).facts)

    def _read_configmaps(self, namespace: str, pods: list[Json]) -> None:
        for name in sorted({name for pod in pods for name in _mounted_configmaps(pod)}):
            call = _Call("get", "configmaps", namespace, f"/api/v1/namespaces/{namespace}/configmaps/{name}")
            try:
                text, configmap = self._get_json(
                    call, partial(self.core.read_namespaced_config_map, name, namespace)
                )
            except MissingError:
                self.notes.append(f"ConfigMap {name} is mounted but does not exist")
                continue
            except RefusedError as refusal:
                self.refused["configmaps"] = str(refusal)
                return
            self.counts["ConfigMap"] += 1
            self._read_facts(text, call.ref, configmap)

    # -- the report -----------------------------------------------------------------------------
    def _no_pods(self) -> str:
        where = ", ".join(self._namespaces())
        if self.target.selector:
            return f"no pods match {self.target.selector} in {where}"
        return f"no pods labelled {', '.join(SELECTOR_KEYS)} = {self.target.service} in {where}"

    def _report(self, chosen: _PodSet, pods_read: int, workloads: _Workloads) -> SourceReport:
        parts = [f"{_count(pods_read, 'pod')} ({chosen.selector} in {chosen.namespace})"]
        parts += workloads.described
        parts += [_count(self.counts[what], what) for what in ("event", "log stream", "ConfigMap")]
        extras = [f"not read: {why}" for why in self.refused.values()] + self.notes
        if self.problems:
            extras.append(f"{_count(len(self.problems), 'object')} not understood and skipped")
        detail = "; ".join([", ".join(parts), *extras])
        return SourceReport("kubernetes", "kubernetes", "partial" if self.refused else "ok", detail)


# -- small helpers on API objects ---------------------------------------------------------------
def _name(obj: Json) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _controller(obj: Json) -> tuple[str, str] | None:
    owners = (obj.get("metadata") or {}).get("ownerReferences") or []
    for owner in owners:
        if isinstance(owner, dict) and owner.get("controller"):
            return str(owner.get("kind")), str(owner.get("name"))
    return None


def _owned_by(obj: Json, name: str, uid: object) -> bool:
    owners = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(
        isinstance(o, dict)
        and o.get("kind") == "Deployment"
        and (o.get("uid") == uid if uid else o.get("name") == name)
        for o in owners
    )


def _restarts(pod: Json) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return sum(int(s.get("restartCount") or 0) for s in statuses if isinstance(s, dict))


def _mounted_configmaps(pod: Json) -> set[str]:
    names: set[str] = set()
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        sources = [volume, *((volume.get("projected") or {}).get("sources") or [])]
        names.update(str(s["configMap"]["name"]) for s in sources if (s.get("configMap") or {}).get("name"))
    return names


def _workload_call(resource: str, namespace: str, name: str) -> _Call:
    return _Call(
        "get", resource, namespace, f"/apis/apps/v1/namespaces/{namespace}/{resource}/{name}", group="apps"
    )


def _selection_note(chosen: _PodSet, candidates: list[_PodSet]) -> str:
    """Why this pod set, when another selector found different pods."""
    others = [c for c in candidates if c.pods and c.names != chosen.names]
    if not others:
        return ""
    beaten = ", ".join(f"{c.selector} in {c.namespace} ({_count(len(c.pods), 'pod')})" for c in others)
    return (
        f"chose {chosen.selector} in {chosen.namespace} ({_count(len(chosen.pods), 'pod')}) over {beaten}: "
        "the selector that matches most pods wins, the first label key on a tie"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
