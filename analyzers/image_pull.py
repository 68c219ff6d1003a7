"""image-pull-failed: the image cannot be pulled, so the new pods never start."""

from __future__ import annotations

import re

from analyzers.base import finding, narrow
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import EventRecord, Fact
from analyzers.ids import FindingId, RemediationId
from analyzers.rollouts import last_good_image, main_image, previous_revision_image
from analyzers.spec import FindingSpec

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
    revision = None if previous else previous_revision_image(context, image)
    detail = f"The image {image or '(see events)'} cannot be pulled: {cause}."
    if previous:
        detail += f" The last image that ran is {main_image(previous[0])} (ReplicaSet {previous[0].name})."
    cited = [narrow(f, "Failed to pull") for f in failures[:2]] + states[:2]
    if previous:
        cited.append(previous[1])
    if revision:
        detail += f" The revision before it ran {revision[0]}."
        cited.append(revision[1])
    cited += [narrow(f, "403") for f in _push_failures(context, image)][:1]
    return [
        finding(
            FindingId.IMAGE_PULL_FAILED,
            "critical",
            f"Cannot pull image {image or ''}".strip(),
            detail,
            0.95,
            cited,
            max_sources=5,
            image=image,
            previous_image=main_image(previous[0]) if previous else (revision[0] if revision else None),
        )
    ]


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


SPEC = FindingSpec(
    FindingId.IMAGE_PULL_FAILED,
    analyze,
    "cause",
    10,
    checks=(
        "kubectl {ns}get rs -l app.kubernetes.io/name={service} -o wide",
        "kubectl {ns}rollout history deploy/{service}",
    ),
    fixed_by=(RemediationId.ROLLBACK_IMAGE,),
)
