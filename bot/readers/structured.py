"""Whole structured texts: JSON and Kubernetes or Helm YAML files, decoded as a whole."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from typing import Any

import yaml

from analyzers.evidence import (
    Fact,
    Source,
    Subject,
)
from bot.readers.excerpts import RawText
from bot.readers.fragments import (
    is_prose,
)
from bot.readers.kubernetes_objects import NOTE, ObjectReader
from bot.readers.prometheus import api_facts, is_api_body, metric_hint

BULK_THRESHOLD = 4 * 2**20  # above this a text is a log: read in bulk, never parsed whole
YAML_SNIFF = 64 * 2**10
MAX_FLAT_VALUES = 20_000  # leaves of one YAML file read as values


def _whole_structured(text: str, ref: str, problems: list[str]) -> list[Fact] | None:
    """A whole file of JSON or Kubernetes/Helm YAML; None when it is not one."""
    stripped = text.lstrip()
    if stripped[:1] in "{[":
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):
            return None
        if isinstance(obj, dict) and not _is_k8s_or_metrics(obj) and "limits" not in obj:
            return None  # one JSON log record: the line reader takes it
        return list(_structured_facts(obj, text, ref, 0, Subject(), "k8s-json", problems=problems))
    if text[:1] in " \t" and len(text) <= BULK_THRESHOLD:
        text = textwrap.dedent(text)  # values pasted indented, as they sat under a parent key
    # A huge text is sniffed by its top only: a YAML document shows its first key (and a prompt) there.
    if not _might_be_yaml(text if len(text) <= BULK_THRESHOLD else text[:YAML_SNIFF]):
        return None
    if len(text) <= BULK_THRESHOLD and _repeats_a_top_level_key(text):
        return None  # `Reporter: ...` twice: lines someone wrote, which a mapping would collapse to the last
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except (yaml.YAMLError, ValueError, RecursionError):
        return None
    if not documents or not all(isinstance(d, dict) for d in documents):
        return None
    if all(isinstance(v, str) for d in documents for v in d.values()) and any(
        is_prose(v) for d in documents for v in d.values()
    ):
        return None  # `Reporter: "the pods are OOMKilled at ..."`: notes, read line by line
    if any(
        _MESSAGE_KEY.match(str(k)) or (_CLASS_NAME.match(str(k)) and len(v.split()) >= 3)
        for d in documents
        for k, v in d.items()
        if isinstance(v, str)
    ):
        return None  # `Error: secret "x" not found`, `CreateContainerConfigError: ...`: messages, not values
    facts: list[Fact] = []
    budget = [MAX_FLAT_VALUES]  # for the whole file: aliases may expand without bound
    for document in documents:
        pod = document if "kind" in document and "apiVersion" in document else _bare_pod_status(document)
        if pod is not None:
            facts.extend(ObjectReader(text, ref, "k8s-yaml", problems=problems).read(pod))
        else:
            facts.extend(_helm_values(document, text, ref, budget))
    if budget[0] <= 0:
        problems.append(
            f"{NOTE}values past the first {MAX_FLAT_VALUES} skipped (YAML aliases or a huge file)"
        )
    return facts


# A "key" that is a level or a reason: the line is a message someone pasted, not a setting.
_MESSAGE_KEY = re.compile(
    r"^(?:[\w:.]*(?:Error|Exception|BackOff)|Warning|Fatal|Panic|Caused by|Traceback|Failed\w*)$"
)
_CLASS_NAME = re.compile(
    r"^(?:[\w.]+(?:::|\.))?(?:[A-Z][a-z0-9]+){2,}$"
)  # `InvalidConfiguration`, `Redis::X`


def _repeats_a_top_level_key(text: str) -> bool:
    """A key that starts two lines of one YAML document (documents split by `---`)."""
    for document in re.split(r"^---\s*$", text, flags=re.MULTILINE):
        keys = re.findall(r"^([A-Za-z_][\w.-]*):", document, re.MULTILINE)
        if len(keys) != len(set(keys)):
            return True
    return False


def _might_be_yaml(head: str) -> bool:
    return not re.search(r"^\$ ", head, re.MULTILINE) and bool(
        re.search(r"^[A-Za-z_][\w-]*:", head, re.MULTILINE)
    )


def might_be_structured(data: bytes) -> bool:
    """Whether a huge input may be one JSON or YAML document (decoded whole), not a log (by its top).

    A log of JSON lines starts with a whole object on its first line and goes on below it; a log
    whose lines start with a bracketed time (`[2025-03-04 10:00:01]`, `[10:00:01]`) is a log."""
    if re.match(rb"\s*\[\d{2,4}[-/:]", data):
        return False
    if re.match(rb"\s*[\[{]", data):
        end = data.find(b"\n", 0, YAML_SNIFF)
        try:
            more = end > 0 and data[end : end + YAML_SNIFF].strip()
            first = json.loads(data[:end]) if more else None
        except (ValueError, RecursionError):
            first = None
        return not isinstance(first, dict)
    return _might_be_yaml(data[:YAML_SNIFF].decode("utf-8", errors="replace"))


_POD_STATUS_KEYS = {"phase", "containerStatuses", "conditions", "reason", "qosClass", "hostIP", "startTime"}


def _bare_pod_status(document: dict[str, Any]) -> dict[str, Any] | None:
    """A pod's `status:` (or its inside) pasted without `kind`: read as the Pod it belongs to."""
    status = document.get("status") if isinstance(document.get("status"), dict) else document
    if not isinstance(status, dict) or len(_POD_STATUS_KEYS & set(status)) < 2:
        return None
    metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "status": status}


