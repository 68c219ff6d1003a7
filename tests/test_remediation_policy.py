"""Who may approve a remediation, the two-person rule and the bounds that need a second approver."""

from __future__ import annotations

from typing import Any

import pytest

from analyzers.quantity import parse_k8s_quantity
from bot.remediation import policy
from bot.remediation.proposals import Approval, Change, Proposal, Resources, WorkloadTarget
from bot.settings import Catalog, RemediationSettings, ServiceConfig

REQUESTER = "U0REQUEST"
ALICE = "U0ALICE"
BOB = "U0BOB"
ONCALL_GROUP = "S0ONCALL"


def _catalog(**fields: Any) -> Catalog:
    return Catalog.model_validate(
        {
            "approvers": ["U0TOPLEVEL"],
            "namespace_approvers": {"payments": ["U0PAYMENTS"]},
            "production_namespaces": ["payments"],
        }
        | fields
    )


def _proposal(**fields: Any) -> Proposal:
    target = WorkloadTarget(namespace="shop", kind="Deployment", name="web", container="app")
    base: dict[str, Any] = {
        "id": "p1",
        "remediation": "raise-memory-limit",
        "title": "Raise",
        "service": "web",
        "channel": "C1",
        "thread_ts": "1.2",
        "requested_by": REQUESTER,
        "target": target,
        "change": Change(resources=Resources(limits={"memory": "192Mi"})),
        "approvers": [ALICE, BOB, REQUESTER],
        "created_at": 0.0,
        "expires_at": 1800.0,
    }
    return Proposal(**(base | fields))


# -- who approves ---------------------------------------------------------------------------------
def test_the_service_list_overrides_the_namespace_list_which_overrides_the_top_level() -> None:
    catalog = _catalog()
    assert policy.approvers_for(catalog, ServiceConfig(approvers=[ALICE]), "payments") == [ALICE]
    assert policy.approvers_for(catalog, ServiceConfig(), "payments") == ["U0PAYMENTS"]
    assert policy.approvers_for(catalog, None, "payments") == ["U0PAYMENTS"]
    assert policy.approvers_for(catalog, ServiceConfig(), "shop") == ["U0TOPLEVEL"]
    # An empty list on the service is a list: nobody, not "fall back".
    assert policy.approvers_for(catalog, ServiceConfig(approvers=[]), "payments") == []


def test_a_user_group_approves_through_its_members() -> None:
    def groups_of(user: str) -> set[str]:
        return {ONCALL_GROUP} if user == BOB else {"S0OTHER"}

    assert policy.is_approver(BOB, [ONCALL_GROUP], groups_of)
    assert not policy.is_approver(ALICE, [ONCALL_GROUP], groups_of)
    assert policy.is_approver(ALICE, [ALICE, ONCALL_GROUP], groups_of)


def test_groups_are_not_asked_about_when_no_group_is_listed() -> None:
    def groups_of(user: str) -> set[str]:
        raise AssertionError("asked Slack for groups although none is listed")

    assert not policy.is_approver(ALICE, [BOB], groups_of)


def test_a_non_approver_is_refused_and_told_who_may() -> None:
    decision = policy.decide(_proposal(approvers=[BOB]), ALICE, policy.no_groups)
    assert (decision.verdict, decision.code) == ("refuse", "not_allowed")
    assert "not an approver" in decision.reason and BOB in decision.reason


def test_nobody_approves_when_nobody_is_listed() -> None:
    decision = policy.decide(_proposal(approvers=[]), ALICE, policy.no_groups)
    assert decision.verdict == "refuse"
    assert "no approvers are configured" in decision.reason


# -- two-person rule ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("setting", "service", "namespace", "expected"),
    [
        (None, ServiceConfig(production=True), "shop", True),
        (None, ServiceConfig(production=False), "payments", False),  # the service says so
        (None, ServiceConfig(), "payments", True),  # a production namespace
        (None, ServiceConfig(), "shop", False),
        (None, None, None, False),
        (True, ServiceConfig(production=False), "shop", True),  # the setting wins
        (False, ServiceConfig(production=True), "payments", False),
    ],
)
def test_the_two_person_rule_holds_for_production_unless_set(
    setting: bool | None, service: ServiceConfig | None, namespace: str | None, expected: bool
) -> None:
    catalog = _catalog(remediation=RemediationSettings(two_person_rule=setting))
    assert policy.two_person_rule(catalog, service, namespace) is expected


