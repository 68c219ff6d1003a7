"""Usage errors are usage errors: exit 2 and one line naming the option; a closed pipe ends quietly;
the catalog's errors carry file, line and column, all of them at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.durations import format_duration, parse_duration
from bot.settings import CatalogError, load_catalog

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "session-cache"


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["check", "svc", "--redis-url", "127.0.0.1:6391"], "--redis-url"),
        (["check", "svc", "--redis-url", "redis://host:port"], "--redis-url"),
        (["check", "svc", "--prometheus-url", "prometheus:9090"], "--prometheus-url"),
        (["check", "svc", "--prometheus-url", "http://"], "--prometheus-url"),
        (["check", "svc", "--since", "1.5h"], "--since"),
        (["check", "svc", "--timeout", "-1"], "--timeout"),
        (["check", "svc", "--config", "/no/such/catalog.yaml"], "--config"),
        (["audit", "--since", "30m1h"], "--since"),
        (["audit", "--redis-url", "localhost"], "--redis-url"),
        (["diagnose", str(EXAMPLE), "--charts", str(EXAMPLE / "incident.txt")], "--charts"),
    ],
)
def test_a_malformed_option_is_one_line_and_exit_2(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"argument {option}" in err, err


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("1h30m", 5400), ("2d", 172800), ("1w", 604800)]
)
def test_one_strict_duration_parser(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "1", "1.5h", "30m1h", "1h 30m", "-2h", "0m", "2 weeks", "1y"])
def test_the_duration_parser_refuses_what_it_cannot_read_exactly(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@pytest.mark.parametrize("output", [["--json"], ["--format", "markdown"], ["--format", "slack"], []])
def test_a_pipe_closed_early_ends_quietly(output: list[str]) -> None:
    """`triage diagnose ... | head -2`: the reader is gone before the report is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write now fails with EPIPE, whatever the size of the report
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "diagnose", str(EXAMPLE), *output],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    err = done.stderr.decode()
    assert "Traceback" not in err and "Broken" not in err and "Exception ignored" not in err, err
    assert err == ""
    assert done.returncode == (1 if not output else 141)  # rich ends a terminal report with 1 itself


def test_the_catalogs_errors_carry_file_line_and_column_all_at_once(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "services:\n"
        "  session-cache:\n"
        "    selector: app\n"
        "    owners: U123\n"
        "    colour: blue\n"
        "remediation:\n"
        "  expiry_minutes: 0\n"
    )
    with pytest.raises(CatalogError) as raised:
        load_catalog(catalog, environ={})
    lines = sorted(str(raised.value).splitlines())
    assert [line.split(": ")[0:2] for line in lines] == [
        [f"{catalog}:3:5", "services.session-cache.selector"],
        [f"{catalog}:4:5", "services.session-cache.owners"],
        [f"{catalog}:5:5", "services.session-cache.colour"],
        [f"{catalog}:7:3", "remediation.expiry_minutes"],
    ]


def test_a_catalog_that_is_not_yaml_says_where(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("services:\n  a: {namespace: x\n  b: 1\n")
    with pytest.raises(CatalogError, match=rf"^{catalog}:3:4: not valid YAML: expected ',' or '}}'"):
        load_catalog(catalog, environ={})
