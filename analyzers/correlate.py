"""Rank root causes: which findings explain the others."""

from __future__ import annotations

from analyzers.diagnosis import SEVERITY_ORDER, Finding
from analyzers.registry import CAUSE_PRIORITY, EFFECTS

MAX_ROOT_CAUSES = 3


def rank(findings: list[Finding]) -> tuple[list[str], list[Finding]]:
    """Root-cause ids, most likely first, and the findings in reading order."""
    present = {f.id for f in findings}
    ordered = sorted(findings, key=lambda f: _order(f, present))
    causes = [
        f
        for f in ordered
        if f.id in CAUSE_PRIORITY
        and f.severity != "info"
        and f.confidence >= 0.5
        and not f.data.get("sidecar_only")
    ]
    if not causes:
        causes = [
            f for f in ordered if f.id in EFFECTS and f.severity != "info" and not f.data.get("sidecar_only")
        ]
    if not causes:
        causes = [f for f in ordered if f.severity != "info" and not f.data.get("sidecar_only")][:1]
    return [f.id for f in causes[:MAX_ROOT_CAUSES]], ordered


def _order(finding: Finding, present: set[str]) -> tuple[float, int, float]:
    priority = CAUSE_PRIORITY.get(finding.id, EFFECTS.get(finding.id, 90))
    if present & set(finding.data.get("caused_by", ())):
        priority += 30  # explained by another finding here: an effect of it
    if finding.data.get("sidecar_only"):
        priority += 40
    if finding.data.get("as_reported"):
        priority += 50  # a cause only a sentence supports yields to any the cluster's output supports
    # A weakly supported cause yields to a well supported one a little further down.
    adjusted = priority + (1 - finding.confidence) * 20
    return adjusted, SEVERITY_ORDER[finding.severity], -finding.confidence
