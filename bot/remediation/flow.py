"""The remediation flow the Slack handlers drive: propose, preview, approve, reject, verify, roll back.

Every step is written to the audit stream. Every refusal says why and changes nothing in the
cluster, in Redis or in Alertmanager; a proposal found expired or stale is marked so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import redis

from bot.remediation import policy
from bot.remediation.audit import AuditLog, Event, Refusal
from bot.remediation.kubernetes_change import KubernetesChangeError, KubernetesChanger, client_from_config
from bot.remediation.proposals import (
    AlertTarget,
    Approval,
    Change,
    Proposal,
    ProposalNotFound,
    ProposalStore,
    RedisTarget,
    State,
    WorkloadTarget,
)
from bot.remediation.proposing import Proposing, change_lines
from bot.remediation.redis_change import RedisChangeError, RedisChanger
from bot.remediation.results import (
    ANOTHER_CHANNEL,
    GONE,
    CannotPropose,
    Outcome,
    OutcomeStatus,
    Preview,
    Proposals,
    RemediationRefused,
    Skipped,
    Stale,
)
from bot.remediation.silences import AlertmanagerSilences, SilenceError
from bot.remediation.targets.base import Target, TargetKind
from bot.remediation.targets.redis_config import RedisConfiguration
from bot.remediation.targets.silence import DEFAULT_SILENCE_SECONDS, SILENCE, SILENCE_CHOICES, Silences
from bot.remediation.targets.workload import Workloads
from bot.settings import Catalog
from bot.state.keys import KEYS, Keys

__all__ = [
    "DEFAULT_SILENCE_SECONDS",
    "SILENCE",
    "SILENCE_CHOICES",
    "TRANSITIONS",
    "KubernetesFactory",
    "Outcome",
    "OutcomeStatus",
    "Preview",
    "Proposals",
    "RemediationFlow",
    "RemediationRefused",
    "Skipped",
]

log = logging.getLogger("triage.remediation")

KubernetesFactory = Callable[[str | None], KubernetesChanger]

# The proposal's state machine: state -> the states it may move to. Every change of state in this
# module goes through `_move` (or, for approvals, `approve`), which allows only these.
TRANSITIONS: dict[State, frozenset[State]] = {
    "proposed": frozenset({"approved", "rejected", "expired"}),  # enough approvals; turned down; too late
    "approved": frozenset({"applying"}),  # under the apply lock
    "applying": frozenset({"applied", "failed", "stale"}),  # the target changed since: never applied
    "applied": frozenset({"rolled_back"}),  # by a roll back proposal, once that is applied
    "failed": frozenset({"rolled_back"}),  # a failure part way may have written some of it
    "rejected": frozenset(),
    "expired": frozenset(),
    "stale": frozenset(),
    "rolled_back": frozenset(),
}
# Errors a target reports in words (the outcome is known: nothing, or what it says, was changed).
EXPECTED = (KubernetesChangeError, RedisChangeError, SilenceError, CannotPropose)


class RemediationFlow(Proposing):
    """One bot process's view of remediation; any number may share one Redis."""

    def __init__(
        self,
        catalog: Catalog,
        redis_client: redis.Redis,
        *,
        groups_of: policy.GroupsOf = policy.no_groups,
        kubernetes: KubernetesChanger | KubernetesFactory | None = None,
        redis_changer: RedisChanger | None = None,
        silences: AlertmanagerSilences | None = None,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        keys: Keys = KEYS,
    ) -> None:
        self.catalog = catalog
        self.store = ProposalStore(redis_client, keys.prefix)
        self.audit = AuditLog(redis_client, keys.audit())
        self.groups_of = groups_of
        self.redis_changer = redis_changer or RedisChanger()
        if silences is None and catalog.alertmanager_url:
            silences = AlertmanagerSilences(catalog.alertmanager_url)
        self.silences = silences
        self.now = now
        self.sleep = sleep
        self._kubernetes = kubernetes
        self._clients: dict[str | None, KubernetesChanger] = {}
        self.workloads = Workloads(self)
        self.redis_configuration = RedisConfiguration(self)
        self.silence_kind = Silences(self)

    # -- preview (proposing: proposing.py) -------------------------------------------------------
    def preview(self, proposal_id: str, user: str, channel: str) -> Preview:
        """The diff against the live system, what is sent, how to persist it, and the dry run."""
        proposal = self.store.get(proposal_id)
        if proposal is None:
            self.audit.append("refused", user, proposal_id, "", "preview", "no such proposal", "unknown")
            return Preview(None, False, GONE)
        if channel != proposal.channel:
            self.audit.append(
                "refused", user, proposal.id, proposal.service, "preview", "another channel", "wrong_channel"
            )
            return Preview(proposal, False, ANOTHER_CHANNEL)
        blocked = self._not_open(proposal)
        try:
            preview = self.kind_of(proposal.target).preview(proposal, blocked)
        except (KubernetesChangeError, RedisChangeError, CannotPropose) as error:
            preview = Preview(
                proposal, False, f"cannot read the target: {error}", approvers=proposal.approvers
            )
        self.audit.append(
            "previewed",
            user,
            proposal.id,
            proposal.service,
            "\n".join(preview.diff + preview.commands),
            preview.dry_run or preview.reason,
        )
        return preview

    def _not_open(self, proposal: Proposal) -> str:
        """Why the proposal cannot be approved any more ("" when it can)."""
        if proposal.state != "proposed":
            return f"this proposal is {proposal.state}" + (
                f": {proposal.state_reason}" if proposal.state_reason else ""
            )
        if self.now() >= proposal.expires_at:
            return f"this proposal expired at {_clock(proposal.expires_at)}"
        return ""

    # -- approving ---------------------------------------------------------------------------------
    def approve(self, proposal_id: str, user: str, channel: str) -> Outcome:
        """policy -> expiry -> channel -> state -> (record the approval) -> lock -> stale check -> apply."""
        proposal = self.store.get(proposal_id)
        if proposal is None:
            return self._refuse(None, proposal_id, user, "unknown", GONE)
        # Membership is looked up now, once per click, and decides both checks below: a user removed
        # from an approvers' group is refused on the next click. The audit records what was seen.
        groups_seen = frozenset(self.groups_of(user))
        membership = _membership(groups_seen)

        def seen(_user: str) -> set[str]:
            return set(groups_seen)

        decision = policy.decide(proposal, user, seen)
        if decision.verdict == "refuse":
            return self._refuse(
                proposal, proposal.id, user, _refusal(decision.code), decision.reason, membership
            )
        now = self.now()
        if now >= proposal.expires_at:
            why = f"expired at {_clock(proposal.expires_at)}: propose it again"
            self._move(proposal.id, "expired", _reason(why))
            return self._refuse(proposal, proposal.id, user, "expired", f"this proposal {why}", membership)
        if channel != proposal.channel:
            return self._refuse(proposal, proposal.id, user, "wrong_channel", ANOTHER_CHANNEL, membership)
        if proposal.state != "proposed":
            return self._refuse(proposal, proposal.id, user, "replay", _already(proposal), membership)
        decided: list[policy.Decision] = []

        def approve(current: Proposal) -> Proposal | None:
            decided.clear()
            if current.state != "proposed":  # approvals are taken only while it is open
                return None
            verdict = policy.decide(current, user, seen)
            decided.append(verdict)
            if verdict.verdict == "refuse":
                return None
            approvals = [*current.approvals, Approval(user=user, at=now)]
            state: State = "approved" if verdict.verdict == "apply" else "proposed"
            assert state == current.state or state in TRANSITIONS[current.state]
            return current.model_copy(update={"approvals": approvals, "state": state})

        try:
            approved = self.store.update(proposal.id, approve, now)
        except ProposalNotFound:  # its key expired since it was read
            return self._refuse(None, proposal.id, user, "unknown", GONE)
        if approved is None:
            if decided and decided[0].verdict == "refuse":
                return self._refuse(
                    proposal, proposal.id, user, _refusal(decided[0].code), decided[0].reason, membership
                )
            latest = self.store.get(proposal.id) or proposal
            return self._refuse(latest, proposal.id, user, "replay", _already(latest))
        count = f"{len(approved.approvals)} of {approved.approvals_needed} approvals"
        detail = "; ".join(part for part in (approved.bounds_reason, membership) if part)
        self.audit.append("approved", user, approved.id, approved.service, detail, count)
        if approved.state == "proposed":
            return Outcome("waiting", decided[0].reason, approved)
        return self._apply(approved, user)

    def _apply(self, proposal: Proposal, user: str) -> Outcome:
        with self.store.apply_lock(proposal.id) as lock:
            if not lock.held:
                return self._refuse(
                    proposal, proposal.id, user, "replay", "another process is applying it right now"
                )
            applying = self._move(proposal.id, "applying")
            if applying is None:
                latest = self.store.get(proposal.id) or proposal
                return self._refuse(latest, proposal.id, user, "replay", _already(latest))
            try:
                applied, previous, lines = self.kind_of(applying.target).apply(
                    applying, user, lambda previous: self._record_previous(proposal.id, previous)
                )
            except Stale as stale:
                why = str(stale)
                marked = self._move(proposal.id, "stale", _reason(why))
                return self._refuse(
                    marked or applying, proposal.id, user, "stale", f"stale, not applied: {why}"
                )
            except Exception as error:
                why = str(error)
                if not isinstance(error, EXPECTED):  # a bug, a dropped connection: the outcome is unknown
                    log.exception("applying proposal %s failed", proposal.id)
                    why = f"unexpected {type(error).__name__}: {error}; check {proposal.target.describe()} by hand"
                failed = self._move(proposal.id, "failed", _reason(why))
                self.audit.append(
                    "apply_failed",
                    user,
                    proposal.id,
                    proposal.service,
                    "\n".join(change_lines(proposal)),
                    why,
                )
                return Outcome("failed", f"not applied: {why}", failed or applying)

            def done(p: Proposal) -> Proposal:
                return p.model_copy(update={"applied": applied, "previous": previous})

            final = self._move(proposal.id, "applied", done) or done(applying)
        event: Event = (
            "silenced"
            if isinstance(final.target, AlertTarget) and not final.change.expire_silence
            else "applied"
        )
        self.audit.append(event, user, final.id, final.service, "\n".join(lines), "ok")
        if final.rollback_of:
            try:
                self._move(
                    final.rollback_of,
                    "rolled_back",
                    lambda p: p.model_copy(update={"rolled_back_by": final.id}),
                )
            except (
                ProposalNotFound
            ):  # the original's key expired meanwhile: the roll back is applied all the same
                log.info("proposal %s rolled back by %s is gone from Redis", final.rollback_of, final.id)
        return Outcome("applied", f"applied: {final.title}", final, lines=lines)

    def _record_previous(self, proposal_id: str, previous: Change) -> None:
        """Store what is about to be replaced before writing: a failure part way (a patch that timed
        out, CONFIG GET failing after CONFIG SET) still leaves a proposal that can be rolled back."""

        def record(current: Proposal) -> Proposal | None:
            if current.state != "applying":
                return None
            return current.model_copy(update={"previous": previous})

        self.store.update(proposal_id, record, self.now())

    def reject(self, proposal_id: str, user: str, channel: str, why: str = "") -> Outcome:
        """Turn a proposal down (an approver or the requester); nothing is applied."""
        proposal = self.store.get(proposal_id)
        if proposal is None:
            return self._refuse(None, proposal_id, user, "unknown", GONE)
        decision = policy.may_reject(proposal, user, self.groups_of)
        if decision.verdict == "refuse":
            return self._refuse(proposal, proposal.id, user, "not_allowed", decision.reason)
        if channel != proposal.channel:
            return self._refuse(proposal, proposal.id, user, "wrong_channel", ANOTHER_CHANNEL)
        reason = why or f"rejected by {user}"
        rejected = self._move(proposal.id, "rejected", _reason(reason))
        if rejected is None:
            latest = self.store.get(proposal.id) or proposal
            return self._refuse(latest, proposal.id, user, "replay", _already(latest))
        self.audit.append("rejected", user, proposal.id, proposal.service, why, "rejected")
        return Outcome("rejected", f"rejected: {proposal.title}", rejected)

    # -- after applying ----------------------------------------------------------------------------
    def verify(self, proposal_id: str, timeout: float | None = None, interval: float = 5.0) -> Outcome:
        """Watch an applied change until it holds, fails, or `timeout` (default remediation.verify_seconds)."""
        proposal = self.store.get(proposal_id)
        if proposal is None:
            return Outcome("refused", GONE, None, "unknown")
        if proposal.state not in ("applied", "rolled_back") or proposal.applied is None:
            return Outcome(
                "refused", f"nothing to verify: the proposal is {proposal.state}", proposal, "replay"
            )
        limit = self.catalog.remediation.verify_seconds if timeout is None else timeout
        try:
            held, lines = self.kind_of(proposal.target).watch(proposal, proposal.applied, limit, interval)
        except EXPECTED as error:
            held, lines = False, [f"could not check: {error}"]
        event: Event = "verified" if held else "verify_failed"
        self.audit.append(
            event, "triage", proposal.id, proposal.service, "\n".join(lines), "ok" if held else "failed"
        )
        message = f"{'verified' if held else 'NOT verified'}: {proposal.title}"
        return Outcome("verified" if held else "verify_failed", message, proposal, lines=lines)

    def get(self, proposal_id: str) -> Proposal | None:
        return self.store.get(proposal_id)

    # -- helpers -----------------------------------------------------------------------------------
    def _refuse(
        self,
        proposal: Proposal | None,
        proposal_id: str,
        user: str,
        reason: Refusal,
        message: str,
        detail: str = "",
    ) -> Outcome:
        service = proposal.service if proposal else ""
        self.audit.append("refused", user, proposal_id, service, detail, message, reason)
        return Outcome("refused", message, proposal, reason)

    def kube(self, context: str | None) -> KubernetesChanger:
        if isinstance(self._kubernetes, KubernetesChanger):
            return self._kubernetes
        if context not in self._clients:
            if self._kubernetes is not None:
                self._clients[context] = self._kubernetes(context)
            else:
                self._clients[context] = KubernetesChanger(
                    client_from_config(self.catalog.kubeconfig, context)
                )
        return self._clients[context]

    def redis_url(self, service: str) -> str:
        config = self.catalog.service(service)
        if config is None or not config.redis_url:
            raise CannotPropose(f"no redis_url for {service} in the catalog")
        return config.redis_url

    def kind_of(self, target: Target) -> TargetKind:
        """The one place the kind of target decides anything."""
        if isinstance(target, WorkloadTarget):
            return self.workloads
        if isinstance(target, RedisTarget):
            return self.redis_configuration
        return self.silence_kind

    def _move(
        self, proposal_id: str, to: State, edit: Callable[[Proposal], Proposal] | None = None
    ) -> Proposal | None:
        """Moves the proposal to `to` from any state TRANSITIONS allows it from; None when it is in
        none of them (another click or process moved it first)."""
        sources = [state for state, targets in TRANSITIONS.items() if to in targets]
        return self.store.transition(proposal_id, sources, to, self.now(), edit)


def _already(proposal: Proposal) -> str:
    by = ", ".join(f"<@{user}>" for user in proposal.approved_by())
    return f"this proposal is {proposal.state} already" + (f" (approved by {by})" if by else "")


def _reason(why: str) -> Callable[[Proposal], Proposal]:
    return lambda p: p.model_copy(update={"state_reason": why})


def _refusal(code: str) -> Refusal:
    return "bounds" if code == "bounds" else "not_allowed"


def _clock(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%H:%M:%S UTC")


def _membership(groups: frozenset[str]) -> str:
    """The approvers' user groups a user was seen in when clicking, for the audit."""
    return f"user groups at approval: {', '.join(sorted(groups)) or 'none'}"
