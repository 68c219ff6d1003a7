"""The service catalog: where each service lives and who owns it (YAML, validated with pydantic)."""

from __future__ import annotations

import difflib
import os
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class CatalogError(Exception):
    """The catalog file is missing, not YAML, or not the expected shape; the message says where."""


class PrometheusSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matchers: dict[str, str] = Field(default_factory=dict, description="label matchers, e.g. namespace")
    queries: dict[str, str] = Field(default_factory=dict, description="extra named PromQL queries")


class ServiceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    namespace: str | None = None
    selector: str | None = None
    redis_url: str | None = None
    prometheus: PrometheusSettings = Field(default_factory=PrometheusSettings)
    channel: str | None = None
    owners: list[str] = Field(default_factory=list)
    approvers: list[str] | None = None
    production: bool | None = None

    @field_validator("selector")
    @classmethod
    def _selector_has_pairs(cls, value: str | None) -> str | None:
        if value is not None and not all("=" in part for part in value.split(",")):
            raise ValueError("a label selector is key=value[,key=value], e.g. app=session-cache")
        return value


class AlertRoute(BaseModel):
    """Alerts whose labels all equal `match` go to `channel` (the first matching route wins)."""

    model_config = ConfigDict(extra="forbid")

    match: dict[str, str] = Field(default_factory=dict)
    channel: str


class RemediationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    expiry_minutes: int = Field(default=30, gt=0, description="how long a proposal can be approved")
    max_memory_factor: float = Field(default=4.0, gt=1, description="larger raises need a second approver")
    memory_ceiling: str | None = Field(default=None, description="e.g. 8Gi; above it a second approver")
    verify_seconds: int = Field(default=300, gt=0, description="how long to watch after applying")
    two_person_rule: bool | None = Field(default=None, description="None: on for production services")


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    namespaces: list[str] = Field(default_factory=list, description="where to search for unlisted services")
    production_namespaces: list[str] = Field(default_factory=list)
    approvers: list[str] = Field(
        default_factory=list, description="Slack user ids (U...) and user groups (S...)"
    )
    namespace_approvers: dict[str, list[str]] = Field(default_factory=dict)
    allowed_channels: list[str] = Field(default_factory=list, description="where /triage may run; empty: any")
    alert_routes: list[AlertRoute] = Field(default_factory=list)
    remediation: RemediationSettings = Field(default_factory=RemediationSettings)
    services: dict[str, ServiceConfig] = Field(default_factory=dict)

    def service(self, name: str) -> ServiceConfig | None:
        return self.services.get(name)

    def owners_of(self, name: str | None) -> list[str]:
        """Who to mention about a service (Slack user or group ids); none for one not in the catalog."""
        config = self.services.get(name) if name else None
        return list(config.owners) if config else []

    def suggestions(self, name: str, limit: int = 3) -> list[str]:
        """The closest known service names, for a name that is not in the catalog."""
        return difflib.get_close_matches(name, list(self.services), n=limit, cutoff=0.5)


def load_catalog(path: str | Path | None = None, environ: Mapping[str, str] = os.environ) -> Catalog:
    """The catalog from `path` (or $TRIAGE_CONFIG), with $PROMETHEUS_URL and $KUBECONFIG on top.

    No file at all is an empty catalog; a file that is named but broken is an error.
    """
    chosen = path or environ.get("TRIAGE_CONFIG")
    catalog = _read(Path(chosen)) if chosen else Catalog()
    updates: dict[str, Any] = {}
    if environ.get("PROMETHEUS_URL"):
        updates["prometheus_url"] = environ["PROMETHEUS_URL"]
    if environ.get("KUBECONFIG"):
        updates["kubeconfig"] = environ["KUBECONFIG"]
    if environ.get("ALERTMANAGER_URL"):
        updates["alertmanager_url"] = environ["ALERTMANAGER_URL"]
    catalog = catalog.model_copy(update=updates) if updates else catalog
    return _with_secrets(catalog, environ, str(chosen or "the catalog"))


def _with_secrets(catalog: Catalog, environ: Mapping[str, str], where: str) -> Catalog:
    """`redis_url: redis://:${SESSION_CACHE_REDIS_PASSWORD}@host:6379` takes the password from the
    environment (a Secret mounted as a variable), so no catalog file or ConfigMap holds it."""
    services = dict(catalog.services)
    for name, service in catalog.services.items():
        if service.redis_url and "${" in service.redis_url:
            try:
                url = string.Template(service.redis_url).substitute(environ)
            except (KeyError, ValueError) as error:
                raise CatalogError(
                    f"{where}: services.{name}.redis_url names ${{{error.args[0]}}}, which is not set"
                ) from error
            services[name] = service.model_copy(update={"redis_url": url})
    return catalog.model_copy(update={"services": services})


def _read(path: Path) -> Catalog:
    try:
        text = path.read_text()
    except OSError as error:
        raise CatalogError(f"{path}: cannot read the catalog ({error.strerror})") from error
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        raise CatalogError(_yaml_problem(path, error)) from error
    except yaml.YAMLError as error:
        raise CatalogError(f"{path}: not valid YAML ({_first_line(error)})") from error
    if data is None:
        return Catalog()
    if not isinstance(data, dict):
        raise CatalogError(f"{_at(path, root)}: the catalog must be a mapping with a `services:` key")
    try:
        return Catalog.model_validate(data)
    except ValidationError as error:
        problems = [
            f"{_at(path, _node_at(root, item['loc']))}: {'.'.join(str(p) for p in item['loc'])}: {item['msg']}"
            for item in error.errors()
        ]
        raise CatalogError("\n".join(problems)) from error


def _yaml_problem(path: Path, error: yaml.MarkedYAMLError) -> str:
    """`file:line:column: problem (context)`, as an editor jumps to it."""
    mark = error.problem_mark or error.context_mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
    context = f" ({error.context})" if error.context else ""
    return f"{where}: not valid YAML: {error.problem or 'cannot be parsed'}{context}"


def _node_at(node: yaml.Node | None, loc: tuple[int | str, ...]) -> yaml.Node | None:
    """The deepest YAML node on the way to a validation error's location (its key, for a wrong key)."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if found is None:
                return node
            node = found[1] if part != loc[-1] else found[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _at(path: Path, node: yaml.Node | None) -> str:
    if node is None:
        return str(path)
    return f"{path}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
