"""The one duration parser and formatter of the command line and the bot: `90s`, `30m`, `1h30m`, `2d`, `1w`.

Strict: whole units in descending order, each at most once (`1h30m`, never `30m1h`, `1.5h` or
`1 hour`), and never zero. Durations read out of pasted artifacts (kubectl's `AGE` column) are
another matter: `analyzers.quantity.duration_seconds` reads those leniently.
"""

from __future__ import annotations

import argparse
import re

UNITS: tuple[tuple[str, int], ...] = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_STRICT = re.compile("".join(rf"(?:(?P<{unit}>\d+){unit})?" for unit, _ in UNITS))
EXAMPLES = "e.g. 90s, 30m, 1h30m, 2d, 1w"


def parse_duration(text: str) -> int:
    """Seconds in `text`; ValueError (saying what is accepted) for anything else."""
    cleaned = text.strip().lower()
    found = _STRICT.fullmatch(cleaned) if cleaned else None
    if found is None or not any(found.groupdict().values()):
        raise ValueError(f"{text!r} is not a duration ({EXAMPLES})")
    seconds = sum(int(found.group(unit) or 0) * size for unit, size in UNITS)
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a duration longer than zero ({EXAMPLES})")
    return seconds


def format_duration(seconds: float) -> str:
    """A strict spelling, at most two units, days only from two days on (people say "24h"):
    5400 -> `1h30m`, 86400 -> `24h`, 183600 -> `2d3h`, 604800 -> `1w`, 0.4 -> `0s`."""
    remaining = round(seconds)
    if remaining <= 0:
        return "0s"
    parts: list[str] = []
    units = UNITS if remaining >= 2 * 86400 else UNITS[2:]
    for unit, size in units:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
        if len(parts) == 2:
            break
    return "".join(parts) or "0s"


def duration_argument(text: str) -> int:
    """An argparse `type=`: a usage error (exit 2, naming the option) for a malformed duration."""
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
