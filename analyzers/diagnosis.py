"""What the analyzers produce: findings, remediations and the diagnosis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from analyzers.evidence import Source, SourceReport
from analyzers.ids import RemediationId
from analyzers.remediation_params import NoParams, Params, params_from, params_type

Severity = Literal["critical", "warning", "info"]
CoverageState = Literal["complete", "partial", "nothing"]
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
    """A fix: `params` is the typed model its id carries (`analyzers/remediation_params.py`).

    `after`: the fix this one rests on and comes after (maxmemory after the limit it is a share of);
    `alternative`: offered instead of the fix of the same id before it. The contract spells both
    among the params.
    """

    id: str
    title: str
    risk: Risk
    automated: bool
    params: Params = field(default_factory=NoParams, compare=False, hash=False)
    detail: str = ""
    after: RemediationId | None = None
    alternative: bool = False

    def __post_init__(self) -> None:
        model = params_type(self.id)
        if model is not None and not isinstance(self.params, model):
            raise TypeError(f"{self.id} takes {model.__name__} params, not {type(self.params).__name__}")

    def contract_params(self) -> dict[str, object]:
        """The params as the contract spells them: the model's, then the ordering."""
        params = self.params.as_params()
        if self.after is not None:
            params["after"] = self.after.value
        if self.alternative:
            params["alternative"] = True
        return params

    def to_contract(self) -> dict[str, Any]:
        """One entry of the contract's `remediations`."""
        return {
            "id": self.id,
            "title": self.title,
            "risk": self.risk,
            "automated": self.automated,
            "params": self.contract_params(),
            "detail": self.detail,
        }

    @classmethod
    def from_contract(cls, entry: Mapping[str, Any]) -> Remediation:
        """The inverse of `to_contract` (ValueError for params the id cannot take)."""
        params = dict(entry.get("params") or {})
        after = params.pop("after", None)
        alternative = params.pop("alternative", False)
        if not isinstance(alternative, bool):
            raise ValueError(f"alternative must be true or false, not {alternative!r}")
        risk = entry["risk"]
        if risk not in ("low", "medium", "high"):
            raise ValueError(f"risk must be low, medium or high, not {risk!r}")
        return cls(
            str(entry["id"]),
            str(entry["title"]),
            risk,
            bool(entry["automated"]),
            params_from(str(entry["id"]), params),
            str(entry.get("detail") or ""),
            RemediationId(after) if after is not None else None,
            alternative,
        )


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    kind: str
    detail: str


# The live sources `triage check` and the bot query (their reports are named after their kind).
LIVE_SOURCES = ("kubernetes", "prometheus", "redis")
EXIT_CODES: dict[str, int] = {"complete": 0, "partial": 3, "nothing": 4}


@dataclass(frozen=True, slots=True)
class Coverage:
    """What the diagnosis rests on: which sources were asked, which answered, which failed and why.

    `not_asked` are live sources turned off or not configured; `unrecognised` are inputs read
    whole in which nothing was understood (a README beside the pastes): neither is a failure.
    """

    answered: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    not_asked: tuple[tuple[str, str], ...] = ()
    unrecognised: tuple[str, ...] = ()
    facts: int | None = None  # facts read from all sources together, when known

    @property
    def state(self) -> CoverageState:
        if self.facts == 0 or (self.facts is None and not self.answered):
            return "nothing"
        return "partial" if self.failed else "complete"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.state]

    @property
    def asked(self) -> tuple[str, ...]:
        return (*self.answered, *(name for name, _ in self.failed), *self.unrecognised)

    def not_read(self) -> str:
        """`redis (connection refused); prometheus (time-out)`: what was asked and could not be read."""
        return "; ".join(f"{name} ({why})" if why else name for name, why in self.failed)

    def line(self) -> str:
        """One sentence for the top of every answer; empty when every source there is was read."""
        details: list[str] = []
        if self.failed:
            details.append(f"not read: {self.not_read()}")
        if self.not_asked:
            details.append("not queried: " + "; ".join(f"{name} ({why})" for name, why in self.not_asked))
        if not details:
            return ""
        read = ", ".join(self.answered) if len(self.answered) <= 4 else f"{len(self.answered)} inputs"
        read = read or f"{self.facts} facts"
        if self.state == "nothing":
            head = "Nothing could be read"
        elif self.failed:
            head = f"Partial diagnosis, read: {read}"
        else:
            head = f"Read: {read}"
        return f"{head}; " + "; ".join(details)


def coverage_of(sources: list[SourceReport], facts: int | None = None) -> Coverage:
    """The coverage a list of source reports (and the facts read from them) amounts to."""
    answered: list[str] = []
    failed: list[tuple[str, str]] = []
    not_asked: list[tuple[str, str]] = []
    unrecognised: list[str] = []
    for report in sources:
        live = report.name == report.kind and report.kind in LIVE_SOURCES
        if report.kind == "analyzer" or report.status == "error":
            failed.append((report.name, report.detail))
        elif live and report.status == "skipped":
            not_asked.append((report.name, report.detail))
        elif live and report.status == "partial":
            answered.append(report.name)
            failed.append((report.name, f"answered in part: {report.detail}"))
        elif report.status == "skipped" and report.kind == "unknown":
            unrecognised.append(report.name)
        elif report.status == "skipped":  # binary content, too large: never read
            failed.append((report.name, report.detail))
        else:
            answered.append(report.name)
    return Coverage(tuple(answered), tuple(failed), tuple(not_asked), tuple(unrecognised), facts)


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
    facts_read: int | None = None  # how many facts the evidence held: 0 means nothing could be read

    @property
    def coverage(self) -> Coverage:
        return coverage_of(self.sources, self.facts_read)

    def finding(self, finding_id: str) -> Finding | None:
        return next((f for f in self.findings if f.id == finding_id), None)

    def to_contract(self) -> dict[str, Any]:
        """The `triage.diagnosis/v1` JSON object (shared contract §2), plus its coverage."""
        coverage = self.coverage
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
            "remediations": [r.to_contract() for r in self.remediations],
            "checks": list(self.checks),
            "sources": [
                {"name": s.name, "kind": s.kind, "status": s.status, "detail": s.detail} for s in self.sources
            ],
            "coverage": {
                "state": coverage.state,
                "asked": list(coverage.asked),
                "answered": list(coverage.answered),
                "failed": [{"name": name, "reason": why} for name, why in coverage.failed],
                "not_asked": [{"name": name, "reason": why} for name, why in coverage.not_asked],
            },
        }
