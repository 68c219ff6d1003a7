"""Huge logs read from their bytes: every keyword line found in one pass, routine literals counted whole."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzers import analyze
from analyzers.evidence import Evidence, LogRecord
from bot.readers import bulk_scan, read_paths, read_string
from bot.readers.bulk_log import BULK_CRITICAL, BULK_GENERAL, KEYWORDS
from bot.readers.bulk_scan import ROUTINE_LITERALS, KeywordScanner
from bot.readers.log_budget import SEVERE_WORDS

START = datetime(2025, 3, 4, 0, 0, 0, tzinfo=UTC)


def _stamp(minute: int) -> str:
    return (START + timedelta(minutes=minute)).strftime("%d %b %Y %H:%M:%S.%f")[:-3]


def _saves(cycles: int, extra: dict[int, str] | None = None) -> list[str]:
    """Routine background saves, one cycle a minute; `extra` puts a line after a cycle's lines."""
    lines: list[str] = []
    for cycle in range(cycles):
        stamp, pid = _stamp(cycle), 1000 + cycle % 60000
        lines += [
            f"1:M {stamp} * 100 changes in 300 seconds. Saving...",
            f"1:M {stamp} * Background saving started by pid {pid}",
            f"{pid}:C {stamp} * DB saved on disk",
            f"{pid}:C {stamp} * Fork CoW for RDB: current 1 MB, peak 1 MB, average 1 MB",
            f"1:M {stamp} * Background saving terminated with success",
        ]
        if extra and cycle in extra:
            lines.append(extra[cycle])
    return lines


def _logs(evidence: Evidence) -> list[LogRecord]:
    return [f.value for f in evidence.of("log") if isinstance(f.value, LogRecord)]


def test_a_rare_warning_between_a_million_routine_lines_is_found() -> None:
    warning = f"1:M {_stamp(100_000)} # WARNING: the TCP backlog setting of 511 cannot be enforced"
    lines = _saves(200_000, extra={100_000: warning})  # 1,000,001 lines, about 70 MB
    evidence = read_string("\n".join(lines) + "\n", "redis.log")
    texts = [record.text for record in _logs(evidence)]
    assert warning in texts
    [fact] = [f for f in evidence.of("log") if f.source.excerpt == warning]
    assert fact.source.line == lines.index(warning) + 1


def test_routine_lines_are_counted_exactly_with_their_first_and_newest_time() -> None:
    cycles = 80_000  # 400,000 lines, about 28 MB: past the bulk threshold and the budget
    evidence = read_string("\n".join(_saves(cycles)) + "\n", "redis.log")
    cow = [r for r in _logs(evidence) if "Fork CoW" in r.text]
    # the head's lines are facts of their own; after it, the first line, and the newest three with
    # the newest standing for itself and every line folded into it
    newest = cow[-1]
    assert newest.text.startswith(f"{1000 + (cycles - 1) % 60000}:C {_stamp(cycles - 1)} ")
    assert newest.count > 1 and newest.first_at is not None
    [source] = evidence.sources
    head = [r for r in cow if r.count == 1]
    assert len(head) + newest.count == cycles  # every Fork CoW line is a fact or counted in one
    folded = 0
    for marker in ("Fork CoW", "terminated with success"):
        kind = [r for r in _logs(evidence) if marker in r.text]
        assert sum(1 for r in kind if r.count == 1) + kind[-1].count == cycles, marker  # each line counted
        folded += kind[-1].count - 1
    assert f"{folded} repeated log line(s) counted" in source.detail
    # the head's lines (minutes 0 to h-1), the group's first (minute h), its newest three: first_at
    # is the time of the first line folded into the newest, the one after the group's first
    group_first = len(head) - 3
    assert cow[group_first].text.startswith(f"{1000 + group_first}:C {_stamp(group_first)} ")
    assert newest.first_at == START + timedelta(minutes=group_first + 1)
    assert source.status == "ok"


def test_a_severe_word_on_a_routine_line_is_read_on_its_own() -> None:
    odd = f"7:C {_stamp(30_000)} * Fork CoW for RDB: current 1 MB, then fatal: cannot write to disk"
    evidence = read_string("\n".join(_saves(70_000, extra={30_000: odd})) + "\n", "redis.log")
    assert odd in [r.text for r in _logs(evidence)]
    cow = [r for r in _logs(evidence) if "Fork CoW" in r.text]
    assert sum(r.count for r in cow) == 70_000 + 1  # the odd line apart, each routine line once


