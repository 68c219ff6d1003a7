"""A STAND-IN for the Kubernetes API server, for tests: not a real cluster.

A small threaded `http.server` on a free local port that answers the read-only REST calls the
Kubernetes collector makes, with the paths and JSON shapes of the real API server:

  GET /api/v1/namespaces/{ns}/{pods|events|configmaps}[?labelSelector=...|fieldSelector=...]
  GET /api/v1/namespaces/{ns}/{pods|configmaps}/{name}
  GET /api/v1/namespaces/{ns}/pods/{name}/log?container=&previous=&tailLines=&sinceSeconds=
  GET /apis/apps/v1/namespaces/{ns}/{replicasets|deployments|statefulsets|daemonsets}[/{name}]
  PATCH /apis/apps/v1/namespaces/{ns}/{deployments|statefulsets}/{name}[?dryRun=All]
  POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews   allowed unless `forbid` says otherwise

A PATCH is applied for real, as the API server would (`strategic_merge.py`): a strategic merge
patch (`application/strategic-merge-patch+json`) merges lists by the API's merge keys (containers
and env by name, ports by containerPort, volume mounts by mountPath), a JSON merge patch
(`application/merge-patch+json`) replaces lists whole; any other content type is
415. The result is validated like the API server does for container resources (a request above
its limit is 422 Invalid); unless `dryRun=All`, it is stored with a new resourceVersion and, when
its spec changed, a new metadata.generation. The stand-in is no controller: `roll_out` plays the
Deployment/StatefulSet controller (a ReplicaSet per pod template with its revision annotation, pods
labelled with the revision's hash replacing the old ones, part way or all the way), `restart` the
kubelet restarting a container, `touch_status` a status-only update.
A PATCH whose body carries a `metadata.resourceVersion` other than the stored one is 409 Conflict,
as the API server answers it (optimistic concurrency). Quantities in container resources are
written back canonically ("1024Mi" as "1Gi", "0.5" as "500m"), as the API server does; `before_next_patch` runs a change of the
test's just before the next real PATCH. `refuse_patches` makes every PATCH answer 422 Invalid with a message (an admission webhook or a
LimitRange refusing the change, which a dry run reports too); `forbid(resource, "patch")` makes
PATCH alone 403.

Objects come from the dicts a test gives (`kind`, `apiVersion`, `metadata`); lists are
`PodList`, `EventList`, ... with `items`. Errors are `Status` bodies with the real reasons and
messages: 404 for unknown paths and objects, 400 for a previous log that does not exist, and 403
for resources a test forbids. An optional delay holds every answer back, to test timeouts.
Every request served is recorded in `requests`, a PATCH with its Content-Type and decoded body.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.demo.simulated.kube_objects import (
    RESOURCE_OF_KIND,
    RESOURCES,
    SERVICE_ACCOUNT,
    _canonical_resources,
    _forbidden,
    _invalid_resources,
    _matches,
    _matches_fields,
    _parse_selector,
    _pod_labels,
    _stamp,
    _status,
    _template_hash,
    pod_for,
    replica_set_for,
)
from bot.demo.simulated.server import LocalStandIn, QuietServer
from bot.demo.simulated.strategic_merge import merge

Json = dict[str, Any]

_PATH = re.compile(
    r"^/(?:api/v1|apis/apps/v1)/namespaces/(?P<namespace>[^/]+)/(?P<resource>[a-z]+)"
    r"(?:/(?P<name>[^/]+)(?:/(?P<subresource>log))?)?$"
)
ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
STRATEGIC_MERGE = "application/strategic-merge-patch+json"
JSON_MERGE = "application/merge-patch+json"
REVISION = "deployment.kubernetes.io/revision"


@dataclass(frozen=True, slots=True)
class ServedRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int
    content_type: str = ""
    body: Any = field(default=None, compare=False)


class KubeApiStandIn(LocalStandIn):
    """Stand-in API server: `with KubeApiStandIn(objects) as api:` then talk to `api.url`."""

    def __init__(self, objects: Iterable[Json] = (), delay: float = 0.0) -> None:
        self.delay = delay
        self.requests: list[ServedRequest] = []
        self._objects: dict[tuple[str, str, str], Json] = {}
        self._logs: dict[tuple[str, str, str, bool], str] = {}
        self._forbidden: dict[str, set[str] | None] = {}  # resource -> verbs (None: every verb)
        self._patch_refusal: str | None = None
        self._before_patch: list[Callable[[], object]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._version = 1000
        for obj in objects:
            self.add(obj)
        server = _Server(("127.0.0.1", 0), _Handler)
        server.standin = self
        self._serve(server, "kube-api-standin")

    # -- what the test sets up ----------------------------------------------------------------
    def add(self, obj: Json) -> None:
        """Store an object (a copy); a missing resourceVersion is given one, as the server would."""
        stored = copy.deepcopy(obj)
        meta = stored.setdefault("metadata", {})
        resource = RESOURCE_OF_KIND[stored["kind"]]
        with self._lock:
            self._version += 1
            meta.setdefault("resourceVersion", str(self._version))
            self._objects[(resource, meta.get("namespace", "default"), meta["name"])] = stored

    def set_log(self, namespace: str, pod: str, container: str, text: str, previous: bool = False) -> None:
        self._logs[(namespace, pod, container, previous)] = text

    def forbid(self, resource: str, *verbs: str) -> None:
        """Answer 403 for a resource (e.g. "pods", "pods/log", "configmaps"); for some verbs only if named."""
        if not verbs:
            self._forbidden[resource] = None
            return
        known = self._forbidden.setdefault(resource, set())
        if known is not None:
            known.update(verbs)

    def refuse_patches(self, message: str | None) -> None:
        """Answer every PATCH (dry run or not) with 422 Invalid and this message; None: accept again."""
        self._patch_refusal = message

    def before_next_patch(self, meanwhile: Callable[[], object]) -> None:
        """Run `meanwhile` when the next PATCH that is not a dry run arrives, before it is looked at
        (someone else changing the workload between the bot's read and its patch)."""
        self._before_patch.append(meanwhile)

    def get(self, kind: str, namespace: str, name: str) -> Json:
        """A copy of the stored object (e.g. to see what a PATCH did)."""
        with self._lock:
            return copy.deepcopy(self._objects[(RESOURCE_OF_KIND[kind], namespace, name)])

    def roll_out(
        self,
        kind: str,
        namespace: str,
        name: str,
        ready: int | None = None,
        *,
        finished: bool = True,
        created_at: float | None = None,
    ) -> None:
        """Play the controller rolling out the current pod template.

        A Deployment gets a ReplicaSet for the template (`{name}-{hash}`, labelled
        `pod-template-hash`, owned by the Deployment, with the next `deployment.kubernetes.io/revision`),
        a StatefulSet `status.updateRevision` `{name}-{hash}` (pods labelled `controller-revision-hash`).
        New pods of that revision (restartCount 0, created at `created_at`, default now) replace the
        old pods the selector matches. `finished`: every old pod is gone and the status says so
        (observedGeneration, replicas == updatedReplicas == availableReplicas, `ready` pods ready
        and available); else one new pod runs beside the old ones and the status says the rollout
        is under way.
        """
        with self._lock:
            obj = self._objects[(RESOURCE_OF_KIND[kind], namespace, name)]
            meta = obj["metadata"]
            spec = obj.get("spec") or {}
            replicas = int(spec.get("replicas", 1))
            template = spec.get("template") or {}
            revision = _template_hash(template)
            label = "pod-template-hash" if kind == "Deployment" else "controller-revision-hash"
            value = revision if kind == "Deployment" else f"{name}-{revision}"
            if kind == "Deployment":
                made = replica_set_for(self._objects, obj, revision, replicas, self._version + 1)
                if made is not None:
                    self._version += 1
                    self._objects[("replicasets", namespace, made["metadata"]["name"])] = made
            selector = [
                (k, "=", str(v)) for k, v in ((spec.get("selector") or {}).get("matchLabels") or {}).items()
            ]
            pods = {
                key: pod
                for key, pod in self._objects.items()
                if key[0] == "pods" and key[1] == namespace and _matches(_pod_labels(pod), selector)
            }
            old = [key for key, pod in pods.items() if _pod_labels(pod).get(label) != value]
            new = [key for key, pod in pods.items() if _pod_labels(pod).get(label) == value]
            wanted = replicas if finished else min(replicas, max(1, len(new)))
            if finished:
                for key in old:
                    del self._objects[key]
            for index in range(len(new), wanted):
                pod_name = (
                    f"{name}-{revision}-{index:05d}"
                    if kind == "Deployment"
                    else f"{name}-{replicas - 1 - index}"
                )
                self._objects.pop(("pods", namespace, pod_name), None)
                old = [key for key in old if key != ("pods", namespace, pod_name)]
                self._version += 1
                self._objects[("pods", namespace, pod_name)] = pod_for(
                    obj, pod_name, label, value, created_at, self._version
                )
            status = obj.setdefault("status", {})
            status["observedGeneration"] = int(meta.get("generation", 1))
            if finished:
                status["replicas"] = replicas
                status["updatedReplicas"] = replicas
                status["readyReplicas"] = replicas if ready is None else ready
            else:
                status["replicas"] = wanted + len(old)
                status["updatedReplicas"] = wanted
                status["readyReplicas"] = wanted + len(old) if ready is None else ready
            status["availableReplicas"] = status["readyReplicas"]
            if kind == "StatefulSet":
                status["updateRevision"] = value
                if finished or "currentRevision" not in status:
                    status["currentRevision"] = value if finished else "old"
            self._bump(meta)

    def restart(self, namespace: str, pod: str, container: str, reason: str = "OOMKilled") -> None:
        """The container of a pod restarted (the kubelet's doing): restartCount + 1, lastState terminated."""
        with self._lock:
            obj = self._objects[("pods", namespace, pod)]
            for status in obj.setdefault("status", {}).setdefault("containerStatuses", []):
                if status.get("name") == container:
                    status["restartCount"] = int(status.get("restartCount") or 0) + 1
                    status["lastState"] = {
                        "terminated": {"reason": reason, "exitCode": 137, "finishedAt": _stamp(time.time())}
                    }
            self._bump(obj["metadata"])

    def objects(self, kind: str, namespace: str) -> list[Json]:
        """Copies of the stored objects of a kind in a namespace, by name."""
        resource = RESOURCE_OF_KIND[kind]
        with self._lock:
            return [
                copy.deepcopy(obj)
                for (res, ns, _), obj in sorted(self._objects.items())
                if res == resource and ns == namespace
            ]

    def names(self, kind: str, namespace: str) -> list[str]:
        """The names of the stored objects of a kind in a namespace (e.g. the pods after a rollout)."""
        resource = RESOURCE_OF_KIND[kind]
        with self._lock:
            return sorted(name for res, ns, name in self._objects if res == resource and ns == namespace)

    def touch_status(self, kind: str, namespace: str, name: str) -> None:
        """A status-only update (as the controller makes all the time): a new resourceVersion, same spec."""
        with self._lock:
            obj = self._objects[(RESOURCE_OF_KIND[kind], namespace, name)]
            obj.setdefault("status", {})["conditions"] = [{"type": "Available", "status": "True"}]
            self._bump(obj["metadata"])

    def _bump(self, meta: Json) -> None:
        self._version += 1
        meta["resourceVersion"] = str(self._version)

    def served(self, path_part: str) -> list[ServedRequest]:
        """The requests whose path contains `path_part`."""
        with self._lock:
            return [r for r in self.requests if path_part in r.path]

    # -- lifecycle ----------------------------------------------------------------------------
    # -- answering ----------------------------------------------------------------------------
    def answer(
        self, method: str, target: str, content_type: str = "", data: bytes = b""
    ) -> tuple[int, str, str]:
        """(status, content type, body) for one request; records it."""
        if self.delay:
            self._stopping.wait(self.delay)
        parts = urlsplit(target)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        sent: Any = None
        if method == "PATCH":
            try:
                sent = json.loads(data or b"null")
            except ValueError:
                sent = data.decode("utf-8", errors="replace")
            status, answer_type, body = self._patch(parts.path, query, content_type, sent)
        elif method == "POST" and parts.path == ACCESS_REVIEWS:
            try:
                sent = json.loads(data or b"null")
            except ValueError:
                sent = None
            status, answer_type, body = self._access_review(sent)
        else:
            status, answer_type, body = self._route(method, parts.path, query)
        with self._lock:
            self.requests.append(ServedRequest(method, parts.path, query, status, content_type, sent))
        return status, answer_type, body

    def _access_review(self, review: Any) -> tuple[int, str, str]:
        """A SelfSubjectAccessReview: may the caller do `verb` on the resource (what `forbid` says)."""
        attributes = (
            ((review or {}).get("spec") or {}).get("resourceAttributes") if isinstance(review, dict) else None
        )
        if not isinstance(attributes, dict) or not attributes.get("verb") or not attributes.get("resource"):
            message = (
                "SelfSubjectAccessReview.authorization.k8s.io is invalid: spec.resourceAttributes: "
                "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified"
            )
            return _status(422, "Invalid", message)
        resource = str(attributes["resource"])
        if attributes.get("subresource"):
            resource = f"{resource}/{attributes['subresource']}"
        allowed = not self._is_forbidden(resource, str(attributes["verb"]))
        answered = {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": {"resourceAttributes": attributes},
            "status": {"allowed": allowed}
            if allowed
            else {"allowed": False, "reason": f"no RBAC policy matched for {SERVICE_ACCOUNT}"},
        }
        return 201, "application/json", json.dumps(answered, separators=(",", ":"))

    def _is_forbidden(self, resource: str, verb: str) -> bool:
        if resource not in self._forbidden:
            return False
        verbs = self._forbidden[resource]
        return verbs is None or verb in verbs

    def _route(self, method: str, path: str, query: dict[str, str]) -> tuple[int, str, str]:
        found = _PATH.match(path)
        if method != "GET":
            return _status(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        if not found or found["resource"] not in RESOURCES:
            return _status(404, "NotFound", "the server could not find the requested resource")
        namespace, resource, name, subresource = found.group("namespace", "resource", "name", "subresource")
        if subresource and resource != "pods":
            return _status(404, "NotFound", "the server could not find the requested resource")
        full_resource = f"{resource}/{subresource}" if subresource else resource
        verb = "get" if name else "list"
        if self._is_forbidden(full_resource, verb):
            return _forbidden(full_resource, verb, namespace, name)
        if name is None:
            return self._list(resource, namespace, query)
        obj = self._objects.get((resource, namespace, name))
        if obj is None:
            return _status(
                404, "NotFound", f'{resource} "{name}" not found', {"name": name, "kind": resource}
            )
        if subresource == "log":
            return self._log(obj, query)
        return 200, "application/json", json.dumps(obj, separators=(",", ":"))

    def _list(self, resource: str, namespace: str, query: dict[str, str]) -> tuple[int, str, str]:
        kind, api_version, _ = RESOURCES[resource]
        try:
            labels = _parse_selector(query.get("labelSelector", ""))
            fields = _parse_selector(query.get("fieldSelector", ""))
        except ValueError as error:
            return _status(400, "BadRequest", f"unable to parse requirement: {error}")
        with self._lock:
            items = [
                obj
                for (res, ns, _), obj in sorted(self._objects.items())
                if res == resource
                and ns == namespace
                and _matches(obj.get("metadata", {}).get("labels") or {}, labels)
                and _matches_fields(obj, fields)
            ]
            version = str(self._version)
        body = {
            "kind": f"{kind}List",
            "apiVersion": api_version,
            "metadata": {"resourceVersion": version},
            "items": items,
        }
        return 200, "application/json", json.dumps(body, separators=(",", ":"))

    def _patch(self, path: str, query: dict[str, str], content_type: str, patch: Any) -> tuple[int, str, str]:
        found = _PATH.match(path)
        if not found or found["resource"] not in ("deployments", "statefulsets") or not found["name"]:
            return _status(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        namespace, resource, name = found.group("namespace", "resource", "name")
        if self._is_forbidden(resource, "patch"):
            return _forbidden(resource, "patch", namespace, name)
        media_type = content_type.split(";")[0].strip()
        if media_type not in (STRATEGIC_MERGE, JSON_MERGE):
            return _status(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - "
                f"accepted media types include: {STRATEGIC_MERGE}, {JSON_MERGE}",
            )
        if not isinstance(patch, dict):
            return _status(400, "BadRequest", "the patch is not a JSON object")
        dry_run = query.get("dryRun")
        if dry_run not in (None, "All"):
            return _status(400, "BadRequest", f'Invalid dryRun directive: "{dry_run}"')
        kind = RESOURCES[resource][0]
        if dry_run is None and self._before_patch:
            self._before_patch.pop(0)()
        with self._lock:
            current = self._objects.get((resource, namespace, name))
            if current is None:
                return _status(
                    404, "NotFound", f'{resource}.apps "{name}" not found', {"name": name, "kind": resource}
                )
            if self._patch_refusal is not None:
                message = f'{kind}.apps "{name}" is invalid: {self._patch_refusal}'
                return _status(422, "Invalid", message, {"name": name, "group": "apps", "kind": kind})
            wanted = (patch.get("metadata") or {}).get("resourceVersion")
            if wanted is not None and wanted != current["metadata"].get("resourceVersion"):
                message = (
                    f'Operation cannot be fulfilled on {resource}.apps "{name}": the object has been '
                    "modified; please apply your changes to the latest version and try again"
                )
                return _status(409, "Conflict", message, {"name": name, "group": "apps", "kind": resource})
            merged = merge(current, patch, strategic=media_type == STRATEGIC_MERGE)
            problem = _invalid_resources(merged)
            if problem:
                message = f'{kind}.apps "{name}" is invalid: {problem}'
                return _status(422, "Invalid", message, {"name": name, "group": "apps", "kind": kind})
            _canonical_resources(merged)
            meta = merged.setdefault("metadata", {})
            if merged.get("spec") != current.get("spec"):
                meta["generation"] = int(meta.get("generation", 1)) + 1
            if dry_run is None:
                self._bump(meta)
                self._objects[(resource, namespace, name)] = merged
            else:
                meta["resourceVersion"] = current["metadata"]["resourceVersion"]
        return 200, "application/json", json.dumps(merged, separators=(",", ":"))

    def _log(self, pod: Json, query: dict[str, str]) -> tuple[int, str, str]:
        meta = pod["metadata"]
        containers = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
        container = query.get("container") or (containers[0] if len(containers) == 1 else "")
        if container not in containers:
            choose = " ".join(containers)
            message = f"a container name must be specified for pod {meta['name']}, choose one of: [{choose}]"
            return _status(400, "BadRequest", message)
        previous = query.get("previous") == "true"
        text = self._logs.get((meta.get("namespace", "default"), meta["name"], container, previous))
        if text is None and previous:
            message = f'previous terminated container "{container}" in pod "{meta["name"]}" not found'
            return _status(400, "BadRequest", message)
        lines = (text or "").splitlines(keepends=True)
        if "tailLines" in query:
            lines = lines[-int(query["tailLines"]) :] if int(query["tailLines"]) else []
        return 200, "text/plain", "".join(lines)


class _Server(QuietServer):
    standin: KubeApiStandIn


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_PATCH(self) -> None:
        self._answer("PATCH")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type") or ""
        status, content_type, body = self.server.standin.answer(method, self.path, content_type, sent)
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass
