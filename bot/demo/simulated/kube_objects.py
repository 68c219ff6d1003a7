"""The Kubernetes stand-in's pure helpers: label and field selectors, pod template hashes, resource
quantities as the API server validates and canonicalises them, and Status bodies."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"


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
_SELECTOR_TERM = re.compile(r"^([\w./-]+?)\s*(==|=|!=)\s*([\w./-]*)$")


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


def _pod_labels(obj: Json) -> dict[str, Any]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def _template_hash(template: Json) -> str:
    """Like the controller's pod-template-hash: a short hash of the pod template."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    return "".join(c for c in digest if c in "bcdfghjklmnpqrstvwxz2456789")[:10] or digest[:10]


def _stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- patches --------------------------------------------------------------------------------------
_UNITS = {"": 1.0, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30}


def _quantity(text: object) -> float:
    found = re.match(r"^([0-9.]+)([A-Za-z]*)$", str(text))
    if not found or found.group(2) not in _UNITS:
        raise ValueError(f"quantities must match the regular expression: {text}")
    return float(found.group(1)) * _UNITS[found.group(2)]


def _invalid_resources(obj: Json) -> str | None:
    """The API server's message for a container whose request is above its limit, or a bad quantity."""
    containers = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    for index, container in enumerate(containers):
        resources = container.get("resources") or {}
        limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
        where = f"spec.template.spec.containers[{index}].resources"
        try:
            for value in [*limits.values(), *requests.values()]:
                _quantity(value)
            for name, request in requests.items():
                if name in limits and _quantity(request) > _quantity(limits[name]):
                    return (
                        f'{where}.requests: Invalid value: "{request}": must be less than or equal to '
                        f"{name} limit of {limits[name]}"
                    )
        except ValueError as error:
            return f"{where}: Invalid value: {error}"
    return None


def _canonical(text: str) -> str:
    """A quantity as the API server writes it back: a binary amount in the largest exact binary
    suffix ("1024Mi" -> "1Gi"), a fractional decimal one in milli ("0.5" -> "500m")."""
    found = re.match(r"^([0-9.]+)([A-Za-z]*)$", text)
    if not found:
        return text
    number, suffix = found.groups()
    if suffix in ("Ki", "Mi", "Gi"):
        amount = int(float(number) * _UNITS[suffix])
        for unit in ("Gi", "Mi", "Ki"):
            if amount % int(_UNITS[unit]) == 0:
                return f"{amount // int(_UNITS[unit])}{unit}"
        return str(amount)
    if suffix == "" and "." in number:
        millis = float(number) * 1000
        return f"{int(millis)}m" if millis == int(millis) else text
    return text


def _canonical_resources(obj: Json) -> None:
    """Quantities in the containers' resources, written back canonically as the API server does."""
    containers = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    for container in containers:
        for section in ("limits", "requests"):
            values = (container.get("resources") or {}).get(section) or {}
            for name, value in values.items():
                values[name] = _canonical(str(value))


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


# -- what the controllers make --------------------------------------------------------------------
def replica_set_for(
    objects: dict[tuple[str, str, str], Json], deployment: Json, revision: str, replicas: int, version: int
) -> Json | None:
    """The ReplicaSet a Deployment controller makes for a pod template (resourceVersion `version`), or
    None when it has one already (made the newest revision again if it was an older one)."""
    meta = deployment["metadata"]
    namespace, name = meta.get("namespace", "default"), meta["name"]
    owned = {
        key: rs
        for key, rs in objects.items()
        if key[0] == "replicasets"
        and key[1] == namespace
        and any(
            o.get("uid") == meta.get("uid") and o.get("name") == name
            for o in rs["metadata"].get("ownerReferences") or []
        )
    }
    newest = max(
        (int((rs["metadata"].get("annotations") or {}).get(REVISION, 0)) for rs in owned.values()),
        default=0,
    )
    key = ("replicasets", namespace, f"{name}-{revision}")
    if key in owned:
        annotations = owned[key]["metadata"].setdefault("annotations", {})
        if int(annotations.get(REVISION, 0)) != newest:
            annotations[REVISION] = str(newest + 1)  # an older template again: it becomes the newest
        return None
    template = copy.deepcopy(deployment["spec"].get("template") or {})
    labels = {**((template.get("metadata") or {}).get("labels") or {}), "pod-template-hash": revision}
    template.setdefault("metadata", {})["labels"] = labels
    return {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": {
            "name": key[2],
            "namespace": namespace,
            "labels": labels,
            "annotations": {REVISION: str(newest + 1)},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": name,
                    "uid": meta.get("uid"),
                    "controller": True,
                }
            ],
            "resourceVersion": str(version),
        },
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template},
    }


def pod_for(
    owner: Json, pod_name: str, label: str, value: str, created_at: float | None, version: int
) -> Json:
    """A running pod of the owner's template, labelled `label: value` (resourceVersion `version`)."""
    meta = owner["metadata"]
    template = (owner.get("spec") or {}).get("template") or {}
    containers = ((template.get("spec") or {}).get("containers")) or []
    started = _stamp(time.time() if created_at is None else created_at)
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": pod_name,
            "namespace": meta.get("namespace", "default"),
            "labels": {**((template.get("metadata") or {}).get("labels") or {}), label: value},
            "creationTimestamp": started,
            "resourceVersion": str(version),
        },
        "spec": copy.deepcopy(template.get("spec") or {"containers": []}),
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": c["name"],
                    "state": {"running": {"startedAt": started}},
                    "restartCount": 0,
                    "ready": True,
                }
                for c in containers
            ],
        },
    }
