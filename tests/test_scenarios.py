"""Incident scenarios: pasted artifacts in, the diagnosis a careful SRE would give out.

Each folder under `tests/scenarios/` holds `artifacts/` (what an on-call engineer pastes) and
`expected.json`:

  service                passed as the service name
  root_cause             list: root_causes[0] must be one of these
  findings_required      ids that must all be among the findings
  findings_forbidden     ids that must not be among the findings (the traps)
  remediations_required  [{"id": ..., "params": {name: {"min": q, "max": q} | exact value}}]
  remediations_forbidden remediation ids that would do harm here

The diagnosis runs in-process and is checked against the `triage.diagnosis/v1` contract: its
shape, the expectations above, and the grounding of every evidence excerpt in the artifacts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from analyzers import analyze
from analyzers.diagnosis import Remediation
from bot.readers import read_paths

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
EXPECTED_FILES = sorted(SCENARIOS.glob("*/expected.json"))

SCHEMA = "triage.diagnosis/v1"
SEVERITIES = {"critical", "warning", "info"}
RISKS = {"low", "medium", "high"}
EXPECTED_KEYS = {
    "service",
    "root_cause",
    "findings_required",
    "findings_forbidden",
    "remediations_required",
    "remediations_forbidden",
}

# Kubernetes quantities (case-sensitive: "m" is milli, "M" is mega) ...
K8S_UNITS = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
}
# ... and Redis sizes (case-insensitive, "1mb" is 1024*1024 bytes, "1m" would be milli above).
REDIS_UNITS = {"b": 1.0, "kb": 2.0**10, "mb": 2.0**20, "gb": 2.0**30}
QUANTITY = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?\s*([A-Za-z]*)\s*")


def quantity(value: object) -> float:
    """A Kubernetes quantity (256Mi, 600m, 2), a Redis size (2.5gb, 192mb) or a plain number."""
    if isinstance(value, bool):
        raise ValueError(f"not a quantity: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    match = QUANTITY.fullmatch(str(value))
    if not match:
        raise ValueError(f"not a quantity: {value!r}")
    number = float(match.group(1)) * 10.0 ** int(match.group(2) or 0)
    unit = match.group(3)
    if unit in K8S_UNITS:
        return number * K8S_UNITS[unit]
    if unit.lower() in REDIS_UNITS:
        return number * REDIS_UNITS[unit.lower()]
    raise ValueError(f"not a quantity: {value!r}")


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def artifact_text(artifacts: Path) -> str:
    files = [artifacts] if artifacts.is_file() else sorted(p for p in artifacts.rglob("*") if p.is_file())
    return squash("\n".join(p.read_text(errors="replace") for p in files))


def expected_problems(expected: dict[str, Any]) -> list[str]:
    """What is wrong with an expected.json itself (so a typo does not pass silently)."""
    problems = [f"expected.json: unknown key {key!r}" for key in sorted(set(expected) - EXPECTED_KEYS)]
    root = expected.get("root_cause")
    # `[null]`: a healthy case, where the right diagnosis names no root cause at all.
    if not isinstance(root, list) or not root or not all(isinstance(r, str) or r is None for r in root):
        problems.append("expected.json: root_cause must be a non-empty list of ids (or null for none)")
    for key in ("findings_required", "findings_forbidden", "remediations_forbidden"):
        if not all(isinstance(i, str) for i in expected.get(key, [])):
            problems.append(f"expected.json: {key} must be a list of ids")
    overlap = set(expected.get("findings_required", [])) & set(expected.get("findings_forbidden", []))
    if overlap:
        problems.append(f"expected.json: findings both required and forbidden: {sorted(overlap)}")
    for want in expected.get("remediations_required", []):
        if not isinstance(want, dict) or not isinstance(want.get("id"), str):
            problems.append(f"expected.json: bad remediations_required entry {want!r}")
            continue
        if want["id"] in expected.get("remediations_forbidden", []):
            problems.append(f"expected.json: remediation {want['id']} both required and forbidden")
        for name, rule in (want.get("params") or {}).items():
            if isinstance(rule, dict):
                for bound in ("min", "max"):
                    if bound in rule:
                        try:
                            quantity(rule[bound])
                        except ValueError as error:
                            problems.append(f"expected.json: {want['id']}.{name}.{bound}: {error}")
    return problems


def shape_problems(diagnosis: dict[str, Any]) -> list[str]:
    """The contract's rules on the output, independent of the scenario."""
    problems: list[str] = []
    if diagnosis.get("schema") != SCHEMA:
        problems.append(f"schema is {diagnosis.get('schema')!r}, wanted {SCHEMA!r}")
    for key, kind in (
        ("summary", str),
        ("root_causes", list),
        ("findings", list),
        ("remediations", list),
        ("sources", list),
    ):
        if not isinstance(diagnosis.get(key), kind):
            problems.append(f"{key} missing or not a {kind.__name__}")
    if problems:
        return problems
    finding_ids = {f.get("id") for f in diagnosis["findings"] if isinstance(f, dict)}
    for cause in diagnosis["root_causes"]:
        if cause not in finding_ids:
            problems.append(f"root cause {cause!r} is not a finding")
    for finding in diagnosis["findings"]:
        if not isinstance(finding, dict) or not isinstance(finding.get("id"), str) or not finding["id"]:
            problems.append(f"finding without an id: {finding!r:.120}")
            continue
        name = finding["id"]
        if finding.get("severity") not in SEVERITIES:
            problems.append(f"finding {name}: severity {finding.get('severity')!r}")
        confidence = finding.get("confidence")
        if (
            isinstance(confidence, bool)
            or not isinstance(confidence, int | float)
            or not 0 <= confidence <= 1
        ):
            problems.append(f"finding {name}: confidence {confidence!r} not in [0, 1]")
        evidence = finding.get("evidence")
        if not isinstance(evidence, list) or not any(
            isinstance(item, dict) and isinstance(item.get("excerpt"), str) and item["excerpt"].strip()
            for item in evidence
        ):
            problems.append(f"finding {name}: no evidence with an excerpt")
    for remedy in diagnosis["remediations"]:
        if not isinstance(remedy, dict) or not isinstance(remedy.get("id"), str) or not remedy["id"]:
            problems.append(f"remediation without an id: {remedy!r:.120}")
            continue
        if remedy.get("risk") not in RISKS:
            problems.append(f"remediation {remedy['id']}: risk {remedy.get('risk')!r}")
        if not isinstance(remedy.get("params", {}), dict):
            problems.append(f"remediation {remedy['id']}: params is not an object")
    return problems