def _structured_facts(
    obj: Any,
    raw: str,
    ref: str,
    line_offset: int,
    context: Subject,
    kind: str,
    hint: str = "",
    problems: list[str] | None = None,
) -> Iterator[Fact]:
    if is_api_body(obj) or (
        isinstance(obj, list) and obj and isinstance(obj[0], dict) and "metric" in obj[0]
    ):
        # A query result names no metric when the query aggregated it away; the query or file may.
        yield from api_facts(obj, RawText(raw), ref, line_offset, metric_hint(hint or ref))
    else:
        yield from ObjectReader(raw, ref, kind, line_offset, problems).read(obj, context)


def _helm_values(
    document: dict[str, Any], raw: str, ref: str, budget: list[int] | None = None
) -> Iterator[Fact]:
    text = RawText(raw)
    from bot.readers.redis_text import redis_conf_facts

    for path, value in _flatten(document, budget=[MAX_FLAT_VALUES] if budget is None else budget):
        if isinstance(value, str) and "\n" in value:
            yield from redis_conf_facts(value, text, ref, Subject())
            continue
        leaf = path.rsplit(".", 1)[-1]
        excerpt, position = text.find(leaf, _yaml_scalar(value))
        if excerpt:
            source = Source("helm-values", ref, excerpt, text.line_number(position))
            yield Fact("helm.value", Subject(), _yaml_scalar(value), source, key=path)
    for comment in re.finditer(r"^\s*#\s*(.+)$", raw, re.MULTILINE):
        note = comment.group(1).strip()
        yield Fact(
            "text.note", Subject(), note, Source("helm-values", ref, note, text.line_number(comment.start()))
        )


def _flatten(node: Any, prefix: str = "", budget: list[int] | None = None) -> Iterator[tuple[str, Any]]:
    """`(dotted.path, value)` of every leaf; at most `budget[0]` of them (spent as they go), so a
    few hundred bytes of YAML aliases (a "billion laughs") cannot expand to billions of values."""
    budget = [MAX_FLAT_VALUES] if budget is None else budget
    if budget[0] <= 0:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key), budget)
    elif isinstance(node, list):
        for index, value in enumerate(node[:50]):
            yield from _flatten(value, f"{prefix}[{index}]", budget)
    else:
        budget[0] -= 1
        yield prefix, node


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _is_k8s_or_metrics(obj: dict[str, Any]) -> bool:
    return "kind" in obj or is_api_body(obj) or "metric" in obj or "terminated" in obj or "waiting" in obj
