"""The Slack stand-in's Block Kit rules (bot/demo/simulated/block_kit.py): its own, not slack_sdk's models."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from bot.alerts.messages import digest_blocks
from bot.demo.simulated import block_kit
from bot.demo.simulated.block_kit import validate_blocks

PLAIN = {"type": "plain_text", "text": "b"}


def _button(**extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": PLAIN, "action_id": "a", **extra}


def _confirm(**extra: Any) -> dict[str, Any]:
    return {
        "title": {"type": "plain_text", "text": "Apply?"},
        "text": {"type": "mrkdwn", "text": "the change"},
        "confirm": {"type": "plain_text", "text": "Yes"},
        "deny": {"type": "plain_text", "text": "Cancel"},
        **extra,
    }


GOOD: dict[str, list[Any]] = {
    "button with confirm and style": [
        {"type": "actions", "elements": [_button(style="danger", value="p-1", confirm=_confirm())]}
    ],
    "section with a button accessory": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "s", "verbatim": True}, "accessory": _button()}
    ],
    "context with an image": [
        {"type": "context", "elements": [{"type": "image", "image_url": "https://x/i.png", "alt_text": "i"}]}
    ],
    "divider and image blocks": [
        {"type": "divider", "block_id": "d"},
        {"type": "image", "image_url": "https://x/i.png", "alt_text": "chart", "title": PLAIN},
    ],
}

BAD: dict[str, tuple[list[Any], str]] = {
    "unknown block property": ([{"type": "divider", "colour": "red"}], "invalid additional property: colour"),
    "unknown button property": (
        [{"type": "actions", "elements": [_button(colour="red")]}],
        "invalid additional property: colour",
    ),
    "button style": ([{"type": "actions", "elements": [_button(style="green")]}], "must be one of"),
    "long confirm title": (
        [
            {
                "type": "actions",
                "elements": [_button(confirm=_confirm(title={"type": "plain_text", "text": "t" * 101}))],
            }
        ],
        "/blocks/0/elements/0/confirm/title/text",
    ),
    "long confirm text": (
        [
            {
                "type": "actions",
                "elements": [_button(confirm=_confirm(text={"type": "mrkdwn", "text": "t" * 301}))],
            }
        ],
        "must be less than 301 characters",
    ),
    "mrkdwn confirm button": (
        [{"type": "actions", "elements": [_button(confirm=_confirm(deny={"type": "mrkdwn", "text": "No"}))]}],
        "/confirm/deny/type",
    ),
    "emoji on mrkdwn": (
        [{"type": "section", "text": {"type": "mrkdwn", "text": "s", "emoji": True}}],
        "invalid additional property: emoji",
    ),
    "empty text": ([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}], "more than 0 characters"),
    "image without alt text": (
        [{"type": "image", "image_url": "https://x/i.png"}],
        "/blocks/0/alt_text",
    ),
    "not a button in actions": (
        [{"type": "actions", "elements": [{"type": "overflow", "options": []}]}],
        "unsupported element type 'overflow'",
    ),
    "fifty-one blocks": ([{"type": "divider"}] * 51, "no more than 50 items"),
}


@pytest.mark.parametrize("blocks", GOOD.values(), ids=GOOD.keys())
def test_blocks_slack_documents_as_valid_are_taken(blocks: list[Any]) -> None:
    assert validate_blocks(blocks) == []


@pytest.mark.parametrize(("blocks", "error"), BAD.values(), ids=BAD.keys())
def test_blocks_breaking_a_documented_limit_are_refused_in_slacks_words(
    blocks: list[Any], error: str
) -> None:
    errors = validate_blocks(blocks)
    assert any(error in found and "[json-pointer:/blocks" in found for found in errors), errors


def test_the_bots_own_blocks_keep_the_rules() -> None:
    title, blocks = digest_blocks([f"line {n} " + "x" * 390 for n in range(200)], 200, 3)
    assert title and validate_blocks(blocks) == []


def test_the_rules_are_the_standins_own_not_slack_sdks() -> None:
    tree = ast.parse(Path(block_kit.__file__).read_text())
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    assert not any(name.startswith("slack") for name in imported), imported
