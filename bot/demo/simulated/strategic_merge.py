"""Patches as the Kubernetes API server applies them to a Deployment or StatefulSet.

A JSON merge patch (RFC 7386) replaces lists whole. A strategic merge patch merges the lists the
API schema gives a merge key (`x-kubernetes-patch-merge-key`) item by item, matching items by that
key, and replaces the others whole. The merge key is the list's field name's, as in the API:
containers, volumes and env by `name`, ports by `containerPort`, volume mounts by `mountPath`.
`$patch`/`$retainKeys` directives are not spoken here.
"""

from __future__ import annotations

import copy
from typing import Any

# Field name of a list -> the key its items are merged by (core/v1 PodSpec and Container).
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "env": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "hostAliases": "ip",
}


def merge(current: Any, patch: Any, strategic: bool) -> Any:
    """`current` with `patch` applied; neither is changed."""
    return _merge(current, patch, strategic, None)


def _merge(current: Any, patch: Any, strategic: bool, field: str | None) -> Any:
    if isinstance(patch, dict):
        merged = copy.deepcopy(current) if isinstance(current, dict) else {}
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = _merge(merged.get(key), value, strategic, key)
        return merged
    key = MERGE_KEYS.get(field or "") if strategic else None
    if (
        key
        and isinstance(patch, list)
        and isinstance(current, list)
        and _keyed(patch, key)
        and _keyed(current, key)
    ):
        merged_list = copy.deepcopy(current)
        for item in patch:
            index = next((i for i, old in enumerate(merged_list) if old[key] == item[key]), None)
            if index is None:
                merged_list.append(copy.deepcopy(item))
            else:
                merged_list[index] = _merge(merged_list[index], item, strategic, None)
        return merged_list
    return copy.deepcopy(patch)


def _keyed(items: list[Any], key: str) -> bool:
    return all(isinstance(item, dict) and key in item for item in items)
