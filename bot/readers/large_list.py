"""A huge `kubectl get -o json` List, decoded only where it is read.

A 5,000-pod List is 40 MB of JSON and millions of Python objects once decoded, most of them in
healthy pods that the reader summarises anyway (`HEALTHY_PODS_READ` per workload are read). So
msgspec reads the List once, keeping each item's `metadata`, `spec` and `status` as raw JSON
(or the whole item, when it has other keys); only its name and what says whether it is healthy
(phase, container readiness, restarts, last state) are decoded for every item. The items read
in detail are decoded whole, and read against their own text: an excerpt is looked for in its
item alone. Healthy containers in the pods read count like healthy pods: a few per workload.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec

from analyzers.evidence import Fact
from bot.readers.kubernetes_objects import HEALTHY_PODS_READ, LARGE_LIST, NOTE, ObjectReader, workload_of_pod

_NONE = msgspec.Raw()  # a part the item does not have


class _Parts(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """An item as an object's parts, each kept raw (an item with other keys fails: `_Whole` then)."""

    apiVersion: Any = msgspec.UNSET
    kind: Any = msgspec.UNSET
    metadata: msgspec.Raw = _NONE
    spec: msgspec.Raw = _NONE
    status: msgspec.Raw = _NONE


class _PartsList(msgspec.Struct, gc=False):
    kind: Any = None
    items: list[_Parts] | None = None


class _WholeList(msgspec.Struct, gc=False):
    kind: Any = None
    items: list[msgspec.Raw] | None = None


class _ContainerHealth(msgspec.Struct, gc=False):
    ready: Any = None
    restartCount: Any = None
    lastState: Any = None


class _StatusHealth(msgspec.Struct, gc=False):
    phase: Any = None
    containerStatuses: list[_ContainerHealth] | None = None


class _Name(msgspec.Struct, gc=False):
    name: Any = msgspec.UNSET


class _Health(msgspec.Struct, gc=False):
    kind: Any = msgspec.UNSET
    metadata: _Name | None = None
    status: _StatusHealth | None = None


# What `ObjectReader._pod` reads of a pod, and nothing else (managedFields, volumes, conditions...).
class _PodMetadata(msgspec.Struct, gc=False):
    name: Any = msgspec.UNSET
    namespace: Any = msgspec.UNSET
    ownerReferences: Any = msgspec.UNSET


class _PodSpec(msgspec.Struct, gc=False):
    containers: Any = msgspec.UNSET


class _PodStatus(msgspec.Struct, gc=False):
    containerStatuses: Any = msgspec.UNSET
    reason: Any = msgspec.UNSET
    message: Any = msgspec.UNSET


_POD_PARTS: dict[str, msgspec.json.Decoder[Any]] = {
    "metadata": msgspec.json.Decoder(_PodMetadata),
    "spec": msgspec.json.Decoder(_PodSpec),
    "status": msgspec.json.Decoder(_PodStatus),
}
_PARTS_LIST = msgspec.json.Decoder(_PartsList)
_WHOLE_LIST = msgspec.json.Decoder(_WholeList)
_HEALTH = msgspec.json.Decoder(_Health)
_STATUS = msgspec.json.Decoder(_StatusHealth | None)
_NAME = msgspec.json.Decoder(_Name | None)
_ANY = msgspec.json.Decoder()
_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)


class _Item:
    """One item of the List: whether it is a healthy pod (and its name), and, when read, all of it."""

    def __init__(self, item: _Parts | msgspec.Raw) -> None:
        self.item = item

    def health(self) -> _Health | None:
        item = self.item
        try:
            if isinstance(item, msgspec.Raw):
                return _HEALTH.decode(item)
            metadata = _NAME.decode(item.metadata) if item.metadata else None
            status = _STATUS.decode(item.status) if item.status else None
        except _ERRORS:  # not shaped like a pod: read in full
            return None
        return _Health(item.kind, metadata, status)

    def whole(self, item_kind: str) -> Any:
        """The item decoded; of a pod, what the reader reads of it."""
        item = self.item
        if isinstance(item, msgspec.Raw):
            return _ANY.decode(item)
        whole: dict[str, Any] = {}
        for name in ("apiVersion", "kind"):
            if (value := getattr(item, name)) is not msgspec.UNSET:
                whole[name] = value
        pod = whole.get("kind", item_kind) == "Pod"
        for name in ("metadata", "spec", "status"):
            if part := getattr(item, name):
                whole[name] = _pod_part(name, part) if pod else _ANY.decode(part)
        return whole

    def text(self) -> str:
        item = self.item
        parts = [item] if isinstance(item, msgspec.Raw) else [item.metadata, item.spec, item.status]
        return "\n".join(bytes(part).decode("utf-8", errors="replace") for part in parts if part)


