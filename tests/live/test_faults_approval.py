"""Approvals decided on fresh facts (issue 12): a user removed from the approvers' Slack user group
is refused on the next click, nothing changes, and the audit records the membership seen."""

from __future__ import annotations

from collections.abc import Callable

from tests.live.bot_harness import RunningBot, wait_for
from tests.live.test_serve_remediation import (  # the fixtures are shared with that module
    CHANNEL,
    REQUESTER,
    _audited,
    button,
    click,
    kube,
    real_patches,
    redis_url,
    slack,
    start,
)
from tests.standins.kube_api import KubeApiStandIn
from tests.standins.slack_api import SlackApiStandIn
from tests.standins.slack_signing import block_actions_body, slash_command_body

BOB = "U0SREBOB"  # an approver only through the user group S0SRE
__all__ = ["kube", "redis_url", "slack", "start"]


def test_a_user_removed_from_the_approvers_group_is_refused_on_the_next_click(
    start: Callable[[], RunningBot], slack: SlackApiStandIn, kube: KubeApiStandIn, redis_url: str
) -> None:
    bot = start()
    bot.slack(slash_command_body(text="session-cache", user_id=REQUESTER, channel_id=CHANNEL))
    wait_for(lambda: slack.messages(CHANNEL), "the diagnosis")
    diagnosis = slack.messages(CHANNEL)[0]
    proposal_id = button(diagnosis, "remediation:")

    # Bob, in the group, clicks from another channel: refused, but his membership was read.
    other = block_actions_body(
        "approve", proposal_id, user_id=BOB, channel_id="C0OTHER", message_ts=diagnosis.ts
    )
    assert bot.slack(other).status_code == 200
    wait_for(lambda: _audited(redis_url, "refused"), "the first refusal")
    first = _audited(redis_url, "refused")[0]
    assert first["reason"] == "wrong_channel" and "user groups at approval: S0SRE" in first["detail"]
    lookups = len(slack.calls("usergroups.users.list"))

    slack.set_usergroup("S0SRE", [])  # removed from the approvers' group
    assert click(bot, "approve", proposal_id, BOB, diagnosis.ts) == 200
    wait_for(lambda: len(_audited(redis_url, "refused")) >= 2, "the refusal after the removal")

    refused = _audited(redis_url, "refused")[-1]
    assert refused["reason"] == "not_allowed"
    assert "user groups at approval: none" in refused["detail"]
    assert len(slack.calls("usergroups.users.list")) > lookups  # asked again at the click
    assert real_patches(kube) == []
    assert _audited(redis_url, "approved") == []

    slack.set_usergroup("S0SRE", [BOB])  # and back: the next click sees that too
    assert click(bot, "approve", proposal_id, BOB, diagnosis.ts) == 200
    wait_for(lambda: _audited(redis_url, "approved"), "the approval")
    assert "user groups at approval: S0SRE" in _audited(redis_url, "approved")[0]["detail"]
    wait_for(  # the change verified before the stand-ins stop
        lambda: _audited(redis_url, "verified") or _audited(redis_url, "verify_failed"), "verification"
    )
    assert len(real_patches(kube)) == 1
