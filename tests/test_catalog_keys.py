"""The first hour: the catalog's keys (the settings model, the commented example and docs/catalog.md name
the same ones) and the LICENSE file pyproject.toml declares."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from bot.settings import Catalog, load_catalog

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "catalog.example.yaml"
DOCS = ROOT / "docs" / "catalog.md"
# Maps whose keys are the user's own (label names, query names, namespaces), not settings.
FREE_FORM = {
    "namespace_approvers",
    "alert_routes[].match",
    "services.*.prometheus.matchers",
    "services.*.prometheus.queries",
}
_COMMENTED_KEY = re.compile(r"^(\s*)# ?(\s*)(- )?([a-z_]+:.*)$")


def model_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every key path the model accepts: `a.b`, `list[].c`, `map.*.d`."""
    found: set[str] = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        found.add(path)
        if path in FREE_FORM:
            continue
        nested, suffix = _nested(field.annotation)
        if nested is not None:
            found |= model_keys(nested, f"{path}{suffix}.")
    return found


def _nested(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    if origin is list and args:
        inner, _ = _nested(args[0])
        return inner, "[]"
    if origin is dict and len(args) == 2:
        inner, _ = _nested(args[1])
        return inner, ".*"
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            inner, suffix = _nested(arg)
            if inner is not None:
                return inner, suffix
    return None, ""


def uncommented(text: str) -> str:
    """The example with its commented-out keys (`# key: value`, `# - key: value`) taken in."""
    lines = []
    for line in text.splitlines():
        found = _COMMENTED_KEY.match(line)
        lines.append("".join(part or "" for part in found.groups()) if found else line)
    return "\n".join(lines)


def data_keys(data: Any, prefix: str = "") -> set[str]:
    found: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}{key}" if prefix != "services." else "services.*"
            found.add(path)
            if path in FREE_FORM:
                continue
            found |= data_keys(value, f"{path}.")
    elif isinstance(data, list):
        for item in data:
            found |= data_keys(item, f"{prefix.rstrip('.')}[].")
    return found


def test_the_example_names_every_key_of_the_model_and_no_other() -> None:
    documented = data_keys(yaml.safe_load(uncommented(EXAMPLE.read_text())))
    documented.discard("services.*")  # a service's name, not a key
    assert documented == model_keys(Catalog)


def test_the_example_with_its_commented_keys_taken_in_is_still_a_valid_catalog(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(uncommented(EXAMPLE.read_text()))
    catalog = load_catalog(path, environ={})
    assert catalog.remediation.memory_ceiling == "8Gi"
    assert [route.channel for route in catalog.alert_routes] == ["C0456PAYMENTS", "C0123ALERTS"]


def test_the_docs_name_every_key_of_the_model_and_no_other() -> None:
    rows = re.findall(r"^\| `([^`]+)` \|", DOCS.read_text(), flags=re.MULTILINE)
    assert len(rows) == len(set(rows))
    assert set(rows) == model_keys(Catalog)


def test_the_license_file_is_the_one_pyproject_declares() -> None:
    declared = re.search(
        r'^license = \{ text = "([^"]+)" \}', (ROOT / "pyproject.toml").read_text(), re.MULTILINE
    )
    assert declared and declared.group(1) == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
