"""The diagnosis as a Slack message: Block Kit blocks plus a plain-text fallback.

Buttons carry only identifiers (`remediation:<index>` and a proposal id); the
change itself stays on the server, so a forged click cannot smuggle one in.
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from analyzers.diagnosis import SEVERITY_ORDER, Diagnosis, Finding, Remediation
from analyzers.evidence import Source
from analyzers.ids import RemediationId
from analyzers.remediation_params import (
    CpuLimitRaise,
    EvictionPolicyChange,
    ImageRollback,
    MaxclientsRaise,
    MaxmemorySetting,
    MemoryLimitRaise,
    Params,
)

# Slack Block Kit limits.
MAX_BLOCKS = 50
SECTION_TEXT_MAX = 3000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
ACTIONS_ELEMENTS_MAX = 25

# Our own limits, to keep the message readable on a phone.
KEY_FINDINGS_MAX = 8
TOP_EXCERPTS = 3
EVIDENCE_PER_FINDING = 2
EVIDENCE_EXCERPT_CHARS = 150
DETAIL_CHARS = 300
FALLBACK_TEXT_MAX = 3000

ELLIPSIS = "…"
SEVERITY_EMOJI: dict[str, str] = {"critical": "🔴", "warning": "🟠", "info": "🔵"}


def render_slack_blocks(
    diagnosis: Diagnosis,
    proposal_ids: dict[int, str] | None = None,
    alert_severity: str | None = None,
    whole: bool = False,
) -> list[dict[str, Any]]:
    """The top-level message, read in ten seconds: summary, coverage, the top root cause with its
    strongest excerpts, and one button per fix; the rest goes to the thread (`render_slack_thread_blocks`).

    `proposal_ids` maps an index of `diagnosis.remediations` to the id of the stored proposal its
    button carries; a fix without one is not shown at all. Without it (a preview outside Slack),
    every automated fix gets one, valued `"<remediation id>:<index>"`. `alert_severity` is the
    severity of the alert the diagnosis answers, shown in the header instead of the findings' worst.
    `whole`: the message is itself a reply in a thread (an alert's): the rest follows in it, not
    in a thread of its own, so one message holds everything.
    """
    blocks: list[Block] = [_header_block(diagnosis, alert_severity), _summary_block(diagnosis)]
    coverage = _coverage_block(diagnosis)
    if coverage is not None:
        blocks.append(coverage)
    top = _top_root_cause_block(diagnosis)
    if top is not None:
        blocks.append(top)
    blocks.extend(_button_blocks(diagnosis, proposal_ids))
    if whole:
        # One block stays free for the poster's footer (who asked, the owners).
        return validated_blocks([*blocks, *_thread_blocks(diagnosis, MAX_BLOCKS - 1 - len(blocks))])
    more = _thread_note(diagnosis)
    if more:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=more)]))
    return validated_blocks(blocks)


def render_slack_thread_blocks(diagnosis: Diagnosis) -> list[dict[str, Any]]:
    """The reply under the message: the other root causes and findings with their evidence,
    what to check first, the manual steps and every source with its status."""
    return validated_blocks(_thread_blocks(diagnosis, MAX_BLOCKS))


def _thread_blocks(diagnosis: Diagnosis, budget: int) -> list[Block]:
    tail: list[Block] = [*_checks_blocks(diagnosis), *_manual_blocks(diagnosis), *_sources_blocks(diagnosis)]
    evidence = _evidence_blocks(diagnosis, budget=budget - len(tail))
    return [*evidence, *tail][:budget]


def thread_findings(diagnosis: Diagnosis) -> list[Finding]:
    """The findings the thread details: all but the top root cause shown in the message."""
    findings = _key_findings(diagnosis)
    return findings[1:] if diagnosis.root_causes else findings


def validated_blocks(blocks: list[Block]) -> list[dict[str, Any]]:
    """The blocks as Slack takes them: at most MAX_BLOCKS, each checked against Block Kit's rules."""
    kept = blocks[:MAX_BLOCKS]
    for block in kept:
        block.validate_json()
    return [block.to_dict() for block in kept]


def header(text: str) -> Block:
    """A header block (plain text, cut to Slack's limit)."""
    return HeaderBlock(text=truncate(text, HEADER_TEXT_MAX))


def section(markdown: str) -> Block:
    """A section of mrkdwn text (cut to Slack's limit)."""
    return SectionBlock(text=MarkdownTextObject(text=truncate(markdown, SECTION_TEXT_MAX)))


def context(*markdown: str) -> Block:
    """A context block: small grey lines of mrkdwn."""
    return ContextBlock(elements=[MarkdownTextObject(text=text) for text in markdown])


def render_slack_text(diagnosis: Diagnosis) -> str:
    """A plain-text version: the notification text, and the fallback when Slack rejects the blocks."""
    lines = [f"{_headline(diagnosis)} — {_one_line(diagnosis.summary or 'No summary.')}"]
    if diagnosis.coverage.line():
        lines.append(f"Coverage: {diagnosis.coverage.line()}")
    for finding in _root_cause_findings(diagnosis):
        lines.append(f"Root cause: {finding.title} ({finding.confidence:.0%})")
    if diagnosis.checks:
        lines.append("Check first:")
        lines.extend(f"  {number}. {command}" for number, command in enumerate(diagnosis.checks, start=1))
    if diagnosis.remediations:
        lines.append("Proposed fixes:")
        lines.extend(f"  - {_remediation_summary(r)}" for r in diagnosis.remediations)
    return _fit_lines([mrkdwn_escape(line) for line in lines], FALLBACK_TEXT_MAX)


def worst_severity(diagnosis: Diagnosis) -> str | None:
    severities = [finding.severity for finding in diagnosis.findings]
    return min(severities, key=lambda s: SEVERITY_ORDER.get(s, len(SEVERITY_ORDER)), default=None)


# -- text helpers --------------------------------------------------------------------------------


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def _one_line(text: str) -> str:
    return " ".join(text.split())


def mrkdwn_escape(text: str) -> str:
    """Text shown as itself in mrkdwn: no `<!channel>`, `<@U…>` or link can be smuggled in."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MENTION = re.compile(r"&lt;(@[UW][A-Z0-9]{6,}|!subteam\^S[A-Z0-9]{6,})&gt;")


def mrkdwn_escape_keeping_mentions(text: str) -> str:
    """Escaped like `mrkdwn_escape`, except mentions of a user or user group (`<@U0ALICE1>`,
    `<!subteam^S0SRE01>`), which stay real mentions; `<!channel>`, `<!here>` and links never do."""
    return _MENTION.sub(r"<\1>", mrkdwn_escape(text))


def _mrkdwn_code(text: str) -> str:
    # Slack has no escape for a backtick inside a code span.
    return "`" + mrkdwn_escape(text.replace("`", "'")) + "`"


def _fit_lines(lines: list[str], limit: int) -> str:
    """Whole lines up to `limit` characters, then an ellipsis line; never cuts an escape in half."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    used = 0
    for line in lines:
        cost = len(line) + (1 if kept else 0)
        if used + cost > limit - len(ELLIPSIS) - 1:
            if not kept:
                return re.sub(r"&[a-z]*$", "", line[: limit - len(ELLIPSIS)]) + ELLIPSIS
            kept.append(ELLIPSIS)
            break
        kept.append(line)
        used += cost
    return "\n".join(kept)


def _mrkdwn_section(lines: list[str]) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=_fit_lines(lines, SECTION_TEXT_MAX)))


