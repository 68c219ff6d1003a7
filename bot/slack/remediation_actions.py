"""The remediation buttons: preview, approve, reject, roll back; every click audited by the flow.

A button carries only a proposal id. The clicked payload is already Slack-signed and fresh (bolt
checks both); a payload replayed inside that window is recognised by its action_ts and changes
nothing. Refusals for the person who clicked (not an approver, expired, another channel) are
answered privately; what changes the system is posted in the thread for everyone.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from analyzers.diagnosis import Diagnosis
from analyzers.evidence import Evidence
from bot.alerts.messages import format_duration, mention
from bot.alerts.ports import DiagnosisRequest
from bot.remediation.flow import (
    SILENCE,
    SILENCE_CHOICES,
    Outcome,
    Preview,
    RemediationFlow,
    RemediationRefused,
)
from bot.render.slack import (
    SECTION_TEXT_MAX,
    mrkdwn_escape,
    mrkdwn_escape_keeping_mentions,
    truncate,
    validated_blocks,
)
from bot.runtime.threads import pool
from bot.settings import Catalog
from bot.slack.poster import SlackPoster
from bot.state.keys import KEYS

log = logging.getLogger(__name__)

REMEDIATION_ACTION = re.compile(r"^remediation:\d+$")
SILENCE_FOR_ACTION = re.compile(r"^silence-for:\d+$")
CLICK_MEMORY_SECONDS = 15 * 60  # longer than bolt's 5-minute signature window
GROUPS_CACHE_SECONDS = 300.0


class SlackUserGroups:
    """`groups_of(user)` for the approval policy: the catalog's user groups the user is in, asked
    of Slack at each call (a decision is never taken on a cached membership); `cached(user)` is
    for display only."""

    def __init__(self, client: WebClient, catalog: Catalog) -> None:
        self._client = client
        entries = [*catalog.approvers, *(a for names in catalog.namespace_approvers.values() for a in names)]
        entries += [a for service in catalog.services.values() for a in service.approvers or []]
        self._groups = sorted({entry for entry in entries if entry.startswith("S")})
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def __call__(self, user: str) -> set[str]:
        return {group for group in self._groups if user in self._users(group, fresh=True)}

    def cached(self, user: str) -> set[str]:
        """The same, from members read up to GROUPS_CACHE_SECONDS ago: for display, never to decide."""
        return {group for group in self._groups if user in self._users(group, fresh=False)}

    def _users(self, group: str, fresh: bool) -> frozenset[str]:
        with self._lock:
            cached = self._members.get(group)
        if not fresh and cached and time.monotonic() - cached[0] < GROUPS_CACHE_SECONDS:
            return cached[1]
        try:
            users = frozenset(self._client.usergroups_users_list(usergroup=group).get("users") or [])
        except SlackApiError as error:
            log.error(
                "cannot read user group %s: %s; its members cannot approve",
                group,
                error.response.get("error"),
            )
            return frozenset()
        with self._lock:
            self._members[group] = (time.monotonic(), users)
        return users


class RemediationActions:
    def __init__(
        self,
        flow: RemediationFlow,
        poster: SlackPoster,
        state: redis.Redis,
        rediagnose: Callable[[DiagnosisRequest], object],
    ) -> None:
        self._flow = flow
        self._poster = poster
        self._state = state
        self._rediagnose = rediagnose  # a fresh diagnosis, with fresh proposals, in the thread
        self._verifications = pool("verify", 4)

    def register(self, app: App) -> None:
        """Each button: acknowledged at once, a replayed payload refused by listener middleware,
        the work done by a bolt lazy listener (on the app's listener executor), so a slow API
        server never delays the acknowledgement of anyone's /triage."""
        for action, work in (
            (REMEDIATION_ACTION, self._preview),
            ("approve", self._approve),
            ("reject", self._reject),
            ("rollback", self._rollback),
            (SILENCE_FOR_ACTION, self._silence_for),
        ):
            app.action(action, middleware=[self._refuse_replays])(ack=_acknowledge, lazy=[self._lazy(work)])

    def shutdown(self) -> None:
        self._verifications.shutdown(wait=False, cancel_futures=True)

    def make_proposals(
        self, diagnosis: Diagnosis, evidence: Evidence, request: DiagnosisRequest, thread_ts: str
    ) -> dict[int, str]:
        proposals = self._flow.propose(
            diagnosis,
            evidence,
            request.service,
            self._flow.catalog.service(request.service),
            request.channel,
            thread_ts,
            request.requested_by or "alertmanager",
            alert=request.alert_labels,
        )
        for skipped in proposals.skipped:
            log.info("%s: %s not proposed: %s", request.service, skipped.remediation, skipped.reason)
        return proposals.by_index()

    # Clicks.
    def _refuse_replays(self, ack: Ack, body: dict[str, Any], next: Callable[[], None]) -> Any:
        """Listener middleware: a payload seen before (Slack's retry, a replay) is acknowledged and
        audited, and goes no further."""
        if self._replayed(_Click.of(body)):
            return ack()
        next()
        return None

    def _lazy(self, work: Callable[[_Click], None]) -> Callable[[dict[str, Any]], None]:
        def run(body: dict[str, Any]) -> None:
            self._work(work, _Click.of(body))

        run.__name__ = f"click_{getattr(work, '__name__', 'work').lstrip('_')}"
        return run

    def _work(self, work: Callable[[_Click], None], click: _Click) -> None:
        try:
            work(click)
        except Exception as error:
            log.exception("%s click by %s on %s failed", click.action_id, click.user, click.value)
            try:
                text = f"That did not work: {type(error).__name__}: {mrkdwn_escape(str(error))}"
                self._poster.ephemeral(click.channel, click.user, text)
            except Exception:
                log.exception("could not tell %s", click.user)

    def _preview(self, click: _Click) -> None:
        self._post_preview(click, self._flow.preview(click.value, click.user, click.channel))

    def _approve(self, click: _Click) -> None:
        outcome = self._flow.approve(click.value, click.user, click.channel)
        if outcome.status == "applied":  # verified whatever becomes of the message below
            self._verifications.submit(self._verify, click, click.value)
        self._tell(click, outcome)

    def _reject(self, click: _Click) -> None:
        self._tell(click, self._flow.reject(click.value, click.user, click.channel))

    def _rollback(self, click: _Click) -> None:
        try:
            proposal = self._flow.rollback(click.value, click.user, click.channel)
        except RemediationRefused as error:
            self._poster.ephemeral(
                click.channel, click.user, f"Cannot roll back: {mrkdwn_escape(str(error))}"
            )
            return
        self._post_preview(click, self._flow.preview(proposal.id, click.user, click.channel))

    def _silence_for(self, click: _Click) -> None:
        seconds = int(click.action_id.split(":", 1)[1])
        try:
            proposal = self._flow.with_silence_duration(click.value, seconds, click.user, click.channel)
        except RemediationRefused as error:
            self._poster.ephemeral(click.channel, click.user, f"Not done: {mrkdwn_escape(str(error))}")
            return
        self._post_preview(click, self._flow.preview(proposal.id, click.user, click.channel))

    def _verify(self, click: _Click, proposal_id: str) -> None:
        try:
            # Look often enough to see a short window through (a few looks at least), never hammer.
            interval = max(0.2, min(5.0, self._flow.catalog.remediation.verify_seconds / 20))
            outcome = self._flow.verify(proposal_id, interval=interval)
            self._poster.post(click.channel, _outcome_text(outcome), thread_ts=click.thread)
        except Exception:
            log.exception("verification of %s failed", proposal_id)

    # Answers.
    def _replayed(self, click: _Click) -> bool:
        key = KEYS.click(click.user, click.action_id, click.action_ts)
        if self._state.set(key, click.value, nx=True, ex=CLICK_MEMORY_SECONDS):
            return False
        self._flow.audit.append(
            "refused", click.user, click.value, "", click.action_id, "replayed payload", "replay"
        )
        log.warning("replayed %s click by %s on %s ignored", click.action_id, click.user, click.value)
        return True

    def _post_preview(self, click: _Click, preview: Preview) -> None:
        if preview.proposal is None or (not preview.can_approve and not preview.diff):
            self._poster.ephemeral(
                click.channel, click.user, f"Cannot preview this fix: {mrkdwn_escape(preview.reason)}"
            )
            return
        text, blocks = _preview_blocks(preview)
        self._poster.post(click.channel, text, blocks, thread_ts=click.thread)

    def _tell(self, click: _Click, outcome: Outcome) -> None:
        if outcome.status == "refused":
            self._poster.ephemeral(
                click.channel, click.user, f"Not done: {mrkdwn_escape_keeping_mentions(outcome.message)}"
            )
            if outcome.reason == "stale" and outcome.proposal is not None:
                self._poster.post(
                    click.channel,
                    f"⚠️ {mrkdwn_escape(outcome.message)}. Nothing was applied; a fresh diagnosis with new proposals follows.",
                    thread_ts=click.thread,
                )
                proposal = outcome.proposal
                self._rediagnose(
                    DiagnosisRequest(
                        service=proposal.service,
                        namespace=None,
                        channel=click.channel,
                        trigger="stale-proposal",
                        thread_ts=click.thread,
                        requested_by=click.user,
                    )
                )
            return
        text = _outcome_text(outcome, click.user)  # fits a section already
        blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=text))]
        if outcome.status == "applied" and outcome.proposal is not None:
            blocks.append(
                ActionsBlock(
                    elements=[
                        ButtonElement(
                            text=PlainTextObject(text="Roll back"),
                            action_id="rollback",
                            value=outcome.proposal.id,
                            confirm=_confirm(
                                "Roll back?",
                                "This proposes restoring the previous values; it is approved like any change.",
                            ),
                        )
                    ]
                )
            )
        self._poster.post(click.channel, text, validated_blocks(blocks), thread_ts=click.thread)


