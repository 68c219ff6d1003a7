"""`triage diagnose` end to end through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "session-cache"


def test_json_output_follows_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", str(EXAMPLE), "--json", "--service", "session-cache"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["schema"] == "triage.diagnosis/v1"
    assert result["root_causes"][0] in ("memory-limit-too-low", "redis-maxmemory-unset")
    finding_ids = {f["id"] for f in result["findings"]}
    assert set(result["root_causes"]) <= finding_ids
    for finding in result["findings"]:
        assert finding["evidence"] and all(e["excerpt"].strip() for e in finding["evidence"])


def test_every_excerpt_appears_in_the_artifact(capsys: pytest.CaptureFixture[str]) -> None:
    main(["diagnose", str(EXAMPLE), "--json"])
    result = json.loads(capsys.readouterr().out)
    text = " ".join((EXAMPLE / "incident.txt").read_text().split())
    for finding in result["findings"]:
        for item in finding["evidence"]:
            assert " ".join(item["excerpt"].split()) in text, item


def test_a_missing_path_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "/no/such/place", "--json"]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and err.count("\n") == 1


def test_markdown_and_slack_formats_render(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", str(EXAMPLE), "--format", "markdown"]) == 0
    assert "memory-limit-too-low" in capsys.readouterr().out
    assert main(["diagnose", str(EXAMPLE), "--format", "slack"]) == 0
    message = json.loads(capsys.readouterr().out)
    assert 0 < len(message["blocks"]) <= 50


def test_standard_input_is_read(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO((EXAMPLE / "incident.txt").read_text()))
    assert main(["diagnose", "-", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sources"][0]["name"] == "<stdin>"


def test_check_with_every_source_turned_off_lists_them(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["check", "session-cache", "--no-kubernetes", "--no-prometheus", "--no-redis", "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert {s["name"]: s["status"] for s in result["sources"]} == {
        "kubernetes": "skipped",
        "prometheus": "skipped",
        "redis": "skipped",
    }


def test_check_rejects_a_bad_window(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "session-cache", "--since", "soon", "--no-kubernetes"]) == 2
    assert "--since" in capsys.readouterr().err


def test_a_service_the_evidence_never_names_gets_the_closest_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diagnose", str(EXAMPLE), "--json", "--service", "sesion-cache"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert "sesion-cache" in summary and "session-cache" in summary
