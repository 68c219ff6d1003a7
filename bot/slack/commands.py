"""`/triage`: what the command text asks for, and the private answers that need no diagnosis."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.settings import Catalog

HELP = (
    "*/triage SERVICE [NAMESPACE]* diagnoses a service from its live pods, events, logs, metrics and "
    "Redis, and posts what it is, what is broken and why, and what to do first.\n"
    "• `/triage session-cache` · `/triage session-cache ecommerce`\n"
    "• `/triage help` shows this.\n"
    "Fixes come as buttons: clicking one shows the exact change, and only approvers can apply it."
)
_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class TriageRequest:
    service: str
    namespace: str | None


@dataclass(frozen=True, slots=True)
class PrivateAnswer:
    text: str


def interpret(text: str, channel: str, catalog: Catalog) -> TriageRequest | PrivateAnswer:
    """What `/triage <text>` in `channel` asks for, or the private answer to give instead."""
    words = text.split()
    if not words or words[0].lower() in ("help", "-h", "--help", "?"):
        return PrivateAnswer(HELP)
    if catalog.allowed_channels and channel not in catalog.allowed_channels:
        allowed = ", ".join(f"<#{c}>" for c in catalog.allowed_channels)
        return PrivateAnswer(f"/triage is not enabled in this channel. Use it in {allowed}.")
    if len(words) > 2:
        return PrivateAnswer(f"Too many words: `/triage SERVICE [NAMESPACE]`, e.g. `/triage {words[0]}`.")
    service = words[0].lower()
    namespace = words[1].lower() if len(words) == 2 else None
    for name in filter(None, (service, namespace)):
        if not _NAME.match(name):
            return PrivateAnswer(f"`{name}` is not a Kubernetes name (lower-case letters, digits, - and .).")
    if catalog.services and catalog.service(service) is None:
        close = catalog.suggestions(service)
        hint = f" Did you mean {', '.join(f'`{name}`' for name in close)}?" if close else ""
        known = ", ".join(f"`{name}`" for name in sorted(catalog.services)[:10])
        return PrivateAnswer(f"`{service}` is not a known service.{hint} Known services: {known}.")
    return TriageRequest(service, namespace)
