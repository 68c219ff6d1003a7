"""Signed Slack requests live in bot/demo/simulated/slack_signing.py (the demo's page sends them too)."""

from bot.demo.simulated.slack_signing import (
    block_actions_body,
    block_actions_payload,
    sign,
    signed_headers,
    slash_command_body,
)

__all__ = ["block_actions_body", "block_actions_payload", "sign", "signed_headers", "slash_command_body"]
