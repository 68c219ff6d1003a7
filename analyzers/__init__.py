"""Pure analysis: evidence in, diagnosis out. No I/O, no clocks, no globals."""

from __future__ import annotations

from analyzers.base import Analyzer
from analyzers.checks import checks
from analyzers.context import Context
from analyzers.correlate import rank
from analyzers.diagnosis import Diagnosis, Finding
from analyzers.evidence import Evidence, SourceReport
from analyzers.registry import SPECS
from analyzers.remediate import remediations
from analyzers.system import reconstruct, summarize

# Each finding's analyzer, from its one registration (analyzers/registry.py).
ANALYZERS: dict[str, Analyzer] = {spec.id: spec.analyze for spec in SPECS}


def analyze(evidence: Evidence, service: str | None = None) -> Diagnosis:
    """Run every analyzer on the evidence and correlate their findings into a diagnosis."""
    context = Context.build(evidence, service)
    findings: list[Finding] = []
    failures: list[SourceReport] = []
    for name, analyzer in ANALYZERS.items():
        try:
            findings.extend(analyzer(context))
        except Exception as error:  # one broken analyzer must not cost the whole diagnosis
            failures.append(
                SourceReport(f"analyzer:{name}", "analyzer", "error", f"{type(error).__name__}: {error}")
            )
    root_causes, ordered = rank(findings)
    fixes = remediations(context, ordered)
    purpose, components = reconstruct(context)
    return Diagnosis(
        service=context.service,
        summary=summarize(context, root_causes, ordered, fixes),
        purpose=purpose,
        components=components,
        root_causes=root_causes,
        findings=ordered,
        remediations=fixes,
        checks=checks(context, root_causes, ordered),
        sources=[*evidence.sources, *failures],
        facts_read=len(evidence.facts),
    )