def _acknowledge(ack: Ack) -> None:
    ack()


class _Click:
    __slots__ = ("action_id", "action_ts", "channel", "thread", "user", "value")

    def __init__(
        self, user: str, channel: str, thread: str, action_id: str, action_ts: str, value: str
    ) -> None:
        self.user, self.channel, self.thread = user, channel, thread
        self.action_id, self.action_ts, self.value = action_id, action_ts, value

    @classmethod
    def of(cls, body: dict[str, Any]) -> _Click:
        action = (body.get("actions") or [{}])[0]
        message = body.get("message") or {}
        container = body.get("container") or {}
        thread = message.get("thread_ts") or container.get("thread_ts") or container.get("message_ts") or ""
        return cls(
            user=str((body.get("user") or {}).get("id", "")),
            channel=str((body.get("channel") or {}).get("id") or container.get("channel_id", "")),
            thread=str(thread),
            action_id=str(action.get("action_id", "")),
            action_ts=str(action.get("action_ts", "")),
            value=str(action.get("value", "")),
        )


def _preview_blocks(preview: Preview) -> tuple[str, list[dict[str, Any]]]:
    assert preview.proposal is not None
    proposal = preview.proposal
    title = f"Preview: {mrkdwn_escape(proposal.title)}"
    sections = [f"*{title}*"]
    if preview.diff:
        sections.append("```" + mrkdwn_escape("\n".join(preview.diff)) + "```")
    if preview.commands:
        sections.append("*Sent:*\n```" + mrkdwn_escape("\n".join(preview.commands)) + "```")
    if preview.persist:
        sections.append(
            "*To keep it after a restart or the next deploy:*\n"
            + "\n".join(f"• {mrkdwn_escape(line)}" for line in preview.persist)
        )
    if preview.dry_run:
        sections.append(f"*Dry run:* {mrkdwn_escape(preview.dry_run)}")
    sections.extend(f"_{mrkdwn_escape(note)}_" for note in preview.notes)
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX))) for text in sections
    ]
    approvers = " ".join(mention(a) for a in preview.approvers) or "nobody (configure `approvers`)"
    expires = time.strftime("%H:%M UTC", time.gmtime(proposal.expires_at))
    blocks.append(
        ContextBlock(
            elements=[MarkdownTextObject(text=truncate(f"Approvers: {approvers} · expires {expires}", 2000))]
        )
    )
    if preview.can_approve and proposal.remediation == SILENCE and not proposal.change.expire_silence:
        blocks.append(ActionsBlock(elements=_silence_choices(proposal.id, proposal.change.silence_seconds)))
    if preview.can_approve:
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text=PlainTextObject(text="Approve"),
                        action_id="approve",
                        value=proposal.id,
                        style="primary",
                        confirm=_confirm("Apply this change?", truncate(proposal.title, 250)),
                    ),
                    ButtonElement(
                        text=PlainTextObject(text="Reject"),
                        action_id="reject",
                        value=proposal.id,
                        style="danger",
                        confirm=_confirm("Reject this change?", "Nothing will be applied."),
                    ),
                ]
            )
        )
    else:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=truncate(f"⛔ Cannot be approved: {mrkdwn_escape(preview.reason)}", 2000)
                    )
                ]
            )
        )
    return title, validated_blocks(blocks)


