"""redis-fork-failed: a background save or rewrite could not fork."""

from __future__ import annotations

import re

from analyzers.base import finding, narrow
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.ids import FindingId, RemediationId
from analyzers.quantity import human_bytes
from analyzers.redis_view import Reading, redis_view
from analyzers.spec import FindingSpec

_FAILED = re.compile(
    r"fork: Cannot allocate memory|Can't save in background|Can't rewrite append only file in background"
)
_SUCCEEDED = re.compile(
    r"Background saving terminated with success|Background AOF rewrite (?:finished|terminated with success)"
)


def analyze(context: Context) -> list[Finding]:
    failures = [f for f in context.logs() if _FAILED.search(context.text_of(f))]
    redis = redis_view(context)
    status = redis.info.get("rdb_last_bgsave_status")
    for fact, series in context.series("redis_rdb_last_bgsave_status"):
        status = Reading("ok" if series.last >= 1 else "err", fact)
    failing_now = status is not None and status.value == "err"
    if not failures and not failing_now:
        return []
    last_failure = max((f.at for f in failures if f.at), default=None)
    successes = [f for f in context.logs() if _SUCCEEDED.search(context.text_of(f))]
    later_success = [f for f in successes if f.at and last_failure and f.at > last_failure]
    # A fresh process reports "ok" before its first save: only a save since then clears the errors.
    last_save_seconds = redis.number("rdb_last_bgsave_time_sec")
    saved_since = (redis.number("rdb_saves") or 0) > 0 or (
        last_save_seconds is not None and last_save_seconds >= 0
    )
    current_ok = (
        status is not None and status.value == "ok" and (saved_since or "rdb_saves" not in redis.info)
    )
    if not failing_now and (later_success or current_ok):
        return []  # saves succeed again since the failures: the fork errors are history
    overcommit = [f for f in context.logs() if "overcommit" in context.text_of(f).lower()]
    detail = (
        "Redis could not fork for a background save (`fork: Cannot allocate memory`): the fork needs room "
        "for copy-on-write that the container or node does not have. Snapshots stop, and with "
        "stop-writes-on-bgsave-error writes are refused."
    )
    cited = [narrow(f, "fork") for f in failures[:2]]
    available = next(context.evidence.of("host.memory", "available"), None)
    used = redis.number("used_memory")
    if available is not None and used and float(available.value) < used:  # type: ignore[arg-type]
        detail += (
            f" `free` shows {human_bytes(float(available.value))} available on the host, less than the "  # type: ignore[arg-type]
            f"{human_bytes(used)} Redis holds: without vm.overcommit_memory=1 the kernel refuses the fork."
        )
        cited += [available, redis.info["used_memory"].fact]
    if failing_now and status is not None:
        cited.append(status.fact)
    cited += [narrow(f, "overcommit") for f in overcommit[:1]]
    return [
        finding(
            FindingId.REDIS_FORK_FAILED,
            "warning",
            "Background save cannot fork",
            detail,
            0.9,
            cited,
            overcommit_warning=bool(overcommit),
        )
    ]


SPEC = FindingSpec(
    FindingId.REDIS_FORK_FAILED,
    analyze,
    "effect",
    75,
    checks=("{cli} INFO persistence | grep -E 'rdb_last_bgsave_status|aof_last_bgrewrite_status'",),
    fixed_by=(
        RemediationId.SET_VM_OVERCOMMIT,
        RemediationId.DISABLE_REDIS_BACKGROUND_SAVE,
    ),
)
