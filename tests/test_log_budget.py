"""Long logs keep the line that matters: aggregation by shape, severe lines always, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from analyzers import analyze
from analyzers.evidence import LogRecord
from bot.readers import read_string
from bot.readers.log_budget import select, shape, shapes

START = datetime(2025, 3, 4, 0, 0, 0, tzinfo=UTC)
FORK_FAILURE = "Can't save in background: fork: Cannot allocate memory"


def _redis_saves(cycles: int, fork_failure_at_end: bool) -> str:
    """A Redis log of routine background saves, one cycle a minute (the shape of a real redis.log)."""
    lines = []
    for cycle in range(cycles):
        stamp = (START + timedelta(minutes=cycle)).strftime("%d %b %Y %H:%M:%S.%f")[:-3]
        pid = 1000 + cycle
        lines += [
            f"1:M {stamp} * 100 changes in 300 seconds. Saving...",
            f"1:M {stamp} * Background saving started by pid {pid}",
            f"{pid}:C {stamp} * DB saved on disk",
            f"{pid}:C {stamp} * Fork CoW for RDB: current 0 MB, peak 0 MB, average 0 MB",
            f"1:M {stamp} * Background saving terminated with success",
        ]
    if fork_failure_at_end:
        stamp = (START + timedelta(minutes=cycles)).strftime("%d %b %Y %H:%M:%S.%f")[:-3]
        lines.append(f"1:M {stamp} # {FORK_FAILURE}")
    return "\n".join(lines) + "\n"


def test_shape_blanks_what_varies() -> None:
    assert shape("1:M 04 Mar 2025 10:00:01.123 * DB saved by pid 4411") == shape(
        "1:M 05 Mar 2025 11:30:59.999 * DB saved by pid 7002"
    )
    assert shape("connection refused") != shape("connection reset")
    assert shape('{"msg":"request completed","trace_id":"ebe71a0a9021dd32"}') == shape(
        '{"msg":"request completed","trace_id":"0f3c9e11b2a4d870"}'
    )
    assert shape("cache hit key=session:8c1e2f3a4b5d took_ms=1") == shape(
        "cache hit key=session:aa00bb11cc22 took_ms=3"
    )
    assert shape("the decade added a facade") != shape("the decade added a facet")  # words stay words


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789abcdefxyzABCDEF Σé:-_\n", max_size=40), max_size=8))
def test_shapes_of_many_lines_at_once_are_each_lines_shape(lines: list[str]) -> None:
    assert shapes(lines) == [shape(line) for line in lines]


def test_everything_is_kept_within_the_budget() -> None:
    lines = [f"line {i % 3}" for i in range(10)]
    assert [k.index for k in select(lines, budget=10).kept] == list(range(10))


def test_a_repeated_shape_keeps_its_first_and_newest_lines_with_a_count() -> None:
    lines = ["GET /healthz 200 in 3ms"] * 100 + ["fork: Cannot allocate memory"]
    selection = select(lines, budget=20)
    kept = [k.index for k in selection.kept]
    assert kept == [0, 97, 98, 99, 100]
    newest = selection.kept[3]
    assert newest.count == 97 and newest.first == 1
    assert selection.aggregated == 96 and selection.skipped == 0


def test_severe_lines_are_kept_even_past_the_budget_and_old_routine_lines_go_first() -> None:
    routine = [f"request {i} served by worker-{chr(97 + i % 26)}{i}" for i in range(50)]
    lines = [*routine, "panic: runtime error", "request done by the newest worker zz"]
    selection = select(lines, budget=5)
    texts = [lines[k.index] for k in selection.kept]
    assert "panic: runtime error" in texts
    assert texts[-1] == "request done by the newest worker zz"
    assert selection.skipped > 0


def _fork_findings(text: str) -> tuple[list[str], str]:
    evidence = read_string(text, "redis.log")
    diagnosis = analyze(evidence, "session-cache")
    return [f.id for f in diagnosis.findings], evidence.sources[0].detail


def test_a_fork_failure_at_the_end_of_a_20mb_log_of_saves_is_found() -> None:
    text = _redis_saves(cycles=20 * 2**20 // 330, fork_failure_at_end=True)
    assert len(text) > 20 * 10**6
    ids, detail = _fork_findings(text)
    assert "redis-fork-failed" in ids
    assert "repeated log line(s) counted" in detail


def test_a_fork_failure_at_the_end_of_a_log_below_the_bulk_threshold_is_found() -> None:
    text = _redis_saves(cycles=3000, fork_failure_at_end=True)  # 15,000 lines, about 1 MB
    ids, _ = _fork_findings(text)
    assert "redis-fork-failed" in ids


def test_routine_saves_alone_give_no_fork_failure() -> None:
    ids, _ = _fork_findings(_redis_saves(cycles=3000, fork_failure_at_end=False))
    assert "redis-fork-failed" not in ids


def test_the_newest_of_a_repeated_line_carries_the_count_and_first_time() -> None:
    evidence = read_string(_redis_saves(cycles=3000, fork_failure_at_end=False), "redis.log")
    counted = [f.value for f in evidence.of("log") if isinstance(f.value, LogRecord) and f.value.count > 1]
    assert counted, "repeated saves are aggregated"
    assert all(record.first_at is not None and record.count > 1 for record in counted)


def test_an_error_line_outlives_newer_warning_noise_when_the_budget_is_short() -> None:
    error = "2025-03-04T06:00:00Z ERROR Connection refused: redis/10.0.0.5:6379"
    warnings = [f"2025-03-04T06:00:01Z WARN slow handler {word}" for word in _words(20_000)]
    selection = select([error, *warnings], budget=100)
    assert 0 in [k.index for k in selection.kept]
    assert selection.skipped > 0


def _words(count: int) -> list[str]:
    """`count` distinct words of letters only (so each line is a shape of its own)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(letters[(n // 26**p) % 26] for p in range(4)) for n in range(count)]