def _silence_choices(proposal_id: str, current: int | None) -> list[ButtonElement]:
    """Buttons for another silence length: each makes a new proposal, previewed and approved as usual."""
    return [
        ButtonElement(
            text=PlainTextObject(text=f"{'✓ ' if seconds == current else ''}{format_duration(seconds)}"),
            action_id=f"silence-for:{seconds}",
            value=proposal_id,
        )
        for seconds in SILENCE_CHOICES
    ]


def _confirm(title: str, text: str) -> ConfirmObject:
    return ConfirmObject(title=truncate(title, 100), text=truncate(text, 300), confirm="Yes", deny="Cancel")


def _outcome_text(outcome: Outcome, user: str | None = None) -> str:
    icon = {
        "applied": "✅",
        "waiting": "⏳",
        "rejected": "🚫",
        "verified": "✅",
        "verify_failed": "❌",
        "failed": "❌",
    }
    head = f"{icon.get(outcome.status, '•')} {mrkdwn_escape_keeping_mentions(outcome.message)}"
    if user and outcome.status in ("applied", "waiting", "rejected"):
        head += f" (by <@{user}>)"
    if outcome.lines:
        head += "\n```" + mrkdwn_escape("\n".join(outcome.lines[:30])) + "```"
    return truncate(head, SECTION_TEXT_MAX)
