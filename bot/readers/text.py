"""The reader for pasted text: any mix of kubectl, metrics, config and logs.

One pass over the lines keeps a little context (the last shell command, the
describe section, the table header) so that each line can be read for what it
is even when indentation and headings were lost on the way through a chat.
Structured blocks (JSON, Kubernetes YAML) are decoded where they start.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Generator, Iterator
from dataclasses import replace

import yaml

from analyzers.evidence import (
    Fact,
    LogRecord,
    Subject,
)
from bot.readers.commands import match_prompt
from bot.readers.fragments import (
    unwrap,
)
from bot.readers.kubernetes_objects import NOTE, ObjectReader
from bot.readers.line_readers import LINE_READERS, LineReaders
from bot.readers.log_budget import BUDGET, SEVERE_WORDS, select
from bot.readers.log_lines import LOG_TRIGGER
from bot.readers.prometheus import is_api_body
from bot.readers.scanner_base import ScanState
from bot.readers.structured import BULK_THRESHOLD, _is_k8s_or_metrics, _structured_facts, _whole_structured
from bot.readers.timestamps import parse_log_time

__all__ = ["LINE_READERS", "MAX_LINE_CHARS", "read_text"]

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
)
BULK_HEAD = 256 * 2**10
MAX_LINE_CHARS = 2**20  # the line readers' regular expressions see at most this much of a line


def read_text(
    text: str, ref: str, about: Subject | None = None
) -> tuple[list[Fact], Counter[str], int, list[str]]:
    """Facts from a text, facts per artifact kind, parts not understood, and notes on the reading."""
    problems: list[str] = []
    structured = None if about else _whole_structured(text, ref, problems)
    if structured is not None:
        kinds: Counter[str] = Counter(f.source.kind for f in structured)
        return structured, kinds, *_split_notes(problems)
    scanner = _Scanner(text, ref, about)
    facts = list(scanner.scan())
    unread, notes = _split_notes(scanner.problems)
    return facts, scanner.state.kinds, scanner.unread + unread, notes


def _split_notes(problems: list[str]) -> tuple[int, list[str]]:
    notes = [p.removeprefix(NOTE) for p in problems if p.startswith(NOTE)]
    return len(problems) - len(notes), notes


class _Scanner(LineReaders):
    def __init__(self, text: str, ref: str, about: Subject | None = None) -> None:
        self.text = text
        # A huge log is not split into a million lines: only its head is read line by line.
        self.lines = text.splitlines() if len(text) <= BULK_THRESHOLD else text[: BULK_HEAD * 2].splitlines()
        self.about = about or Subject()
        self.state = ScanState(ref, subject=self.about, container=self.about.container)
        self.unread = 0
        self.claimed = False  # whether a line reader claimed the last line read
        self.problems: list[str] = []
        self.lines_cut = 0

    def scan(self) -> Iterator[Fact]:
        if len(self.text) > BULK_THRESHOLD:
            yield from self._scan_bulk()
        else:
            yield from self._within_budget(list(self._scan_lines(0, len(self.lines))))
        state = self.state
        if self.lines_cut:
            self.problems.append(
                f"{NOTE}{self.lines_cut} line(s) longer than {MAX_LINE_CHARS} characters read up to that, the rest skipped"
            )
        if state.logs_aggregated:
            self.problems.append(
                f"{NOTE}{state.logs_aggregated} repeated log line(s) counted into the newest of their kind"
            )
        if state.logs_skipped:
            self.problems.append(
                f"{NOTE}{state.logs_skipped} older routine log line(s) past the {BUDGET}-line budget skipped"
            )

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

    def _scan_lines(self, first: int, end: int) -> Iterator[Fact]:
        index = first
        while index < end:
            line = self.lines[index]
            consumed = yield from self._structured_at(index)
            if consumed:
                index += consumed
                continue
            if len(line) > MAX_LINE_CHARS:  # the line readers see its start (JSON above sees it whole)
                line = line[:MAX_LINE_CHARS]
                self.lines_cut += 1
            produced = list(self._line(unwrap(line), index + 1))
            if not produced and line.strip():
                self.state.recent = [*self.state.recent[-7:], line]  # a query or a title before a result
                if not self.claimed and not self._is_context_line(line):
                    self.unread += 1
            yield from produced
            index += 1
        yield from self._flush_redis_replies()

    def _scan_bulk(self) -> Iterator[Fact]:
        """Huge inputs are logs: read the head fully, then only the lines that matter."""
        head_end = self.text.find("\n", BULK_HEAD)
        head_lines = min(
            self.text.count("\n", 0, head_end) if head_end > 0 else len(self.lines), len(self.lines)
        )
        yield from self._within_budget(list(self._scan_lines(0, head_lines)))
        if head_end < 0:
            return
        spans = self._interesting_lines(head_end)
        spans = [(begin, min(end, begin + MAX_LINE_CHARS)) for begin, end in spans]  # a line's start
        selection = select([self.text[begin:end] for begin, end in spans])
        self.state.logs_aggregated += selection.aggregated
        self.state.logs_skipped += selection.skipped
        line_number, counted_to = head_lines, head_end
        for kept in selection.kept:
            begin, end = spans[kept.index]
            line_number += self.text.count("\n", counted_to, begin)
            counted_to = begin
            fact = self._log_line(self.text[begin:end], line_number + 1, found_by_keyword=True)
            if fact is None:
                continue
            if kept.count > 1 and isinstance(fact.value, LogRecord) and kept.first is not None:
                first_begin, first_end = spans[kept.first]
                first_at = parse_log_time(self.text[first_begin:first_end])
                fact = replace(fact, value=replace(fact.value, count=kept.count, first_at=first_at))
            yield fact

    def _interesting_lines(self, start: int) -> list[tuple[int, int]]:
        """(begin, end) of the lines after `start` that hold a keyword, found by plain substring search.

        A regex alternation reads a few MB/s; `str.find` per keyword reads GB/s. Every such line
        is returned: which of them become facts is decided by their shape (log_budget).
        """
        text = self.text
        lowered = text.lower() if text.isascii() else None  # lower() keeps offsets only for ASCII
        if lowered is None:
            return sorted({self._line_around(m.start()) for m in LOG_TRIGGER.finditer(text, start)})
        found: dict[int, int] = {}
        for keyword in (*BULK_CRITICAL, *BULK_GENERAL):
            self._collect(lowered, keyword, start, found)
        return sorted(found.items())

    def _collect(self, lowered: str, keyword: str, start: int, found: dict[int, int]) -> None:
        position = lowered.find(keyword, start)
        while position >= 0:
            begin, end = self._line_around(position)
            found[begin] = end
            position = lowered.find(keyword, end)

    def _line_around(self, position: int) -> tuple[int, int]:
        begin = self.text.rfind("\n", 0, position) + 1
        end = self.text.find("\n", position)
        return begin, len(self.text) if end < 0 else end

    def _structured_at(self, index: int) -> Generator[Fact, None, int]:
        """Decode a JSON or YAML block starting at line `index`; return lines consumed."""
        line = self.lines[index]
        stripped = line.strip()
        if stripped.startswith(("{", "[")) and not stripped.startswith("[20"):
            return (yield from self._json_at(index))
        if stripped.startswith("apiVersion:") or (
            stripped.startswith(("kind:", "data:")) and self._command_wants_yaml()
        ):
            return (yield from self._yaml_at(index))
        return 0

    def _json_at(self, index: int) -> Generator[Fact, None, int]:
        stripped = self.lines[index].strip()
        try:
            single = json.loads(stripped)
        except (ValueError, RecursionError):
            single = None
        if isinstance(single, dict) and not _is_k8s_or_metrics(single) and "limits" not in single:
            return 0  # a JSON log line: read as a log line
        offset = sum(len(line) + 1 for line in self.lines[:index])
        offset += len(self.lines[index]) - len(self.lines[index].lstrip())
        decoder = json.JSONDecoder()
        position = offset
        decoded_any = False
        decoded_count = 0
        consumed_to = offset
        while position < len(self.text):
            try:
                obj, end = decoder.raw_decode(self.text, position)
            except (ValueError, RecursionError):
                break
            decoded_any = True
            raw = self.text[position:end]
            context = self.state.subject
            if decoded_count:  # `{...} {...}`: one object per container, the first is the main one
                context = replace(context, container=f"#{decoded_count + 1}")
            decoded_count += 1
            kind = "prometheus-api" if is_api_body(obj) else "k8s-json"
            command = self.state.command.text if self.state.command else ""
            command += "\n" + "\n".join(self.state.recent)
            try:
                facts = list(
                    _structured_facts(obj, raw, self.state.ref, index, context, kind, command, self.problems)
                )
            except RecursionError:
                facts = []
                self.problems.append("a structure nested too deeply was skipped")
            self.state.kinds[kind] += 1 if facts else 0
            yield from facts
            consumed_to = end
            position = end
            while position < len(self.text) and self.text[position] in " \t":
                position += 1
            if position >= len(self.text) or self.text[position] not in "{[":
                break
        if not decoded_any:
            return 0
        self.state.recent = []
        lines_consumed = self.text.count("\n", offset, consumed_to) + 1
        rest = self.text[
            consumed_to : self.text.find("\n", consumed_to) if "\n" in self.text[consumed_to:] else None
        ]
        if rest.strip():
            # `{...}$ kubectl ...`: a prompt glued to the end of the output
            self._maybe_command(rest.strip())
        return lines_consumed

    def _yaml_at(self, index: int) -> Generator[Fact, None, int]:
        end = index + 1
        while end < len(self.lines) and match_prompt(self.lines[end]) is None:
            end += 1
        block = "\n".join(self.lines[index:end])
        try:
            document = yaml.safe_load(block)
        except (yaml.YAMLError, ValueError, RecursionError):
            return 0
        if not isinstance(document, dict):
            return 0
        facts = list(
            ObjectReader(block, self.state.ref, "k8s-yaml", index, self.problems).read(
                document, self.state.subject
            )
        )
        self.state.kinds["k8s-yaml"] += 1
        yield from facts
        return end - index

    def _command_wants_yaml(self) -> bool:
        command = self.state.command
        return command is not None and "-o yaml" in command.text
