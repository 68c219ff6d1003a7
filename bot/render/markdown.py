"""The diagnosis as GitHub-flavoured Markdown, for tickets and pull requests."""

from __future__ import annotations

import re
from collections.abc import Sequence

from analyzers.diagnosis import Diagnosis, Finding, Remediation
from analyzers.evidence import Source

SEVERITY_MARKERS: dict[str, str] = {"critical": "🔴", "warning": "🟠", "info": "🔵"}
LINE_BREAK_MARK = " ⏎ "


def render_markdown(diagnosis: Diagnosis) -> str:
    """All sections of the report as one Markdown document, ending in a newline."""
    sections = [
        _header(diagnosis),
        _system(diagnosis),
        _root_causes(diagnosis),
        _findings(diagnosis),
        _remediations(diagnosis),
        _checks(diagnosis),
        _sources(diagnosis),
    ]
    return "\n\n".join(sections) + "\n"


def code_span(text: str) -> str:
    """`text` as an inline code span that survives backticks and line breaks inside it.

    CommonMark has no backslash escape inside code spans: the delimiter must be a
    run of backticks longer than any run inside, padded with spaces when the
    content starts or ends with a backtick.
    """
    flat = LINE_BREAK_MARK.join(line.strip() for line in text.strip().splitlines()) or " "
    longest_run = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest_run + 1)
    if flat.startswith("`") or flat.endswith("`") or (flat.startswith(" ") and flat.endswith(" ")):
        flat = f" {flat} "
    return f"{fence}{flat}{fence}"


def _table_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|") or " "


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines.extend("| " + " | ".join(_table_cell(cell) for cell in row) + " |" for row in rows)
    return "\n".join(lines)


def _header(diagnosis: Diagnosis) -> str:
    header = f"# Triage: {diagnosis.service or 'unknown service'}\n\n{diagnosis.summary or 'No summary.'}"
    coverage = diagnosis.coverage.line()
    if coverage:
        header += f"\n\n> **Coverage:** {_inline(coverage)}"
    return header


def _inline(text: str) -> str:
    """Prose as itself: no Markdown or HTML read into a source's error message."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", " ".join(text.split()))


def _system(diagnosis: Diagnosis) -> str:
    parts = ["## System", diagnosis.purpose or "_Purpose unknown._"]
    if diagnosis.components:
        rows = [(c.name, c.kind, c.detail) for c in diagnosis.components]
        parts.append(_table(("Component", "Kind", "Detail"), rows))
    return "\n\n".join(parts)


def _root_causes(diagnosis: Diagnosis) -> str:
    if not diagnosis.root_causes:
        return "## Root causes\n\n_No root cause identified._"
    lines = []
    for number, finding_id in enumerate(diagnosis.root_causes, start=1):
        finding = diagnosis.finding(finding_id)
        title = f" — {finding.title}" if finding is not None else ""
        lines.append(f"{number}. **{finding_id}**{title}")
    return "## Root causes\n\n" + "\n".join(lines)


def _findings(diagnosis: Diagnosis) -> str:
    if not diagnosis.findings:
        complete = diagnosis.coverage.state == "complete"
        return "## Findings\n\n" + ("_No findings._" if complete else "_No findings in what could be read._")
    return "## Findings\n\n" + "\n\n".join(_finding(finding) for finding in diagnosis.findings)


def _finding(finding: Finding) -> str:
    marker = SEVERITY_MARKERS.get(finding.severity)
    prefix = f"{marker} " if marker else ""
    lines = [
        f"### {prefix}{finding.severity.upper()}: {finding.title}",
        "",
        f"Confidence: {finding.confidence:.0%} · id {code_span(finding.id)}",
    ]
    if finding.detail:
        lines += ["", finding.detail]
    if finding.evidence:
        lines += ["", "Evidence:", ""]
        lines.extend(_evidence_item(source) for source in finding.evidence)
    return "\n".join(lines)


def _evidence_item(source: Source) -> str:
    ref = source.ref if source.line is None else f"{source.ref}:{source.line}"
    return f"- {source.kind} · {code_span(ref)}: {code_span(source.excerpt)}"


def _remediations(diagnosis: Diagnosis) -> str:
    if not diagnosis.remediations:
        return "## What to do\n\n_No remediation proposed._"
    items = [_remediation(number, r) for number, r in enumerate(diagnosis.remediations, start=1)]
    return "## What to do\n\n" + "\n".join(items)


def _remediation(number: int, remediation: Remediation) -> str:
    mode = "automated" if remediation.automated else "manual"
    risk = f"risk: {remediation.risk}, {mode}"
    line = f"{number}. **{remediation.title}** ({code_span(remediation.id)}) — {risk}"
    indent = " " * len(f"{number}. ")
    params = remediation.contract_params()
    if params:
        line += f"\n{indent}Params: {_params(params)}"
    if remediation.detail:
        line += f"\n{indent}{' '.join(remediation.detail.split())}"
    return line


def _params(params: dict[str, object]) -> str:
    return ", ".join(code_span(f"{key}={value}") for key, value in params.items())


def _checks(diagnosis: Diagnosis) -> str:
    if not diagnosis.checks:
        return "## Check first\n\n_Nothing to check._"
    lines = [f"{number}. {code_span(command)}" for number, command in enumerate(diagnosis.checks, start=1)]
    return "## Check first\n\n" + "\n".join(lines)


def _sources(diagnosis: Diagnosis) -> str:
    if not diagnosis.sources:
        return "## Sources\n\n_No sources read._"
    rows = [(s.name, s.kind, s.status, s.detail) for s in diagnosis.sources]
    return "## Sources\n\n" + _table(("Name", "Kind", "Status", "Detail"), rows)
