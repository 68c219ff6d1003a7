"""Durations on the command line: an argparse type over the one parser (`analyzers/durations.py`).

The parser and the formatter live with the analyzers because a fix's parameters (how long a
silence lasts) are spelled with them; everything in `bot/` imports them from here or from there.
"""

from __future__ import annotations

import argparse

from analyzers.durations import EXAMPLES, format_duration, parse_duration

__all__ = ["EXAMPLES", "duration_argument", "format_duration", "parse_duration"]


def duration_argument(text: str) -> int:
    """An argparse `type=`: a usage error (exit 2, naming the option) for a malformed duration."""
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
