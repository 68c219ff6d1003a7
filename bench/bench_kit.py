"""What the Slack bot's benchmarks share: percentiles, waitress's queue depth, the code measured."""

from __future__ import annotations

import logging
import math
import subprocess
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(1, math.ceil(share / 100 * len(ordered))) - 1]


class QueueDepth(logging.Handler):
    """Keeps the deepest "Task queue depth is N" waitress logs (all HTTP threads busy) instead of
    printing them."""

    def __init__(self) -> None:
        super().__init__()
        self.deepest = 0

    def emit(self, record: logging.LogRecord) -> None:
        words = record.getMessage().split()
        if words and words[-1].isdigit():
            self.deepest = max(self.deepest, int(words[-1]))


def code_version() -> str:
    """The commit measured, and whether the bot's files differ from it (others edit the tree)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot", "analyzers"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    files = [line[3:] for line in changed if line.strip()]
    return head + (f" + uncommitted changes to {', '.join(files)}" if files else " (clean)")