def param_problem(got: dict[str, Any], want: dict[str, Any]) -> str | None:
    """Why these params do not meet the rules, or None when they do."""
    for name, rule in want.items():
        if name not in got:
            return f"param {name} missing (got {got})"
        if isinstance(rule, dict):
            try:
                value = quantity(got[name])
            except ValueError as error:
                return f"param {name}: {error}"
            if "min" in rule and value < quantity(rule["min"]):
                return f"{name}={got[name]} below {rule['min']}"
            if "max" in rule and value > quantity(rule["max"]):
                return f"{name}={got[name]} above {rule['max']}"
        elif str(got[name]) != str(rule):
            return f"{name}={got[name]!r}, wanted {rule!r}"
    return None


def scenario_problems(diagnosis: dict[str, Any], expected: dict[str, Any], corpus: str) -> list[str]:
    problems = shape_problems(diagnosis)
    if problems:
        return problems
    found = {f["id"] for f in diagnosis["findings"]}

    first = diagnosis["root_causes"][0] if diagnosis["root_causes"] else None
    if first not in expected["root_cause"]:
        problems.append(
            f"root cause {first!r} (root_causes {diagnosis['root_causes']}), wanted one of {expected['root_cause']}"
        )

    missing = [i for i in expected.get("findings_required", []) if i not in found]
    if missing:
        problems.append(f"missing findings {missing} (found {sorted(found)})")
    wrong = [i for i in expected.get("findings_forbidden", []) if i in found]
    if wrong:
        problems.append(f"forbidden findings {wrong}")

    remedies: dict[str, list[dict[str, Any]]] = {}
    for remedy in diagnosis["remediations"]:
        remedies.setdefault(remedy["id"], []).append(remedy.get("params") or {})
    for want in expected.get("remediations_required", []):
        offered = remedies.get(want["id"])
        if offered is None:
            problems.append(f"missing remediation {want['id']} (offered {sorted(remedies)})")
            continue
        why = [param_problem(params, want.get("params") or {}) for params in offered]
        if None not in why:
            problems.append(f"remediation {want['id']}: {'; '.join(str(w) for w in why)}")
    harmful = [i for i in expected.get("remediations_forbidden", []) if i in remedies]
    if harmful:
        problems.append(f"harmful remediations {harmful}")

    for finding in diagnosis["findings"]:
        for item in finding.get("evidence") or []:
            excerpt = item.get("excerpt") if isinstance(item, dict) else None
            if isinstance(excerpt, str) and excerpt.strip() and squash(excerpt) not in corpus:
                problems.append(f"ungrounded excerpt in {finding['id']}: {excerpt[:100]!r}")
    return problems


@pytest.mark.parametrize("expected_file", EXPECTED_FILES, ids=[p.parent.name for p in EXPECTED_FILES])
def test_scenario(expected_file: Path) -> None:
    expected = json.loads(expected_file.read_text())
    problems = expected_problems(expected)
    assert not problems, "\n".join(problems)

    artifacts = expected_file.parent / "artifacts"
    assert artifacts.is_dir(), f"{artifacts} is missing"
    analyzed = analyze(read_paths([str(artifacts)]), expected.get("service"))
    diagnosis = analyzed.to_contract()
    for remediation in analyzed.remediations:  # typed params spell the contract and read back from it
        entry = remediation.to_contract()
        assert Remediation.from_contract(entry).to_contract() == entry

    problems = scenario_problems(diagnosis, expected, artifact_text(artifacts))
    if problems:
        pytest.fail(
            f"{expected_file.parent.name}: {len(problems)} problem(s)\n  - " + "\n  - ".join(problems),
            pytrace=False,
        )


def test_scenarios_exist() -> None:
    assert EXPECTED_FILES, f"no scenarios under {SCENARIOS}"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("256Mi", 256 * 2**20),
        ("600m", 0.6),
        ("2", 2.0),
        (4, 4.0),
        ("1.5Gi", 1.5 * 2**30),
        ("2.5gb", 2.5 * 2**30),
        ("192mb", 192 * 2**20),
        ("192MB", 192 * 2**20),
        ("1G", 1e9),
        ("1e3", 1000.0),
    ],
)
def test_quantity(text: object, value: float) -> None:
    assert quantity(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "lots", "12 parsecs", "Mi", True])
def test_quantity_rejects_non_quantities(text: object) -> None:
    with pytest.raises(ValueError):
        quantity(text)