def test_routine_literals_on_lines_that_are_read_on_their_own_count_nothing_twice() -> None:
    # every `Fork CoW` line also holds "error": each is read for that, the literal counts none of them
    lines = [line + " (error)" if "Fork CoW" in line else line for line in _saves(70_000)]
    evidence = read_string("\n".join(lines) + "\n", "redis.log")
    [source] = evidence.sources
    assert source.kind == "log" and source.status == "ok", source.detail
    assert sum(r.count for r in _logs(evidence) if "Fork CoW" in r.text) == 70_000


def test_a_line_holding_a_routine_literal_twice_is_read_on_its_own() -> None:
    twice = f"7:C {_stamp(5)} * Fork CoW for RDB: current 1 MB; Fork CoW for RDB: current 2 MB"
    evidence = read_string("\n".join(_saves(70_000, extra={40_000: twice})) + "\n", "redis.log")
    assert twice in [r.text for r in _logs(evidence)]
    cow = [r for r in _logs(evidence) if "Fork CoW" in r.text]
    assert sum(r.count for r in cow) == 70_000 + 1


def test_a_fork_failure_on_a_last_line_without_newline_is_found() -> None:
    text = (
        "\n".join(_saves(70_000))
        + f"\n1:M {_stamp(70_000)} # Can't save in background: fork: Cannot allocate memory"
    )
    diagnosis = analyze(read_string(text, "redis.log"), "session-cache")
    assert "redis-fork-failed" in [f.id for f in diagnosis.findings]


def test_a_prompt_and_info_above_a_huge_log_keep_their_context() -> None:
    info = "$ redis-cli INFO memory\n# Memory\nused_memory:1048576\nmaxmemory:2097152\nmaxmemory_policy:noeviction\n\n"
    evidence = read_string(info + "\n".join(_saves(70_000)) + "\n", "mixed.txt")
    assert {f.key: f.value for f in evidence.of("redis.info")}["maxmemory_policy"] == "noeviction"


def test_a_file_is_read_from_its_bytes_like_the_same_text(tmp_path: Path) -> None:
    text = (
        "\n".join(_saves(70_000, extra={60_000: "2025-03-05 ERROR upstream refused the connection"})) + "\n"
    )
    path = tmp_path / "redis.log"
    path.write_text(text)
    from_file, from_text = read_paths([str(path)]), read_string(text, "redis.log")
    assert [(f.kind, f.value, f.source.line) for f in from_file.facts] == [
        (f.kind, f.value, f.source.line) for f in from_text.facts
    ]
    assert from_file.sources == from_text.sources


def test_without_hyperscan_the_same_facts_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _saves(70_000, extra={10: "1:M 04 Mar 2025 00:10:00.000 # WARNING overcommit_memory is set to 0"})
    lines.append(f"1:M {_stamp(70_000)} # Can't save in background: fork: Cannot allocate memory")
    text = "\n".join(lines) + "\n"
    fast = read_string(text, "redis.log")
    monkeypatch.setattr(bulk_scan, "hyperscan", None)
    slow = read_string(text, "redis.log")
    assert [(f.value, f.source.line) for f in fast.facts] == [(f.value, f.source.line) for f in slow.facts]
    assert fast.sources == slow.sources


def test_each_routine_literal_starts_with_a_keyword_and_holds_no_other() -> None:
    keywords = (*BULK_CRITICAL, *BULK_GENERAL)
    for literal in ROUTINE_LITERALS:
        lowered = literal.decode("ascii").lower()
        held = [k for k in keywords if k in lowered]
        # None, or every keyword in it starts where it starts (the scan excludes the literal from there).
        assert all(lowered.startswith(k) and lowered.count(k) == 1 for k in held), (literal, held)
        assert not set(held) & set(SEVERE_WORDS)


_PIECES = st.sampled_from(
    [
        "\n",
        " ",
        "x",
        "1:M 04 Mar 2025 ",
        "Fork CoW for RDB: current ",
        "Fork CoW for AOF rewrite: current ",
        "fork cow",
        "FORK COW for RDB: current ",
        "Fork CoW for RD",
        "Fork CoW for ",
        "Fork CoW",
        "ERROR",
        "warning",
        "timed out",
        "Can't save in background: fork: Cannot allocate memory",
        "déjà vu",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40), st.integers(min_value=0, max_value=30))
