"""Proposals: one remediation, worked out against the live system, waiting for approval in Redis.

A `Proposal` is a pydantic model stored as JSON under `Keys.proposal(id)`. It says exactly
what would change (`change`), what it was computed against (`basis`) and, once applied, what was
there before (`previous`), so applying can refuse a stale proposal and a roll back restores the
real previous values. It never holds a secret: a Redis target is the catalog service name whose
`redis_url` is looked up when the change is applied.

State changes are compare-and-set (`ProposalStore.update` uses WATCH/MULTI): of two bot processes
approving the same proposal at the same moment, exactly one moves it out of `proposed`.
`apply_lock` (bot.state.locks: a token with a TTL) is the second guard around the apply itself.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Annotated, Literal

import redis
from pydantic import BaseModel, ConfigDict, Field

from bot.state.keys import PREFIX, Keys
from bot.state.locks import Lock, holding

State = Literal[
    "proposed",  # waiting for approval (or for a second approver)
    "approved",  # enough approvals; about to apply
    "rejected",
    "applying",
    "applied",
    "failed",  # the apply (or its dry run) was refused or errored; nothing changed
    "stale",  # the target changed since the proposal: never applied
    "expired",
    "rolled_back",  # applied, then a roll back proposal restoring `previous` was applied
]
FINAL_STATES: frozenset[str] = frozenset({"rejected", "failed", "stale", "expired", "rolled_back"})
KEEP_AFTER_EXPIRY = 24 * 3600  # a proposal stays readable this long after it expires (audit, replays)
KEEP_APPLIED = 30 * 24 * 3600  # an applied proposal is kept this long, so it can be rolled back
LOCK_SECONDS = 120


class Resources(BaseModel):
    """A container's resources, as Kubernetes quantities: {"limits": {"memory": "64Mi"}, "requests": {}}."""

    model_config = ConfigDict(extra="forbid")

    limits: dict[str, str] = Field(default_factory=dict)
    requests: dict[str, str] = Field(default_factory=dict)


class WorkloadTarget(BaseModel):
    """One container of a Deployment or StatefulSet in a cluster context."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["workload"] = "workload"
    context: str | None = None  # kubeconfig context; None: the catalog's (or in-cluster)
    namespace: str
    kind: Literal["Deployment", "StatefulSet"]
    name: str
    container: str

    def describe(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}, container {self.container}"


class RedisTarget(BaseModel):
    """The Redis of a catalog service; its URL (and password) stay in the catalog."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["redis"] = "redis"
    service: str

    def describe(self) -> str:
        return f"Redis of {self.service}"


