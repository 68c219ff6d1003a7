"""Which log lines of a long log become facts, when there are too many to keep them all.

A long log is mostly the same few lines again and again (a background save every
minute, a health check every second). Lines are grouped by their shape (the text
with its numbers and hashes blanked out); a shape seen many times is kept as its
first line and its newest few, the newest standing for all of them with a count.
Rare shapes and severe ones are always kept whole; when even that is too much, the
shapes last seen longest ago give way first, so the newest evidence wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# Words that mark a line that must never be dropped (lower case).
SEVERE_WORDS = (
    "oom command not allowed",
    "fork: cannot allocate",
    "cannot allocate memory",
    "max number of clients",
    "no space left",
    "oomkilled",
    "outofmemory",
    "out of memory",
    "probe failed",
    "can't save in background",
    "background saving error",
    "terminated by signal",
    "misconf",
    "fatal",
    "panic",
    "bad directive",
    "evicted",
)
KEEP_NEWEST = 3  # of a repeated shape, besides its first line
BUDGET = 5000  # log lines kept as facts per input

# str.translate's fast path (ASCII one for one); numbers of other widths make a few shapes, not many.
_DIGITS = str.maketrans("0123456789", "##########")


def shape(text: str) -> str:
    """The line with what varies from one occurrence to the next (its digits) blanked out."""
    return text.lower().translate(_DIGITS)


def is_severe(lowered: str) -> bool:
    return any(word in lowered for word in SEVERE_WORDS)


@dataclass(frozen=True, slots=True)
class Kept:
    """A line kept: its index in the input, and how many lines (from `first`) it stands for."""

    index: int
    count: int = 1
    first: int | None = None


@dataclass
class Selection:
    kept: list[Kept] = field(default_factory=list)
    aggregated: int = 0  # lines folded into a kept line of the same shape
    skipped: int = 0  # lines dropped to stay within the budget


def select(lines: Sequence[str], budget: int = BUDGET) -> Selection:
    """Choose which of `lines` (in input order) to keep; everything when they fit the budget."""
    if len(lines) <= budget:
        return Selection([Kept(i) for i in range(len(lines))])
    groups: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        groups.setdefault(shape(line), []).append(index)
    selection = Selection()
    candidates: list[tuple[bool, int, list[Kept]]] = []  # (severe, newest index, kept lines)
    for indexes in groups.values():
        severe = is_severe(lines[indexes[0]].lower())
        if len(indexes) <= KEEP_NEWEST + 1:
            kept = [Kept(i) for i in indexes]
        else:
            newest = indexes[-KEEP_NEWEST:]
            folded = len(indexes) - KEEP_NEWEST - 1
            selection.aggregated += folded
            kept = [Kept(indexes[0]), *(Kept(i) for i in newest[:-1])]
            kept.append(Kept(newest[-1], count=folded + 1, first=indexes[1]))
        candidates.append((severe, indexes[-1], kept))
    # Severe shapes first, then the most recently seen; what does not fit is dropped whole.
    candidates.sort(key=lambda c: (not c[0], -c[1]))
    room = budget
    for severe, _, kept in candidates:
        if severe or len(kept) <= room:
            selection.kept.extend(kept)
            room -= len(kept)
        else:
            selection.skipped += sum(k.count for k in kept)
    selection.kept.sort(key=lambda k: k.index)
    return selection
