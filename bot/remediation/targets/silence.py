"""Alertmanager silences: silence the alert being triaged for a while, or expire that silence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from analyzers.param_values import ParamsJson, check_count, only_keys, read_text
from bot.durations import format_duration, parse_duration
from bot.remediation.proposals import AlertTarget, Applied, Basis, Change, Proposal
from bot.remediation.results import CannotPropose, Preview
from bot.remediation.silences import AlertmanagerSilences, thread_link
from bot.remediation.targets.base import Asked, Draft, Environment, RecordPrevious, Restore

SILENCE = "silence-alert"
DEFAULT_SILENCE_SECONDS = 2 * 3600
SILENCE_CHOICES = (3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600)  # what the approver may pick from


@dataclass(frozen=True, slots=True)
class AlertSilence:
    """silence-alert's parameters: how long the alert being triaged stays silent.

    The bot's own fix, so declared here rather than in analyzers/remediation_params.py: its
    contract spelling (`{"duration": "2h"}`) is bot/durations.py's, which analyzers cannot import.
    """

    seconds: int

    def __post_init__(self) -> None:
        check_count("seconds", self.seconds)

    def as_params(self) -> dict[str, object]:
        return {"duration": format_duration(self.seconds)}

    @classmethod
    def from_params(cls, params: ParamsJson) -> AlertSilence:
        only_keys(params, ("duration",))
        return cls(parse_duration(read_text(params, "duration")))


class Silences:
    def __init__(self, env: Environment) -> None:
        self.env = env

    def propose(self, alert: Mapping[str, str], seconds: int | None, asked: Asked) -> Draft:
        """A silence of `alert` for `seconds` (the silence-alert fix's; None: the default)."""
        self._silences()
        seconds = seconds or DEFAULT_SILENCE_SECONDS
        matchers = {str(k): str(v) for k, v in alert.items()}
        name = matchers.get("alertname", "the alert")
        title = f"Silence {name} for {format_duration(seconds)}"
        return Draft(
            SILENCE, title, AlertTarget(matchers=matchers), Change(silence_seconds=int(seconds)), Basis()
        )

    def preview(self, proposal: Proposal, blocked: str) -> Preview:
        change = proposal.change
        if change.expire_silence:
            lines = [f"expire silence {change.expire_silence}"]
            commands = [f"DELETE /api/v2/silence/{change.expire_silence}"]
        else:
            lines = [
                f"silence {proposal.target.describe()} for {format_duration(change.silence_seconds or 0)}"
            ]
            commands = ["POST /api/v2/silences"]
        return Preview(
            proposal, not blocked, blocked, diff=lines, commands=commands, approvers=proposal.approvers
        )

    def apply(
        self, proposal: Proposal, user: str, record_previous: RecordPrevious
    ) -> tuple[Applied, Change | None, list[str]]:
        silences = self._silences()
        change = proposal.change
        now = self.env.now
        if change.expire_silence:
            silences.expire(change.expire_silence)
            return Applied(by=user, at=now()), None, [f"expired silence {change.expire_silence}"]
        target = proposal.target
        assert isinstance(target, AlertTarget)
        comment = (
            f"oncall-triage proposal {proposal.id} approved by {user}: {proposal.title}. "
            f"Thread: {thread_link(proposal.channel, proposal.thread_ts)}"
        )
        silence_id = silences.create(
            target.matchers,
            change.silence_seconds or DEFAULT_SILENCE_SECONDS,
            created_by=user,
            comment=comment,
            now=datetime.fromtimestamp(now(), UTC),
        )
        applied = Applied(by=user, at=now(), silence_id=silence_id)
        return applied, Change(expire_silence=silence_id), [f"silence {silence_id}: {target.describe()}"]

    def watch(
        self, proposal: Proposal, applied: Applied, timeout: float, interval: float
    ) -> tuple[bool, list[str]]:
        if not applied.silence_id or self.env.silences is None:
            return True, ["the silence was expired"]
        silence = self.env.silences.get(applied.silence_id)
        return silence.state == "active", [f"silence {silence.id} is {silence.state} until {silence.ends_at}"]

    def restore(self, original: Proposal, partial: bool) -> Restore:
        assert original.previous is not None
        config = self.env.catalog.service(original.service)
        return Restore(original.previous, Basis(), config.namespace if config else None, "no silence")

    def _silences(self) -> AlertmanagerSilences:
        if self.env.silences is None:
            raise CannotPropose("no alertmanager_url in the catalog")
        return self.env.silences
