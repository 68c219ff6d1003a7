"""One registration per finding: every contract id once, in one module, and every finding registered."""

from __future__ import annotations

import re
from pathlib import Path

from analyzers.ids import FindingId, RemediationId
from analyzers.registry import BY_ID, CAUSE_PRIORITY, EFFECTS, SPECS, answered_by

ANALYZERS = Path(__file__).resolve().parent.parent / "analyzers"


def test_every_finding_id_has_exactly_one_spec() -> None:
    assert sorted(BY_ID) == sorted(FindingId) and len(SPECS) == len(FindingId)


def test_no_contract_id_is_spelled_outside_the_ids_module() -> None:
    ids = [str(i) for i in (*FindingId, *RemediationId)]
    for path in sorted(ANALYZERS.glob("*.py")):
        if path.name == "ids.py":
            continue
        text = path.read_text()
        spelled = [i for i in ids if re.search(rf"(?<![\w-])[\"']{re.escape(i)}[\"']", text)]
        assert spelled == [], f"{path.name} spells {spelled}: use FindingId / RemediationId"


def test_causes_and_effects_come_from_the_specs() -> None:
    assert CAUSE_PRIORITY[FindingId.MEMORY_LIMIT_TOO_LOW] < CAUSE_PRIORITY[FindingId.REDIS_MAXMEMORY_UNSET]
    assert FindingId.CRASH_LOOP in EFFECTS and FindingId.CRASH_LOOP not in CAUSE_PRIORITY
    assert (
        FindingId.REDIS_AUTH_DISABLED not in CAUSE_PRIORITY and FindingId.REDIS_AUTH_DISABLED not in EFFECTS
    )


def test_a_remediation_answers_the_findings_that_name_it() -> None:
    assert FindingId.REDIS_MAXMEMORY_UNSET in answered_by("set-redis-maxmemory")
    assert FindingId.DISK_FULL in answered_by(RemediationId.EXPAND_VOLUME)