# -- blocks --------------------------------------------------------------------------------------


def _headline(diagnosis: Diagnosis, alert_severity: str | None = None) -> str:
    service = diagnosis.service or "unknown service"
    coverage = diagnosis.coverage
    severity = (alert_severity or "").lower() or worst_severity(diagnosis)
    if severity is None:
        if coverage.state == "nothing":
            return f"{service}: nothing could be read"
        if coverage.failed:
            return f"{service}: nothing found in what could be read"
        return f"{service}: no findings"
    partial = " (partial)" if coverage.failed else ""
    return f"{SEVERITY_EMOJI.get(severity, '🟣')} {service}: {severity}{partial}".strip()


def _header_block(diagnosis: Diagnosis, alert_severity: str | None = None) -> HeaderBlock:
    return HeaderBlock(
        text=PlainTextObject(text=truncate(_headline(diagnosis, alert_severity), HEADER_TEXT_MAX))
    )


def _coverage_block(diagnosis: Diagnosis) -> SectionBlock | None:
    line = diagnosis.coverage.line()
    if not line:
        return None
    return _mrkdwn_section([f"⚠️ *Coverage:* {mrkdwn_escape(line)}"])


def _summary_block(diagnosis: Diagnosis) -> SectionBlock:
    return _mrkdwn_section([mrkdwn_escape(diagnosis.summary or "No summary.")])


