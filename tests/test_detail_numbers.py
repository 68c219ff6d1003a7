"""Every sentence backed: each number a finding's detail states is in its evidence or a computed parameter.

Over every scenario in tests/scenarios. A number in the detail (`768Mi`, `1.7Gi`, `71%`, `x1.03`,
`43 times`) must match, within the rounding it is printed with, a number in one of the excerpts the
finding cites (`memory: 768Mi`, `used_memory:805306368`), or a value the analyzers computed and kept
(the finding's data, a remediation's params).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from analyzers import analyze
from analyzers.diagnosis import Diagnosis, Finding
from bot.readers import read_paths

SCENARIOS = sorted(Path(__file__).resolve().parent.joinpath("scenarios").glob("*/expected.json"))
UNITS = {
    "": 1.0,
    "ki": 2.0**10,
    "kib": 2.0**10,
    "k": 2.0**10,
    "kb": 2.0**10,
    "mi": 2.0**20,
    "mib": 2.0**20,
    "m": 2.0**20,
    "mb": 2.0**20,
    "gi": 2.0**30,
    "gib": 2.0**30,
    "g": 2.0**30,
    "gb": 2.0**30,
    "%": 0.01,
}
# A number as prose states it: not part of a name (`rates-api-6b9d4c7f58`), a version or a path.
STATED = re.compile(r"(?<![\w\-./:])x?(\d+(?:\.\d+)?)\s?(MiB|GiB|KiB|Mi|Gi|Ki|mb|gb|%)?(?![\w\-])")
# A number anywhere in an excerpt or a parameter, with the unit written after it.
WRITTEN = re.compile(r"(\d+(?:\.\d+)?)\s?(MiB|GiB|KiB|Mi|Gi|Ki|mb|gb|kb|MB|GB|M|G|K|%)?")


def stated_numbers(detail: str) -> Iterator[tuple[str, float, float]]:
    """(as written, value, tolerance of its rounding) for every number the detail states."""
    for found in STATED.finditer(detail):
        digits, unit = found.group(1), (found.group(2) or "").lower()
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        scale = UNITS[unit]
        yield found.group(0).strip(), float(digits) * scale, 0.5 * 10**-decimals * scale


def known_values(finding: Finding, diagnosis: Diagnosis) -> list[float]:
    texts = [source.excerpt for source in finding.evidence]
    texts += [str(value) for value in _flat(finding.data)]
    texts += [str(value) for r in diagnosis.remediations for value in _flat(r.params)]
    values: list[float] = []
    for text in texts:
        for found in WRITTEN.finditer(text):
            number = float(found.group(1))
            unit = (found.group(2) or "").lower()
            values += [number, number * UNITS.get(unit, 1.0)]
            if unit == "%":
                values.append(number)
    return values


def _flat(value: object) -> Iterator[object]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _flat(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _flat(item)
    elif isinstance(value, float):
        yield f"{value:f}"
    elif isinstance(value, int | str):
        yield value


def unbacked(diagnosis: Diagnosis) -> list[str]:
    problems: list[str] = []
    for finding in diagnosis.findings:
        known = known_values(finding, diagnosis)
        for written, value, tolerance in stated_numbers(finding.detail):
            if not any(abs(value - candidate) <= tolerance for candidate in known):
                problems.append(f"{finding.id}: {written!r} in {finding.detail!r}")
    return problems


@pytest.mark.parametrize("expected", SCENARIOS, ids=lambda path: path.parent.name)
def test_every_number_in_a_findings_detail_is_in_its_evidence_or_a_computed_parameter(expected: Path) -> None:
    service = json.loads(expected.read_text()).get("service")
    diagnosis = analyze(read_paths([str(expected.parent / "artifacts")]), service)

    assert diagnosis.findings, "a scenario without findings proves nothing here"
    assert unbacked(diagnosis) == []


def test_a_number_nothing_backs_is_caught() -> None:
    diagnosis = analyze(read_paths([str(SCENARIOS[0].parent / "artifacts")]), None)
    finding = diagnosis.findings[0]
    diagnosis.findings[0] = Finding(
        finding.id,
        finding.severity,
        finding.title,
        finding.detail + " It restarted 9731 times, and needs 123.4Mi.",
        finding.confidence,
        finding.evidence,
        finding.data,
    )
    problems = unbacked(diagnosis)
    assert any("'9731'" in p for p in problems) and any("'123.4Mi'" in p for p in problems), problems
