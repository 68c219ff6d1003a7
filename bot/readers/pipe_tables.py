"""Tables whose cells `|` divides (markdown, or what a script printed), and what a JVM says of its heap.

A pipe table is read only when its header names a column we understand; any other pipe table is left
to the other line readers, as before.
"""

from __future__ import annotations

import re

from analyzers.quantity import parse_human_bytes

_SEPARATOR = re.compile(r"^\|?(?:\s*:?-{3,}:?\s*\|)+\s*(?::?-{3,}:?\s*)?\|?$")
_HEADER_CELL = re.compile(r"^[A-Za-z][\w .()/%-]{0,40}$")
# `size_t MaxHeapSize = 8392802304 {product} {ergonomic}` (-XX:+PrintFlagsFinal, jcmd VM.flags)
_FLAGS_FINAL = re.compile(r"\bMaxHeapSize\s*:?=\s*(\d+)\b")
# `Max. Heap Size (Estimated): 29.50G` (java -XshowSettings:vm)
_SHOW_SETTINGS = re.compile(
    r"\bMax\. Heap Size(?: \(Estimated\))?:\s*(\d+(?:\.\d+)?[KMGT]?)\b", re.IGNORECASE
)


def column_meaning(name: str) -> str | None:
    """What a header cell's column holds, as a fact key: "ttl", "max_heap"; None when not understood."""
    words = re.sub(r"[^a-z]+", " ", name.lower()).split()
    if words[:1] == ["ttl"]:
        return "ttl"
    if "heap" in words and ({"max", "maximum", "size"} & set(words)):
        return "max_heap"
    return None


def pipe_cells(stripped: str) -> list[str] | None:
    """The cells of a `a | b | c` line (2 or more), or None."""
    if stripped.count("|") < 2 and not (stripped.startswith("|") or stripped.endswith("|")):
        return None
    inner = stripped[1:] if stripped.startswith("|") else stripped
    inner = inner[:-1] if inner.endswith("|") else inner
    cells = [cell.strip() for cell in inner.split("|")]
    return cells if len(cells) >= 2 else None


def pipe_header(stripped: str) -> list[str] | None:
    """The column names of a pipe table's header, when it names at least one column we understand."""
    cells = pipe_cells(stripped)
    if cells is None or not all(_HEADER_CELL.match(cell) for cell in cells):
        return None
    return cells if any(column_meaning(cell) for cell in cells) else None


def is_separator(stripped: str) -> bool:
    """`|---|:---:|`: the line under a markdown header."""
    return bool(_SEPARATOR.match(stripped))


def jvm_max_heap(stripped: str) -> float | None:
    """The maximum heap, in bytes, that a JVM reports of itself on this line, or None."""
    flags = _FLAGS_FINAL.search(stripped)
    if flags:
        return float(flags.group(1)) or None
    settings = _SHOW_SETTINGS.search(stripped)
    return parse_human_bytes(settings.group(1)) if settings else None


def cell_bytes(cell: str) -> float | None:
    """`29.50G`, `512.00M`, `1536 MB` as bytes."""
    return parse_human_bytes(cell.replace(" ", ""))


def cell_int(cell: str) -> int | None:
    return int(cell) if re.fullmatch(r"-?\d+", cell) else None
