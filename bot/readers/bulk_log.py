"""Huge logs (past `BULK_THRESHOLD`): the head line by line, then only the lines that matter.

The head is read by the line readers, like any paste, until it settles into plain log lines
(`SETTLE_LINES` in a row that only the log reader wanted): a prompt, a `kubectl describe` or
Redis INFO pasted above a log keeps its context. From there the bytes are searched in one pass
(`bulk_scan`): every line holding a keyword is found, routine literals are counted whole, and
`log_budget` chooses what becomes a fact. Only those lines are decoded and read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from analyzers.evidence import Fact, LogRecord
from bot.readers.bulk_scan import Found, KeywordScanner
from bot.readers.kubernetes_objects import NOTE
from bot.readers.line_readers import LineReaders
from bot.readers.log_budget import (
    BUDGET,
    KEEP_NEWEST,
    SEVERE_WORDS,
    Group,
    choose,
    group_of,
    select,
    shapes,
)
from bot.readers.timestamps import parse_log_time

# Words that mark an incident line in a huge log (lower case), and ordinary trouble after them.
BULK_CRITICAL = (
    *SEVERE_WORDS,
    "redis version=",
    "running mode=",
    "overcommit",
    "copy-on-write",
    "fork cow",
)
BULK_GENERAL = (
    "error",
    "warn",
    "refused",
    "timeout",
    "timed out",
    "deadline exceeded",
    "slow",
    "exception",
    "killed",
    "evict",
    "unavailable",
    "reset by peer",
    "denied",
    "not found",
    "exhausted",
    # What the analyzers read besides trouble words: the same lines LOG_TRIGGER sends to a log line
    # below the bulk threshold (tests/test_bulk_log.py keeps the two in step).
    "fail",
    "deadline",
    " oom",
    "out of memory",
    "latency",
    "unhealthy",
    "probe",
    "forbidden",
    "not set",
    "missing",
    "bgsave",
    "ready to accept",
    "version=",
    "sigterm",
    "shutdown",
    "shut down",
    "signal",
    "heap",
    "-xmx",
    "rehydrat",
    "cold",
    "run_id",
    "pool",
    "rejected",
    "too many",
    "mode=",
    "required",
    "gc(",
    "pause",
    "flag provided",
    "unknown flag",
    "unknown shorthand flag",
    "unrecognized option",
    "wrong number of arguments",
    "not met",
    "no such host",
    "name or service not known",
    "could not translate host",
    "loading",
    "could not connect",
    "cannot connect",
    "is the server running",
    "cannot allocate",
    "disk is full",
    "low disk",
    "disk pressure",
    "diskpressure",
    "misconf",
    "quota",
    "not allowed",
    "maxmemory",
    "recover",
)
BULK_HEAD = 256 * 2**10  # at most this much is read line by line
SETTLE_LINES = 64  # plain log lines in a row after which the head is over
MAX_LINE_CHARS = 2**20  # the line readers' regular expressions see at most this much of a line
SHAPES_AT_ONCE = 20_000  # lines decoded and shaped together
KEYWORDS = KeywordScanner((*BULK_CRITICAL, *BULK_GENERAL))

Span = tuple[int, int]  # (begin, end) of a line in the bytes, without its newline


def head_lines(data: bytes) -> tuple[list[str], list[int]]:
    """The whole lines in the first BULK_HEAD bytes (or the first line, however long), decoded,
    and the byte offset after each."""
    limit = data.rfind(b"\n", 0, BULK_HEAD) + 1
    if limit == 0:  # one line longer than the head: its start is the head
        end = data.find(b"\n")
        limit = len(data) if end < 0 else end + 1
    lines: list[str] = []
    ends: list[int] = []
    begin = 0
    while begin < limit:
        end = data.find(b"\n", begin, limit)
        end = limit if end < 0 else end
        piece = data[begin : min(end, begin + 4 * MAX_LINE_CHARS)]
        lines.append(piece.decode("utf-8", errors="replace").removesuffix("\r"))
        begin = end + 1
        ends.append(min(begin, len(data)))
    return lines, ends


class BulkLog(LineReaders):
    data: bytes
    line_ends: list[int]  # byte offset after each head line
    head_read: int  # head lines read before the text settled into log lines
    settled: bool  # the head ended in plain log lines, not at its size limit
    lines_cut: int

    def _scan_lines(self, first: int, end: int, settle: int = 0) -> Iterator[Fact]:
        raise NotImplementedError  # text._Scanner reads lines

    def _within_budget(self, facts: list[Fact]) -> list[Fact]:
        """All facts but the log lines past the budget (see log_budget)."""
        logs = [index for index, fact in enumerate(facts) if fact.kind == "log"]
        if len(logs) <= BUDGET:
            return facts
        selection = select([facts[i].source.excerpt for i in logs])
        self.state.logs_aggregated += selection.aggregated
        self.state.logs_skipped += selection.skipped
        keep = {logs[k.index]: k for k in selection.kept}
        kept: list[Fact] = []
        for index, fact in enumerate(facts):
            if fact.kind != "log":
                kept.append(fact)
            elif index in keep:
                choice = keep[index]
                if choice.count > 1 and isinstance(fact.value, LogRecord):
                    first = facts[logs[choice.first]] if choice.first is not None else None
                    record = replace(fact.value, count=choice.count, first_at=first.at if first else None)
                    fact = replace(fact, value=record)
                kept.append(fact)
        return kept

    def _scan_bulk(self) -> Iterator[Fact]:
        head = list(self._scan_lines(0, len(self.lines), settle=SETTLE_LINES))
        yield from self._within_budget(head)
        data = self.data
        start = self.line_ends[self.head_read - 1] if self.head_read else 0
        if start >= len(data):
            return
        if not self.settled:
            self.problems.append(
                f"{NOTE}past its first {start // 1024} KiB the text did not settle into a log: there only "
                "lines holding a keyword were read, as log lines, and table rows, describe output and JSON "
                "were skipped"
            )
        found = KEYWORDS.scan(data, start)
        routines = [(literal, *_routine(data, literal, start, found)) for literal in found.routines]
        routines = [routine for routine in routines if routine[1]]  # each of its lines read on its own
        spans = list(found.lines.items())
        if len(spans) + sum(count for _, count, _ in routines) <= BUDGET:
            for literal, count, _ in routines:  # few enough: each line on its own, as any other
                spans += _lines_of(data, literal, start, found.lines, count)
            del found
            spans.sort()
            selection = select([_decode(data, span) for span in spans])
        else:
            del found  # a million lines' worth of offsets: freed before the shapes are worked out
            spans, groups = _groups(data, spans, routines)
            selection = choose(groups)
        self.state.logs_aggregated += selection.aggregated
        self.state.logs_skipped += selection.skipped
        line_number, counted_to = self.head_read, start
        for kept in selection.kept:
            begin, end = spans[kept.index]
            if end - begin > MAX_LINE_CHARS:
                self.lines_cut += 1  # said in the source report, as below the bulk threshold
            line_number += data.count(b"\n", counted_to, begin)
            counted_to = begin
            fact = self._log_line(_decode(data, spans[kept.index]), line_number + 1, found_by_keyword=True)
            if fact is None:
                continue
            if kept.count > 1 and isinstance(fact.value, LogRecord) and kept.first is not None:
                first_at = parse_log_time(_decode(data, spans[kept.first]))
                fact = replace(fact, value=replace(fact.value, count=kept.count, first_at=first_at))
            yield fact


def _decode(data: bytes, span: Span) -> str:
    begin, end = span
    return data[begin : min(end, begin + MAX_LINE_CHARS)].decode("utf-8", errors="replace")


def _line_at(data: bytes, position: int) -> Span:
    end = data.find(b"\n", position)
    return data.rfind(b"\n", 0, position) + 1, len(data) if end < 0 else end


def _routine(data: bytes, literal: bytes, start: int, found: Found) -> tuple[int, list[Span]]:
    """How many lines after `start` hold `literal` and were not found for a keyword of their own,
    and the spans of the first two and the newest KEEP_NEWEST of them (all of them when few)."""
    count = data.count(literal, start)  # lines holding it twice are among found.lines
    count -= sum(data.count(literal, begin, end) for begin, end in found.lines.items())
    if count <= KEEP_NEWEST + 2:
        return count, _lines_of(data, literal, start, found.lines, count)
    first = _lines_of(data, literal, start, found.lines, 2)
    newest: list[Span] = []
    position = data.rfind(literal, start)
    while position >= 0 and len(newest) < KEEP_NEWEST:
        begin, end = _line_at(data, position)
        if begin not in found.lines:
            newest.append((begin, end))
        position = data.rfind(literal, start, begin)
    return count, [*first, *reversed(newest)]


def _lines_of(data: bytes, literal: bytes, start: int, skip: dict[int, int], limit: int) -> list[Span]:
    """The first `limit` lines after `start` holding `literal`, except those in `skip`."""
    spans: list[Span] = []
    position = data.find(literal, start)
    while position >= 0 and len(spans) < limit:
        begin, end = _line_at(data, position)
        if begin not in skip:
            spans.append((begin, end))
        position = data.find(literal, end)
    return spans


def _groups(
    data: bytes, spans: list[Span], routines: list[tuple[bytes, int, list[Span]]]
) -> tuple[list[Span], list[Group]]:
    """All candidate lines in input order and their groups: the keyword lines by shape, each
    routine literal's lines as one group (its second line is listed for its time). The lines are
    decoded a slice at a time, so a log of a million keyword lines never holds them all as text."""
    owner: dict[int, int] = {}  # begin -> routine index
    every = spans
    for number, (_, _, routine_spans) in enumerate(routines):
        for span in routine_spans:
            owner[span[0]] = number
            every.append(span)
    every.sort()
    by_shape: dict[str, list[int]] = {}
    members: list[list[int]] = [[] for _ in routines]
    for first in range(0, len(every), SHAPES_AT_ONCE):
        part = every[first : first + SHAPES_AT_ONCE]
        keys = shapes([_decode(data, span) for span in part])
        for index, (begin, _), key in zip(range(first, first + len(part)), part, keys, strict=True):
            routine = owner.get(begin)
            if routine is None:
                by_shape.setdefault(key, []).append(index)
            else:
                members[routine].append(index)
    groups = [group_of(indexes, _decode(data, every[indexes[0]])) for indexes in by_shape.values()]
    for (_, count, _), indexes in zip(routines, members, strict=True):
        if count <= KEEP_NEWEST + 1 or len(indexes) < KEEP_NEWEST + 2:
            groups.append(Group(indexes, len(indexes)))
        else:  # [first, second, newest...]: the second is listed for its time only
            groups.append(Group([indexes[0], *indexes[2:]], count, indexes[1]))
    return every, groups
