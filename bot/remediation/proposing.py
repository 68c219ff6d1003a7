"""Making proposals: one per automated fix of a diagnosis, a silence of another length, a roll back.

`RemediationFlow` (flow.py) is built from this part and the state machine; a proposal made here is
stored `proposed` and written to the audit stream.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping

from analyzers.diagnosis import Diagnosis
from analyzers.evidence import Evidence
from bot.durations import format_duration
from bot.remediation import policy
from bot.remediation.audit import AuditLog, Event
from bot.remediation.kubernetes_change import KubernetesChangeError
from bot.remediation.proposals import AlertTarget, Change, Proposal, ProposalStore, new_proposal_id
from bot.remediation.redis_change import RedisChangeError
from bot.remediation.redis_change import commands as redis_commands
from bot.remediation.results import (
    ANOTHER_CHANNEL,
    GONE,
    CannotPropose,
    Proposals,
    RemediationRefused,
    Skipped,
)
from bot.remediation.targets import redis_config, workload
from bot.remediation.targets.base import Asked, Draft, Target, TargetKind
from bot.remediation.targets.redis_config import RedisConfiguration
from bot.remediation.targets.silence import SILENCE, SILENCE_CHOICES, AlertSilence, Silences
from bot.remediation.targets.workload import Workloads
from bot.settings import Catalog, ServiceConfig


class Proposing:
    """The proposal-making half of RemediationFlow (which sets these attributes)."""

    catalog: Catalog
    store: ProposalStore
    audit: AuditLog
    groups_of: policy.GroupsOf
    now: Callable[[], float]
    workloads: Workloads
    redis_configuration: RedisConfiguration
    silence_kind: Silences

    def kind_of(self, target: Target) -> TargetKind:
        raise NotImplementedError

    def propose(
        self,
        diagnosis: Diagnosis,
        evidence: Evidence,
        service: str,
        service_config: ServiceConfig | None,
        channel: str,
        thread_ts: str,
        requested_by: str,
        alert: Mapping[str, str] | None = None,
    ) -> Proposals:
        """One proposal per automated remediation that can be applied, checked against the live system.

        `alert`: the labels of the alert being triaged, if any; with Alertmanager configured, a
        silence of it is proposed too. Not automated remediations are left out; automated ones
        that cannot be proposed (no workload found, nothing to change, ...) are in `.skipped`.
        """
        batch = Proposals()
        if not self.catalog.remediation.enabled:
            batch.skipped.append(Skipped("*", "remediation is disabled in the catalog (remediation.enabled)"))
            return batch
        namespace = (service_config.namespace if service_config else None) or _namespace_of(evidence, service)
        context = Asked(service, service_config, namespace, channel, thread_ts, requested_by)
        done: set[str] = set()
        silence_seconds: int | None = None  # the length the silence-alert fix asks for, if it says
        silence_index: int | None = None  # where the silence-alert fix is, if there is one
        for index, remediation in enumerate(diagnosis.remediations):
            if not remediation.automated:
                continue
            if remediation.id in done:
                batch.skipped.append(Skipped(remediation.id, "an earlier fix of the same kind is proposed"))
                continue
            done.add(remediation.id)
            try:
                if remediation.id in workload.REMEDIATIONS:
                    draft = self.workloads.propose(remediation, evidence, context)
                elif remediation.id in redis_config.REMEDIATIONS:
                    draft = self.redis_configuration.propose(remediation, context)
                elif remediation.id == SILENCE:
                    params = remediation.params
                    silence_seconds = params.seconds if isinstance(params, AlertSilence) else None
                    silence_index = index
                    continue
                else:
                    raise CannotPropose(f"{remediation.id} is not applied by the bot; do it by hand")
            except (CannotPropose, KubernetesChangeError, RedisChangeError) as error:
                batch.skipped.append(Skipped(remediation.id, str(error)))
                continue
            proposal = self._new(draft, context)
            batch.append(self._create(proposal.model_copy(update={"remediation_index": index})))
        if alert:
            try:
                silence = self._new(self.silence_kind.propose(alert, silence_seconds, context), context)
                batch.append(self._create(silence.model_copy(update={"remediation_index": silence_index})))
            except CannotPropose as error:
                batch.skipped.append(Skipped(SILENCE, str(error)))
        elif silence_index is not None:
            batch.skipped.append(Skipped(SILENCE, "no alert is known to silence"))
        return batch

    def with_silence_duration(self, proposal_id: str, seconds: int, user: str, channel: str) -> Proposal:
        """A new silence proposal like `proposal_id` for another of SILENCE_CHOICES; approved like any other.

        Raises RemediationRefused when it is not an open silence proposal of this channel.
        """
        original = self.store.get(proposal_id)
        if original is None:
            raise RemediationRefused("unknown", GONE)
        if channel != original.channel:
            raise RemediationRefused("wrong_channel", ANOTHER_CHANNEL)
        if not isinstance(original.target, AlertTarget) or original.change.expire_silence:
            raise RemediationRefused("unknown", "only a silence can be given another duration")
        if seconds not in SILENCE_CHOICES:
            raise RemediationRefused(
                "bounds", f"a silence lasts one of {', '.join(map(format_duration, SILENCE_CHOICES))}"
            )
        if original.state != "proposed":
            raise RemediationRefused("replay", f"this proposal is {original.state}")
        now = self.now()
        name = original.target.matchers.get("alertname", "the alert")
        proposal = original.model_copy(
            update={
                "id": new_proposal_id(),
                "title": f"Silence {name} for {format_duration(seconds)}",
                "change": Change(silence_seconds=seconds),
                "requested_by": user,
                "approvals": [],
                "created_at": now,
                "expires_at": now + self.catalog.remediation.expiry_minutes * 60,
            }
        )
        return self._create(proposal)

    def _new(self, draft: Draft, asked: Asked, rollback_of: str | None = None) -> Proposal:
        now = self.now()
        return Proposal(
            id=new_proposal_id(),
            remediation=draft.remediation,
            title=draft.title,
            service=asked.service,
            channel=asked.channel,
            thread_ts=asked.thread_ts,
            requested_by=asked.requested_by,
            target=draft.target,
            change=draft.change,
            basis=draft.basis,
            approvers=policy.approvers_for(self.catalog, asked.service_config, asked.namespace),
            two_person=policy.two_person_rule(self.catalog, asked.service_config, asked.namespace),
            needs_second_approver=bool(draft.bounds),
            bounds_reason=draft.bounds,
            created_at=now,
            expires_at=now + self.catalog.remediation.expiry_minutes * 60,
            rollback_of=rollback_of,
        )

    def _create(self, proposal: Proposal) -> Proposal:
        self.store.create(proposal, self.now())
        event: Event = "rollback_proposed" if proposal.rollback_of else "proposed"
        detail = "\n".join(change_lines(proposal))
        self.audit.append(event, proposal.requested_by, proposal.id, proposal.service, detail, proposal.title)
        return proposal

    # -- roll back ---------------------------------------------------------------------------------
    def rollback(self, proposal_id: str, user: str, channel: str) -> Proposal:
        """A new proposal that puts back the values an applied proposal replaced; approved like any other.

        Only an approver or whoever asked for the change may ask for its roll back, from the
        proposal's channel. Raises RemediationRefused when there is nothing to roll back, or when
        the values it wrote were changed since by someone else (rolling back would overwrite that
        change).
        """
        original = self.store.get(proposal_id)
        if original is None:
            raise RemediationRefused("unknown", GONE)
        decision = policy.may_reject(original, user, self.groups_of)
        if decision.verdict == "refuse":
            self.audit.append(
                "refused", user, original.id, original.service, "rollback", decision.reason, "not_allowed"
            )
            raise RemediationRefused("not_allowed", decision.reason)
        if channel != original.channel:
            self.audit.append(
                "refused", user, original.id, original.service, "rollback", "another channel", "wrong_channel"
            )
            raise RemediationRefused("wrong_channel", ANOTHER_CHANNEL)
        # A failed apply may have written part of the change (a patch that timed out, one CONFIG
        # SET pair of several): with its previous values recorded, it can be rolled back too.
        if original.state not in ("applied", "failed") or original.previous is None:
            raise RemediationRefused(
                "replay", f"only an applied change can be rolled back; this one is {original.state}"
            )
        partial = original.state == "failed"
        service_config = self.catalog.service(original.service)
        restore = self.kind_of(original.target).restore(original, partial)
        asked = Asked(
            original.service, service_config, restore.namespace, original.channel, original.thread_ts, user
        )
        title = f"Roll back: {original.title} (restore {restore.restored})"
        draft = Draft(
            original.remediation, title, original.target, restore.change, restore.basis, restore.bounds
        )
        return self._create(self._new(draft, asked, rollback_of=original.id))


def _namespace_of(evidence: Evidence, service: str) -> str | None:
    counts = Counter(
        f.subject.namespace for f in evidence.facts if f.subject.namespace and f.subject.workload == service
    )
    if not counts:
        counts = Counter(f.subject.namespace for f in evidence.facts if f.subject.namespace)
    return counts.most_common(1)[0][0] if counts else None


def change_lines(proposal: Proposal) -> list[str]:
    change = proposal.change
    lines = [proposal.target.describe()]
    if change.resources is not None:
        lines += [f"limits.{k}: {v}" for k, v in change.resources.limits.items()]
        lines += [f"requests.{k}: {v}" for k, v in change.resources.requests.items()]
    lines += redis_commands(change.redis_config)
    if change.silence_seconds:
        lines.append(f"silence for {format_duration(change.silence_seconds)}")
    if change.expire_silence:
        lines.append(f"expire silence {change.expire_silence}")
    return lines
