"""kubectl tables: `get pods`, `get events`, `get rs`, `top`, custom columns."""

from __future__ import annotations

import re

_HEADER_TOKEN = re.compile(r"^[A-Z][A-Z0-9_()\-/%.]*$")
_MULTIWORD = ("LAST SEEN", "NOMINATED NODE", "READINESS GATES", "CHANGE-CAUSE")
_KNOWN = {
    "NAME",
    "NAMESPACE",
    "READY",
    "STATUS",
    "RESTARTS",
    "AGE",
    "TYPE",
    "REASON",
    "OBJECT",
    "MESSAGE",
    "DESIRED",
    "CURRENT",
    "IMAGES",
    "CONTAINERS",
    "CPU(CORES)",
    "MEMORY(BYTES)",
    "POD",
    "LAST SEEN",
    "UP-TO-DATE",
    "AVAILABLE",
    "ROLES",
    "VERSION",
    "REFERENCE",
    "TARGETS",
    "DATA",
    "EXIT",
    "LAST_REASON",
    "FINISHED",
    "REVISION",
    "CHANGE-CAUSE",
}


class Table:
    """A table header and how to cut its rows into cells."""

    def __init__(self, header: str) -> None:
        self.header = header
        self.columns, self.starts = _columns(header)
        self.aligned = "  " in header.strip()

    @property
    def kind(self) -> str:
        names = set(self.columns)
        if {"READY", "STATUS", "RESTARTS"} <= names:
            return "pods"
        if "MESSAGE" in names and "REASON" in names:
            return "events"
        if {"DESIRED", "CURRENT"} <= names and "IMAGES" in names:
            return "replicasets"
        if "CPU(CORES)" in names and "MEMORY(BYTES)" in names:
            return "top"
        if "RESTARTS" in names or "LAST_REASON" in names:
            return "columns"
        if {"REVISION", "CHANGE-CAUSE"} <= names:
            return "history"
        return "other"

    def cells(self, row: str) -> dict[str, str]:
        if self.aligned and self._fits(row):
            bounds = [*self.starts[1:], None]
            return {
                name: row[start:end].strip()
                for name, start, end in zip(self.columns, self.starts, bounds, strict=True)
            }
        return self._by_tokens(row)

    def _fits(self, row: str) -> bool:
        if len(row.rstrip()) < self.starts[-1]:
            return len(self.columns) > 1 and all(
                start >= len(row) or row[start - 1] == " " for start in self.starts[1:]
            )
        return all(row[start - 1] == " " for start in self.starts[1:])

    def _by_tokens(self, row: str) -> dict[str, str]:
        tokens = row.split()
        cells: dict[str, str] = {}
        index = 0
        for position, name in enumerate(self.columns):
            if index >= len(tokens):
                break
            if position == len(self.columns) - 1 or name == "MESSAGE":
                cells[name] = " ".join(tokens[index:])
                break
            value = tokens[index]
            index += 1
            if (
                name in ("RESTARTS", "AGE", "LAST SEEN")
                and index < len(tokens)
                and tokens[index].startswith("(")
            ):
                while index < len(tokens) and not tokens[index - 1].endswith(")"):
                    value += " " + tokens[index]
                    index += 1
            cells[name] = value
        return cells


def is_header(line: str) -> bool:
    stripped = line.strip()
    if not stripped or stripped.startswith(("#", "$")):
        return False
    if re.match(r"^\s*Type\s+Reason\s+Age\s+From\s+Message\s*$", line):
        return True  # the events section of kubectl describe
    words = [w for w in stripped.split() if w not in ("CPU(cores)", "MEMORY(bytes)")]
    if any(w != w.upper() for w in words):
        return False
    columns, _ = _columns(line)
    if len(columns) < 2 or not all(_HEADER_TOKEN.match(c.replace(" ", "_")) for c in columns):
        return False
    return sum(1 for c in columns if c in _KNOWN) >= 2


def _columns(header: str) -> tuple[list[str], list[int]]:
    text = header.rstrip()
    for phrase in _MULTIWORD:
        text = text.replace(phrase, phrase.replace(" ", "\0"))
    columns: list[str] = []
    starts: list[int] = []
    for match in re.finditer(r"\S+", text):
        columns.append(match.group(0).replace("\0", " ").upper())
        starts.append(match.start())
    return columns, starts
