"""Prometheus data: exposition text lines and `/api/v1/query[_range]` bodies."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from analyzers.evidence import Fact, Series, Source, Subject
from bot.readers.excerpts import RawText
from bot.readers.timestamps import from_epoch

_SAMPLE = re.compile(
    r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+]?(?:[0-9.]+(?:[eE][-+]?[0-9]+)?|NaN|Inf))(?:\s+(-?\d+(?:\.\d+)?))?\s*$"
)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')
# redis_exporter's own container/pod labels describe the exporter, not Redis.
_EXPORTER_PREFIXES = ("redis_",)


def subject_from_labels(name: str, labels: dict[str, str]) -> Subject:
    container = labels.get("container") or None
    if name.startswith(_EXPORTER_PREFIXES):
        container = None
    return Subject(
        namespace=labels.get("namespace") or None,
        pod=labels.get("pod") or None,
        container=container,
        workload=labels.get("service") if name.startswith(_EXPORTER_PREFIXES) else None,
        instance=labels.get("instance") or None,
    )


def parse_sample(line: str) -> tuple[str, dict[str, str], float, float | None] | None:
    match = _SAMPLE.match(line.split(" # ", 1)[0].strip())  # OpenMetrics exemplars follow ` # `
    if not match or match.group(1).endswith(":"):
        return None  # `cpu: 1` is YAML or describe output, not a sample
    labels = dict(_LABEL.findall(match.group(2) or ""))
    try:
        value = float(match.group(3))
    except ValueError:
        return None
    if not math.isfinite(value):
        return None  # NaN and ±Inf samples say nothing the analyzers can use
    # Prometheus text gives milliseconds; OpenMetrics gives seconds, with a fraction.
    stamp_text = match.group(4)
    stamp = (float(stamp_text) if "." in stamp_text else float(stamp_text) / 1000.0) if stamp_text else None
    return match.group(1), labels, value, stamp


def sample_fact(line: str, ref: str, line_number: int, context: Subject) -> Fact | None:
    parsed = parse_sample(line)
    if not parsed:
        return None
    name, labels, value, stamp = parsed
    subject = subject_from_labels(name, labels)
    if subject.pod is None and subject.namespace is None:
        subject = Subject(
            context.namespace,
            context.pod,
            subject.container,
            context.workload,
            subject.instance or context.instance,
        )
    series = Series(name, tuple(sorted(labels.items())), ((stamp, value),))
    source = Source("prometheus-text", ref, line.strip(), line_number)
    return Fact("metric", subject, series, source, key=name, at=from_epoch(stamp) if stamp else None)


_KNOWN_METRIC = re.compile(
    r"\b(container_memory_working_set_bytes|container_memory_rss|container_cpu_cfs_throttled_periods_total|"
    r"container_cpu_cfs_periods_total|container_cpu_usage_seconds_total|redis_memory_used_bytes|"
    r"redis_connected_clients|kube_pod_container_status_restarts_total|kube_pod_container_resource_limits)\b"
)


THROTTLED_RATIO = "cpu_cfs_throttled_ratio"


def metric_hint(text: str) -> str:
    """The metric an unnamed series most likely is, from the query or file that holds it."""
    if re.search(r"throttl", text, re.IGNORECASE) and re.search(
        r"ratio|share|percent|/", text, re.IGNORECASE
    ):
        return THROTTLED_RATIO  # throttled / periods: already the share the analyzer wants
    known = _KNOWN_METRIC.search(text)
    if known:
        return known.group(1)
    if re.search(r"working.?set|memory|\bwss\b|\brss\b", text, re.IGNORECASE):
        return "container_memory_working_set_bytes"
    return ""


def is_api_body(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("data"), dict) and "result" in obj["data"]


def api_facts(obj: Any, raw: RawText, ref: str, line_offset: int = 0, name_hint: str = "") -> Iterator[Fact]:
    """Series from a query API body, or from a bare list of `{metric, value(s)}`."""
    results = obj["data"]["result"] if is_api_body(obj) else obj
    if not isinstance(results, list):
        return
    cursor = 0
    for result in results:
        if not isinstance(result, dict) or not isinstance(result.get("metric"), dict):
            continue
        labels = {str(k): str(v) for k, v in result["metric"].items()}
        name = labels.pop("__name__", name_hint)
        raw_points = result.get("values") or ([result["value"]] if "value" in result else [])
        if not isinstance(raw_points, list):
            continue
        points: list[tuple[float | None, float]] = []
        for point in raw_points:
            try:
                stamp, value = float(point[0]), float(point[1])
            except (TypeError, ValueError, IndexError, OverflowError, KeyError):
                continue
            if math.isfinite(stamp) and math.isfinite(value):
                points.append((stamp, value))
        if not points:
            continue
        series = Series(name, tuple(sorted(labels.items())), tuple(points))
        peak_stamp, peak_value = max(points, key=lambda p: p[1])
        excerpt, position = _point_excerpt(raw, peak_stamp, peak_value, cursor)
        if position >= 0:
            cursor = position
        line = raw.line_number(position)
        source = Source("prometheus-api", ref, excerpt, None if line is None else line + line_offset)
        yield Fact("metric", subject_from_labels(name, labels), series, source, key=name)


def _point_excerpt(raw: RawText, stamp: float | None, value: float, start: int) -> tuple[str, int]:
    """The raw `[stamp, "value"]` pair of a point, as it is spelled in the body."""
    stamp_text = re.escape(f"{stamp:.3f}".rstrip("0").rstrip(".")) if stamp is not None else r"[0-9.]+"
    value_text = _number_pattern(value)
    pattern = re.compile(r"\[\s*" + stamp_text + r"(?:\.\d+)?\s*,\s*\"" + value_text + r"\"\s*\]")
    found = pattern.search(raw.raw, start) or pattern.search(raw.raw)
    if found:
        return found.group(0), found.start()
    return raw.find(value_text.replace("\\", ""))


def _number_pattern(value: float) -> str:
    if value == int(value):
        return re.escape(str(int(value))) + r"(?:\.0+)?"
    return re.escape(repr(value)[:10]) + r"[0-9]*"
