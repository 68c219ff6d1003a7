"""disk-full: a volume or the container filesystem is out of space."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from analyzers.base import event_is_recent, finding, narrow
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evictions import evicted_pod
from analyzers.evidence import EventRecord, Fact
from analyzers.ids import FindingId, RemediationId
from analyzers.quantity import human_bytes, parse_human_bytes
from analyzers.spec import FindingSpec

NO_SPACE = "No space left on device"
FULL_SHARE = 0.95

# The kernel's ENOSPC and EDQUOT in their usual wordings, and what databases say before they refuse to start.
_NO_SPACE = re.compile(
    r"No space left on device|\bENOSPC\b|Disk quota exceeded|\bEDQUOT\b|low[- ]disk[- ]space condition"
    r"|insufficient disk space|could not (?:write|extend) file .*: No space"
    r"|\bdisk is full writing\b|\bErrcode: 28\b|\b(?:OS )?errno:? 28\b.{0,40}(?:space|disk|full)",  # ENOSPC is 28
    re.I,
)
# What the kubelet says when the node's disk (not its memory) runs short, or a pod outgrows its share.
_DISK_EVICTION = re.compile(
    r"low on resource: \[?(?:ephemeral-storage|DiskPressure|nodefs|imagefs)"
    r"|Attempting to reclaim (?:ephemeral-storage|nodefs|imagefs)"
    r"|NodeHasDiskPressure|status is now: DiskPressure"
    r"|exceeded its local ephemeral storage limit|ephemeral local storage usage exceeds"
    r"|Usage of EmptyDir volume .* exceeds the limit"
    r"|failed to garbage collect required amount of images",
    re.I,
)
_DISK_REASONS = ("FreeDiskSpaceFailed", "NodeHasDiskPressure")
# Redis refusing writes because its last save failed: a disk symptom only when a disk signal agrees
# (a failed fork gives the same MISCONF).
_MISCONF = re.compile(r"MISCONF .*not able to persist on disk", re.I)
# What else makes a background save fail: then MISCONF alone says nothing about the disk.
_SAVE_FAILS_OTHERWISE = re.compile(
    r"Can't save in background: fork|fork: Cannot allocate memory|Failed opening the RDB file.*(?:Permission denied|"
    r"Read-only file system)|Read-only file system|Permission denied|overcommit",
    re.I,
)
# Lines Redis itself writes (`1:M 03 Nov ...`), or about its saves: where another reason would show.
_REDIS_LINE = re.compile(r"(?:^|\s)\d+:[MCSX] |\bRDB\b|\bAOF\b|\bbackground\b|\bbgsave\b", re.I)
# Someone telling that the disk filled up, said in their own words.
_TOLD_FULL = re.compile(
    r"\b(?:ran|run|running|runs) out of (?:disk|storage|space)|\bdisk (?:space )?(?:is |was |got )?full\b"
    r"|\bfilled up (?:the )?disk|\bdisk filled up|\bout of disk space",
    re.I,
)
_NAMED_CONTAINER = re.compile(r"Container (\S+) was using")
# Mounts that read 100% by design (snap and ISO images) or are not storage.
_NOT_STORAGE = re.compile(r"^(?:/snap/|/proc|/sys|/dev$|/run/user|/media/cdrom|/boot/efi$)")
_NOT_STORAGE_DEVICE = re.compile(r"^(?:/dev/loop\d+|squashfs|iso9660|cdrom)\b")


def analyze(context: Context) -> list[Finding]:
    written = [narrow(f, "No space left") for f in context.logs() if _NO_SPACE.search(context.text_of(f))]
    evicted = (
        _disk_events(context)
        + _disk_lines(context)
        + evicted_pod(context, _DISK_EVICTION, lambda message: not _another_pods(context, message))
    )
    evicted += [f for f in context.evidence.of("node.condition", "DiskPressure") if f.value == "True"]
    volumes = _full_volumes(context)
    misconf = [narrow(f, "MISCONF") for f in context.logs() if _MISCONF.search(context.text_of(f))]
    if misconf and not (written or evicted or volumes):
        # MISCONF is about the Redis this service writes to: that server's disk signals count too.
        written, volumes = _redis_side(context)
    filled, listed, capacity = _files_fill_volume(context)
    hard = written + evicted + volumes + filled
    told = _told_full(context) if misconf and not hard and not _df_shows_room(context) else []
    # MISCONF with nothing else that explains a failed save: a full disk is the usual reason, unconfirmed.
    alone = (
        bool(misconf)
        and not hard
        and not told
        and _nothing_else_fails_saves(context)
        and not _df_shows_room(context)
    )
    if not hard and not told and not alone:
        return []
    parts: list[str] = []
    if written:
        parts.append("writes fail with `No space left on device`")
    if evicted:
        parts.append(
            "the kubelet reports the node short of disk (ephemeral storage, nodefs or imagefs) and evicts pods"
        )
    if volumes:
        mount, share = str(volumes[0].key), float(volumes[0].value or 0)  # type: ignore[arg-type]
        parts.append(f"`df` shows {mount} {share:.0%} full")
    if filled:
        parts.append(
            f"the files listed add up to {human_bytes(listed)} of the {human_bytes(capacity)} volume declared "
            "for them"
        )
    if misconf:
        parts.append("Redis refuses writes because it cannot persist its snapshot to disk (MISCONF)")
    if told:
        parts.append("the disk is reported full")
    detail = (
        "Out of disk space: "
        + "; ".join(parts)
        + ". The volume, the node's filesystem or the container's writable layer is full: free space (logs, "
        "images, old data) or grow it."
    )
    if alone:
        detail = (
            "Redis refuses writes because it cannot persist its snapshot to disk (MISCONF), and nothing here "
            "shows a failed fork, a read-only or unwritable data directory: a full disk is the usual reason. "
            "Not confirmed: check the free space of Redis's data directory first."
        )
    cited = [*written[:2], *evicted[:2], *volumes[:1], *filled, *misconf[:1], *told[:1]]
    data: dict[str, Any] = {}
    if volumes:
        data = {"mount": volumes[0].key, "used_share": volumes[0].value}
    return [
        finding(
            FindingId.DISK_FULL,
            "critical",
            "Probably out of disk space" if alone else "Out of disk space",
            detail,
            0.9 if hard else 0.55 if alone else 0.75,
            cited,
            **data,
        )
    ]


def _nothing_else_fails_saves(context: Context) -> bool:
    """No other reason for a failed save in Redis's lines, and Redis does not report its last save ok."""
    redis_lines = [
        context.text_of(f) for f in context.evidence.of("log") if _REDIS_LINE.search(context.text_of(f))
    ]
    if any(_SAVE_FAILS_OTHERWISE.search(text) for text in redis_lines):
        return False
    status = [f for f in context.evidence.of("redis.info", "rdb_last_bgsave_status")]
    return not (status and str(status[-1].value) == "ok")


