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
    Subject,
)
from bot.readers.bulk_log import MAX_LINE_CHARS, BulkLog, head_lines
from bot.readers.commands import match_prompt
from bot.readers.fragments import (
    unwrap,
)
from bot.readers.kubernetes_objects import NOTE, ObjectReader
from bot.readers.large_list import read_large_list
from bot.readers.line_readers import LINE_READERS
from bot.readers.log_budget import BUDGET
from bot.readers.prometheus import is_api_body
from bot.readers.scanner_base import ScanState
from bot.readers.structured import (
    BULK_THRESHOLD,
    _is_k8s_or_metrics,
    _structured_facts,
    _whole_structured,
    might_be_structured,
)

__all__ = ["LINE_READERS", "MAX_LINE_CHARS", "read_text"]


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


def read_data(data: bytes, ref: str) -> tuple[list[Fact], Counter[str], int, list[str]]:
    """The same from bytes: a huge log is searched as bytes and never decoded whole."""
    if len(data) > BULK_THRESHOLD:
        problems: list[str] = []
        listed = read_large_list(data, ref, problems)
        if listed is not None:
            return listed, Counter(f.source.kind for f in listed), *_split_notes(problems)
    if len(data) <= BULK_THRESHOLD or might_be_structured(data):
        return read_text(data.decode("utf-8", errors="replace"), ref)
    scanner = _Scanner("", ref, data=data)
    facts = list(scanner.scan())
    unread, notes = _split_notes(scanner.problems)
    return facts, scanner.state.kinds, scanner.unread + unread, notes


def _split_notes(problems: list[str]) -> tuple[int, list[str]]:
    notes = [p.removeprefix(NOTE) for p in problems if p.startswith(NOTE)]
    return len(problems) - len(notes), notes


class _Scanner(BulkLog):
    def __init__(self, text: str, ref: str, about: Subject | None = None, data: bytes | None = None) -> None:
        if data is None and len(text) > BULK_THRESHOLD:
            data = text.encode("utf-8", errors="replace")
        self.bulk = data is not None
        if data is not None:
            # A huge log is not split into a million lines: only its head is read line by line.
            self.data = data
            self.lines, self.line_ends = head_lines(data)
            self.text = "\n".join(self.lines) + "\n"
        else:
            self.text = text
            self.lines = text.splitlines()
        self.head_read = 0
        self.claimed_by = ""
        self.about = about or Subject()
        self.state = ScanState(ref, subject=self.about, container=self.about.container)
        self.unread = 0
        self.claimed = False  # whether a line reader claimed the last line read
        self.problems: list[str] = []
        self.lines_cut = 0
        self.settled = False  # a huge text's head ended in plain log lines (see bulk_log)

    def scan(self) -> Iterator[Fact]:
        if self.bulk:
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

    def _scan_lines(self, first: int, end: int, settle: int = 0) -> Iterator[Fact]:
        """Read lines `first` to `end`; with `settle`, stop after that many plain log lines in a row."""
        index = first
        plain = 0
        while index < end:
            line = self.lines[index]
            consumed = yield from self._structured_at(index)
            if consumed:
                index += consumed
                plain = 0
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
            if settle:
                quiet = self.state.table is None and not self.state.in_info
                plain = plain + 1 if quiet and self.claimed_by in ("", "blank", "log") else 0
                if plain >= settle:
                    self.settled = True
                    break
        self.head_read = min(index, end)
        yield from self._flush_redis_replies()

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
