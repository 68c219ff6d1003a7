"""image-pull-failed: the image cannot be pulled, so the new pods never start."""

from __future__ import annotations

import re

from analyzers.base import finding, narrow
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import EventRecord, Fact, ReplicaSetInfo

_PULL_STATES = {"ImagePullBackOff", "ErrImagePull", "InvalidImageName"}


def analyze(context: Context) -> list[Finding]:
    states = [
        f
        for kind in ("container.waiting_reason", "pod.status")
        for f in context.mine(kind)
        if f.value in _PULL_STATES
    ]
    failures = [f for f in context.mine("event") if _is_pull_failure(f)]
    if not states and not failures:
        return []
    image = _failing_image(failures, context)
    cause = _cause(failures, context)
    previous = last_good_image(context, image)
    detail = f"The image {image or '(see events)'} cannot be pulled: {cause}."
    if previous:
        detail += f" The last image that ran is {previous[0].image} (ReplicaSet {previous[0].name})."
    cited = [narrow(f, "Failed to pull") for f in failures[:2]] + states[:2]
    if previous:
        cited.append(previous[1])
    cited += [narrow(f, "403") for f in _push_failures(context, image)][:1]
    return [
        finding(
            "image-pull-failed",
            "critical",
            f"Cannot pull image {image or ''}".strip(),
            detail,
            0.95,
            cited,
            max_sources=5,
            image=image,
            previous_image=previous[0].image if previous else None,
        )
    ]


def last_good_image(context: Context, failing: str | None) -> tuple[ReplicaSetInfo, Fact] | None:
    """The image of the newest ReplicaSet of the workload that has ready pods."""
    candidates: list[tuple[ReplicaSetInfo, Fact]] = []
    for fact in context.mine("workload.replicaset"):
        info = fact.value
        if isinstance(info, ReplicaSetInfo) and info.ready > 0 and info.image and info.image != failing:
            candidates.append((info, fact))
    if not candidates:
        return None
    return min(candidates, key=lambda c: _age_seconds(c[0].age))


def _age_seconds(age: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "y": 31536000}
    total = sum(float(n) * units[u] for n, u in re.findall(r"(\d+)([smhdy])", age))
    return total if total else float("inf")


def _is_pull_failure(fact: Fact) -> bool:
    record = fact.value
    return isinstance(record, EventRecord) and (
        record.message.startswith("Failed to pull image") or "ErrImagePull" in record.message
    )


def _failing_image(failures: list[Fact], context: Context) -> str | None:
    for fact in failures:
        record = fact.value
        if isinstance(record, EventRecord):
            match = re.search(r'Failed to pull image "([^"]+)"', record.message)
            if match:
                return match.group(1)
    for fact in context.mine("container.image"):
        return str(fact.value)
    return None


def _cause(failures: list[Fact], context: Context) -> str:
    text = " ".join(context.text_of(f) for f in failures).lower()
    if "manifest unknown" in text or "not found" in text:
        return "the registry has no such tag (a typo in the tag, or the image was never pushed)"
    if "unauthorized" in text or "403" in text or "denied" in text:
        return "the registry refuses the credentials (imagePullSecrets or node role)"
    return "the registry could not be reached or refused the pull"


def _push_failures(context: Context, image: str | None) -> list[Fact]:
    if not image:
        return []
    tag = image.rsplit(":", 1)[-1]
    return [
        f
        for f in context.evidence.of("log")
        if "failed to push" in context.text_of(f) and tag in context.text_of(f)
    ]
