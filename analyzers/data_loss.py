"""data-loss-on-restart: restarts throw away state that users depend on."""

from __future__ import annotations

import re

from analyzers.base import finding, narrow
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.ids import FindingId
from analyzers.redis_view import redis_view
from analyzers.spec import FindingSpec

_COLD = re.compile(
    r"store is cold|run_id changed|rehydrat|logged out|session not found|cart (?:is )?empty", re.I
)


def analyze(context: Context) -> list[Finding]:
    redis = redis_view(context)
    if not redis.present:
        return []
    save, appendonly = redis.effective("save"), redis.effective("appendonly")
    no_persistence = bool(
        save and appendonly and save.value.strip("\"' ") == "" and appendonly.value in ("no", "0")
    )
    restarts = [
        f
        for kind in ("container.restart_count", "pod.restarts")
        for f in context.main(kind)
        if isinstance(f.value, int) and f.value > 0
    ]
    cold = [narrow(f, "cold") for f in context.evidence.of("log") if _COLD.search(context.text_of(f))]
    usage = redis.usage()
    if not (no_persistence and restarts) and not cold:
        return []
    if usage not in ("session", "store") and not cold:
        return []
    detail = (
        f"Each restart starts the {usage} store empty"
        + (" (no snapshots, no AOF)" if no_persistence else "")
        + ": users lose what it held (sessions log out, carts empty) or the clients must rebuild it."
    )
    cited = cold[:1] + restarts[:1] + ([save.fact] if no_persistence and save else [])
    return [
        finding(FindingId.DATA_LOSS_ON_RESTART, "warning", "Restarts lose user state", detail, 0.75, cited)
    ]


SPEC = FindingSpec(
    FindingId.DATA_LOSS_ON_RESTART,
    analyze,
    "effect",
    85,
    checks=("{cli} INFO server | grep uptime_in_seconds",),
    fixed_by=(),
)
