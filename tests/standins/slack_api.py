"""The Slack Web API stand-in lives in bot/demo/simulated/slack_api.py (the demo serves it too)."""

from bot.demo.simulated.slack_api import (
    APP_ID,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    TEAM_ID,
    TEAM_NAME,
    Ephemeral,
    Message,
    ResponsePost,
    SlackApiStandIn,
    Update,
    UploadedFile,
    validate_blocks,
)

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "TEAM_ID",
    "TEAM_NAME",
    "Ephemeral",
    "Message",
    "ResponsePost",
    "SlackApiStandIn",
    "Update",
    "UploadedFile",
    "validate_blocks",
]