def test_hyperscan_finds_what_find_finds(pieces: list[str], start_at: int) -> None:
    data = "".join(pieces).encode()
    start = data.rfind(b"\n", 0, min(start_at, len(data))) + 1
    fast, slow = KEYWORDS.scan(data, start), KEYWORDS.scan_by_find(data, start)
    assert fast.lines == slow.lines
    assert sorted(fast.routines) == sorted(slow.routines)


def test_the_exclusion_matches_a_keyword_except_where_a_literal_is_spelled() -> None:
    scanner = KeywordScanner(["fork cow"], [b"Fork CoW for RDB: current "])
    data = (
        b"a Fork CoW for RDB: current 1\nb fork cow for RDB: current 1\nc Fork CoW for RDB: 1\nd Fork CoW\n"
    )
    assert sorted(scanner.scan(data).lines) == sorted(scanner.scan_by_find(data).lines)
    assert [data[b:e] for b, e in scanner.scan(data).lines.items()] == [
        b"b fork cow for RDB: current 1",
        b"c Fork CoW for RDB: 1",
        b"d Fork CoW",
    ]


def test_a_huge_log_of_bracketed_times_is_read_as_a_log(tmp_path: Path) -> None:
    lines = [f"[2025-03-04 10:{i // 60 % 60:02d}:{i % 60:02d}] INFO GET /healthz 200" for i in range(120_000)]
    lines.append("[2025-03-05 00:00:00] ERROR Can't save in background: fork: Cannot allocate memory")
    path = tmp_path / "app.log"
    path.write_text("\n".join(lines) + "\n")
    evidence = read_paths([str(path)])
    assert [f.source.line for f in evidence.of("log")][-1] == len(lines)
    assert evidence.sources[0].kind == "log"


def test_the_bulk_scan_finds_every_line_the_log_reader_would_take() -> None:
    """Each plain alternative of LOG_TRIGGER holds a bulk keyword, so a huge log loses no kind of line
    that a small one would read."""
    from bot.readers.log_lines import LOG_TRIGGER

    keywords = (*BULK_CRITICAL, *BULK_GENERAL)
    plain = [alt for alt in LOG_TRIGGER.pattern.split("|") if not re.search(r"[\\^?()\[\]]", alt)]
    assert len(plain) > 50
    missing = [alt for alt in plain if not any(k.strip() in alt.lower() for k in keywords)]
    # Routine Redis save lines: `fork` (Fork CoW), `saving` and `db saved` and `disk` (DB saved on disk)
    # would take every line of a save; the lines that matter have keywords of their own (fork failures,
    # a full disk) or are counted whole (`Background saving terminated with success`).
    assert sorted(missing) == ["db saved", "disk", "fork", "saving"]


def test_a_fork_failure_followed_by_days_of_good_saves_is_history_in_a_huge_log() -> None:
    failure = f"1:M {_stamp(10_000)} # Can't save in background: fork: Cannot allocate memory"
    text = "\n".join(_saves(70_000, extra={10_000: failure})) + "\n"
    evidence = read_string(text, "redis.log")
    assert failure in [r.text for r in _logs(evidence)]
    assert "redis-fork-failed" not in [f.id for f in analyze(evidence, "session-cache").findings]


def test_a_huge_table_that_never_settles_into_a_log_is_reported_partial() -> None:
    header = "LAST SEEN   TYPE      REASON      OBJECT                           MESSAGE"
    row = (
        "2m          Normal    Pulled      pod/web-7d9f8c6b5-q2w8z{i:06d}     Container image already present"
    )
    text = (
        "$ kubectl get events -A\n" + header + "\n" + "\n".join(row.format(i=i) for i in range(80_000)) + "\n"
    )
    [source] = read_string(text, "events.txt").sources
    assert source.status == "partial"
    assert "did not settle into a log" in source.detail


def test_a_huge_log_after_its_head_is_not_reported_partial() -> None:
    [source] = read_string("\n".join(_saves(70_000)) + "\n", "redis.log").sources
    assert source.status == "ok"
