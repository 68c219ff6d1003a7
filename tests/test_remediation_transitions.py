"""The remediation flow's state machine is one table, and nothing moves a proposal around it."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

from bot.remediation import flow
from bot.remediation.flow import TRANSITIONS
from bot.remediation.proposals import State

FLOW = Path(flow.__file__)


def test_the_table_names_every_state_and_only_states() -> None:
    states = set(typing.get_args(State))
    assert set(TRANSITIONS) == states
    assert set().union(*TRANSITIONS.values()) <= states


def test_only_move_changes_a_proposals_state() -> None:
    calls = [
        node.lineno
        for node in ast.walk(ast.parse(FLOW.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "transition"
    ]
    assert len(calls) == 1, f"store.transition called outside _move: lines {calls}"


def test_finished_states_lead_nowhere_and_every_state_is_reachable() -> None:
    assert not TRANSITIONS["rolled_back"] and not TRANSITIONS["rejected"]
    reachable = {"proposed"}
    for _ in TRANSITIONS:
        reachable |= {to for state in reachable for to in TRANSITIONS[state]}
    assert reachable == set(TRANSITIONS)