class AlertTarget(BaseModel):
    """Alerts in Alertmanager, by the labels of the alert that was triaged."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["alert"] = "alert"
    matchers: dict[str, str]

    def describe(self) -> str:
        return "alerts " + ", ".join(f"{k}={v}" for k, v in sorted(self.matchers.items()))


Target = Annotated[WorkloadTarget | RedisTarget | AlertTarget, Field(discriminator="type")]


class Change(BaseModel):
    """What is written: the one part that applies to the target is set."""

    model_config = ConfigDict(extra="forbid")

    resources: Resources | None = None  # workload: only the keys written (limits, and requests if moved)
    redis_config: dict[str, str] = Field(default_factory=dict)  # redis: CONFIG SET name value
    silence_seconds: int | None = None  # alert: create a silence this long
    expire_silence: str | None = None  # alert: expire this silence (the roll back of a silence)


class Basis(BaseModel):
    """What the change was computed against, read when it was proposed."""

    model_config = ConfigDict(extra="forbid")

    resource_version: str | None = None  # the workload's metadata.resourceVersion
    generation: int | None = None
    resources: Resources | None = None  # the container's resources, in full
    redis_config: dict[str, str] = Field(default_factory=dict)  # CONFIG GET values, as the server said


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str
    at: float


class Applied(BaseModel):
    """What applying did: enough to verify it and to say so."""

    model_config = ConfigDict(extra="forbid")

    by: str
    at: float
    resource_version: str | None = None
    generation: int | None = None
    restarts: dict[str, int] = Field(default_factory=dict)  # pod -> restarts of the container, at apply
    redis_config: dict[str, str] = Field(default_factory=dict)  # CONFIG GET right after CONFIG SET
    silence_id: str | None = None


class Proposal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    remediation: str  # the remediation id, e.g. "raise-memory-limit"
    remediation_index: int | None = None  # its index in diagnosis.remediations (None: a silence, a roll back)
    title: str
    service: str
    channel: str  # Slack channel id of the thread the proposal was posted in
    thread_ts: str
    requested_by: str  # Slack user id
    target: Target
    change: Change
    basis: Basis = Field(default_factory=Basis)
    previous: Change | None = None  # the values the apply replaced; a roll back writes them back
    approvers: list[str] = Field(default_factory=list)  # Slack user (U/W) and user group (S) ids
    two_person: bool = False  # the requester may not approve
    needs_second_approver: bool = False  # beyond the bounds: two different approvers
    bounds_reason: str = ""
    approvals: list[Approval] = Field(default_factory=list)
    created_at: float
    expires_at: float
    state: State = "proposed"
    state_reason: str = ""  # why it is stale, failed, rejected ...
    applied: Applied | None = None
    rollback_of: str | None = None  # the proposal this one rolls back
    rolled_back_by: str | None = None

    @property
    def approvals_needed(self) -> int:
        """Two beyond the bounds, and under the two-person rule when no person asked for it (an alert,
        "alertmanager"): then two different people must approve; else one."""
        return 2 if self.needs_second_approver or self.needs_two_people else 1

    @property
    def needs_two_people(self) -> bool:
        return self.two_person and not is_slack_user(self.requested_by)

    def approved_by(self) -> list[str]:
        return [approval.user for approval in self.approvals]


def is_slack_user(value: str) -> bool:
    """A Slack user id (U… or W…), i.e. a person, not "alertmanager" or another system."""
    return re.fullmatch(r"[UW][A-Z0-9]{2,}", value) is not None


def new_proposal_id() -> str:
    """Unguessable: a button carries only this id, so knowing it must not be easy."""
    return secrets.token_urlsafe(12)


class ProposalNotFound(KeyError):
    """No proposal with this id (never made, or long expired)."""


class StoreConflict(Exception):
    """Another process kept changing the proposal while this one tried to."""


class ProposalStore:
    """Proposals in Redis as JSON, with compare-and-set updates and an apply lock."""

    def __init__(self, client: redis.Redis, prefix: str = PREFIX) -> None:
        self.client = client
        self.keys = Keys(prefix)

    def key(self, proposal_id: str) -> str:
        return self.keys.proposal(proposal_id)

    def create(self, proposal: Proposal, now: float) -> None:
        """Store a new proposal; it stays readable a while after it expires, for the audit trail."""
        ttl = _ttl(proposal, now)
        if not self.client.set(self.key(proposal.id), proposal.model_dump_json(), nx=True, ex=ttl):
            raise StoreConflict(f"a proposal {proposal.id} exists already")

    def get(self, proposal_id: str) -> Proposal | None:
        raw = self.client.get(self.key(proposal_id))
        if raw is None:
            return None
        return Proposal.model_validate_json(raw)

    def update(
        self, proposal_id: str, change: Callable[[Proposal], Proposal | None], now: float, attempts: int = 20
    ) -> Proposal | None:
        """Compare-and-set: `change` sees the stored proposal and returns its new version, or None
        to leave it as it is (its checks failed). Retried when another process wrote in between.

        Returns what was written, or None when `change` declined. Raises ProposalNotFound.
        """
        key = self.key(proposal_id)
        for _ in range(attempts):
            with self.client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]
                    raw = pipe.get(key)
                    if raw is None:
                        raise ProposalNotFound(proposal_id)
                    updated = change(Proposal.model_validate_json(raw))
                    if updated is None:
                        pipe.unwatch()
                        return None
                    pipe.multi()
                    pipe.set(key, updated.model_dump_json(), ex=_ttl(updated, now))
                    pipe.execute()
                    return updated
                except redis.WatchError:
                    continue
        raise StoreConflict(f"proposal {proposal_id} kept changing; gave up after {attempts} attempts")

    def transition(
        self,
        proposal_id: str,
        expected: Iterable[State],
        to: State,
        now: float,
        edit: Callable[[Proposal], Proposal] | None = None,
    ) -> Proposal | None:
        """Move from one of the `expected` states to `to` (and `edit` it); None if it was not in one."""
        allowed = set(expected)

        def change(proposal: Proposal) -> Proposal | None:
            if proposal.state not in allowed:
                return None
            moved = proposal.model_copy(update={"state": to})
            return edit(moved) if edit else moved

        return self.update(proposal_id, change, now)

    @contextmanager
    def apply_lock(self, proposal_id: str, seconds: int = LOCK_SECONDS) -> Iterator[Lock]:
        """`lock.held` in exactly one process at a time (not waited for); released on exit."""
        with holding(self.client, self.keys.proposal_lock(proposal_id), seconds) as lock:
            yield lock


def _ttl(proposal: Proposal, now: float) -> int:
    keep = KEEP_APPLIED if proposal.state in ("applied", "applying", "rolled_back") else KEEP_AFTER_EXPIRY
    return max(1, int(proposal.expires_at - now) + keep)
