"""Who may approve a proposal, whether the two-person rule holds, and when a change is out of bounds.

* Approvers: the service's own `approvers` if it has any list (even an empty one), else
  `namespace_approvers[namespace]`, else the top-level `approvers`. Entries are Slack user ids
  (`U…`, `W…`) or user group ids (`S…`); group membership comes from an injected
  `groups_of(user_id) -> set[str]` (the Slack bot asks `usergroups.users.list`). Nobody listed:
  nobody may approve (deny by default).
* Two-person rule: `remediation.two_person_rule` when it is set; when it is None, on for
  production services (`production: true`, or the namespace in `production_namespaces`). Then
  the person who asked for the proposal cannot approve it; when no person asked (an alert:
  requested_by "alertmanager", not a Slack user id), two different approvers are needed.
* Bounds: a memory limit raised above `max_memory_factor` x the current limit, or above
  `memory_ceiling`, needs a second, different approver; so does any new limit when the container
  has none and no `memory_ceiling` is set (nothing bounds it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from analyzers.quantity import parse_k8s_quantity
from bot.remediation.proposals import Proposal
from bot.settings import Catalog, ServiceConfig

GroupsOf = Callable[[str], set[str]]
Verdict = Literal["apply", "wait", "refuse"]


def no_groups(user_id: str) -> set[str]:
    """For a bot that resolves no user groups: group entries then match nobody."""
    return set()


@dataclass(frozen=True, slots=True)
class Decision:
    """What one click may do: `apply`, `wait` (recorded, a second approver is needed) or `refuse`."""

    verdict: Verdict
    reason: str  # for the person who clicked
    code: str = ""  # for a refusal: "not_allowed"

    @property
    def allowed(self) -> bool:
        return self.verdict != "refuse"


def approvers_for(catalog: Catalog, service: ServiceConfig | None, namespace: str | None) -> list[str]:
    """The approver list that applies: the service's, else its namespace's, else the catalog's."""
    if service is not None and service.approvers is not None:
        return list(service.approvers)
    if namespace and namespace in catalog.namespace_approvers:
        return list(catalog.namespace_approvers[namespace])
    return list(catalog.approvers)


def is_production(catalog: Catalog, service: ServiceConfig | None, namespace: str | None) -> bool:
    if service is not None and service.production is not None:
        return service.production
    return bool(namespace and namespace in catalog.production_namespaces)


def two_person_rule(catalog: Catalog, service: ServiceConfig | None, namespace: str | None) -> bool:
    configured = catalog.remediation.two_person_rule
    if configured is not None:
        return configured
    return is_production(catalog, service, namespace)


def memory_bounds(catalog: Catalog, current: str | None, new_bytes: float | None, new: str) -> str:
    """Why a memory limit of `new_bytes` (spelled `new`) needs a second approver ("" when it does not).

    `current` is the limit as the workload has it; `new_bytes` None: `new` is not a quantity.
    """
    settings = catalog.remediation
    if new_bytes is None:
        return f"the new limit {new} is not a quantity I can compare: a second approver must check it"
    current_bytes = parse_k8s_quantity(current) if current else None
    if current_bytes and new_bytes > settings.max_memory_factor * current_bytes:
        return (
            f"{new} is more than {settings.max_memory_factor:g}x the current limit {current}: "
            "a second approver is needed"
        )
    ceiling = parse_k8s_quantity(settings.memory_ceiling) if settings.memory_ceiling else None
    if ceiling is not None and new_bytes > ceiling:
        return f"{new} is above the memory ceiling {settings.memory_ceiling}: a second approver is needed"
    if current_bytes is None and ceiling is None:
        return (
            f"there is no memory limit now and no memory_ceiling is configured, so nothing bounds {new}: "
            "a second approver is needed"
        )
    return ""


def is_approver(user: str, approvers: Iterable[str], groups_of: GroupsOf) -> bool:
    listed = list(approvers)
    if user in listed:
        return True
    groups = {entry for entry in listed if entry.startswith("S")}
    return bool(groups and groups & groups_of(user))


def decide(proposal: Proposal, user: str, groups_of: GroupsOf) -> Decision:
    """Whether `user`'s approval counts, and whether it is the last one needed."""
    if not proposal.approvers:
        return Decision(
            "refuse",
            f"nobody may approve changes to {proposal.service}: no approvers are "
            "configured for it (approvers in the catalog)",
            "not_allowed",
        )
    if not is_approver(user, proposal.approvers, groups_of):
        listed = ", ".join(
            f"<@{a}>" if not a.startswith("S") else f"<!subteam^{a}>" for a in proposal.approvers
        )
        return Decision(
            "refuse",
            f"<@{user}> is not an approver for {proposal.service} (approvers: {listed})",
            "not_allowed",
        )
    if proposal.two_person and user == proposal.requested_by:
        return Decision(
            "refuse",
            f"two-person rule for {proposal.service}: the person who asked for this change cannot approve it",
            "not_allowed",
        )
    why_two = proposal.bounds_reason or (
        f"two-person rule and it was asked for by {proposal.requested_by}, not a person: "
        "two different approvers are needed"
        if proposal.needs_two_people
        else ""
    )
    if user in proposal.approved_by():
        return Decision(
            "refuse",
            f"<@{user}> approved already: {why_two or 'waiting'}; "
            "the second approval must come from someone else",
            "bounds",
        )
    if len(proposal.approvals) + 1 < proposal.approvals_needed:
        return Decision("wait", f"approval 1 of 2 recorded: {why_two}")
    return Decision("apply", "approved")


def may_reject(proposal: Proposal, user: str, groups_of: GroupsOf) -> Decision:
    """An approver, or whoever asked for the change, may turn it down."""
    if user == proposal.requested_by or is_approver(user, proposal.approvers, groups_of):
        return Decision("apply", "rejected")
    return Decision(
        "refuse", f"<@{user}> is neither an approver for {proposal.service} nor the requester", "not_allowed"
    )
