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
    assert main(argv) == 4  # nothing could be read
    result = json.loads(capsys.readouterr().out)
    assert {s["name"]: s["status"] for s in result["sources"]} == {
        "kubernetes": "skipped",
        "prometheus": "skipped",
        "redis": "skipped",
    }


def test_check_rejects_a_bad_window(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "session-cache", "--since", "soon", "--no-kubernetes"])
    assert exited.value.code == 2
    assert "--since" in capsys.readouterr().err


def test_a_service_the_evidence_never_names_gets_the_closest_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diagnose", str(EXAMPLE), "--json", "--service", "sesion-cache"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert "sesion-cache" in summary and "session-cache" in summary


def test_empty_standard_input_exits_4_and_says_nothing_could_be_read(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["diagnose", "-"]) == 4
    out = capsys.readouterr().out
    assert "nothing could be read" in out
    assert "No findings." not in out and "nothing in the evidence points to a fault" not in out


def test_an_input_that_cannot_be_read_makes_the_diagnosis_partial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "incident.txt").write_text((EXAMPLE / "incident.txt").read_text())
    (tmp_path / "dump.bin").write_bytes(b"\x00\x01binary")
    assert main(["diagnose", str(tmp_path), "--format", "markdown"]) == 3
    out = capsys.readouterr().out
    header = out.split("## System")[0]
    assert "**Coverage:**" in header and "dump.bin (binary content, not read)" in header


def test_every_input_read_exits_0_without_a_coverage_note(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", str(EXAMPLE), "--format", "markdown"]) == 0
    assert "Coverage" not in capsys.readouterr().out


def test_help_names_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("diagnose", "check"):
        with pytest.raises(SystemExit) as exited:
            main([command, "--help"])
        assert exited.value.code == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "3 the diagnosis rests on partial data" in text and "4 nothing could be read" in text


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["diagnose", "--no-such-option", "x"])
    assert exited.value.code == 2
    assert main(["diagnose", "/no/such/path"]) == 2


def test_service_names_the_right_component_when_the_redis_is_another_workloads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diagnose", str(EXAMPLE), "--json", "--service", "webapp"]) == 0
    diagnosis = json.loads(capsys.readouterr().out)
    kinds = {c["name"]: c["kind"] for c in diagnosis["system"]["components"]}
    assert kinds == {"session-cache": "redis", "webapp": "client"}
    assert diagnosis["summary"].startswith("webapp uses Redis session-cache: ")


def test_the_seeds_slack_message_is_short_and_its_buttons_are_the_plan_in_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diagnose", str(EXAMPLE), "--format", "slack"]) == 0
    message = json.loads(capsys.readouterr().out)
    blocks = message["blocks"]

    assert len(blocks) <= 6  # header, summary, root cause, buttons, where the rest is
    buttons = [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons[:2] == [
        "Preview: raise memory limit to 128Mi",
        "Preview: set maxmemory 89mb after the raise",
    ]
    assert not any("44mb" in label for label in buttons)  # below the data held now: never one click away
    assert "in the thread below" in json.dumps(blocks[-1])
    assert message["thread"], "the rest of the diagnosis goes in the thread"
