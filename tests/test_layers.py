"""`analyzers/` stays pure: no imports of the outside world, no clocks."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ANALYZERS = Path(__file__).resolve().parent.parent / "analyzers"
FORBIDDEN_MODULES = {
    "bot",
    "redis",
    "kubernetes",
    "slack_sdk",
    "slack_bolt",
    "requests",
    "urllib",
    "http",
    "socket",
    "subprocess",
    "prometheus_api_client",
    "matplotlib",
    "time",
    "os",
}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "open"}


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_analyzers_import_nothing_that_touches_the_world() -> None:
    for path in sorted(ANALYZERS.glob("*.py")):
        imported = _imports(ast.parse(path.read_text()))
        assert not imported & FORBIDDEN_MODULES, f"{path.name} imports {imported & FORBIDDEN_MODULES}"


def test_analyzers_read_no_clock_and_no_files() -> None:
    for path in sorted(ANALYZERS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = (
                    node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                )
                assert name not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} calls {name}()"


def test_the_bots_layers_hold() -> None:
    """The import-linter contracts of pyproject.toml: each layer imports only from those below it."""
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], cwd=ANALYZERS.parent, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
