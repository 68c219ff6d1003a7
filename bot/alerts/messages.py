"""Block Kit for alert groups: the parent message of a group's thread, and the digest of a storm."""

from __future__ import annotations

import re
from typing import Any

from bot.alerts.webhook import Notification
from bot.durations import format_duration
from bot.render.slack import (
    SECTION_TEXT_MAX,
    SEVERITY_EMOJI,
    context,
    header,
    mrkdwn_escape,
    section,
    truncate,
    validated_blocks,
)

DIGEST_SECTIONS_MAX = 45
_SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{6,}$")


__all__ = ["format_duration"]  # re-exported: the one formatter, from bot.durations


def group_title(notification: Notification) -> str:
    """Alert name and where, escaped: labels are whatever the alert rule put there."""
    where = "/".join(part for part in (notification.namespace, notification.service) if part)
    return mrkdwn_escape(f"{notification.alert_name}{f' · {where}' if where else ''}")


def parent_blocks(
    notification: Notification, first_fired: float, resolved_after: float | None, owners: list[str]
) -> tuple[str, list[dict[str, Any]]]:
    """The group's parent message: what fired, how bad, how many, where to look."""
    emoji = "✅" if resolved_after is not None else SEVERITY_EMOJI.get(notification.severity.lower(), "🟣")
    state = (
        f"resolved after {format_duration(resolved_after)}"
        if resolved_after is not None
        else f"{len(notification.firing)} firing"
    )
    title = f"{emoji} {group_title(notification)}: {state}"
    lines = [f"*Severity:* {mrkdwn_escape(notification.severity)}   *Status:* {state}"]
    if notification.truncated_alerts:
        lines.append(f"+{notification.truncated_alerts} more alerts Alertmanager did not send (max_alerts)")
    summary = notification.common_annotations.get("summary") or notification.common_annotations.get(
        "description"
    )
    if summary:
        lines.append(mrkdwn_escape(summary))
    links = _links(notification)
    if links:
        lines.append(" · ".join(links))
    started = [f"started <!date^{int(first_fired)}^{{date_short_pretty}} {{time}}|{int(first_fired)}>"]
    if owners:
        started.append("owners: " + " ".join(mention(owner) for owner in owners))
    blocks = [
        header(title),
        section("\n".join(lines)),
        context(truncate(" · ".join(started), 2000)),
    ]
    return title, validated_blocks(blocks)


def digest_blocks(channel_entries: list[str], total: int, resolved: int) -> tuple[str, list[dict[str, Any]]]:
    """One message for a storm: every group on a line, so each is findable here or in its thread."""
    title = f"⛈️ Alert storm: {total} alert groups ({total - resolved} firing, {resolved} resolved)"
    sections: list[str] = []
    current: list[str] = []
    size = 0
    for entry in channel_entries:
        if size + len(entry) + 1 > SECTION_TEXT_MAX and current:
            sections.append("\n".join(current))
            current, size = [], 0
        current.append(entry)
        size += len(entry) + 1
    if current:
        sections.append("\n".join(current))
    blocks = [
        header(title),
        context(
            "Grouped into one message to keep the channel readable; the worst groups "
            "have their diagnosis in this thread."
        ),
        *[section(text) for text in sections[:DIGEST_SECTIONS_MAX]],
    ]
    return title, validated_blocks(blocks)


def digest_line(notification: Notification, resolved: bool, threaded: bool) -> str:
    emoji = "✅" if resolved else SEVERITY_EMOJI.get(notification.severity.lower(), "🟣")
    state = "resolved" if resolved else f"{len(notification.firing)} firing"
    labels = mrkdwn_escape(", ".join(f"{k}={v}" for k, v in sorted(notification.group_labels.items())))
    labels = labels.replace("`", "'")
    mark = " · diagnosis in thread" if threaded else ""
    return truncate(
        f"{emoji} *{group_title(notification)}* ({notification.severity}, {state}) `{labels}`{mark}", 400
    )


def _links(notification: Notification) -> list[str]:
    candidates = [
        (next((a.generator_url for a in notification.alerts if a.generator_url), ""), "graph"),
        (notification.common_annotations.get("runbook_url", ""), "runbook"),
        (notification.common_annotations.get("dashboard_url", ""), "dashboard"),
        (notification.external_url, "Alertmanager"),
    ]
    return [f"<{url}|{name}>" for url, name in candidates if _safe_url(url)]


def _safe_url(url: str) -> bool:
    """An http(s) URL that cannot close the link and open a mention of its own."""
    return url.startswith(("http://", "https://")) and not any(c in url for c in "<>|\n ")


def mention(owner: str) -> str:
    """A catalog owner or approver as Slack shows it: a user (U…/W…), a user group (S…) or as written."""
    if _SLACK_ID.match(owner):
        return f"<!subteam^{owner}>" if owner.startswith("S") else f"<@{owner}>"
    return mrkdwn_escape(owner)
