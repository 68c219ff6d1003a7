"""Renderers of a diagnosis: terminal (`bot.render.terminal`), Markdown (`bot.render.markdown`),
Slack Block Kit (`bot.render.slack`) and memory charts (`bot.render.charts`).

Import the module you need: this package imports none of them, so a terminal report never loads
slack_sdk, and nothing but a chart loads matplotlib (most of a second).
"""
