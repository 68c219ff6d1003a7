"""What the remediation flow answers: proposals made or skipped, previews, outcomes, refusals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from bot.remediation.proposals import Proposal

OutcomeStatus = Literal["applied", "waiting", "rejected", "refused", "failed", "verified", "verify_failed"]
GONE = "this proposal does not exist (any more)"
ANOTHER_CHANNEL = "this proposal belongs to another channel's thread"


@dataclass(frozen=True, slots=True)
class Skipped:
    """An automated remediation that could not be turned into a proposal, and why."""

    remediation: str
    reason: str


class Proposals(list[Proposal]):
    """The proposals made (a list), and `skipped`: the automated fixes that could not be proposed."""

    def __init__(self, proposals: Iterable[Proposal] = (), skipped: Iterable[Skipped] = ()) -> None:
        super().__init__(proposals)
        self.skipped: list[Skipped] = list(skipped)

    def by_index(self) -> dict[int, str]:
        """Index in diagnosis.remediations -> proposal id: what each fix's button carries."""
        return {p.remediation_index: p.id for p in self if p.remediation_index is not None}


@dataclass(frozen=True, slots=True)
class Preview:
    """What approving would do, checked against the live system (and the API server's dry run)."""

    proposal: Proposal | None
    can_approve: bool  # False: show no Approve button
    reason: str  # why not, when it cannot be approved
    diff: list[str] = field(default_factory=list)  # before/after, `-`/`+` lines
    commands: list[str] = field(default_factory=list)  # what is sent (the patch, CONFIG SET, the silence)
    persist: list[str] = field(default_factory=list)  # what to change so the fix survives a restart/deploy
    dry_run: str = ""  # the dry run's verdict
    notes: list[str] = field(default_factory=list)
    approvers: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a click or a verification ended: `message` is for the thread, `reason` the refusal code."""

    status: OutcomeStatus
    message: str
    proposal: Proposal | None = None
    reason: str = ""  # a refusal: not_allowed, expired, stale, unknown, wrong_channel, replay, bounds
    lines: list[str] = field(default_factory=list)  # the diff applied, or the verification checks

    @property
    def ok(self) -> bool:
        return self.status in ("applied", "waiting", "rejected", "verified")


class RemediationRefused(Exception):
    """A roll back that cannot be proposed; `reason` is a refusal code, the message says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class CannotPropose(Exception):
    """The target cannot be read or changed as asked (not configured, nothing to change)."""


class Stale(Exception):
    """The target changed since the proposal was computed: it is not applied."""
