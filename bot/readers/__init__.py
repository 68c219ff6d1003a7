"""Readers: artifacts as people paste them -> `Evidence`.

Content decides how a text is read, never its file name.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from analyzers.evidence import Evidence, Fact, SourceReport, Subject
from bot.readers.bounded import Bounded, Unreadable, read_bounded, read_path, read_text_stream
from bot.readers.text import read_data, read_text


class MissingPathError(Exception):
    """A path given on the command line does not exist."""


def read_string(text: str, ref: str, about: Subject | None = None, kind: str | None = None) -> Evidence:
    """Evidence from one text; never raises on content it does not understand.

    `about` says what the text is about when the text cannot (live logs of one container,
    INFO of one Redis); `kind` overrides the source kind given to its facts (e.g. "redis-live").
    """
    if "\x00" in text[:8192]:
        evidence = Evidence()
        evidence.sources.append(SourceReport(ref, "binary", "skipped", "binary content, not read"))
        return evidence
    return _evidence(ref, lambda: read_text(text, ref, about), kind)


def _evidence(
    ref: str, read: Callable[[], tuple[list[Fact], Counter[str], int, list[str]]], kind: str | None = None
) -> Evidence:
    """The facts `read` returns, with the report on the source; never raises on content."""
    evidence = Evidence()
    try:
        facts, kinds, unread, notes = read()
    except RecursionError:
        evidence.sources.append(SourceReport(ref, "unknown", "error", "nested too deeply to read"))
        return evidence
    except Exception as error:  # a reader bug must cost this input, never the diagnosis
        detail = f"could not be read ({type(error).__name__}: {error})"[:300]
        evidence.sources.append(SourceReport(ref, "unknown", "error", detail))
        return evidence
    if kind:
        facts = [replace(f, source=replace(f.source, kind=kind)) for f in facts]
    evidence.extend(facts)
    evidence.sources.append(_report(ref, kinds, len(facts), unread, notes))
    return evidence


def read_paths(paths: Iterable[str]) -> Evidence:
    """Evidence from files, folders (recursively) and `-` (standard input), each read bounded."""
    evidence = Evidence()
    for path_text in paths:
        if path_text == "-":
            buffer = getattr(sys.stdin, "buffer", None)
            kept = read_bounded(buffer) if buffer is not None else read_text_stream(sys.stdin)
            evidence.merge(_read_kept(kept, "<stdin>"))
            continue
        path = Path(path_text)
        if not path.exists() and not path.is_symlink():
            raise MissingPathError(path_text)
        if path.is_dir():
            # rglob does not follow symlinked folders, so a folder loop is not walked around forever
            files = sorted(p for p in path.rglob("*") if not p.is_dir() or p.is_symlink())
            for file in files:
                evidence.merge(_read_file(file, str(file.relative_to(path)), must_be_regular=True))
        else:
            evidence.merge(_read_file(path, path.name, must_be_regular=False))
    return evidence


def _read_file(file: Path, ref: str, must_be_regular: bool) -> Evidence:
    try:
        kept = read_path(file, must_be_regular)
    except Unreadable as why:
        evidence = Evidence()
        report = SourceReport(ref, "unknown", "skipped" if why.skipped else "error", str(why))
        evidence.sources.append(report)
        return evidence
    return _read_kept(kept, ref)


def _read_kept(kept: Bounded, ref: str) -> Evidence:
    data = kept.data
    if data is None:
        evidence = Evidence()
        evidence.sources.append(SourceReport(ref, "binary", "skipped", "binary content, not read"))
        return evidence
    evidence = _evidence(ref, lambda: read_data(data, ref))
    if kept.skipped:
        evidence.sources[-1:] = [_with_note(report, kept.note) for report in evidence.sources[-1:]]
    return evidence


def _with_note(report: SourceReport, note: str) -> SourceReport:
    status = "partial" if report.status == "ok" else report.status
    return replace(report, status=status, detail=f"{report.detail}; {note}")


def _report(ref: str, kinds: dict[str, int], fact_count: int, unread: int, notes: list[str]) -> SourceReport:
    recognised = {k: v for k, v in kinds.items() if v}
    if not recognised and fact_count:
        recognised = {"text": fact_count}  # facts from lines no artifact kind names: never call it empty
    if not recognised:
        detail = f"nothing recognised; {unread} line(s) or object(s) skipped" if unread else "empty"
        return SourceReport(ref, "unknown", "skipped", detail)
    kind = next(iter(recognised)) if len(recognised) == 1 else "mixed"
    parts = ", ".join(f"{name}" for name in sorted(recognised, key=lambda k: -recognised[k]))
    detail = f"{fact_count} facts from {parts}"
    if unread:
        detail += f"; {unread} line(s) or object(s) not understood and skipped"
    for note in notes:
        detail += f"; {note}"
    complete = fact_count and not any("skipped" in note for note in notes)
    return SourceReport(ref, kind, "ok" if complete else "partial", detail)