def _root_cause_findings(diagnosis: Diagnosis) -> list[Finding]:
    found = (diagnosis.finding(finding_id) for finding_id in diagnosis.root_causes)
    return [finding for finding in found if finding is not None]


def _top_root_cause_block(diagnosis: Diagnosis) -> SectionBlock | None:
    findings = _root_cause_findings(diagnosis)
    if not findings:
        return None
    top = findings[0]
    emoji = SEVERITY_EMOJI.get(top.severity, "")
    lines = [f"*Root cause:* {emoji} *{mrkdwn_escape(top.title)}* ({top.confidence:.0%})"]
    if top.detail:
        lines.append(mrkdwn_escape(truncate(_one_line(top.detail), DETAIL_CHARS)))
    lines.extend(_evidence_line(source) for source in top.evidence[:TOP_EXCERPTS])
    return _mrkdwn_section(lines)


def _thread_note(diagnosis: Diagnosis) -> str:
    """Where the rest is: "and N more" pointing into the thread below."""
    rest = thread_findings(diagnosis)
    parts: list[str] = []
    if rest:
        parts.append(f"{len(rest)} more finding{'s' if len(rest) != 1 else ''}")
    if diagnosis.checks:
        parts.append("what to check first")
    if any(not r.automated for r in diagnosis.remediations):
        parts.append("manual steps")
    if not parts:
        return ""
    return "…and " + ", ".join(parts) + " in the thread below 🧵"


def _key_findings(diagnosis: Diagnosis) -> list[Finding]:
    """Root causes first, in their order, then the rest by severity and confidence."""
    root_ids = list(diagnosis.root_causes)
    rank = {finding_id: position for position, finding_id in enumerate(root_ids)}
    return sorted(
        diagnosis.findings,
        key=lambda f: (
            rank.get(f.id, len(root_ids)),
            SEVERITY_ORDER.get(f.severity, len(SEVERITY_ORDER)),
            -f.confidence,
        ),
    )


def _evidence_blocks(diagnosis: Diagnosis, budget: int) -> list[Block]:
    """A divider and one section per key finding, plus a note about the ones left out."""
    findings = thread_findings(diagnosis)
    if not findings or budget < 2:
        return []
    # One block is kept for the "more findings" note.
    shown = findings[: min(KEY_FINDINGS_MAX, budget - 1)]
    blocks: list[Block] = []
    for position, finding in enumerate(shown):
        blocks.append(_finding_section(finding, title="*More findings*" if position == 0 else None))
    hidden = len(findings) - len(shown)
    if hidden:
        command = f"`triage check {mrkdwn_escape(diagnosis.service or 'SERVICE')}`"
        note = f"…and {hidden} more finding{'s' if hidden != 1 else ''}: {command} prints every one."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    return blocks


def _finding_section(finding: Finding, title: str | None) -> SectionBlock:
    emoji = SEVERITY_EMOJI.get(finding.severity, "")
    lines = [title] if title else []
    lines.append(f"{emoji} *{mrkdwn_escape(finding.title)}* · {finding.confidence:.0%}".strip())
    lines.extend(_evidence_line(source) for source in finding.evidence[:EVIDENCE_PER_FINDING])
    return _mrkdwn_section(lines)


