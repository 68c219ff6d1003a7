"""Hostile files stay bounded: every input is answered within seconds and under 1 GB of memory,
with what was skipped counted in `sources`, and paths that cannot be read named as such."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.readers import bounded, read_paths, read_string

BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]"
        for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)
GIB = 2**30


def _triage(argv: list[str], feed: Path | None = None) -> tuple[dict, float, int]:
    """Run `triage` in a child; its JSON, wall time and peak memory (bytes)."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "started = time.monotonic()\n"
        "done = subprocess.run(sys.argv[1:], stdin=sys.stdin, capture_output=True)\n"
        "took = time.monotonic() - started\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024\n"
        "sys.stdout.buffer.write(done.stdout)\n"
        "print(took, peak, done.returncode, file=sys.stderr)\n"
    )
    command = [sys.executable, "-c", probe, sys.executable, "-m", "bot.cli", *argv]
    with open(feed, "rb") if feed else open(os.devnull, "rb") as source:
        done = subprocess.run(command, stdin=source, capture_output=True, timeout=120, check=False)
    took, peak, code = done.stderr.decode().split()[-3:]
    del code
    return json.loads(done.stdout), float(took), int(peak)


def test_a_yaml_alias_bomb_is_read_up_to_a_bound(tmp_path: Path) -> None:
    assert len(BOMB) < 400  # nine levels of aliases: 9**9 values once expanded
    started = time.monotonic()
    evidence = read_string(BOMB, "bomb.yaml")
    assert time.monotonic() - started < 20
    [report] = evidence.sources
    assert report.status == "partial" and "skipped" in report.detail
    assert len(evidence.facts) <= 20_001


def test_a_2_gb_sparse_file_is_answered_quickly_and_small(tmp_path: Path) -> None:
    sparse = tmp_path / "core"
    with open(sparse, "wb") as stream:
        stream.truncate(2 * GIB)  # sparse: no disk used
    result, took, peak = _triage(["diagnose", str(sparse), "--json"])
    assert took < 20 and peak < GIB, (took, peak)
    assert [(s["kind"], s["status"]) for s in result["sources"]] == [("binary", "skipped")]


def test_300_mb_on_standard_input_is_answered_within_bounds(tmp_path: Path) -> None:
    line = b"2026-12-07T10:00:00Z ERROR connection refused to session-cache:6379 after 3 tries\n"
    feed = tmp_path / "stdin.log"
    with open(feed, "wb") as stream:
        block = line * (2**20 // len(line))
        for _ in range(300):
            stream.write(block)
    result, took, peak = _triage(["diagnose", "-", "--json"], feed=feed)
    assert took < 20 and peak < GIB, (took, peak)
    [source] = result["sources"]
    assert source["name"] == "<stdin>" and source["status"] == "partial"
    assert "bytes in the middle skipped" in source["detail"]


def test_past_the_allowance_the_head_and_the_newest_lines_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounded, "CHUNK_BYTES", 7)
    monkeypatch.setattr(bounded, "HEAD_BYTES", 20)
    monkeypatch.setattr(bounded, "MAX_TEXT_BYTES", 50)
    lines = [f"line {n:03d}\n".encode() for n in range(100)]  # 9 bytes each
    kept = bounded.read_bounded(io.BytesIO(b"".join(lines)))
    assert kept.text is not None and kept.size == 900
    head, gap, tail = kept.text.partition("bytes skipped here]\n")
    assert head.startswith("line 000\nline 001\n") and "line 002" not in head  # whole lines only
    assert tail.endswith("line 099\n") and tail.startswith("line 0") and len(tail) <= 30
    kept_lines = head.count("line ") + tail.count("line ")
    assert kept.skipped == 900 - 9 * kept_lines
    assert gap and str(kept.skipped) in kept.text


def test_a_nul_in_the_first_bytes_of_a_trickling_stream_is_binary() -> None:
    class Trickle(io.RawIOBase):
        def __init__(self) -> None:
            self.pieces = [b"abc", b"de\x00f", b"x" * 100]

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self.pieces.pop(0) if self.pieces else b""

    assert bounded.read_bounded(Trickle()).text is None  # type: ignore[arg-type]


def test_symlink_loops_are_named_as_such(tmp_path: Path) -> None:
    folder = tmp_path / "incident"
    folder.mkdir()
    (folder / "describe.txt").write_text("Reason: OOMKilled\n")
    (folder / "loop-a").symlink_to(folder / "loop-b")
    (folder / "loop-b").symlink_to(folder / "loop-a")
    (folder / "dangling").symlink_to(tmp_path / "gone")
    (folder / "itself").symlink_to(folder)  # a folder loop: never walked around
    reports = {s.name: s for s in read_paths([str(folder)]).sources}
    assert reports["loop-a"].status == "error" and "symlink loop" in reports["loop-a"].detail
    assert "broken symlink" in reports["dangling"].detail
    assert reports["describe.txt"].status in ("ok", "partial")
    [top] = read_paths([str(folder / "loop-a")]).sources  # named on the command line: not "missing"
    assert "symlink loop" in top.detail


def test_unreadable_files_and_fifos_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "incident"
    folder.mkdir()
    (folder / "secret.log").write_text("OOMKilled\n")
    os.mkfifo(folder / "pipe")  # would block a reader forever
    real_open = open

    def refusing(path: object, *args: object, **kwargs: object) -> object:
        if str(path).endswith("secret.log"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", refusing)
    reports = {s.name: s for s in read_paths([str(folder)]).sources}
    assert (reports["secret.log"].status, reports["secret.log"].detail) == (
        "error",
        "unreadable: permission denied",
    )
    assert reports["pipe"].status == "skipped" and "not a regular file" in reports["pipe"].detail


def test_a_line_longer_than_the_bound_is_read_up_to_it() -> None:
    from bot.readers.text import MAX_LINE_CHARS

    text = "Reason: OOMKilled\n" + "2026-12-07T10:00:00Z ERROR " + "x" * (2 * MAX_LINE_CHARS) + "\n"
    started = time.monotonic()
    evidence = read_string(text, "long.log")
    assert time.monotonic() - started < 20
    [report] = evidence.sources
    assert "longer than" in report.detail and report.status == "partial"
    assert all(len(f.source.excerpt) <= MAX_LINE_CHARS for f in evidence.facts)
