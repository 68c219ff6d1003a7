"""Helpers shared by the analyzer tests: evidence from pasted snippets, and checks on findings."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from analyzers import analyze
from analyzers.context import Context
from analyzers.diagnosis import Diagnosis, Finding
from analyzers.evidence import Evidence, Fact, FactKind, FactValue, Source, Subject
from bot.readers import read_string

Analyzer = Callable[[Context], list[Finding]]


@dataclass
class Incident:
    """Evidence read from snippets (each its own artifact), plus any hand-built facts."""

    texts: dict[str, str] = field(default_factory=dict)
    evidence: Evidence = field(default_factory=Evidence)

    def run(self, analyzer: Analyzer, service: str | None) -> list[Finding]:
        return analyzer(Context.build(self.evidence, service))

    def diagnose(self, service: str | None) -> Diagnosis:
        return analyze(self.evidence, service)

    def read(self, kind: FactKind, key: str | None = None) -> list[Fact]:
        """The facts of one kind read from the snippets: lets a silent test show it read its input."""
        return list(self.evidence.of(kind, key))

    def with_facts(self, *facts: Fact) -> Incident:
        for item in facts:
            self.texts.setdefault(item.source.ref, "")
            self.texts[item.source.ref] += "\n" + item.source.excerpt
            self.evidence.add(item)
        return self

    def assert_cited(self, finding: Finding) -> None:
        """The finding cites evidence, every excerpt is non-empty and appears in what was pasted."""
        assert finding.evidence, f"{finding.id} cites no evidence"
        for source in finding.evidence:
            assert source.excerpt.strip(), f"{finding.id} cites an empty excerpt from {source.ref}"
            pasted = " ".join(self.texts.get(source.ref, "").split())
            assert " ".join(source.excerpt.split()) in pasted, (finding.id, source)


def incident(*snippets: str) -> Incident:
    """Read each snippet (dedented) as its own artifact, the way `triage` reads files."""
    result = Incident()
    for number, snippet in enumerate(snippets, 1):
        text = textwrap.dedent(snippet).strip("\n") + "\n"
        ref = f"artifact-{number}.txt"
        result.texts[ref] = text
        result.evidence.merge(read_string(text, ref))
    return result


def fact(
    kind: FactKind,
    value: FactValue,
    excerpt: str,
    *,
    key: str | None = None,
    subject: Subject | None = None,
    ref: str = "hand-built.txt",
) -> Fact:
    """A fact built by hand, citing `excerpt`."""
    return Fact(kind, subject or Subject(), value, Source("hand", ref, excerpt), key=key)


def ids(findings: Iterable[Finding]) -> list[str]:
    return [f.id for f in findings]


def only(findings: list[Finding], finding_id: str) -> Finding:
    """The one finding the analyzer returned, which must have this id."""
    assert ids(findings) == [finding_id], ids(findings)
    return findings[0]