def _evidence_line(source: Source) -> str:
    excerpt = truncate(_one_line(source.excerpt), EVIDENCE_EXCERPT_CHARS)
    ref = source.ref if source.line is None else f"{source.ref}:{source.line}"
    where = mrkdwn_escape(truncate(f"{source.kind} · {ref}", EVIDENCE_EXCERPT_CHARS))
    return f"• {_mrkdwn_code(excerpt)} — {where}"


def _checks_blocks(diagnosis: Diagnosis) -> list[Block]:
    if not diagnosis.checks:
        return []
    lines = ["*What to check first*"]
    lines.extend(f"{number}. {_mrkdwn_code(command)}" for number, command in enumerate(diagnosis.checks, 1))
    return [DividerBlock(), _mrkdwn_section(lines)]


def _remediation_summary(remediation: Remediation) -> str:
    mode = "automated" if remediation.automated else "manual"
    return f"{remediation.title} (risk {remediation.risk}, {mode})"


def _button_blocks(diagnosis: Diagnosis, proposal_ids: dict[int, str] | None) -> list[Block]:
    """One button per fix that has one; a fix without a button is not shown in the message."""
    ids = proposal_ids
    if ids is None:
        ids = {
            i: f"{r.id}:{i}"
            for i, r in enumerate(diagnosis.remediations)
            if r.automated and not r.alternative  # the bot proposes one fix of a kind
        }
    buttons = [
        _button(index, remediation, ids[index])
        for index, remediation in enumerate(diagnosis.remediations)
        if remediation.automated and index in ids
    ]
    if not buttons:
        return []
    blocks: list[Block] = [ActionsBlock(elements=buttons[:ACTIONS_ELEMENTS_MAX])]
    hidden = len(buttons) - ACTIONS_ELEMENTS_MAX
    if hidden > 0:
        note = f"…{hidden} more automated fix{'es' if hidden != 1 else ''} not shown as buttons."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    return blocks


def _manual_blocks(diagnosis: Diagnosis) -> list[Block]:
    manual = [r for r in diagnosis.remediations if not r.automated]
    if not manual:
        return []
    lines = ["*Manual steps*"]
    lines.extend(f"• {mrkdwn_escape(_remediation_summary(r))}" for r in manual)
    return [DividerBlock(), _mrkdwn_section(lines)]


def _sources_blocks(diagnosis: Diagnosis) -> list[Block]:
    if not diagnosis.sources:
        return []
    lines = ["*Sources*"]
    lines.extend(
        f"• {mrkdwn_escape(s.name)}: {s.status} — {mrkdwn_escape(truncate(_one_line(s.detail), 200))}"
        for s in diagnosis.sources
    )
    return [DividerBlock(), _mrkdwn_section(lines)]


def button_label(remediation: Remediation) -> str:
    """What the button opens: a preview of the change, named by what it changes."""
    short = _short_label(remediation.params)
    if short is None:
        short = remediation.title[:1].lower() + remediation.title[1:]
    elif remediation.after == RemediationId.RAISE_MEMORY_LIMIT:
        short += " after the raise"
    if remediation.risk == "high":
        short += " (high risk)"
    return truncate(f"Preview: {_one_line(short)}", BUTTON_TEXT_MAX)


def _short_label(params: Params) -> str | None:
    """What a fix changes, in a few words from its typed parameters; None: say its title."""
    match params:
        case MemoryLimitRaise(to_bytes=int()):
            return f"raise memory limit to {params.to_quantity}"
        case MaxmemorySetting():
            return f"set maxmemory {params.maxmemory}"
        case EvictionPolicyChange():
            return f"set maxmemory-policy {params.policy}"
        case CpuLimitRaise(to_millicores=int()):
            return f"raise CPU limit to {params.to_quantity}"
        case MaxclientsRaise(to=int()):
            return f"raise maxclients to {params.to}"
        case ImageRollback():
            return f"roll back to {params.image}"
    return None


def _button(index: int, remediation: Remediation, proposal_id: str) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=button_label(remediation)),
        action_id=f"remediation:{index}",
        value=proposal_id,
        style="danger" if remediation.risk == "high" else None,
    )
