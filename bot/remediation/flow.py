"""The remediation flow the Slack handlers drive: propose, preview, approve, reject, verify, roll back.

Every step is written to the audit stream. Every refusal says why and changes nothing in the
cluster, in Redis or in Alertmanager; a proposal found expired or stale is marked so.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import redis

from analyzers.diagnosis import Diagnosis, Remediation
from analyzers.evidence import Evidence
from analyzers.quantity import duration_seconds, parse_redis_size
from bot.readers.kubernetes_objects import workload_of_pod
from bot.remediation import policy
from bot.remediation.audit import AuditLog, Event, Refusal
from bot.remediation.kubernetes_change import (
    KubernetesChangeError,
    KubernetesChanger,
    client_from_config,
    merged,
    plan_resources,
    resources_diff,
    resources_patch,
    restore_resources,
    same_quantity,
    same_resources,
    stale_reason,
)
from bot.remediation.kubernetes_change import (
    persist_hint as workload_persist_hint,
)
from bot.remediation.proposals import (
    AlertTarget,
    Applied,
    Approval,
    Basis,
    Change,
    Proposal,
    ProposalNotFound,
    ProposalStore,
    RedisTarget,
    Resources,
    State,
    WorkloadTarget,
    new_proposal_id,
)
from bot.remediation.redis_change import RedisChangeError, RedisChanger
from bot.remediation.redis_change import commands as redis_commands
from bot.remediation.redis_change import persist_hint as redis_persist_hint
from bot.remediation.silences import AlertmanagerSilences, SilenceError, thread_link
from bot.settings import Catalog, ServiceConfig
from bot.state.keys import KEYS, Keys

log = logging.getLogger("triage.remediation")

WORKLOAD_REMEDIATIONS = {"raise-memory-limit": "memory", "raise-cpu-limit": "cpu"}
REDIS_REMEDIATIONS = ("set-redis-maxmemory", "set-redis-eviction-policy", "raise-redis-maxclients")
SILENCE = "silence-alert"
DEFAULT_SILENCE_SECONDS = 2 * 3600
SILENCE_CHOICES = (3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600)  # what the approver may pick from
GONE = "this proposal does not exist (any more)"
ANOTHER_CHANNEL = "this proposal belongs to another channel's thread"
MAIN_CONTAINER = "the main container"  # what remediate.py names a container it could not name

KubernetesFactory = Callable[[str | None], KubernetesChanger]
OutcomeStatus = Literal["applied", "waiting", "rejected", "refused", "failed", "verified", "verify_failed"]


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


class _CannotPropose(Exception):
    pass


class _Stale(Exception):
    pass


class RemediationFlow:
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

    # -- proposing ---------------------------------------------------------------------------------
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
        context = _Asked(service, service_config, namespace, channel, thread_ts, requested_by)
        done: set[str] = set()
        silence_params: dict[str, object] | None = None
        silence_index: int | None = None
        for index, remediation in enumerate(diagnosis.remediations):
            if not remediation.automated:
                continue
            if remediation.id in done:
                batch.skipped.append(Skipped(remediation.id, "an earlier fix of the same kind is proposed"))
                continue
            done.add(remediation.id)
            try:
                if remediation.id in WORKLOAD_REMEDIATIONS:
                    proposal = self._workload_proposal(remediation, evidence, context)
                elif remediation.id in REDIS_REMEDIATIONS:
                    proposal = self._redis_proposal(remediation, context)
                elif remediation.id == SILENCE:
                    silence_params, silence_index = dict(remediation.params), index
                    continue
                else:
                    raise _CannotPropose(f"{remediation.id} is not applied by the bot; do it by hand")
            except (_CannotPropose, KubernetesChangeError, RedisChangeError) as error:
                batch.skipped.append(Skipped(remediation.id, str(error)))
                continue
            batch.append(self._create(proposal.model_copy(update={"remediation_index": index})))
        if alert:
            try:
                silence = self._silence_proposal(alert, silence_params or {}, context)
                batch.append(self._create(silence.model_copy(update={"remediation_index": silence_index})))
            except _CannotPropose as error:
                batch.skipped.append(Skipped(SILENCE, str(error)))
        elif silence_params is not None:
            batch.skipped.append(Skipped(SILENCE, "no alert is known to silence"))
        return batch

    def _workload_proposal(self, remediation: Remediation, evidence: Evidence, asked: _Asked) -> Proposal:
        resource = WORKLOAD_REMEDIATIONS[remediation.id]
        if not asked.namespace:
            raise _CannotPropose(f"no namespace known for {asked.service} (set it in the catalog)")
        container = str(remediation.params.get("container") or MAIN_CONTAINER)
        new = str(remediation.params["to"])
        names = _workload_names(evidence, asked.namespace, container, asked.service)
        changer = self._kube(self.catalog.context)
        workload = changer.find(asked.namespace, names)
        if container not in workload.containers:
            if len(workload.containers) == 1 and container in (MAIN_CONTAINER, asked.service):
                container = next(iter(workload.containers))
            else:
                raise _CannotPropose(
                    f"{workload.kind} {workload.name} has no container {container} "
                    f"(it has {', '.join(workload.containers)})"
                )
        current = workload.resources(container) or Resources()
        current_limit = current.limits.get(resource)
        if current_limit is not None and not policy.larger(new, current_limit):
            raise _CannotPropose(
                f"the {resource} limit of {container} is {current_limit} already (wanted {new})"
            )
        change = plan_resources(current, {resource: new})
        bounds = policy.memory_bounds(self.catalog, current_limit, new) if resource == "memory" else ""
        target = WorkloadTarget(
            context=self.catalog.context,
            namespace=asked.namespace,
            kind=workload.kind,
            name=workload.name,
            container=container,
        )
        title = (
            f"Raise the {resource} limit of {container} in {workload.kind} {workload.name} "
            f"from {current_limit or 'none'} to {new}"
        )
        return self._new(
            remediation.id, title, asked, target, Change(resources=change), workload.basis(container), bounds
        )

    def _redis_proposal(self, remediation: Remediation, asked: _Asked) -> Proposal:
        url = asked.service_config.redis_url if asked.service_config else None
        if not url:
            raise _CannotPropose(f"no redis_url for {asked.service} in the catalog")
        params = remediation.params
        if remediation.id == "set-redis-maxmemory":
            values = {"maxmemory": str(params["maxmemory"]), "maxmemory-policy": str(params["policy"])}
        elif remediation.id == "set-redis-eviction-policy":
            values = {"maxmemory-policy": str(params["policy"])}
        else:
            values = {"maxclients": str(params["to"])}
        basis = self.redis_changer.read(url, values)
        if all(_same_redis_value(name, basis.get(name), value) for name, value in values.items()):
            raise _CannotPropose(
                "Redis runs with " + ", ".join(f"{k} {v}" for k, v in values.items()) + " already"
            )
        title = (
            f"Redis of {asked.service}: "
            + ", ".join(f"{k} {v}" for k, v in values.items())
            + f" ({remediation.title})"
        )
        target = RedisTarget(service=asked.service)
        return self._new(
            remediation.id, title, asked, target, Change(redis_config=values), Basis(redis_config=basis), ""
        )

    def _silence_proposal(
        self, alert: Mapping[str, str], params: Mapping[str, object], asked: _Asked
    ) -> Proposal:
        if self.silences is None:
            raise _CannotPropose("no alertmanager_url in the catalog")
        seconds = duration_seconds(str(params.get("duration") or "")) or DEFAULT_SILENCE_SECONDS
        matchers = {str(k): str(v) for k, v in alert.items()}
        name = matchers.get("alertname", "the alert")
        title = f"Silence {name} for {_duration(seconds)}"
        change = Change(silence_seconds=int(seconds))
        return self._new(SILENCE, title, asked, AlertTarget(matchers=matchers), change, Basis(), "")

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
                "bounds", f"a silence lasts one of {', '.join(map(_duration, SILENCE_CHOICES))}"
            )
        if original.state != "proposed":
            raise RemediationRefused("replay", f"this proposal is {original.state}")
        now = self.now()
        name = original.target.matchers.get("alertname", "the alert")
        proposal = original.model_copy(
            update={
                "id": new_proposal_id(),
                "title": f"Silence {name} for {_duration(seconds)}",
                "change": Change(silence_seconds=seconds),
                "requested_by": user,
                "approvals": [],
                "created_at": now,
                "expires_at": now + self.catalog.remediation.expiry_minutes * 60,
            }
        )
        return self._create(proposal)

    def _new(
        self,
        remediation: str,
        title: str,
        asked: _Asked,
        target: WorkloadTarget | RedisTarget | AlertTarget,
        change: Change,
        basis: Basis,
        bounds: str,
        rollback_of: str | None = None,
    ) -> Proposal:
        now = self.now()
        return Proposal(
            id=new_proposal_id(),
            remediation=remediation,
            title=title,
            service=asked.service,
            channel=asked.channel,
            thread_ts=asked.thread_ts,
            requested_by=asked.requested_by,
            target=target,
            change=change,
            basis=basis,
            approvers=policy.approvers_for(self.catalog, asked.service_config, asked.namespace),
            two_person=policy.two_person_rule(self.catalog, asked.service_config, asked.namespace),
            needs_second_approver=bool(bounds),
            bounds_reason=bounds,
            created_at=now,
            expires_at=now + self.catalog.remediation.expiry_minutes * 60,
            rollback_of=rollback_of,
        )

    def _create(self, proposal: Proposal) -> Proposal:
        self.store.create(proposal, self.now())
        event: Event = "rollback_proposed" if proposal.rollback_of else "proposed"
        detail = "\n".join(_change_lines(proposal))
        self.audit.append(event, proposal.requested_by, proposal.id, proposal.service, detail, proposal.title)
        return proposal

    # -- preview -----------------------------------------------------------------------------------
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
            preview = self._preview(proposal, blocked)
        except (KubernetesChangeError, RedisChangeError, _CannotPropose) as error:
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

    def _preview(self, proposal: Proposal, blocked: str) -> Preview:
        target = proposal.target
        if isinstance(target, WorkloadTarget):
            return self._preview_workload(proposal, target, blocked)
        if isinstance(target, RedisTarget):
            url = self._redis_url(target.service)
            values = proposal.change.redis_config
            current = self.redis_changer.read(url, values)
            moved = [n for n in values if current.get(n) != proposal.basis.redis_config.get(n)]
            reason = blocked or (
                f"stale: Redis changed since the proposal ({', '.join(moved)})" if moved else ""
            )
            diff = [f"-{name} {current.get(name, '')}\n+{name} {value}" for name, value in values.items()]
            return Preview(
                proposal,
                not reason,
                reason,
                diff=[line for pair in diff for line in pair.split("\n")],
                commands=redis_commands(values),
                persist=redis_persist_hint(values),
                dry_run="Redis has no dry run: CONFIG SET checks the values when it is applied",
                approvers=proposal.approvers,
            )
        change = proposal.change
        if change.expire_silence:
            lines = [f"expire silence {change.expire_silence}"]
            commands = [f"DELETE /api/v2/silence/{change.expire_silence}"]
        else:
            lines = [f"silence {target.describe()} for {_duration(change.silence_seconds or 0)}"]
            commands = ["POST /api/v2/silences"]
        return Preview(
            proposal, not blocked, blocked, diff=lines, commands=commands, approvers=proposal.approvers
        )

    def _preview_workload(self, proposal: Proposal, target: WorkloadTarget, blocked: str) -> Preview:
        changer = self._kube(target.context)
        workload = changer.read(target.kind, target.namespace, target.name)
        stale, note = stale_reason(proposal.basis, workload, target.container)
        change = proposal.change.resources or Resources()
        current = workload.resources(target.container) or Resources()
        body = resources_patch(target.container, change, workload.resource_version)
        command = (
            f"kubectl -n {target.namespace} patch {target.kind.lower()} {target.name} --type strategic "
            f"-p '{_json(body)}'"
        )
        dry_run = ""
        reason = blocked or (f"stale: {stale}" if stale else "")
        notes = [note] if note else []
        if not stale:
            try:
                result = changer.patch_resources(
                    target, change, dry_run=True, resource_version=workload.resource_version
                )
            except KubernetesChangeError as error:
                dry_run = f"the API server refused the dry run: {error}"
                reason = reason or dry_run
            else:
                dry_run = "the API server accepts it (dryRun=All)"
                stored = result.resources(target.container)
                if stored is not None and not same_resources(stored, merged(current, change)):
                    notes.append(f"admission would store {stored.model_dump()} instead")
        return Preview(
            proposal,
            not reason,
            reason,
            diff=resources_diff(target, current, change),
            commands=[command],
            persist=workload_persist_hint(target, change),
            dry_run=dry_run,
            notes=notes,
            approvers=proposal.approvers,
        )

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
            self.store.transition(proposal.id, ["proposed"], "expired", now, _reason(why))
            return self._refuse(proposal, proposal.id, user, "expired", f"this proposal {why}", membership)
        if channel != proposal.channel:
            return self._refuse(proposal, proposal.id, user, "wrong_channel", ANOTHER_CHANNEL, membership)
        if proposal.state != "proposed":
            return self._refuse(proposal, proposal.id, user, "replay", _already(proposal), membership)
        decided: list[policy.Decision] = []

        def approve(current: Proposal) -> Proposal | None:
            decided.clear()
            if current.state != "proposed":
                return None
            verdict = policy.decide(current, user, seen)
            decided.append(verdict)
            if verdict.verdict == "refuse":
                return None
            approvals = [*current.approvals, Approval(user=user, at=now)]
            state: State = "approved" if verdict.verdict == "apply" else "proposed"
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
            applying = self.store.transition(proposal.id, ["approved"], "applying", self.now())
            if applying is None:
                latest = self.store.get(proposal.id) or proposal
                return self._refuse(latest, proposal.id, user, "replay", _already(latest))
            try:
                applied, previous, lines = self._apply_change(applying, user)
            except _Stale as stale:
                why = str(stale)
                marked = self.store.transition(proposal.id, ["applying"], "stale", self.now(), _reason(why))
                return self._refuse(
                    marked or applying, proposal.id, user, "stale", f"stale, not applied: {why}"
                )
            except Exception as error:
                expected = (KubernetesChangeError, RedisChangeError, SilenceError, _CannotPropose)
                why = str(error)
                if not isinstance(error, expected):  # a bug, a dropped connection: the outcome is unknown
                    log.exception("applying proposal %s failed", proposal.id)
                    why = f"unexpected {type(error).__name__}: {error}; check {proposal.target.describe()} by hand"
                failed = self.store.transition(proposal.id, ["applying"], "failed", self.now(), _reason(why))
                self.audit.append(
                    "apply_failed",
                    user,
                    proposal.id,
                    proposal.service,
                    "\n".join(_change_lines(proposal)),
                    why,
                )
                return Outcome("failed", f"not applied: {why}", failed or applying)

            def done(p: Proposal) -> Proposal:
                return p.model_copy(update={"applied": applied, "previous": previous})

            final = self.store.transition(proposal.id, ["applying"], "applied", self.now(), done) or done(
                applying
            )
        event: Event = (
            "silenced"
            if isinstance(final.target, AlertTarget) and not final.change.expire_silence
            else "applied"
        )
        self.audit.append(event, user, final.id, final.service, "\n".join(lines), "ok")
        if final.rollback_of:
            try:
                self.store.transition(
                    final.rollback_of,
                    ["applied", "failed"],
                    "rolled_back",
                    self.now(),
                    lambda p: p.model_copy(update={"rolled_back_by": final.id}),
                )
            except (
                ProposalNotFound
            ):  # the original's key expired meanwhile: the roll back is applied all the same
                log.info("proposal %s rolled back by %s is gone from Redis", final.rollback_of, final.id)
        return Outcome("applied", f"applied: {final.title}", final, lines=lines)

    def _apply_change(self, proposal: Proposal, user: str) -> tuple[Applied, Change | None, list[str]]:
        target = proposal.target
        if isinstance(target, WorkloadTarget):
            return self._apply_workload(proposal, target, user)
        if isinstance(target, RedisTarget):
            values = proposal.change.redis_config
            try:
                before, after = self.redis_changer.apply(
                    self._redis_url(target.service),
                    values,
                    proposal.basis.redis_config,
                    before_write=lambda before: self._record_previous(
                        proposal.id, Change(redis_config=before)
                    ),
                )
            except RedisChangeError as error:
                if error.code == "stale":
                    raise _Stale(str(error)) from None
                raise
            lines = [f"{name}: {before.get(name, '')} -> {value}" for name, value in values.items()]
            applied = Applied(by=user, at=self.now(), redis_config=after)
            return applied, Change(redis_config=before), [*redis_commands(values), *lines]
        if self.silences is None:
            raise _CannotPropose("no alertmanager_url in the catalog")
        change = proposal.change
        if change.expire_silence:
            self.silences.expire(change.expire_silence)
            return Applied(by=user, at=self.now()), None, [f"expired silence {change.expire_silence}"]
        comment = (
            f"oncall-triage proposal {proposal.id} approved by {user}: {proposal.title}. "
            f"Thread: {thread_link(proposal.channel, proposal.thread_ts)}"
        )
        silence_id = self.silences.create(
            target.matchers,
            change.silence_seconds or DEFAULT_SILENCE_SECONDS,
            created_by=user,
            comment=comment,
            now=datetime.fromtimestamp(self.now(), UTC),
        )
        applied = Applied(by=user, at=self.now(), silence_id=silence_id)
        return applied, Change(expire_silence=silence_id), [f"silence {silence_id}: {target.describe()}"]

    def _apply_workload(
        self, proposal: Proposal, target: WorkloadTarget, user: str
    ) -> tuple[Applied, Change, list[str]]:
        changer = self._kube(target.context)
        change = proposal.change.resources or Resources()
        for attempt in (1, 2):
            workload = changer.read(target.kind, target.namespace, target.name)
            stale, note = stale_reason(proposal.basis, workload, target.container)
            if stale:
                raise _Stale(stale)
            current = workload.resources(target.container) or Resources()
            version = workload.resource_version
            changer.patch_resources(target, change, dry_run=True, resource_version=version)
            restarts = changer.container_restarts(workload, target.container)
            self._record_previous(proposal.id, Change(resources=current))
            try:
                result = changer.patch_resources(target, change, dry_run=False, resource_version=version)
                break
            except KubernetesChangeError as error:
                # Changed between the read and the patch: read it again and check again, once.
                if error.code != "conflict" or attempt == 2:
                    raise
        applied = Applied(
            by=user,
            at=self.now(),
            resource_version=result.resource_version,
            generation=result.generation,
            restarts={pod: count for pod, (count, _, _) in restarts.items()},
        )
        lines = resources_diff(target, current, change) + ([f"# {note}"] if note else [])
        return applied, Change(resources=current), lines

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
        rejected = self.store.transition(proposal.id, ["proposed"], "rejected", self.now(), _reason(reason))
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
            held, lines = self._watch(proposal, proposal.applied, limit, interval)
        except (KubernetesChangeError, RedisChangeError, SilenceError, _CannotPropose) as error:
            held, lines = False, [f"could not check: {error}"]
        event: Event = "verified" if held else "verify_failed"
        self.audit.append(
            event, "triage", proposal.id, proposal.service, "\n".join(lines), "ok" if held else "failed"
        )
        message = f"{'verified' if held else 'NOT verified'}: {proposal.title}"
        return Outcome("verified" if held else "verify_failed", message, proposal, lines=lines)

    def _watch(
        self, proposal: Proposal, applied: Applied, timeout: float, interval: float
    ) -> tuple[bool, list[str]]:
        target = proposal.target
        if isinstance(target, RedisTarget):
            url = self._redis_url(target.service)
            current = self.redis_changer.read(url, applied.redis_config)
            moved = [
                f"{n} is {current.get(n)}, not {v}"
                for n, v in applied.redis_config.items()
                if current.get(n) != v
            ]
            if moved:
                return False, [*moved, "a restart or another CONFIG SET changed it: persist it in the chart"]
            if proposal.rollback_of:  # putting old values back: that they hold is the whole effect
                return True, [f"Redis runs with {n} {v}" for n, v in applied.redis_config.items()]
            held, effect = self.redis_changer.effect(url, applied.redis_config)
            return held, [*(f"Redis runs with {n} {v}" for n, v in applied.redis_config.items()), *effect]
        if isinstance(target, AlertTarget):
            if not applied.silence_id or self.silences is None:
                return True, ["the silence was expired"]
            silence = self.silences.get(applied.silence_id)
            return silence.state == "active", [
                f"silence {silence.id} is {silence.state} until {silence.ends_at}"
            ]
        # Watch until the deadline even once rolled out: a new pod may run out of memory minutes
        # after it started. Elapsed time is the injected clock's, and never less than the time
        # slept (a clock that stands still still ends the watch).
        changer = self._kube(target.context)
        started = self.now()
        slept = 0.0
        interval = max(interval, 0.001)
        while True:
            status = changer.rollout_status(target, applied, self.catalog.prometheus_url, now=self.now())
            if status.failed:
                return False, status.lines
            remaining = timeout - max(self.now() - started, slept)
            if remaining <= 0:
                if status.done:
                    return True, [*status.lines, f"held for the whole verification window ({timeout:g}s)"]
                return False, [f"not rolled out after {timeout:g}s", *status.lines]
            step = min(interval, remaining)
            self.sleep(step)
            slept += step

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
        target = original.target
        bounds = ""
        if isinstance(target, WorkloadTarget):
            workload = self._kube(target.context).read(target.kind, target.namespace, target.name)
            current = workload.resources(target.container)
            if current is None or original.previous.resources is None or original.change.resources is None:
                raise RemediationRefused("stale", f"{target.describe()}: the container is gone")
            written = original.change.resources
            moved = {
                f"{section}.{name}": getattr(current, section).get(name)
                for section in ("limits", "requests")
                for name, value in getattr(written, section).items()
                if not same_quantity(getattr(current, section).get(name), value)
            }
            if moved:
                now = ", ".join(f"{key} is {value}" for key, value in sorted(moved.items()))
                if partial:
                    raise RemediationRefused(
                        "stale", f"the failed change is not in place ({now}): nothing to roll back"
                    )
                raise RemediationRefused(
                    "stale", f"changed since it was applied ({now}): not rolling that back"
                )
            try:
                change = Change(
                    resources=restore_resources(
                        original.previous.resources, original.change.resources, current
                    )
                )
            except ValueError as error:
                raise RemediationRefused("stale", str(error)) from None
            basis = workload.basis(target.container)
            new_memory = (change.resources or Resources()).limits.get("memory")
            if new_memory:
                bounds = policy.memory_bounds(self.catalog, current.limits.get("memory"), new_memory)
            namespace: str | None = target.namespace
            restored = ", ".join(f"{k} {v}" for k, v in (change.resources or Resources()).limits.items())
        elif isinstance(target, RedisTarget):
            values = {
                n: v for n, v in original.previous.redis_config.items() if n in original.change.redis_config
            }
            change = Change(redis_config=values)
            basis = Basis(redis_config=self.redis_changer.read(self._redis_url(target.service), values))
            applied_values = original.applied.redis_config if original.applied else {}
            if partial:  # only the values it did set: the others are still what they were
                written_values = original.change.redis_config
                values = {
                    n: v
                    for n, v in values.items()
                    if _same_redis_value(n, basis.redis_config.get(n), written_values[n])
                }
                if not values:
                    raise RemediationRefused(
                        "stale", "the failed change is not in place: nothing to roll back"
                    )
                change = Change(redis_config=values)
                basis = Basis(redis_config={n: basis.redis_config[n] for n in values})
                applied_values = dict(basis.redis_config)
            moved_values = [
                f"{n} is {v}" for n, v in basis.redis_config.items() if applied_values.get(n) != v
            ]
            if moved_values:
                raise RemediationRefused(
                    "stale",
                    f"changed since it was applied ({', '.join(moved_values)}): not rolling that back",
                )
            namespace = service_config.namespace if service_config else None
            restored = ", ".join(f"{k} {v}" for k, v in values.items())
        else:
            change = original.previous
            basis = Basis()
            namespace = service_config.namespace if service_config else None
            restored = "no silence"
        asked = _Asked(
            original.service, service_config, namespace, original.channel, original.thread_ts, user
        )
        title = f"Roll back: {original.title} (restore {restored})"
        proposal = self._new(
            original.remediation, title, asked, target, change, basis, bounds, rollback_of=original.id
        )
        return self._create(proposal)

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

    def _kube(self, context: str | None) -> KubernetesChanger:
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

    def _redis_url(self, service: str) -> str:
        config = self.catalog.service(service)
        if config is None or not config.redis_url:
            raise _CannotPropose(f"no redis_url for {service} in the catalog")
        return config.redis_url


@dataclass(frozen=True, slots=True)
class _Asked:
    """Who asked for proposals about what, and where."""

    service: str
    service_config: ServiceConfig | None
    namespace: str | None
    channel: str
    thread_ts: str
    requested_by: str


def _workload_names(evidence: Evidence, namespace: str, container: str, service: str) -> list[str]:
    """Workload names the evidence gives for the container (the most cited first), then the service's."""
    counts: Counter[str] = Counter()
    for fact in evidence.facts:
        subject = fact.subject
        if subject.namespace not in (None, namespace) or subject.container not in (None, container):
            continue
        name = subject.workload or (workload_of_pod(subject.pod) if subject.pod else None)
        if name:
            counts[name] += 1
    return [name for name, _ in counts.most_common()] + [service]