def test_under_the_two_person_rule_the_requester_cannot_approve() -> None:
    proposal = _proposal(two_person=True)
    refused = policy.decide(proposal, REQUESTER, policy.no_groups)
    assert (refused.verdict, refused.code) == ("refuse", "not_allowed")
    assert "two-person rule" in refused.reason
    assert policy.decide(proposal, ALICE, policy.no_groups).verdict == "apply"
    # Without the rule, an approver may approve what they asked for.
    assert policy.decide(_proposal(two_person=False), REQUESTER, policy.no_groups).verdict == "apply"


# -- bounds ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("current", "new", "ceiling", "needs_second"),
    [
        ("64Mi", "256Mi", None, False),  # exactly 4x
        ("64Mi", "257Mi", None, True),
        ("1Gi", "3Gi", "2Gi", True),  # above the ceiling
        ("1Gi", "2Gi", "2Gi", False),
        (None, "512Mi", "2Gi", False),  # no limit before: only the ceiling applies
        (None, "4Gi", "2Gi", True),
        (None, "512Mi", None, True),  # no limit before and no ceiling: nothing bounds it
        ("64Mi", "lots", None, True),  # cannot compare: ask a second person
    ],
)
def test_a_raise_beyond_the_factor_or_the_ceiling_needs_a_second_approver(
    current: str | None, new: str, ceiling: str | None, needs_second: bool
) -> None:
    catalog = _catalog(remediation=RemediationSettings(max_memory_factor=4, memory_ceiling=ceiling))
    new_bytes = parse_k8s_quantity(new)
    assert bool(policy.memory_bounds(catalog, current, new_bytes, new)) is needs_second


def test_beyond_bounds_the_first_approval_waits_and_the_same_person_cannot_be_the_second() -> None:
    proposal = _proposal(
        needs_second_approver=True, bounds_reason="1Gi is more than 4x the current limit 64Mi"
    )
    first = policy.decide(proposal, ALICE, policy.no_groups)
    assert first.verdict == "wait"
    assert "1 of 2" in first.reason and "4x" in first.reason

    approved_once = proposal.model_copy(update={"approvals": [Approval(user=ALICE, at=1.0)]})
    again = policy.decide(approved_once, ALICE, policy.no_groups)
    assert (again.verdict, again.code) == ("refuse", "bounds")
    assert policy.decide(approved_once, BOB, policy.no_groups).verdict == "apply"


def test_an_approver_or_the_requester_may_reject_nobody_else() -> None:
    proposal = _proposal(approvers=[ALICE])
    assert policy.may_reject(proposal, ALICE, policy.no_groups).allowed
    assert policy.may_reject(proposal, REQUESTER, policy.no_groups).allowed
    assert not policy.may_reject(proposal, BOB, policy.no_groups).allowed


def test_under_the_two_person_rule_an_alert_triggered_proposal_needs_two_different_approvers() -> None:
    proposal = _proposal(two_person=True, requested_by="alertmanager")
    first = policy.decide(proposal, ALICE, policy.no_groups)
    assert first.verdict == "wait" and "not a person" in first.reason
    approved_once = proposal.model_copy(update={"approvals": [Approval(user=ALICE, at=1.0)]})
    assert policy.decide(approved_once, ALICE, policy.no_groups).verdict == "refuse"
    assert policy.decide(approved_once, BOB, policy.no_groups).verdict == "apply"
    # Without the rule, or asked for by a person, one approval does.
    assert (
        policy.decide(
            _proposal(two_person=False, requested_by="alertmanager"), ALICE, policy.no_groups
        ).verdict
        == "apply"
    )
    assert (
        policy.decide(_proposal(two_person=True, requested_by="W0PERSON"), ALICE, policy.no_groups).verdict
        == "apply"
    )
