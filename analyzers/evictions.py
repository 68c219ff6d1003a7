"""A pod evicted by the kubelet, as its own status tells it (`kubectl describe pod`, the pod's status)."""

from __future__ import annotations

import re
from collections.abc import Callable

from analyzers.context import Context
from analyzers.evidence import Fact
from analyzers.rollouts import replaced

_EVICTED_STATUS = ("Evicted", "Failed")


def evicted_pod(
    context: Context, reason: re.Pattern[str], keep: Callable[[str], bool] | None = None
) -> list[Fact]:
    """The evicted status and its message when the message gives `reason` (memory, disk).

    `keep` may refuse a message (one that names only another pod's containers). An eviction of a pod
    template a later rollout replaced is history; a comment that only mentions eviction is not one.
    """
    messages = [
        f
        for f in [*context.mine("text.note"), *context.mine("helm.value")]
        if reason.search(str(f.value))
        and (f.kind == "text.note" or _is_message_key(f.key))
        and (keep is None or keep(str(f.value)))
        and not replaced(context, f.subject.pod)
    ]
    if not messages:
        return []
    statuses = [
        f
        for f in context.mine("pod.status")
        if f.value in _EVICTED_STATUS and not replaced(context, f.subject.pod)
    ]
    kubelet_words = [
        f for f in messages if str(f.value).lstrip("*").startswith("The node was low on resource")
    ]
    if not statuses and not kubelet_words:
        return []
    return [*statuses[:1], *messages[:1]]


def _is_message_key(key: str | None) -> bool:
    return bool(key) and (key or "").rsplit(".", 1)[-1].lower() == "message"
