"""What a fix's parameters are made of: Redis eviction policies, and the checks and readers of
sizes, counts and names that `analyzers/remediation_params.py` builds its models from."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from enum import StrEnum

from analyzers.quantity import MI, parse_k8s_quantity

ParamsJson = Mapping[str, object]


class EvictionPolicy(StrEnum):
    """The values Redis accepts for `maxmemory-policy`."""

    NOEVICTION = "noeviction"
    ALLKEYS_LRU = "allkeys-lru"
    ALLKEYS_LFU = "allkeys-lfu"
    ALLKEYS_RANDOM = "allkeys-random"
    VOLATILE_LRU = "volatile-lru"
    VOLATILE_LFU = "volatile-lfu"
    VOLATILE_RANDOM = "volatile-random"
    VOLATILE_TTL = "volatile-ttl"


def whole_mib(value_bytes: float) -> int:
    """Bytes rounded up to a whole MiB, as `256Mi` spells them."""
    return math.ceil(value_bytes / MI) * MI


# Checks of a model's fields.


def check_name(name: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, not {value!r}")


def check_count(name: str, value: object, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, not {value!r}")


def check_whole_mib(name: str, value: object, minimum: int = 1) -> None:
    check_count(name, value, minimum)
    if isinstance(value, int) and value % MI:
        raise ValueError(f"{name} must be a whole number of MiB, not {value} bytes")


def check_policy(policy: object) -> None:
    if not isinstance(policy, EvictionPolicy):
        raise ValueError(f"policy must be an EvictionPolicy, not {policy!r}")


# Readers of the contract's spelling.


def only_keys(params: ParamsJson, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"unknown params {', '.join(unknown)} (expected {', '.join(allowed) or 'none'})")


def read_text(params: ParamsJson, key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} must be a non-empty string, not {value!r}")
    return value


def read_integer(params: ParamsJson, key: str) -> int:
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be a whole number, not {value!r}")
    return value


def read_bytes(key: str, text: str) -> int:
    amount = parse_k8s_quantity(text)
    if amount is None or not amount.is_integer():
        raise ValueError(f"{key} must be a Kubernetes memory quantity (256Mi), not {text!r}")
    return int(amount)


def read_millicores(key: str, text: str) -> int:
    cores = parse_k8s_quantity(text)
    millis = None if cores is None else round(cores * 1000)
    if cores is None or millis is None or abs(cores * 1000 - millis) > 1e-6:
        raise ValueError(f"{key} must be a Kubernetes CPU quantity (600m, 2), not {text!r}")
    return millis


def read_matched(key: str, text: str, pattern: re.Pattern[str]) -> str:
    found = pattern.fullmatch(text)
    if found is None:
        raise ValueError(f"{key} must look like {pattern.pattern}, not {text!r}")
    return found.group(1)


def read_policy(params: ParamsJson) -> EvictionPolicy:
    written = read_text(params, "policy")
    try:
        return EvictionPolicy(written)
    except ValueError:
        raise ValueError(f"policy must be one of {', '.join(EvictionPolicy)}, not {written!r}") from None
