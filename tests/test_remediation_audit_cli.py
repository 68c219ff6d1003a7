"""`triage audit --since`: a duration as a whole, or a clear refusal."""

from __future__ import annotations

import argparse

import pytest

from bot.cli import audit_arguments as add_audit_arguments
from bot.remediation.audit_cli import run_audit


def _args(since: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="triage audit")
    add_audit_arguments(parser)
    return parser.parse_args([f"--since={since}", "--redis-url", "redis://127.0.0.1:1/0"])


@pytest.mark.parametrize("since", ["1.5h", "5h30", "h", "", "-2h", "2 h", "30m1h", "0s"])
def test_a_since_that_is_not_a_whole_duration_is_a_usage_error(
    since: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        _args(since)
    assert exited.value.code == 2
    assert "argument --since" in capsys.readouterr().err


@pytest.mark.parametrize("since", ["30m", "24h", "7d", "1h30m", "1w"])
def test_a_whole_duration_goes_on_to_read(since: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_audit(_args(since)) == 1  # accepted; no Redis listens on port 1
    assert "cannot read" in capsys.readouterr().err
