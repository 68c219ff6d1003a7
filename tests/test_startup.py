"""Each command imports only what it needs: `triage diagnose` starts at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import COMMANDS, main

HEAVY = ("bot.server", "bot.slack", "bot.alerts", "bot.remediation", "slack_sdk", "slack_bolt", "matplotlib")

PROBE = """
import json, sys
from bot.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _imported(*argv: str) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60, check=False
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


@pytest.mark.parametrize("output", [[], ["--json"], ["--format", "markdown"]])
def test_diagnose_loads_no_server_slack_remediation_or_matplotlib(tmp_path: Path, output: list[str]) -> None:
    artifact = tmp_path / "one.txt"
    artifact.write_text("OOMKilled\n")
    code, modules = _imported("diagnose", str(artifact), *output)
    assert code in (0, 3, 4)
    assert _heavy(modules) == set()


def test_charts_load_matplotlib_only_when_asked(tmp_path: Path) -> None:
    artifact = tmp_path / "one.txt"
    artifact.write_text("OOMKilled\n")
    code, modules = _imported("diagnose", str(artifact), "--charts", str(tmp_path / "charts"))
    assert code in (0, 3, 4)
    assert "matplotlib" in modules
    assert {m.split(".")[0] for m in _heavy(modules)} == {"matplotlib"}


def test_the_parser_loads_nothing_heavy() -> None:
    code, modules = _imported("--version")
    assert code == 0
    assert _heavy(modules) == set() and "analyzers" not in modules and "rich" not in modules


def test_version_answers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("triage ") and any(ch.isdigit() for ch in out)


def test_every_command_names_a_runner_that_exists() -> None:
    import importlib

    for command in COMMANDS:
        module, function = command.run.split(":")
        assert callable(getattr(importlib.import_module(module), function)), command.name


def test_diagnose_of_a_one_line_file_starts_at_once(tmp_path: Path) -> None:
    """The issue's bound is 0.6 s (median of 5) on the reference machine; the suite allows 1.2 s
    for a loaded CI box, still well under the 1.3-2 s it took when the CLI imported everything."""
    import statistics
    import time

    artifact = tmp_path / "one.txt"
    artifact.write_text("hello world\n")
    took = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "diagnose", str(artifact)], capture_output=True, check=False
        )
        took.append(time.perf_counter() - started)
    assert statistics.median(took) < 1.2, took
