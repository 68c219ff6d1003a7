"""Sizes and CPU amounts: Kubernetes quantities, Redis sizes, and back."""

from __future__ import annotations

import math
import re

MI = 2**20
GI = 2**30

_K8S_SUFFIX = {
    "": 1.0,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
    "m": 1e-3,
}
_REDIS_SUFFIX = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 10**6, "mb": MI, "g": 10**9, "gb": GI}
_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)\s*([A-Za-z]*)\s*$")


def parse_k8s_quantity(text: str) -> float | None:
    """`64Mi` -> 67108864.0, `250m` -> 0.25, `2` -> 2.0; None when it is not one."""
    match = _QUANTITY.match(text.strip().strip('"'))
    if not match or match.group(2) not in _K8S_SUFFIX:
        return None
    return float(match.group(1)) * _K8S_SUFFIX[match.group(2)]


def parse_redis_size(text: str) -> float | None:
    """Redis sizes: `3gb` -> 3 GiB, `900mb`, plain bytes; None when it is not one."""
    match = _QUANTITY.match(text.strip().strip('"'))
    if not match:
        return None
    unit = match.group(2).lower()
    if unit not in _REDIS_SUFFIX:
        return None
    return float(match.group(1)) * _REDIS_SUFFIX[unit]


def parse_human_bytes(text: str) -> float | None:
    """`97Mi`, `1.11G` (Redis *_human), `512MiB`, `1536m` (JVM) as bytes."""
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B?|b)?\s*$", text.strip(), re.IGNORECASE)
    if not match:
        return None
    power = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4}[match.group(2).upper()]
    return float(match.group(1)) * 1024.0**power


def round_up(value: float, step: float) -> float:
    return math.ceil(value / step) * step


def format_mi(value_bytes: float) -> str:
    """Bytes as a Kubernetes quantity in Mi (or Gi when whole): `256Mi`, `2Gi`."""
    mib = math.ceil(value_bytes / MI)
    if mib % 1024 == 0:
        return f"{mib // 1024}Gi"
    return f"{mib}Mi"


def format_redis_mb(value_bytes: float) -> str:
    """Bytes as a Redis size in mb (1mb = 1 MiB): `192mb`."""
    return f"{math.floor(value_bytes / MI)}mb"


def format_cpu(cores: float) -> str:
    """Cores as a Kubernetes CPU quantity: `600m`, `2`."""
    return format_millicores(round(cores * 1000))


def format_millicores(millis: int) -> str:
    """Millicores as a Kubernetes CPU quantity: 600 -> `600m`, 2000 -> `2`."""
    if millis % 1000 == 0:
        return str(millis // 1000)
    return f"{millis}m"


def human_bytes(value: float) -> str:
    for unit, size in (("Gi", GI), ("Mi", MI), ("Ki", 1024)):
        if value >= size:
            return f"{value / size:.1f}{unit}".replace(".0" + unit, unit)
    return f"{value:.0f}B"


def duration_seconds(text: str) -> float:
    """`4h37m`, `92s`, `12d`, `2d4h` (kubectl ages) as seconds; 0 when there is none."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "y": 31536000}
    return float(sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smhdy])", text)))
