"""The lines of a huge log that hold a keyword, found in one pass over its bytes.

A 100 MB log is 1.5 million lines, and a loop over them in Python is already slower than we
may be. So the bytes are searched for all the keywords at once (Hyperscan: one SIMD pass,
ASCII case-insensitive) and Python only sees the lines that hold one.

Many lines that hold a keyword are routine all the same: Redis writes `Fork CoW for RDB:
current 1 MB, ...` after every background save. A keyword that begins a known routine literal
(`ROUTINE_LITERALS`, exact bytes) is not reported there: the lines holding the literal are
counted with C-level `bytes.count`, and only the first and newest of them are looked at
(`bytes.find`, `bytes.rfind`); a line holding two of them is read on its own. Every other occurrence of every keyword is reported, so a line
that holds a keyword outside a routine literal (a severe word after `Fork CoW ...`, a rare
warning between a million routine lines) is always found.

Without Hyperscan (no wheel for the platform), `bytes.find` per keyword finds the same lines,
more slowly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

try:
    import hyperscan
except ImportError:  # pragma: no cover - a platform without Hyperscan's wheels
    hyperscan = None  # type: ignore[assignment]

# Lines a healthy program writes again and again, which hold a keyword at the literal's start.
# A literal either starts with a keyword (case as written; its lines are then left out of the keyword
# hits) or holds none at all (tests check it).
ROUTINE_LITERALS: tuple[bytes, ...] = (
    b"Fork CoW for RDB: current ",  # Redis 7, after each background save
    b"Fork CoW for AOF rewrite: current ",  # and after each AOF rewrite
    # Holding no keyword, these are only counted, and their first and newest lines read: the newest
    # says whether saves work again after a failure (redis-fork-failed tells history from now by it).
    b"Background saving terminated with success",
    b"Background AOF rewrite terminated with success",
)


@dataclass
class Found:
    """What one pass found after `start`: keyword lines, and which routine literals occur at all."""

    lines: dict[int, int] = field(default_factory=dict)  # begin -> end of each line holding a keyword
    routines: list[bytes] = field(default_factory=list)  # literals that occur (counted by the caller)


def caseless(text: str) -> str:
    """A regex matching `text` in any ASCII case."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in text)


def excluding(keyword: str, literals: Sequence[bytes]) -> str:
    """A regex for `keyword` (any case) wherever the bytes there do not spell one of `literals`.

    The literals (exact bytes, each starting with the keyword in some case) form a trie; the
    regex follows it and matches as soon as the text leaves it: a differently cased keyword, a
    different next character, a line's end. Where a literal is completed, nothing matches.
    """
    trie: dict[str, Any] = {}
    for literal in literals:
        node = trie
        for char in literal.decode("ascii"):
            node = node.setdefault(char, {})
        node[""] = {}  # a literal ends here

    def follow(node: dict[str, Any], depth: int) -> str | None:
        if "" in node:
            return None
        ways: list[str] = []
        if depth < len(keyword):
            for char in sorted({keyword[depth].lower(), keyword[depth].upper()}):
                if char in node:
                    deeper = follow(node[char], depth + 1)
                    if deeper is not None:
                        ways.append(re.escape(char) + deeper)
                else:
                    ways.append(re.escape(char) + caseless(keyword[depth + 1 :]))
        else:
            children = sorted(c for c in node if c)
            ways.append("[^" + "".join(re.escape(c) for c in children) + "]")  # includes a newline
            for char in children:
                deeper = follow(node[char], depth + 1)
                if deeper is not None:
                    ways.append(re.escape(char) + deeper)
        return "(?:" + "|".join(ways) + ")"

    return follow(trie, 0) or "(?!)"


