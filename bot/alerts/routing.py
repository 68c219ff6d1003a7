"""Which channel an alert group goes to: the first matching route, the service's channel, the default."""

from __future__ import annotations

from bot.alerts.webhook import Notification
from bot.settings import Catalog


class NoRoute(Exception):
    """No channel for an alert: no route matched and no default channel is set."""


def route(catalog: Catalog, default_channel: str | None, notification: Notification) -> str:
    """The channel for the group: the first matching route, the service's channel, the default."""
    labels = notification.labels_for_routing()
    for entry in catalog.alert_routes:
        if all(labels.get(key) == value for key, value in entry.match.items()):
            return entry.channel
    service = notification.service and catalog.service(notification.service)
    if service and service.channel:
        return service.channel
    if default_channel:
        return default_channel
    raise NoRoute(
        f"no channel for alert group {notification.group_key!r}: no alert_routes entry matches its "
        "labels and TRIAGE_ALERT_CHANNEL is not set"
    )
