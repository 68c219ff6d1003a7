"""Renderers of a diagnosis: terminal, Markdown and Slack.

The memory charts live in `bot.render.charts`, imported on its own because
matplotlib takes most of a second to load.
"""

from bot.render.markdown import render_markdown
from bot.render.slack import render_slack_blocks, render_slack_text
from bot.render.terminal import render_terminal

__all__ = ["render_markdown", "render_slack_blocks", "render_slack_text", "render_terminal"]
