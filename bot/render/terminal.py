"""A readable terminal report of a diagnosis, drawn with rich."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from analyzers.diagnosis import Diagnosis, Finding, Remediation
from analyzers.evidence import Source

EXCERPT_DISPLAY_CHARS = 160

SEVERITY_STYLES: dict[str, str] = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
RISK_STYLES: dict[str, str] = {"low": "green", "medium": "yellow", "high": "bold red"}
STATUS_STYLES: dict[str, str] = {"ok": "green", "partial": "yellow", "skipped": "dim", "error": "red"}


def render_terminal(diagnosis: Diagnosis, console: Console) -> None:
    """Print the whole report: header, system, root causes, findings, fixes, checks, sources."""
    console.print(_header(diagnosis))
    _print_coverage(diagnosis, console)
    _print_system(diagnosis, console)
    _print_root_causes(diagnosis, console)
    _print_findings(diagnosis, console)
    _print_remediations(diagnosis, console)
    _print_checks(diagnosis, console)
    _print_sources(diagnosis, console)


def shorten(text: str, limit: int = EXCERPT_DISPLAY_CHARS) -> str:
    """One line of at most `limit` characters, ending in an ellipsis when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def format_params(params: dict[str, object]) -> str:
    return ", ".join(f"{key}={value}" for key, value in params.items())


def _header(diagnosis: Diagnosis) -> Panel:
    title = Text(f"Triage: {diagnosis.service or 'unknown service'}", style="bold")
    return Panel(Text(diagnosis.summary or "No summary."), title=title, title_align="left")


def _print_coverage(diagnosis: Diagnosis, console: Console) -> None:
    """What could not be read, right under the summary, whenever anything is missing."""
    coverage = diagnosis.coverage
    line = coverage.line()
    if not line:
        return
    style = "yellow" if coverage.state == "complete" else "bold red"
    console.print(Panel(Text(line, style=style), title=Text("Coverage", style="bold"), title_align="left"))


def _section(console: Console, title: str) -> None:
    console.print()
    console.rule(Text(title, style="bold"), align="left")


def _print_system(diagnosis: Diagnosis, console: Console) -> None:
    _section(console, "System")
    console.print(Text(diagnosis.purpose or "Purpose unknown."))
    if not diagnosis.components:
        return
    table = Table(show_edge=False, expand=False)
    for column in ("Component", "Kind", "Detail"):
        table.add_column(column)
    for component in diagnosis.components:
        table.add_row(Text(component.name, style="bold"), Text(component.kind), Text(component.detail))
    console.print(table)


def _print_root_causes(diagnosis: Diagnosis, console: Console) -> None:
    _section(console, "Root causes")
    if not diagnosis.root_causes:
        console.print(Text("No root cause identified.", style="dim"))
        return
    for number, finding_id in enumerate(diagnosis.root_causes, start=1):
        finding = diagnosis.finding(finding_id)
        line = Text(f"{number}. ")
        line.append(finding_id, style="bold")
        if finding is not None:
            line.append(" — ")
            line.append(finding.title, style=SEVERITY_STYLES.get(finding.severity, ""))
        console.print(line)


def _print_findings(diagnosis: Diagnosis, console: Console) -> None:
    _section(console, "Findings")
    if not diagnosis.findings:
        complete = diagnosis.coverage.state == "complete"
        console.print(Text("No findings." if complete else "No findings in what could be read.", style="dim"))
        return
    for finding in diagnosis.findings:
        console.print(_finding(finding))


def _finding(finding: Finding) -> Group:
    style = SEVERITY_STYLES.get(finding.severity, "")
    heading = Text()
    heading.append(f"[{finding.severity.upper()}] ", style=style)
    heading.append(finding.title, style="bold")
    heading.append(f"  {finding.confidence:.0%} confidence  ", style="dim")
    heading.append(finding.id, style="dim italic")
    lines: list[Text] = [heading]
    if finding.detail:
        lines.append(Text("  " + finding.detail))
    lines.extend(_evidence_line(source) for source in finding.evidence)
    return Group(*lines, Text())


def _evidence_line(source: Source) -> Text:
    ref = source.ref if source.line is None else f"{source.ref}:{source.line}"
    line = Text("    • ")
    line.append(source.kind, style="magenta")
    line.append(" · ")
    line.append(ref, style="blue")
    line.append(": ")
    line.append(shorten(source.excerpt), style="dim")
    return line


def _print_remediations(diagnosis: Diagnosis, console: Console) -> None:
    _section(console, "What to do")
    if not diagnosis.remediations:
        console.print(Text("No remediation proposed.", style="dim"))
        return
    table = Table(show_edge=False, expand=False)
    for column in ("#", "Remediation", "Risk", "Automated", "Params"):
        table.add_column(column)
    for number, remediation in enumerate(diagnosis.remediations, start=1):
        table.add_row(str(number), *_remediation_cells(remediation))
    console.print(table)


def _remediation_cells(remediation: Remediation) -> tuple[Text, Text, Text, Text]:
    description = Text(remediation.title, style="bold")
    if remediation.detail:
        description.append("\n" + remediation.detail, style="")
    description.append(f"\n{remediation.id}", style="dim italic")
    return (
        description,
        Text(remediation.risk, style=RISK_STYLES.get(remediation.risk, "")),
        Text("yes" if remediation.automated else "no"),
        Text(format_params(remediation.contract_params())),
    )


def _print_checks(diagnosis: Diagnosis, console: Console) -> None:
    _section(console, "Check first")
    if not diagnosis.checks:
        console.print(Text("Nothing to check.", style="dim"))
        return
    for number, command in enumerate(diagnosis.checks, start=1):
        line = Text(f"{number}. ")
        line.append(command, style="bold green")
        console.print(line)


def _print_sources(diagnosis: Diagnosis, console: Console) -> None:
    _section(console, "Sources")
    if not diagnosis.sources:
        console.print(Text("No sources read.", style="dim"))
        return
    table = Table(show_edge=False, expand=False)
    for column in ("Name", "Kind", "Status", "Detail"):
        table.add_column(column)
    for report in diagnosis.sources:
        table.add_row(
            Text(report.name),
            Text(report.kind),
            Text(report.status, style=STATUS_STYLES.get(report.status, "")),
            Text(report.detail),
        )
    console.print(table)
