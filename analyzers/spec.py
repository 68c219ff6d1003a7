"""One registration per finding: everything the rest of the code needs to know about it.

Each analyzer module ends with its `SPEC`; `analyzers/registry.py` lists the modules. Ranking,
the checks to run first and the order of fixes are all read from the specs, so adding a finding
is one module and one line in the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from analyzers.ids import FindingId, RemediationId

if TYPE_CHECKING:
    from analyzers.context import Context
    from analyzers.diagnosis import Finding

Role = Literal["cause", "effect", "context"]  # context: worth knowing, never the root cause


@dataclass(frozen=True, slots=True)
class FindingSpec:
    """A finding: its id, its analyzer and where it stands among the others.

    `priority`: lower is closer to the root; effects (crash loops, OOM kills, client latency) only
    lead when nothing explains them. `checks`: commands that confirm it, as templates
    (`{ns}`, `{pod}`, `{cli}`, `{service}`). `fixed_by`: the remediations that answer it, so fixes
    are listed in the order of their causes.
    """

    id: FindingId
    analyze: Callable[[Context], list[Finding]]
    role: Role
    priority: int
    checks: tuple[str, ...] = ()
    fixed_by: tuple[RemediationId, ...] = ()
