"""What the analyzers produce: findings, remediations and the diagnosis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from analyzers.evidence import Source, SourceReport

Severity = Literal["critical", "warning", "info"]
Risk = Literal["low", "medium", "high"]
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    severity: Severity
    title: str
    detail: str
    confidence: float
    evidence: tuple[Source, ...]
    # Data the correlation and remediation steps use (sizes, the container, ...).
    data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class Remediation:
    id: str
    title: str
    risk: Risk
    automated: bool
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    kind: str
    detail: str


@dataclass
class Diagnosis:
    service: str | None
    summary: str
    purpose: str
    components: list[Component]
    root_causes: list[str]
    findings: list[Finding]
    remediations: list[Remediation]
    checks: list[str]
    sources: list[SourceReport]

    def finding(self, finding_id: str) -> Finding | None:
        return next((f for f in self.findings if f.id == finding_id), None)

    def to_contract(self) -> dict[str, Any]:
        """The `triage.diagnosis/v1` JSON object (shared contract §2)."""
        return {
            "schema": "triage.diagnosis/v1",
            "service": self.service,
            "summary": self.summary,
            "system": {
                "purpose": self.purpose,
                "components": [{"name": c.name, "kind": c.kind, "detail": c.detail} for c in self.components],
            },
            "root_causes": list(self.root_causes),
            "findings": [
                {
                    "id": f.id,
                    "severity": f.severity,
                    "title": f.title,
                    "detail": f.detail,
                    "confidence": round(f.confidence, 2),
                    "evidence": [
                        {"source": s.kind, "ref": s.ref, "excerpt": s.excerpt}
                        | ({"line": s.line} if s.line is not None else {})
                        for s in f.evidence
                    ],
                }
                for f in self.findings
            ],
            "remediations": [
                {
                    "id": r.id,
                    "title": r.title,
                    "risk": r.risk,
                    "automated": r.automated,
                    "params": dict(r.params),
                    "detail": r.detail,
                }
                for r in self.remediations
            ],
            "checks": list(self.checks),
            "sources": [
                {"name": s.name, "kind": s.kind, "status": s.status, "detail": s.detail} for s in self.sources
            ],
        }
