"""Which log lines of a long log become facts, when there are too many to keep them all.

A long log is mostly the same few lines again and again (a background save every
minute, a health check every second). Lines are grouped by their shape (the text
with its numbers and hashes blanked out); a shape seen many times is kept as its
first line and its newest few, the newest standing for all of them with a count.
Rare shapes and severe ones are always kept whole; when even that is too much, the
shapes last seen longest ago give way first, so the newest evidence wins.
"""

from __future__ import annotations

import re
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
# A hash or id in hex (a trace id, a session key, a digest): six or more hex digits, letters and
# digits both, as a word of its own. Words of hex letters only (`added`, `decade`) are words.
_HEX_RUN = re.compile(r"[0-9a-f]{6,}")
_WORD = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")


def _hex_id(match: re.Match[str]) -> str:
    run, (begin, end), text = match.group(), match.span(), match.string
    if (begin and text[begin - 1] in _WORD) or (end < len(text) and text[end] in _WORD):
        return run  # a part of a longer word
    return run if run.isdigit() or run.isalpha() else "#"


def shape(text: str) -> str:
    """The line with what varies from one occurrence to the next (its digits, its hex ids) blanked out."""
    return _HEX_RUN.sub(_hex_id, text.lower()).translate(_DIGITS)


def shapes(lines: Sequence[str]) -> list[str]:
    """`shape` of each line, worked out on them all at once (one regex and one translate in C)."""
    joined = "\n".join(lines)
    if not lines or joined.count("\n") != len(lines) - 1:  # a line that holds a newline itself
        return [shape(line) for line in lines]
    return _HEX_RUN.sub(_hex_id, joined.lower()).translate(_DIGITS).split("\n")


def is_severe(lowered: str) -> bool:
    return any(word in lowered for word in SEVERE_WORDS)


# Below severe, an error outranks a warning or an info line when something must be dropped.
_ERROR_WORDS = ("error", "exception", "refused", "failed", "cannot", "unable", "timed out", "timeout")


def rank(lowered: str) -> int:
    """0 for a severe line, 1 for an error, 2 for anything else: what is dropped last comes first."""
    if is_severe(lowered):
        return 0
    return 1 if any(word in lowered for word in _ERROR_WORDS) else 2


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


@dataclass(frozen=True, slots=True)
class Group:
    """Lines of one shape, as far as the choice needs them.

    `members`: the indexes of all its lines when there are at most KEEP_NEWEST + 1, else of its
    first and its KEEP_NEWEST newest lines; `total`: how many lines it has; `second`: the line
    after the first (the oldest folded into the newest), when there are more than KEEP_NEWEST + 1.
    """

    members: list[int]
    total: int
    second: int | None = None
    severe: bool = False
    error: bool = False  # an error line, kept before warnings and info when the budget is short


def group_of(indexes: Sequence[int], first_line: str) -> Group:
    """The group of the lines at `indexes` (in input order), the first of which is `first_line`."""
    level = rank(first_line.lower())
    severe, error = level == 0, level == 1
    if len(indexes) <= KEEP_NEWEST + 1:
        return Group(list(indexes), len(indexes), None, severe, error)
    return Group([indexes[0], *indexes[-KEEP_NEWEST:]], len(indexes), indexes[1], severe, error)


def select(lines: Sequence[str], budget: int = BUDGET) -> Selection:
    """Choose which of `lines` (in input order) to keep; everything when they fit the budget."""
    if len(lines) <= budget:
        return Selection([Kept(i) for i in range(len(lines))])
    groups: dict[str, list[int]] = {}
    for index, key in enumerate(shapes(lines)):
        groups.setdefault(key, []).append(index)
    return choose([group_of(indexes, lines[indexes[0]]) for indexes in groups.values()], budget)


def choose(groups: Sequence[Group], budget: int = BUDGET) -> Selection:
    """Keep each group's first and newest lines, the newest standing for the lines folded into it;
    severe groups whatever the budget, then the most recently seen while they fit."""
    selection = Selection()
    candidates: list[tuple[int, int, list[Kept]]] = []  # (rank, newest index, kept lines)
    for group in groups:
        if group.total <= KEEP_NEWEST + 1:
            kept = [Kept(i) for i in group.members]
        else:
            folded = group.total - KEEP_NEWEST - 1
            selection.aggregated += folded
            first, *newest = group.members
            kept = [Kept(first), *(Kept(i) for i in newest[:-1])]
            kept.append(Kept(newest[-1], count=folded + 1, first=group.second))
        candidates.append((0 if group.severe else 1 if group.error else 2, group.members[-1], kept))
    # Severe shapes first, then errors, then the most recently seen; what does not fit is dropped whole.
    candidates.sort(key=lambda c: (c[0], -c[1]))
    room = budget
    for level, _, kept in candidates:
        if level == 0 or len(kept) <= room:  # severe lines are kept whatever the budget
            selection.kept.extend(kept)
            room -= len(kept)
        else:
            selection.skipped += sum(k.count for k in kept)
    selection.kept.sort(key=lambda k: k.index)
    return selection
