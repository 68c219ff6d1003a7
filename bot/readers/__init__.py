"""Readers: artifacts as people paste them -> `Evidence`.

Content decides how a text is read, never its file name.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from analyzers.evidence import Evidence, SourceReport, Subject
from bot.readers.text import read_text

MAX_FILE_BYTES = 2 * 2**30


class MissingPathError(Exception):
    """A path given on the command line does not exist."""


def read_string(text: str, ref: str, about: Subject | None = None, kind: str | None = None) -> Evidence:
    """Evidence from one text; never raises on content it does not understand.

    `about` says what the text is about when the text cannot (live logs of one container,
    INFO of one Redis); `kind` overrides the source kind given to its facts (e.g. "redis-live").
    """
    evidence = Evidence()
    if "\x00" in text[:8192]:
        evidence.sources.append(SourceReport(ref, "binary", "skipped", "binary content, not read"))
        return evidence
    try:
        facts, kinds, unread, notes = read_text(text, ref, about)
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
    """Evidence from files, folders (recursively) and `-` (standard input)."""
    evidence = Evidence()
    for path_text in paths:
        if path_text == "-":
            evidence.merge(read_string(sys.stdin.read(), "<stdin>"))
            continue
        path = Path(path_text)
        if not path.exists():
            raise MissingPathError(path_text)
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            evidence.merge(_read_file(file, path))
    return evidence


def _read_file(file: Path, root: Path) -> Evidence:
    ref = str(file.relative_to(root)) if root.is_dir() else file.name
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            evidence = Evidence()
            detail = f"{size} bytes is more than the {MAX_FILE_BYTES} bytes read at most"
            evidence.sources.append(SourceReport(ref, "unknown", "skipped", detail))
            return evidence
        data = file.read_bytes()
    except OSError as error:
        evidence = Evidence()
        evidence.sources.append(SourceReport(ref, "unknown", "error", f"cannot read: {error.strerror}"))
        return evidence
    if b"\x00" in data[:8192]:
        evidence = Evidence()
        evidence.sources.append(SourceReport(ref, "binary", "skipped", "binary content, not read"))
        return evidence
    text = data.decode("utf-8", errors="replace")
    del data  # a large file: do not hold its bytes and its text at once
    return read_string(text, ref)


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
