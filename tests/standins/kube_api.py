"""A STAND-IN for the Kubernetes API server, for tests: not a real cluster.

A small threaded `http.server` on a free local port that answers the read-only REST calls the
Kubernetes collector makes, with the paths and JSON shapes of the real API server:

  GET /api/v1/namespaces/{ns}/{pods|events|configmaps}[?labelSelector=...|fieldSelector=...]
  GET /api/v1/namespaces/{ns}/{pods|configmaps}/{name}
  GET /api/v1/namespaces/{ns}/pods/{name}/log?container=&previous=&tailLines=&sinceSeconds=
  GET /apis/apps/v1/namespaces/{ns}/{replicasets|deployments|statefulsets|daemonsets}[/{name}]

Objects come from the dicts a test gives (`kind`, `apiVersion`, `metadata`); lists are
`PodList`, `EventList`, ... with `items`. Errors are `Status` bodies with the real reasons and
messages: 404 for unknown paths and objects, 400 for a previous log that does not exist, and 403
for resources a test forbids. An optional delay holds every answer back, to test timeouts.
Every request served is recorded in `requests`.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Json = dict[str, Any]

SERVICE_ACCOUNT = "system:serviceaccount:triage:triage"
RESOURCES = {
    # resource -> (kind, apiVersion, API group)
    "pods": ("Pod", "v1", ""),
    "events": ("Event", "v1", ""),
    "configmaps": ("ConfigMap", "v1", ""),
    "replicasets": ("ReplicaSet", "apps/v1", "apps"),
    "deployments": ("Deployment", "apps/v1", "apps"),
    "statefulsets": ("StatefulSet", "apps/v1", "apps"),
    "daemonsets": ("DaemonSet", "apps/v1", "apps"),
}
RESOURCE_OF_KIND = {kind: resource for resource, (kind, _, _) in RESOURCES.items()}
_PATH = re.compile(
    r"^/(?:api/v1|apis/apps/v1)/namespaces/(?P<namespace>[^/]+)/(?P<resource>[a-z]+)"
    r"(?:/(?P<name>[^/]+)(?:/(?P<subresource>log))?)?$"
)
_SELECTOR_TERM = re.compile(r"^([\w./-]+?)\s*(==|=|!=)\s*([\w./-]*)$")


@dataclass(frozen=True, slots=True)
class ServedRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int


class KubeApiStandIn:
    """Stand-in API server: `with KubeApiStandIn(objects) as api:` then talk to `api.url`."""

    def __init__(self, objects: Iterable[Json] = (), delay: float = 0.0) -> None:
        self.delay = delay
        self.requests: list[ServedRequest] = []
        self._objects: dict[tuple[str, str, str], Json] = {}
        self._logs: dict[tuple[str, str, str, bool], str] = {}
        self._forbidden: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._version = 1000
        for obj in objects:
            self.add(obj)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.standin = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="kube-api-standin", daemon=True
        )

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

    def forbid(self, resource: str) -> None:
        """Answer 403 for a resource (e.g. "pods", "pods/log", "configmaps")."""
        self._forbidden.add(resource)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def served(self, path_part: str) -> list[ServedRequest]:
        """The requests whose path contains `path_part`."""
        with self._lock:
            return [r for r in self.requests if path_part in r.path]

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> KubeApiStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> KubeApiStandIn:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- answering ----------------------------------------------------------------------------
    def answer(self, method: str, target: str) -> tuple[int, str, str]:
        """(status, content type, body) for one request; records it."""
        if self.delay:
            self._stopping.wait(self.delay)
        parts = urlsplit(target)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        status, content_type, body = self._route(method, parts.path, query)
        with self._lock:
            self.requests.append(ServedRequest(method, parts.path, query, status))
        return status, content_type, body

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
        if full_resource in self._forbidden:
            return _forbidden(full_resource, "get" if name else "list", namespace, name)
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: KubeApiStandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (timeout) and closed its socket is expected here


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        status, content_type, body = self.server.standin.answer(method, self.path)
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


# -- selectors and Status bodies ------------------------------------------------------------------
def _parse_selector(selector: str) -> list[tuple[str, str, str]]:
    """`k=v,k!=v` into (key, operator, value); set-based selectors are not spoken here."""
    terms = []
    for term in filter(None, (t.strip() for t in selector.split(","))):
        found = _SELECTOR_TERM.match(term)
        if not found:
            raise ValueError(f'"{term}"')
        key, operator, value = found.groups()
        terms.append((key, "!=" if operator == "!=" else "=", value))
    return terms


def _matches(values: dict[str, Any], terms: list[tuple[str, str, str]]) -> bool:
    return all((str(values.get(key)) == value) == (operator == "=") for key, operator, value in terms)


def _matches_fields(obj: Json, terms: list[tuple[str, str, str]]) -> bool:
    flat = {key: _field(obj, key) for key, _, _ in terms}
    return _matches(flat, terms)


def _field(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _status(code: int, reason: str, message: str, details: Json | None = None) -> tuple[int, str, str]:
    body: Json = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
    }
    body["reason"] = reason
    if details is not None:
        body["details"] = details
    body["code"] = code
    return code, "application/json", json.dumps(body, separators=(",", ":"))


def _forbidden(resource: str, verb: str, namespace: str, name: str | None) -> tuple[int, str, str]:
    group = RESOURCES[resource.split("/")[0]][2]
    base = resource.split("/")[0]
    subject = f'{base} "{name}"' if name else base
    message = (
        f'{subject} is forbidden: User "{SERVICE_ACCOUNT}" cannot {verb} resource "{resource}" '
        f'in API group "{group}" in the namespace "{namespace}"'
    )
    details: Json = {"name": name, "kind": base} if name else {"kind": base}
    if group:
        details["group"] = group
    return _status(403, "Forbidden", message, details)