class KeywordScanner:
    """Finds the lines holding any of `keywords` (lower case ASCII) in bytes, routine literals aside."""

    def __init__(self, keywords: Sequence[str], routines: Sequence[bytes] = ROUTINE_LITERALS) -> None:
        self.keywords = tuple(dict.fromkeys(keywords))
        self.routines = tuple(routines)
        self.routines_of = {
            keyword: [r for r in self.routines if r.lower().startswith(keyword.encode())]
            for keyword in self.keywords
        }
        # Literals whose lines the keyword hits leave out: a line holding two of them is read on its own.
        self.excluded = tuple(r for r in self.routines if any(r in rs for rs in self.routines_of.values()))
        self._database: Any = None

    def scan(self, data: bytes, start: int = 0) -> Found:
        if hyperscan is None:
            return self.scan_by_find(data, start)
        found = Found()
        lines = found.lines
        view = memoryview(data)[start:]
        keywords = len(self.keywords)

        routines = len(self.routines)

        def on_match(pattern: int, _from: int, to: int, _flags: int, _context: object) -> None:
            if keywords <= pattern < keywords + routines:
                found.routines.append(self.routines[pattern - keywords])
                return
            position = start + to - 1  # the match's last byte (a newline ends the line before it)
            begin = data.rfind(b"\n", 0, position) + 1
            if begin not in lines:
                end = data.find(b"\n", position)
                lines[begin] = len(data) if end < 0 else end

        try:
            self._compiled().scan(view, match_event_handler=on_match)
        except hyperscan.error:  # a CPU it cannot run on (it needs SSSE3): the same lines by find
            return self.scan_by_find(data, start)
        finally:
            view.release()
        found.lines = dict(sorted(lines.items()))
        self._last_line(data, start, found)
        return found

    def scan_by_find(self, data: bytes, start: int = 0) -> Found:
        """The same lines by `bytes.find`, one keyword at a time (and the reference for tests)."""
        found = Found()
        lowered = data.lower()  # ASCII only, so offsets stay those of `data`
        for keyword in self.keywords:
            needle = keyword.encode()
            routines = self.routines_of[keyword]
            position = lowered.find(needle, start)
            while position >= 0:
                if not any(data.startswith(r, position) for r in routines):
                    begin = data.rfind(b"\n", 0, position) + 1
                    end = data.find(b"\n", position)
                    found.lines[begin] = len(data) if end < 0 else end
                position = lowered.find(needle, position + 1)
        for literal in self.routines:
            position = data.find(literal, start)
            if position >= 0:
                found.routines.append(literal)
            while position >= 0:
                begin = data.rfind(b"\n", 0, position) + 1
                end = data.find(b"\n", position)
                end = len(data) if end < 0 else end
                if literal in self.excluded and sum(data.count(r, begin, end) for r in self.excluded) > 1:
                    found.lines[begin] = end  # two routine literals in one line: read on its own
                position = data.find(literal, end)
        found.lines = dict(sorted(found.lines.items()))
        return found

    def _last_line(self, data: bytes, start: int, found: Found) -> None:
        """A last line without a newline may end inside a routine literal (`Fork CoW for R`), where
        the regex waits for the next byte: that line is looked at by `find`."""
        if data.endswith(b"\n"):
            return
        begin = max(start, data.rfind(b"\n", start) + 1)
        if self.scan_by_find(data[begin:]).lines:
            found.lines[begin] = len(data)

    def _compiled(self) -> Any:
        if self._database is None:
            expressions: list[bytes] = []
            flags: list[int] = []
            for keyword in self.keywords:
                routines = self.routines_of[keyword]
                if routines:
                    expressions.append(excluding(keyword, routines).encode())
                    flags.append(0)
                else:  # a plain literal: Hyperscan's literal matcher is far quicker than [aA] classes
                    expressions.append(re.escape(keyword).encode())
                    flags.append(hyperscan.HS_FLAG_CASELESS)
            for literal in self.routines:  # whether it occurs at all
                expressions.append(re.escape(literal.decode("ascii")).encode())
                flags.append(hyperscan.HS_FLAG_SINGLEMATCH)
            if self.excluded:  # a line holding two excluded literals (or one twice) is read on its own
                either = "(?:" + "|".join(re.escape(r.decode("ascii")) for r in self.excluded) + ")"
                expressions.append(f"{either}[^\\n]*{either}".encode())
                flags.append(0)
            database = hyperscan.Database()
            database.compile(
                expressions=expressions,
                ids=list(range(len(expressions))),
                elements=len(expressions),
                flags=flags,
            )
            self._database = database
        return self._database