def _disk_events(context: Context) -> list[Fact]:
    found: list[Fact] = []
    for fact in context.mine("event"):
        record = fact.value
        if not isinstance(record, EventRecord) or not event_is_recent(record):
            continue
        if (
            record.reason in _DISK_REASONS
            or _DISK_EVICTION.search(record.message)
            or _NO_SPACE.search(record.message)
        ) and not _another_pods(context, record.message):
            found.append(fact)
    return found


def _disk_lines(context: Context) -> list[Fact]:
    """Kubelet messages pasted as loose lines (an event row without its header, a quoted message)."""
    return [
        f
        for f in context.logs()
        if _DISK_EVICTION.search(context.text_of(f)) and not _another_pods(context, context.text_of(f))
    ]


def _another_pods(context: Context, message: str) -> bool:
    """The eviction names only containers we know to be other pods' (`Container ledger was using 9Gi`)."""
    named = {name.rstrip(".,") for name in _NAMED_CONTAINER.findall(message)}
    named = {name for name in named if re.search(r"\w", name)}
    if not named:
        return False
    theirs = {
        f.subject.container for f in context.evidence.facts if f.subject.container and not context.ours(f)
    }
    mine = {  # containers of pods known to be ours; an event that names only a container proves nothing
        f.subject.container
        for f in context.evidence.facts
        if f.subject.container and (f.subject.pod or f.subject.workload) and context.ours(f)
    }
    return all(name in theirs and name not in mine for name in named)


def _redis_side(context: Context) -> tuple[list[Fact], list[Fact]]:
    """Disk signals from anywhere in the evidence (the Redis behind a MISCONF is another workload)."""
    written = [
        narrow(f, "No space left") for f in context.evidence.of("log") if _NO_SPACE.search(context.text_of(f))
    ]
    return written, _full_volumes(context, context.evidence.of("volume.usage"))


def _full_volumes(context: Context, rows: Iterable[Fact] | None = None) -> list[Fact]:
    """`df -h` rows of real storage at or above 95% use, fullest first."""
    full = [
        f
        for f in (context.mine("volume.usage") if rows is None else rows)
        if _is_storage(f) and isinstance(f.value, int | float) and float(f.value) >= FULL_SHARE
    ]
    return sorted(full, key=lambda f: -float(f.value or 0))  # type: ignore[arg-type]


def _is_storage(fact: Fact) -> bool:
    mount = fact.key or ""
    return not _NOT_STORAGE.match(mount) and not _NOT_STORAGE_DEVICE.match(fact.source.excerpt.strip())


# Chart values that size the volume the service writes to: `persistence.size: 8Gi`, `storage: 10Gi`.
_VOLUME_SIZE = re.compile(r"(?:persistence|storage|volume|pvc)\w*\.size$|(?:^|\.)storage(?:Size)?$", re.I)


def _files_fill_volume(context: Context) -> tuple[list[Fact], float, float]:
    """([the largest file, the volume's declared size], the files' total, that size) when files listed
    by `ls -l` fill 95% of it; ([], 0, 0) otherwise."""
    files = [
        (float(f.value), f) for f in context.evidence.of("file.size") if isinstance(f.value, int | float)
    ]
    sizes = [
        (capacity, f)
        for f in context.evidence.of("helm.value")
        if _VOLUME_SIZE.search(f.key or "") and (capacity := parse_human_bytes(str(f.value)))
    ]
    if not files or not sizes:
        return [], 0.0, 0.0
    capacity, capacity_fact = max(sizes, key=lambda pair: pair[0])
    listed = sum(size for size, _ in files)
    if listed < FULL_SHARE * capacity:
        return [], 0.0, 0.0
    return [max(files, key=lambda pair: pair[0])[1], capacity_fact], listed, capacity


def _df_shows_room(context: Context) -> bool:
    """`df` was pasted and every real filesystem in it has room."""
    rows = [f for f in context.mine("volume.usage") if _is_storage(f) and isinstance(f.value, int | float)]
    return bool(rows) and all(float(f.value or 0) < FULL_SHARE for f in rows)  # type: ignore[arg-type]


def _told_full(context: Context) -> list[Fact]:
    return [
        f
        for f in [*context.mine("text.note"), *context.mine("helm.value"), *context.logs()]
        if _TOLD_FULL.search(context.text_of(f))
    ]


SPEC = FindingSpec(
    FindingId.DISK_FULL,
    analyze,
    "cause",
    18,
    checks=("kubectl {ns}exec {pod} -- df -h",),
    fixed_by=(RemediationId.EXPAND_VOLUME,),
)
