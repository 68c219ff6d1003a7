"""No module over 500 lines in bot/ or analyzers/: past that, a newcomer cannot hold one in mind."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 500


def test_no_module_is_over_500_lines() -> None:
    long = {
        f"{path.relative_to(ROOT)}": lines
        for folder in ("bot", "analyzers")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