def _pod_part(name: str, part: msgspec.Raw) -> Any:
    try:
        fields = _POD_PARTS[name].decode(part)
    except msgspec.ValidationError:  # not an object: as it is
        return _ANY.decode(part)
    return {key: value for key, value in msgspec.structs.asdict(fields).items() if value is not msgspec.UNSET}


def read_large_list(data: bytes, ref: str, problems: list[str]) -> list[Fact] | None:
    """Facts from a List of more than LARGE_LIST items; None when `data` is not one (read as before)."""
    with _no_cyclic_gc():
        try:
            top: _PartsList | _WholeList = _PARTS_LIST.decode(data)
        except msgspec.ValidationError:  # an item with other keys than a pod's
            try:
                top = _WHOLE_LIST.decode(data)
            except _ERRORS:
                return None
        except msgspec.DecodeError:  # not JSON (a log)
            return None
        kind, items = top.kind, top.items
        if not (isinstance(kind, str) and kind.endswith("List")) or items is None or len(items) <= LARGE_LIST:
            return None
        return _read_items([_Item(item) for item in items], kind.removesuffix("List"), ref, problems)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Decoded JSON and facts hold no reference cycles; the collector would only rescan them
    again and again while they pile up (measured: it more than doubled the decoding time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_items(items: list[_Item], item_kind: str, ref: str, problems: list[str]) -> list[Fact]:
    facts: list[Fact] = []
    healthy_read: dict[str, int] = {}
    containers_read: dict[tuple[str, str], int] = {}  # healthy containers read, per workload and name
    summarised = pruned = repeated = 0
    seen: set[tuple[object, ...]] = set()
    for entry in items:
        health = entry.health()
        if health is not None and _healthy(health, item_kind):
            name = health.metadata.name if health.metadata else msgspec.UNSET
            workload = workload_of_pod("" if name is msgspec.UNSET else str(name))
            healthy_read[workload] = healthy_read.get(workload, 0) + 1
            if healthy_read[workload] > HEALTHY_PODS_READ:
                summarised += 1
                continue
        item = entry.whole(item_kind)
        if isinstance(item, dict) and "kind" not in item and item_kind:
            item = {**item, "kind": item_kind}
        if isinstance(item, dict) and item.get("kind") == "Pod":
            item, dropped = _without_known_healthy_containers(item, containers_read)
            pruned += dropped
        reader = ObjectReader(entry.text(), ref, "k8s-json", problems=problems, lines=False, seen=seen)
        facts.extend(reader.read(item))
        repeated += reader.repeated
    if summarised:
        problems.append(
            f"{NOTE}{summarised} healthy pods not read in detail ({HEALTHY_PODS_READ} per workload are)"
        )
    if pruned:
        problems.append(
            f"{NOTE}{pruned} healthy containers in pods read not read in detail "
            f"({HEALTHY_PODS_READ} per workload and container are)"
        )
    if repeated:
        problems.append(
            f"{NOTE}{repeated} images, env, probes and requests the same as in another pod of the workload not repeated"
        )
    return facts


def _healthy(item: _Health, item_kind: str) -> bool:
    """`kubernetes_objects._healthy_pod`, on the few fields decoded."""
    kind = (item_kind or None) if item.kind is msgspec.UNSET else item.kind
    status = item.status
    if kind != "Pod" or status is None or status.phase != "Running" or not status.containerStatuses:
        return False
    return all(s.ready is True and not s.restartCount and not s.lastState for s in status.containerStatuses)


def _without_known_healthy_containers(
    pod: dict[str, Any], read: dict[tuple[str, str], int]
) -> tuple[dict[str, Any], int]:
    """The pod without its healthy containers (ready, never restarted) of a workload of which
    HEALTHY_PODS_READ such containers of that name were read already: their spec is the same
    as those, and their status says nothing. Unusual shapes are left whole."""
    try:
        workload = workload_of_pod(str((pod.get("metadata") or {}).get("name", "")))
        status = pod.get("status") or {}
        statuses = status.get("containerStatuses") or []
        spec = pod.get("spec") or {}
        drop = set()
        for container in statuses:
            name = container.get("name")
            if not isinstance(name, str) or not (
                container.get("ready") is True
                and not container.get("restartCount")
                and not container.get("lastState")
            ):
                continue
            key = (workload, name)
            read[key] = read.get(key, 0) + 1
            if read[key] > HEALTHY_PODS_READ:
                drop.add(name)
        if not drop:
            return pod, 0
        kept_statuses = [c for c in statuses if c.get("name") not in drop]
        kept_containers = [c for c in spec.get("containers") or [] if c.get("name") not in drop]
        return {
            **pod,
            "spec": {**spec, "containers": kept_containers},
            "status": {**status, "containerStatuses": kept_statuses},
        }, len(drop)
    except (AttributeError, TypeError):
        return pod, 0