def _namespace_of(evidence: Evidence, service: str) -> str | None:
    counts = Counter(
        f.subject.namespace for f in evidence.facts if f.subject.namespace and f.subject.workload == service
    )
    if not counts:
        counts = Counter(f.subject.namespace for f in evidence.facts if f.subject.namespace)
    return counts.most_common(1)[0][0] if counts else None


def _same_redis_value(name: str, current: str | None, wanted: str) -> bool:
    if current is None:
        return False
    if name == "maxmemory":
        return parse_redis_size(current) == parse_redis_size(wanted)
    return current == wanted


def _change_lines(proposal: Proposal) -> list[str]:
    change = proposal.change
    lines = [proposal.target.describe()]
    if change.resources is not None:
        lines += [f"limits.{k}: {v}" for k, v in change.resources.limits.items()]
        lines += [f"requests.{k}: {v}" for k, v in change.resources.requests.items()]
    lines += redis_commands(change.redis_config)
    if change.silence_seconds:
        lines.append(f"silence for {_duration(change.silence_seconds)}")
    if change.expire_silence:
        lines.append(f"expire silence {change.expire_silence}")
    return lines


def _already(proposal: Proposal) -> str:
    by = ", ".join(f"<@{user}>" for user in proposal.approved_by())
    return f"this proposal is {proposal.state} already" + (f" (approved by {by})" if by else "")


def _reason(why: str) -> Callable[[Proposal], Proposal]:
    return lambda p: p.model_copy(update={"state_reason": why})


def _refusal(code: str) -> Refusal:
    return "bounds" if code == "bounds" else "not_allowed"


def _duration(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    minutes = rest // 60
    return (
        " ".join(part for part in (f"{hours}h" if hours else "", f"{minutes}m" if minutes else "") if part)
        or f"{int(seconds)}s"
    )


def _clock(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%H:%M:%S UTC")


def _json(body: object) -> str:
    return json.dumps(body, separators=(",", ":"))


def _membership(groups: frozenset[str]) -> str:
    """The approvers' user groups a user was seen in when clicking, for the audit."""
    return f"user groups at approval: {', '.join(sorted(groups)) or 'none'}"
