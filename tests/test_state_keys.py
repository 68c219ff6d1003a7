"""`bot/state/keys.py` is the only place Redis keys are spelled, and docs/operating.md lists them all."""

from __future__ import annotations

import re
from pathlib import Path

from bot.state.keys import KEYS, PREFIX, Keys

ROOT = Path(__file__).resolve().parents[1]
OPERATING = ROOT / "docs" / "operating.md"
KEYS_MODULE = ROOT / "bot" / "state" / "keys.py"
_DOCUMENTED = re.compile(r"`(" + re.escape(PREFIX) + r"[^`\s]*)`")
_TABLE_ROW = re.compile(r"^\| `(" + re.escape(PREFIX) + r"[^`]*)` \|", re.MULTILINE)


def test_every_key_shape_is_a_row_of_the_operating_docs_table_and_nothing_else_is() -> None:
    rows = _TABLE_ROW.findall(OPERATING.read_text())
    assert sorted(rows) == sorted(KEYS.shapes().values())


def test_every_key_the_operating_docs_mention_is_a_shape_the_bot_uses() -> None:
    shapes = set(KEYS.shapes().values())
    mentioned = set(_DOCUMENTED.findall(OPERATING.read_text()))
    assert mentioned, "docs/operating.md names no Redis key"
    assert mentioned <= shapes, f"not in bot/state/keys.py: {sorted(mentioned - shapes)}"


def test_the_prefix_is_spelled_in_the_keys_module_only() -> None:
    spelled = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if path != KEYS_MODULE
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"[\"'`(]" + re.escape(PREFIX) + r"[\w{*-]", line)
    ]
    assert not spelled, f"Redis keys spelled outside bot/state/keys.py: {spelled}"


def test_shapes_are_distinct_and_follow_the_prefix() -> None:
    shapes = KEYS.shapes()
    assert len(set(shapes.values())) == len(shapes)
    assert all(shape.startswith(PREFIX) for shape in shapes.values())
    assert Keys("t:").proposal("p-1") == "t:proposal:p-1"
    assert Keys("t:").shapes().keys() == shapes.keys()
