"""What alert groups need from the layer above them, as protocols: a poster and a diagnosis queue.

Alerts never import Slack code: `bot.slack.poster.SlackPoster` satisfies `Poster`, and the server
wires `DiagnosisJobs`/`DiagnosisQueue` in as `Submit`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class PacingTimeout(Exception):
    """The channel's queue of messages is too long to wait for; retry later."""


@dataclass(frozen=True, slots=True)
class DiagnosisRequest:
    service: str
    namespace: str | None
    channel: str
    trigger: str  # "slash" or "alert"
    thread_ts: str | None = None
    requested_by: str | None = None
    response_url: str | None = None
    owners: tuple[str, ...] = ()
    alert_labels: dict[str, str] | None = None  # the alert being triaged, for a silence proposal


# Queues the diagnosis of a group (durably: see DiagnosisQueue); the key is set once it is posted.
Submit = Callable[[DiagnosisRequest, str], object]


class Poster(Protocol):
    """Posts to a chat channel, paced; raises PacingTimeout when the channel's queue is too long."""

    def post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
        max_wait: float | None = None,
        once: bool = False,
    ) -> str:
        """Posts and returns the message's id (ts); `once`: not retried where it may have landed."""
        ...

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """Edits a message."""
        ...

    def history(self, channel: str, oldest: float, pages: int) -> list[dict[str, Any]]:
        """Top-level messages from `oldest` on (with their metadata), at most `pages` pages; what
        could be read when reading fails part way."""
        ...
