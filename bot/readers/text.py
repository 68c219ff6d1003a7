"""The reader for pasted text: any mix of kubectl, metrics, config and logs.

One pass over the lines keeps a little context (the last shell command, the
describe section, the table header) so that each line can be read for what it
is even when indentation and headings were lost on the way through a chat.
Structured blocks (JSON, Kubernetes YAML) are decoded where they start.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections import Counter
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from analyzers.evidence import (
    EventRecord,
    Fact,
    FactKind,
    FactValue,
    LogRecord,
    ReplicaSetInfo,
    Source,
    Subject,
)
from analyzers.quantity import duration_seconds, parse_human_bytes, parse_k8s_quantity
from bot.readers.commands import Command, match_prompt, parse_command
from bot.readers.excerpts import RawText
from bot.readers.fragments import (
    df_row,
    get_event_row,
    get_pod_row,
    is_prose,
    loose_event,
    said_probe_kills,
    stated_memory_limit,
    stated_memory_request,
    unwrap,
)
from bot.readers.kubernetes_objects import NOTE, ObjectReader, workload_of_pod, workload_of_replicaset
from bot.readers.log_budget import BUDGET, SEVERE_WORDS, select
from bot.readers.prometheus import api_facts, is_api_body, metric_hint, sample_fact
from bot.readers.redis_text import INFO_MARKERS, INFO_SECTIONS, parse_directive, parse_info_line
from bot.readers.tables import Table, is_header
from bot.readers.timestamps import parse_describe_time, parse_log_time

# Words that mark an incident line in a huge log (lower case), and ordinary trouble after them.
BULK_CRITICAL = (
    *SEVERE_WORDS,
    "redis version=",
    "running mode=",
    "overcommit",
    "copy-on-write",
    "fork cow",
)
BULK_GENERAL = (
    "error",
    "warn",
    "refused",
    "timeout",
    "timed out",
    "deadline exceeded",
    "slow",
    "exception",
    "killed",
    "evict",
    "unavailable",
    "reset by peer",
    "denied",
    "not found",
    "exhausted",
)
BULK_THRESHOLD = 4 * 2**20
BULK_HEAD = 256 * 2**10
YAML_SNIFF = 64 * 2**10
MAX_FLAT_VALUES = 20_000  # leaves of one YAML file read as values
MAX_LINE_CHARS = 2**20  # the line readers' regular expressions see at most this much of a line

LOG_TRIGGER = re.compile(
    r"error|warn|fatal|panic|exception|fail|refused|reset by peer|timeout|timed out|deadline|\boom\b|"
    r"out of ?memory|outofmemory|killed|fork|cannot allocate|no space left|max number of clients|slow|"
    r"latency|unhealthy|probe|denied|forbidden|not set|missing|not found|evict|overcommit|saving|"
    r"db saved|copy-on-write|fork cow|bgsave|ready to accept|redis version=|version=|sigterm|shutdown|"
    r"signal|heap|-xmx|rehydrat|cold|run_id|pool|exhausted|unavailable|rejected|too many|mode=|required|\bgc\(|pause|"
    r"flag provided|unknown (?:shorthand )?flag|unrecognized option|bad directive|wrong number of arguments|^>>> '|"
    r"not met|no such host|name or service not known|could not translate host|loading|could not connect|"
    r"cannot connect|is the server running|disk|quota|not allowed|maxmemory",
    re.IGNORECASE,
)
_COLLECTOR_PREFIX = re.compile(r"^\[([^\]]{8,40})\]\s+([\w.-]+)\s+\|\s?(.*)$")
_LEVEL = re.compile(
    r'level=(\w+)|"level"\s*:\s*"?(\w+)"?|\b(FATAL|ERROR|WARN(?:ING)?|INFO|DEBUG)\b|\[\s*(error|warn|info)\]'
)
_DESCRIBE_KEY = re.compile(r"^\s*([A-Z][A-Za-z]+(?: [A-Za-z]+)*):(?:\s+(.*?))?\s*$")
_RESOURCE_LINE = re.compile(r"^\s*(cpu|memory|ephemeral-storage):\s+(\S+)\s*$")
_ENV_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*):\s+(.*?)\s*$")
_CONTAINER_NAME = re.compile(r"^\s*([a-z0-9][a-z0-9.-]*):\s*$")
_YAML_LINE = re.compile(r"^(\s*)([A-Za-z_][\w.-]*):(?:\s+(.*?))?\s*$")
_REDIS_REPLY = re.compile(r'^(?:\d+\)\s+)?(?:"(.*)"|\(integer\) (-?\d+)|\(nil\)|(.+))$')
_POD_PREFIX = re.compile(r"^\[?(?:pod/)?([a-z0-9][a-z0-9.-]*-[a-z0-9]+)[ /]+([a-z0-9][a-z0-9-]*)\]?\s")
_EVENT_ROW = re.compile(
    r"^(Normal|Warning)\s+([A-Z][A-Za-z]+)\s+(\S+(?:\s+\(x\d+ over [^)]+\))?)\s+"
    r"(kubelet(?:, [\w.-]+)?|\{kubelet [\w.-]+\}|default-scheduler|[a-z][\w-]*-controller|[a-z][\w.-]*)\s+(.+)$"
)
_LOG_WORD_KEY = re.compile(r"^(?:\w*(?:Error|Exception)|Warning|Fatal|Panic|Caused by|Traceback)$")
_NODE_CONDITION = re.compile(r"^\s*(MemoryPressure|DiskPressure|PIDPressure)\s+(True|False|Unknown)\s")
_DESCRIBE_SECTIONS = {
    "Containers",
    "Init Containers",
    "Conditions",
    "Volumes",
    "Events",
    "Labels",
    "Annotations",
}


@dataclass
class _State:
    """What the lines above tell about the line being read."""

    ref: str
    command: Command | None = None
    subject: Subject = field(default_factory=Subject)
    describe_section: str = ""
    describe_kind: str = ""
    container: str | None = None
    state_block: str = ""  # "state" or "last" (kubectl describe)
    resource_block: str = ""  # "limits" or "requests"
    in_environment: bool = False
    table: Table | None = None
    in_info: bool = False
    redis_replies: list[tuple[str, int, str]] = field(default_factory=list)
    yaml_parents: list[tuple[int, str]] = field(default_factory=list)
    last_yaml_leaf: bool = False
    recent: list[str] = field(default_factory=list)
    logs_aggregated: int = 0
    logs_skipped: int = 0
    kinds: Counter[str] = field(default_factory=Counter)


def read_text(
    text: str, ref: str, about: Subject | None = None
) -> tuple[list[Fact], Counter[str], int, list[str]]:
    """Facts from a text, facts per artifact kind, parts not understood, and notes on the reading."""
    problems: list[str] = []
    structured = None if about else _whole_structured(text, ref, problems)
    if structured is not None:
        kinds: Counter[str] = Counter(f.source.kind for f in structured)
        return structured, kinds, *_split_notes(problems)
    scanner = _Scanner(text, ref, about)
    facts = list(scanner.scan())
    unread, notes = _split_notes(scanner.problems)
    return facts, scanner.state.kinds, scanner.unread + unread, notes


def _split_notes(problems: list[str]) -> tuple[int, list[str]]:
    notes = [p.removeprefix(NOTE) for p in problems if p.startswith(NOTE)]
    return len(problems) - len(notes), notes


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
    head = text if len(text) <= BULK_THRESHOLD else text[:YAML_SNIFF]
    if re.search(r"^\$ ", head, re.MULTILINE) or not re.search(r"^[A-Za-z_][\w-]*:", head, re.MULTILINE):
        return None
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


# A line a program wrote (a time stamp, a level, a Redis `1:M` prefix), not a person.
_LOG_SHAPE = re.compile(r"^(?:\[?\d{4}-\d\d-\d\d|\d+:[MCSX] |\[?\d\d:\d\d|I\d{4}|[EWIF]\d{4} |level=|\{)")
# What programs put in their lines and people do not: levels, key=value pairs, stack frames.
_PROGRAM_WORDS = re.compile(r"\b(?:ERROR|WARN(?:ING)?|INFO|DEBUG|TRACE|FATAL)\b|\w=\S|\bat [\w.$]+\(|^\s*File \"")
Claim = list[Fact] | None  # what a line reader makes of a line: None when it does not claim it

# The line readers, tried in this order; the first that claims a line reads it (a claim may yield no
# fact: a header, a section title). The order is the reasoning: context first, then the shapes that
# are unmistakable, then the ones that would swallow others' lines if tried earlier.
LINE_READERS: tuple[tuple[str, str, str], ...] = (
    ("blank", "_read_blank", "an empty line ends a table and a YAML block"),
    ("prompt", "_read_prompt", "`$ kubectl ...` says what the lines after it are; it must be seen first"),
    (
        "jsonpath",
        "_read_jsonpath",
        "`name 320Mi` only means a limit under a jsonpath prompt that asks for one",
    ),
    (
        "redis-reply",
        "_read_redis_reply",
        'redis-cli replies (`1) "maxmemory"`) only under a redis-cli prompt',
    ),
    ("logs-banner", "_read_logs_banner", "kubectl's `Found N pods, using pod/x` names the pod of the logs"),
    ("table-row", "_read_table_row", "inside a table the header decides; before fragments guess"),
    ("fragment", "_read_fragment", "rows without a header, df rows, lone event messages: by their cells"),
    ("table-header", "_read_table_header", "an upper-case header row starts a table"),
    ("info-section", "_read_info_section", "`# Memory`: INFO section titles, before headings take `#` lines"),
    ("info-field", "_read_info_field", "`used_memory:123`: INFO fields, before YAML takes `key:` lines"),
    ("metric", "_read_metric_sample", "`name{labels} value`: exposition samples"),
    ("describe-event", "_read_describe_event", "`Warning Unhealthy 3m kubelet ...`: describe's event rows"),
    ("node-condition", "_read_node_condition", "`MemoryPressure True`: node conditions"),
    ("describe", "_read_describe", "`Key:  value` of kubectl describe, with its sections and containers"),
    ("heading", "_read_heading", "`## Logs`, `Artifact 2:`: prose that starts a new artifact"),
    ("redis-directive", "_read_redis_directive", "`maxmemory 0`: redis.conf, only with a plausible value"),
    ("yaml", "_read_yaml", "`key: value` left: Helm values, indented or not (never a sentence)"),
    ("log", "_read_log", "whatever else holds a trigger word is a log line; a sentence may state a limit"),
)


class _Scanner:
    def __init__(self, text: str, ref: str, about: Subject | None = None) -> None:
        self.text = text
        # A huge log is not split into a million lines: only its head is read line by line.
        self.lines = text.splitlines() if len(text) <= BULK_THRESHOLD else text[: BULK_HEAD * 2].splitlines()
        self.about = about or Subject()
        self.state = _State(ref, subject=self.about, container=self.about.container)
        self.unread = 0
        self.claimed = False  # whether a line reader claimed the last line read
        self.problems: list[str] = []
        self.lines_cut = 0

    # -- driver ----------------------------------------------------------------
    def scan(self) -> Iterator[Fact]:
        if len(self.text) > BULK_THRESHOLD:
            yield from self._scan_bulk()
        else:
            yield from self._within_budget(list(self._scan_lines(0, len(self.lines))))
        state = self.state
        if self.lines_cut:
            self.problems.append(
                f"{NOTE}{self.lines_cut} line(s) longer than {MAX_LINE_CHARS} characters read up to that, the rest skipped"
            )
        if state.logs_aggregated:
            self.problems.append(
                f"{NOTE}{state.logs_aggregated} repeated log line(s) counted into the newest of their kind"
            )
        if state.logs_skipped:
            self.problems.append(
                f"{NOTE}{state.logs_skipped} older routine log line(s) past the {BUDGET}-line budget skipped"
            )

    def _within_budget(self, facts: list[Fact]) -> list[Fact]:
        """All facts but the log lines past the budget (see log_budget)."""
        logs = [index for index, fact in enumerate(facts) if fact.kind == "log"]
        if len(logs) <= BUDGET:
            return facts
        selection = select([facts[i].source.excerpt for i in logs])
        self.state.logs_aggregated += selection.aggregated
        self.state.logs_skipped += selection.skipped
        keep = {logs[k.index]: k for k in selection.kept}
        kept: list[Fact] = []
        for index, fact in enumerate(facts):
            if fact.kind != "log":
                kept.append(fact)
            elif index in keep:
                choice = keep[index]
                if choice.count > 1 and isinstance(fact.value, LogRecord):
                    first = facts[logs[choice.first]] if choice.first is not None else None
                    record = replace(fact.value, count=choice.count, first_at=first.at if first else None)
                    fact = replace(fact, value=record)
                kept.append(fact)
        return kept

    def _scan_lines(self, first: int, end: int) -> Iterator[Fact]:
        index = first
        while index < end:
            line = self.lines[index]
            consumed = yield from self._structured_at(index)
            if consumed:
                index += consumed
                continue
            if len(line) > MAX_LINE_CHARS:  # the line readers see its start (JSON above sees it whole)
                line = line[:MAX_LINE_CHARS]
                self.lines_cut += 1
            produced = list(self._line(unwrap(line), index + 1))
            if not produced and line.strip():
                self.state.recent = [*self.state.recent[-7:], line]  # a query or a title before a result
                if not self.claimed and not self._is_context_line(line):
                    self.unread += 1
            yield from produced
            index += 1
        yield from self._flush_redis_replies()

    def _scan_bulk(self) -> Iterator[Fact]:
        """Huge inputs are logs: read the head fully, then only the lines that matter."""
        head_end = self.text.find("\n", BULK_HEAD)
        head_lines = min(
            self.text.count("\n", 0, head_end) if head_end > 0 else len(self.lines), len(self.lines)
        )
        yield from self._within_budget(list(self._scan_lines(0, head_lines)))
        if head_end < 0:
            return
        spans = self._interesting_lines(head_end)
        spans = [(begin, min(end, begin + MAX_LINE_CHARS)) for begin, end in spans]  # a line's start
        selection = select([self.text[begin:end] for begin, end in spans])
        self.state.logs_aggregated += selection.aggregated
        self.state.logs_skipped += selection.skipped
        line_number, counted_to = head_lines, head_end
        for kept in selection.kept:
            begin, end = spans[kept.index]
            line_number += self.text.count("\n", counted_to, begin)
            counted_to = begin
            fact = self._log_line(self.text[begin:end], line_number + 1, found_by_keyword=True)
            if fact is None:
                continue
            if kept.count > 1 and isinstance(fact.value, LogRecord) and kept.first is not None:
                first_begin, first_end = spans[kept.first]
                first_at = parse_log_time(self.text[first_begin:first_end])
                fact = replace(fact, value=replace(fact.value, count=kept.count, first_at=first_at))
            yield fact

    def _interesting_lines(self, start: int) -> list[tuple[int, int]]:
        """(begin, end) of the lines after `start` that hold a keyword, found by plain substring search.

        A regex alternation reads a few MB/s; `str.find` per keyword reads GB/s. Every such line
        is returned: which of them become facts is decided by their shape (log_budget).
        """
        text = self.text
        lowered = text.lower() if text.isascii() else None  # lower() keeps offsets only for ASCII
        if lowered is None:
            return sorted({self._line_around(m.start()) for m in LOG_TRIGGER.finditer(text, start)})
        found: dict[int, int] = {}
        for keyword in (*BULK_CRITICAL, *BULK_GENERAL):
            self._collect(lowered, keyword, start, found)
        return sorted(found.items())

    def _collect(self, lowered: str, keyword: str, start: int, found: dict[int, int]) -> None:
        position = lowered.find(keyword, start)
        while position >= 0:
            begin, end = self._line_around(position)
            found[begin] = end
            position = lowered.find(keyword, end)

    def _line_around(self, position: int) -> tuple[int, int]:
        begin = self.text.rfind("\n", 0, position) + 1
        end = self.text.find("\n", position)
        return begin, len(self.text) if end < 0 else end

    # -- structured blocks ---------------------------------------------------------
    def _structured_at(self, index: int) -> Generator[Fact, None, int]:
        """Decode a JSON or YAML block starting at line `index`; return lines consumed."""
        line = self.lines[index]
        stripped = line.strip()
        if stripped.startswith(("{", "[")) and not stripped.startswith("[20"):
            return (yield from self._json_at(index))
        if stripped.startswith("apiVersion:") or (
            stripped.startswith(("kind:", "data:")) and self._command_wants_yaml()
        ):
            return (yield from self._yaml_at(index))
        return 0

    def _json_at(self, index: int) -> Generator[Fact, None, int]:
        stripped = self.lines[index].strip()
        try:
            single = json.loads(stripped)
        except (ValueError, RecursionError):
            single = None
        if isinstance(single, dict) and not _is_k8s_or_metrics(single) and "limits" not in single:
            return 0  # a JSON log line: read as a log line
        offset = sum(len(line) + 1 for line in self.lines[:index])
        offset += len(self.lines[index]) - len(self.lines[index].lstrip())
        decoder = json.JSONDecoder()
        position = offset
        decoded_any = False
        decoded_count = 0
        consumed_to = offset
        while position < len(self.text):
            try:
                obj, end = decoder.raw_decode(self.text, position)
            except (ValueError, RecursionError):
                break
            decoded_any = True
            raw = self.text[position:end]
            context = self.state.subject
            if decoded_count:  # `{...} {...}`: one object per container, the first is the main one
                context = replace(context, container=f"#{decoded_count + 1}")
            decoded_count += 1
            kind = "prometheus-api" if is_api_body(obj) else "k8s-json"
            command = self.state.command.text if self.state.command else ""
            command += "\n" + "\n".join(self.state.recent)
            try:
                facts = list(
                    _structured_facts(obj, raw, self.state.ref, index, context, kind, command, self.problems)
                )
            except RecursionError:
                facts = []
                self.problems.append("a structure nested too deeply was skipped")
            self.state.kinds[kind] += 1 if facts else 0
            yield from facts
            consumed_to = end
            position = end
            while position < len(self.text) and self.text[position] in " \t":
                position += 1
            if position >= len(self.text) or self.text[position] not in "{[":
                break
        if not decoded_any:
            return 0
        self.state.recent = []
        lines_consumed = self.text.count("\n", offset, consumed_to) + 1
        rest = self.text[
            consumed_to : self.text.find("\n", consumed_to) if "\n" in self.text[consumed_to:] else None
        ]
        if rest.strip():
            # `{...}$ kubectl ...`: a prompt glued to the end of the output
            self._maybe_command(rest.strip())
        return lines_consumed

    def _yaml_at(self, index: int) -> Generator[Fact, None, int]:
        end = index + 1
        while end < len(self.lines) and match_prompt(self.lines[end]) is None:
            end += 1
        block = "\n".join(self.lines[index:end])
        try:
            document = yaml.safe_load(block)
        except (yaml.YAMLError, ValueError, RecursionError):
            return 0
        if not isinstance(document, dict):
            return 0
        facts = list(
            ObjectReader(block, self.state.ref, "k8s-yaml", index, self.problems).read(
                document, self.state.subject
            )
        )
        self.state.kinds["k8s-yaml"] += 1
        yield from facts
        return end - index

    def _command_wants_yaml(self) -> bool:
        command = self.state.command
        return command is not None and "-o yaml" in command.text

    # -- one line ----------------------------------------------------------------
    def _is_context_line(self, line: str) -> bool:
        stripped = line.strip()
        return bool(
            match_prompt(line)
            or stripped.startswith(("#", "---", "```"))
            or re.fullmatch(r"[-=\s]+", stripped)
        )

    def _maybe_command(self, line: str) -> bool:
        command_text = match_prompt(line)
        if command_text is None:
            return False
        interactive = bool(re.match(r"^\s*(?:\d{1,3}\.){3}\d{1,3}:\d+>", line))
        command = parse_command(command_text, interactive_redis=interactive)
        if interactive:
            previous = self.state.command
            if (previous is not None and previous.verb == "redis") or previous is not None:
                command = replace(command, subject=previous.subject)
        self._start_block(command)
        return True

    def _start_block(self, command: Command) -> None:
        state = self.state
        state.command = command
        # A prompt that names nothing (`$ redis-cli INFO`) keeps what the caller said the text is about.
        state.subject = command.subject if command.subject != Subject() else self.about
        state.describe_section = ""
        state.describe_kind = command.resource if command.verb == "describe" else ""
        state.container = command.subject.container
        state.state_block = state.resource_block = ""
        state.in_environment = False
        state.table = None
        state.in_info = command.redis_command.startswith("INFO")
        state.recent = []
        state.yaml_parents = []

    def _line(self, line: str, number: int) -> Iterator[Fact]:
        """The first reader in LINE_READERS that claims the line reads it; the rest never see it."""
        stripped = line.strip()
        self.claimed = True
        for _, method, _ in LINE_READERS:
            claimed = getattr(self, method)(line, stripped, number)
            if claimed is not None:
                yield from claimed
                return
        self.claimed = False

    # -- line readers, in the order of LINE_READERS; each returns None when it does not claim the line --
    def _read_blank(self, line: str, stripped: str, number: int) -> Claim:
        if stripped:
            return None
        self.state.table = None
        self.state.yaml_parents = []
        return []

    def _read_prompt(self, line: str, stripped: str, number: int) -> Claim:
        return list(self._flush_redis_replies()) if self._maybe_command(line) else None

    def _read_jsonpath(self, line: str, stripped: str, number: int) -> Claim:
        limit = self._jsonpath_limit(stripped, number)
        return None if limit is None else [limit]

    def _read_redis_reply(self, line: str, stripped: str, number: int) -> Claim:
        return list(self._redis_reply(stripped, number)) if self._is_redis_reply(stripped) else None

    def _read_logs_banner(self, line: str, stripped: str, number: int) -> Claim:
        if not (stripped.startswith("Found ") and "using pod/" in stripped):
            return None
        pod = stripped.split("using pod/", 1)[1].split()[0]
        state = self.state
        state.subject = replace(
            state.subject, pod=pod, workload=state.subject.workload or workload_of_pod(pod)
        )
        return []

    def _read_table_row(self, line: str, stripped: str, number: int) -> Claim:
        state = self.state
        if state.table is None:
            return None
        if re.fullmatch(r"[-\s]+", stripped):
            return []
        facts = list(self._table_row(line, number))
        if facts:
            return facts
        state.table = None  # a row that names nothing: the table ended, the line is something else
        return None

    def _read_fragment(self, line: str, stripped: str, number: int) -> Claim:
        facts = list(self._fragment(stripped, number))
        return facts or None

    def _read_table_header(self, line: str, stripped: str, number: int) -> Claim:
        if not is_header(line):
            return None
        self.state.table = Table(line)
        self.state.kinds["kubectl-table"] += 1
        return []

    def _read_info_section(self, line: str, stripped: str, number: int) -> Claim:
        if not (stripped.startswith("# ") and stripped[2:].strip().lower() in INFO_SECTIONS):
            return None
        self.state.in_info = True
        self.state.kinds["redis-info"] += 1
        return []

    def _read_info_field(self, line: str, stripped: str, number: int) -> Claim:
        state = self.state
        info = parse_info_line(stripped) if (state.in_info or ":" in stripped) else None
        if not info or not (state.in_info or info[0] in INFO_MARKERS):
            return None
        state.in_info = True
        state.kinds["redis-info"] += 1
        return [self._fact("redis.info", info[1], stripped, number, "redis-info", key=info[0])]

    def _read_metric_sample(self, line: str, stripped: str, number: int) -> Claim:
        state = self.state
        sample = sample_fact(stripped, state.ref, number, state.subject) if stripped[0].isalpha() else None
        if sample is None:
            return None
        state.kinds["prometheus-text"] += 1
        return [sample]

    def _read_describe_event(self, line: str, stripped: str, number: int) -> Claim:
        event = _EVENT_ROW.match(stripped)
        if not event:
            return None
        cells = dict(zip(("TYPE", "REASON", "AGE", "FROM", "MESSAGE"), event.groups(), strict=True))
        return list(self._event_row(cells, stripped, number, self.state.subject.namespace))

    def _read_node_condition(self, line: str, stripped: str, number: int) -> Claim:
        condition = _NODE_CONDITION.match(line)
        if not condition:
            return None
        return [
            self._fact(
                "node.condition",
                condition.group(2),
                stripped,
                number,
                "kubectl-describe",
                key=condition.group(1),
            )
        ]

    def _read_describe(self, line: str, stripped: str, number: int) -> Claim:
        facts = list(self._describe(line, stripped, number))
        if facts:
            self.state.kinds["kubectl-describe"] += 1
            return facts
        return [] if self._is_describe_marker(line) else None

    def _read_heading(self, line: str, stripped: str, number: int) -> Claim:
        if not _is_heading(stripped):
            return None
        self._start_block(parse_command(""))
        self.state.command = None
        return []

    def _read_redis_directive(self, line: str, stripped: str, number: int) -> Claim:
        directive = parse_directive(stripped)
        if not directive or not _plausible_directive(*directive):
            return None
        self.state.kinds["redis-conf"] += 1
        return [self._fact("redis.declared", directive[1], stripped, number, "redis-conf", key=directive[0])]

    def _read_yaml(self, line: str, stripped: str, number: int) -> Claim:
        yaml_fact = self._yaml_line(line, number)
        if yaml_fact is None:
            return None
        return [] if yaml_fact is True else [yaml_fact]  # type: ignore[list-item]

    def _written_by_a_person(self, stripped: str) -> bool:
        """A sentence around the paste (a reporter's words), not a line a program logged."""
        command = self.state.command
        if command is not None and command.verb == "logs":
            return False  # under `kubectl logs`, every line is the program's
        return (
            is_prose(stripped)
            and not _LOG_SHAPE.match(stripped)
            and not _PROGRAM_WORDS.search(stripped)
            and (stripped[0] in "\"'>*-" or stripped[0].isupper() or ": \"" in stripped[:40])
        )

    def _said(self, stripped: str, number: int) -> list[Fact]:
        """What a person reports seeing, as the weak facts it amounts to (source kind "notes")."""
        said: list[Fact] = []
        probe = said_probe_kills(stripped)
        if probe:
            record = EventRecord("Unhealthy", f"{probe.capitalize()} probe failed (as reported)", "Warning")
            said.append(self._fact("event", record, stripped, number, "notes"))
        return said

    def _read_log(self, line: str, stripped: str, number: int) -> Claim:
        log = self._log_line(line, number)
        facts = [log] if log else []
        if self._written_by_a_person(stripped):
            # What a person wrote around the paste (`Reporter: "it ran out of disk space"`): citable notes.
            facts.append(self._fact("text.note", stripped, stripped, number, "notes"))
            self.state.kinds["notes"] += 1
            facts += self._said(stripped, number)
        # Prose around a paste: weaker than a spec, used only when nothing better says it.
        for kind, stated in (
            ("container.memory_limit", stated_memory_limit(stripped)),
            ("container.memory_request", stated_memory_request(stripped)),
        ):
            amount = parse_human_bytes(stated) if stated else None
            if amount:
                facts.append(self._fact(kind, amount, stripped, number, "prose"))  # type: ignore[arg-type]
        return facts or None

    def _fragment(self, stripped: str, number: int) -> Iterator[Fact]:
        """Rows and messages pasted without their header (see fragments)."""
        state = self.state
        cells = get_event_row(stripped)
        if cells is not None:
            state.kinds["kubectl-events"] += 1
            yield from self._event_row(
                cells, stripped, number, cells.get("NAMESPACE") or state.subject.namespace
            )
            return
        cells = get_pod_row(stripped)
        if cells is not None:
            pod = cells["NAME"].removeprefix("pod/")
            namespace = cells.get("NAMESPACE") or state.subject.namespace
            subject = Subject(namespace, pod, state.subject.container, workload_of_pod(pod))
            state.kinds["kubectl-table"] += 1
            yield from self._pod_cells(cells, subject, stripped, number)
            return
        usage = df_row(stripped)
        if usage is not None:
            mount, share = usage
            state.kinds["df"] += 1
            yield self._fact("volume.usage", share, stripped, number, "df", key=mount)
            return
        loose = loose_event(stripped)
        if loose is not None:
            reason, event_type, message = loose
            cells = {"TYPE": event_type, "REASON": reason, "MESSAGE": message}
            state.kinds["kubectl-events"] += 1
            yield from self._event_row(cells, stripped, number, state.subject.namespace)

    # -- facts -----------------------------------------------------------------------
    def _fact(
        self,
        kind: FactKind,
        value: FactValue,
        excerpt: str,
        number: int,
        source_kind: str,
        key: str | None = None,
        subject: Subject | None = None,
        at: Any = None,
    ) -> Fact:
        source = Source(source_kind, self.state.ref, excerpt, number)
        return Fact(kind, subject or self._subject(), value, source, key=key, at=at)

    def _subject(self) -> Subject:
        subject = self.state.subject
        if self.state.container and self.state.container != subject.container:
            return replace(subject, container=self.state.container)
        return subject

    def _jsonpath_limit(self, stripped: str, number: int) -> Fact | None:
        """`-o jsonpath='{...name} {...resources.limits.memory}'` prints `mailer 320Mi`."""
        command = self.state.command
        if command is None or "jsonpath" not in command.text or "limits.memory" not in command.text:
            return None
        found = re.fullmatch(r"(?:([a-z0-9][a-z0-9-]*)\s+)?(\d+(?:\.\d+)?[KMGT]i?)", stripped)
        amount = parse_k8s_quantity(found.group(2)) if found else None
        if found is None or amount is None:
            return None
        container = found.group(1) or self.state.subject.container  # `2Gi` alone: the one container asked
        subject = replace(self.state.subject, container=container)
        return self._fact(
            "container.memory_limit", amount, stripped, number, "kubectl-jsonpath", subject=subject
        )

    def _is_redis_reply(self, stripped: str) -> bool:
        command = self.state.command
        if command is None or command.verb != "redis" or self.state.in_info:
            return False
        replies = ("CONFIG GET", "TTL", "DBSIZE", "PING", "ACL LIST")
        return command.redis_command.startswith(replies) or stripped.startswith(("ERR", "(error)"))

    # -- redis-cli replies ---------------------------------------------------------------
    def _redis_reply(self, stripped: str, number: int) -> Iterator[Fact]:
        state = self.state
        if stripped.startswith(("ERR", "(error)")):
            message = stripped.removeprefix("(error) ")
            yield self._fact("redis.client_error", message, stripped, number, "redis-cli")
            return
        command = state.command.redis_command if state.command else ""
        match = _REDIS_REPLY.match(stripped)
        value = (
            (match.group(1) if match.group(1) is not None else match.group(2) or match.group(3) or "")
            if match
            else ""
        )
        if command.startswith("CONFIG GET"):
            replies = state.redis_replies
            if replies and replies[-1][1] != number - 1:
                replies.clear()  # a name and its value are on consecutive lines, or they are not a pair
            if not replies and not re.fullmatch(r"[a-z][a-z0-9-]*", value):
                return  # not a parameter name
            replies.append((value, number, stripped))
            if len(replies) == 2:
                yield from self._flush_redis_replies()
        elif command.startswith("TTL"):
            yield self._fact("redis.info", value, stripped, number, "redis-cli", key="ttl_sample")
        elif command.startswith("ACL LIST") and value.startswith("user default "):
            yield self._fact("redis.info", value, stripped, number, "redis-cli", key="acl_default_user")
        elif command.startswith("DBSIZE"):
            yield self._fact("redis.info", value, stripped, number, "redis-cli", key="dbsize")

    def _flush_redis_replies(self) -> Iterator[Fact]:
        replies = self.state.redis_replies
        if len(replies) == 2:
            (name, number, first), (value, _, second) = replies
            self.state.kinds["redis-config-get"] += 1
            yield self._fact(
                "redis.config", value, f"{first}\n{second}", number, "redis-config-get", key=name
            )
        self.state.redis_replies = []

    # -- tables ---------------------------------------------------------------------
    def _table_row(self, line: str, number: int) -> Iterator[Fact]:
        table = self.state.table
        if table is None:
            return
        cells = table.cells(line)
        kind = table.kind
        excerpt = line.strip()
        namespace = cells.get("NAMESPACE") or self.state.subject.namespace
        if kind in ("pods", "columns", "top"):
            pod = (cells.get("POD") or cells.get("NAME") or "").removeprefix("pod/")
            if not pod or not re.match(r"^[a-z0-9][a-z0-9.-]*$", pod):
                return
            container = cells.get("NAME") if "POD" in cells else self.state.subject.container
            subject = Subject(namespace, pod, container, workload_of_pod(pod))
            yield from self._pod_cells(cells, subject, excerpt, number)
        elif kind == "events":
            yield from self._event_row(cells, excerpt, number, namespace)
        elif kind == "history":
            image = re.search(r"image=(\S+)|(\S+/\S+:\S+)", cells.get("CHANGE-CAUSE", ""))
            revision = cells.get("REVISION", "")
            if image and revision.isdigit():
                subject = replace(self.state.subject, pod=None)
                yield self._fact(
                    "workload.revision",
                    image.group(1) or image.group(2),
                    excerpt,
                    number,
                    "kubectl-table",
                    key=revision,
                    subject=subject,
                )
        elif kind == "replicasets":
            name = cells.get("NAME", "")
            try:
                info = ReplicaSetInfo(
                    name,
                    cells.get("IMAGES", ""),
                    int(cells.get("DESIRED", "0")),
                    int(cells.get("READY", "0")),
                    cells.get("AGE", ""),
                )
            except ValueError:
                return
            subject = Subject(namespace, workload=workload_of_replicaset(name))
            yield self._fact(
                "workload.replicaset", info, excerpt, number, "kubectl-table", key=name, subject=subject
            )

    def _pod_cells(
        self, cells: dict[str, str], subject: Subject, excerpt: str, number: int
    ) -> Iterator[Fact]:
        if cells.get("STATUS"):
            yield self._fact("pod.status", cells["STATUS"], excerpt, number, "kubectl-table", subject=subject)
        restarts = re.match(r"^(\d+)", cells.get("RESTARTS", ""))
        ago = re.search(r"\((\S+) ago\)", cells.get("RESTARTS", ""))
        if ago:
            seconds = duration_seconds(ago.group(1))
            yield self._fact(
                "pod.last_restart_ago", seconds, excerpt, number, "kubectl-table", subject=subject
            )
        if restarts:
            yield self._fact(
                "pod.restarts", int(restarts.group(1)), excerpt, number, "kubectl-table", subject=subject
            )
        if cells.get("LAST_REASON") and cells["LAST_REASON"] != "<none>":
            yield self._fact(
                "container.last_reason",
                cells["LAST_REASON"],
                excerpt,
                number,
                "kubectl-table",
                subject=subject,
            )
        exit_code = cells.get("EXIT") or cells.get("EXITCODE")
        if exit_code and exit_code.lstrip("-").isdigit():
            yield self._fact(
                "container.last_exit_code", int(exit_code), excerpt, number, "kubectl-table", subject=subject
            )
        if cells.get("FINISHED"):
            when = parse_log_time(cells["FINISHED"])
            yield self._fact(
                "container.last_finished",
                cells["FINISHED"],
                excerpt,
                number,
                "kubectl-table",
                subject=subject,
                at=when,
            )
        memory = cells.get("MEMORY(BYTES)")
        if memory and (amount := parse_k8s_quantity(memory)) is not None:
            yield self._fact(
                "container.memory_usage", amount, excerpt, number, "kubectl-top", subject=subject
            )
        cpu = cells.get("CPU(CORES)")
        if cpu and (cores := parse_k8s_quantity(cpu)) is not None:
            yield self._fact("container.cpu_usage", cores, excerpt, number, "kubectl-top", subject=subject)

    def _event_row(
        self, cells: dict[str, str], excerpt: str, number: int, namespace: str | None
    ) -> Iterator[Fact]:
        obj = cells.get("OBJECT", "")
        object_kind, _, object_name = obj.partition("/")
        named_pod = re.search(
            r"\bin pod ([a-z0-9][a-z0-9.-]*?)(?:_[a-z0-9-]+)?(?:\(|\s|$)", cells.get("MESSAGE", "")
        )
        if not object_name and named_pod:  # the message names its pod: trust it over the context
            object_kind, object_name = "Pod", named_pod.group(1)
        if not object_name:  # kubectl describe: the events are about the described object
            object_kind, object_name = "Pod", self.state.subject.pod or ""
        age = cells.get("AGE") or cells.get("LAST SEEN", "")
        count_match = re.search(r"\(x(\d+) over", age)
        message = cells.get("MESSAGE", "")
        container_match = re.search(
            r"(?:Created|Started|Stopping|Killing) container ([a-z0-9-]+)|[Cc]ontainer '?([a-z0-9-]+)'? (?:failed|was)",
            message,
        )
        container = None
        if container_match and object_kind.lower() == "pod":
            container = container_match.group(1) or container_match.group(2)
        subject = Subject(
            namespace,
            object_name if object_kind.lower() in ("pod", "") else None,
            container,
            workload_of_pod(object_name) if object_kind.lower() == "pod" else object_name or None,
        )
        record = EventRecord(
            cells.get("REASON", ""),
            message,
            cells.get("TYPE", ""),
            int(count_match.group(1)) if count_match else 1,
            object_kind.capitalize(),
            object_name,
            age,
        )
        yield self._fact("event", record, excerpt, number, "kubectl-events", subject=subject)

    # -- kubectl describe --------------------------------------------------------------------
    def _describe(self, line: str, stripped: str, number: int) -> Iterator[Fact]:
        state = self.state
        if state.describe_kind and state.describe_kind not in ("pod", "pods", "po"):
            return
        if state.describe_section in ("Containers", "Init Containers"):
            named = _CONTAINER_NAME.match(line)
            if named and not stripped[0].isupper():
                state.container = named.group(1)
                state.state_block = state.resource_block = ""
                state.in_environment = False
                return
        resource = _RESOURCE_LINE.match(line)
        if resource and state.resource_block:
            amount = parse_k8s_quantity(resource.group(2))
            name = (
                f"container.{resource.group(1)}_{'limit' if state.resource_block == 'limits' else 'request'}"
            )
            if amount is not None and resource.group(1) in ("cpu", "memory"):
                yield self._fact(name, amount, stripped, number, "kubectl-describe")  # type: ignore[arg-type]
            return
        key_match = _DESCRIBE_KEY.match(line)
        if state.in_environment and not (key_match and key_match.group(1) in ("Mounts", "Conditions")):
            env = _ENV_LINE.match(line)
            if env:
                yield self._fact(
                    "container.env", env.group(2), stripped, number, "kubectl-describe", key=env.group(1)
                )
                return
        if not key_match:
            return
        key, value = key_match.group(1), key_match.group(2) or ""
        if state.describe_section in ("Labels", "Annotations"):
            state.describe_section = (
                ""  # `Status:` after the annotations: a capitalised key is top level again
            )
        yield from self._describe_key(key, value, stripped, number)

    def _describe_key(self, key: str, value: str, stripped: str, number: int) -> Iterator[Fact]:
        state = self.state
        state.resource_block = ""
        state.in_environment = False
        if key in _DESCRIBE_SECTIONS:
            state.describe_section = key
            if key == "Events":
                state.table = None
            return
        if (key == "Name" and value and not state.describe_kind) or (key == "Name" and state.describe_kind):
            if (
                state.describe_section in ("", "Containers") and not state.subject.pod
            ) or state.describe_kind:
                state.subject = replace(
                    state.subject, pod=value, workload=state.subject.workload or workload_of_pod(value)
                )
            return
        if key == "Namespace" and value:
            state.subject = replace(state.subject, namespace=value)
            return
        if key == "Controlled By" and "/" in value:
            owner_kind, owner = value.split("/", 1)
            workload = workload_of_replicaset(owner) if owner_kind == "ReplicaSet" else owner
            state.subject = replace(state.subject, workload=workload)
            return
        if key == "State":
            # `State: Terminated` is a termination that just happened: read it like a Last State.
            state.state_block = "last" if value == "Terminated" else "state"
            yield self._fact("container.state", value, stripped, number, "kubectl-describe")
        elif key == "Last State":
            state.state_block = "last"
            yield self._fact(
                "container.state", f"Last:{value}", stripped, number, "kubectl-describe", key="last"
            )
        elif key == "Reason" and state.state_block:
            kind: FactKind = (
                "container.waiting_reason" if state.state_block == "state" else "container.last_reason"
            )
            if state.state_block == "state" and not value:
                return
            yield self._fact(kind, value, stripped, number, "kubectl-describe")
        elif key == "Exit Code" and value.lstrip("-").isdigit():
            yield self._fact("container.last_exit_code", int(value), stripped, number, "kubectl-describe")
        elif key in ("Started", "Finished") and state.state_block == "last":
            fact_kind: FactKind = "container.last_started" if key == "Started" else "container.last_finished"
            yield self._fact(
                fact_kind, value, stripped, number, "kubectl-describe", at=parse_describe_time(value)
            )
        elif key == "Restart Count" and value.isdigit():
            state.state_block = ""
            yield self._fact("container.restart_count", int(value), stripped, number, "kubectl-describe")
        elif key == "Ready" and value in ("True", "False"):
            yield self._fact("container.ready", value == "True", stripped, number, "kubectl-describe")
        elif key in ("Limits", "Requests"):
            state.resource_block = key.lower()
        elif key in ("Liveness", "Readiness", "Startup"):
            yield self._fact("container.probe", value, stripped, number, "kubectl-describe", key=key.lower())
        elif key == "Environment":
            state.in_environment = value != "<none>"
        elif key == "Image" and value:
            yield self._fact("container.image", value, stripped, number, "kubectl-describe")
        elif key == "Reason" and value and not state.state_block and state.describe_section == "":
            yield self._fact("pod.status", value, stripped, number, "kubectl-describe")
        elif key == "Message" and value and not state.state_block and state.describe_section == "":
            yield self._fact("text.note", value, stripped, number, "kubectl-describe")
        elif key == "Status" and value and state.describe_section == "":
            yield self._fact("pod.status", value, stripped, number, "kubectl-describe")

    def _is_describe_marker(self, line: str) -> bool:
        """A describe key that only changes the context (`Limits:`, `Containers:`)."""
        key = _DESCRIBE_KEY.match(line)
        return (
            bool(key)
            and key is not None
            and (
                key.group(1) in _DESCRIBE_SECTIONS
                or key.group(1) in ("Limits", "Requests", "Environment", "Mounts")
            )
        )

    # -- YAML with or without its indentation --------------------------------------------------
    def _yaml_line(self, line: str, number: int) -> Fact | bool | None:
        match = _YAML_LINE.match(line)
        if not match or "." in match.group(2) or (self.state.command and self.state.command.verb == "logs"):
            return None  # dotted keys and lines under `kubectl logs` are log lines, not values
        if _LOG_WORD_KEY.match(match.group(2)):
            return None  # `Error: connect ECONNREFUSED ...` is a log line
        indent, key, value = len(match.group(1)), match.group(2), (match.group(3) or "")
        parents = self.state.yaml_parents
        while parents and parents[-1][0] > indent:
            parents.pop()
        after_leaf = self.state.last_yaml_leaf
        self.state.last_yaml_leaf = bool(value) and value not in ("|", "|-", ">", ">-")
        if not value or value in ("|", "|-", ">", ">-"):
            if parents and parents[-1][0] == indent and (indent > 0 or after_leaf):
                parents.pop()  # a sibling, not a child (indentation may have been lost)
            parents.append((indent, key))
            return True
        if value.startswith("#"):
            return True
        if is_prose(value):
            return None  # `Note: the limit was raised to 2Gi and it still dies`: a sentence, not a value
        path = ".".join([*[p for _, p in parents][-2:], key])
        self.state.kinds["helm-values"] += 1
        return self._fact("helm.value", value.strip("\"'"), line.strip(), number, "helm-values", key=path)

    # -- logs --------------------------------------------------------------------------------
    def _log_line(self, line: str, number: int, found_by_keyword: bool = False) -> Fact | None:
        stripped = line.strip()
        if not stripped or stripped.startswith(("# HELP", "# TYPE")):
            return None
        if not found_by_keyword and not LOG_TRIGGER.search(stripped):
            return None
        state = self.state
        subject = self._subject()
        prefixed = _COLLECTOR_PREFIX.match(stripped)
        if prefixed:
            subject = replace(subject, origin=prefixed.group(2))
        command = state.command.text if state.command else ""
        pod_prefix = (
            _POD_PREFIX.match(stripped) if command.startswith("stern") or "--prefix" in command else None
        )
        if pod_prefix:
            pod = pod_prefix.group(1)
            subject = replace(subject, pod=pod, container=pod_prefix.group(2), workload=workload_of_pod(pod))
        host = re.search(r'"(?:hostname|pod|pod_name|logging_pod)"\s*:\s*"([a-z0-9.-]+)"', stripped)
        if host and not subject.pod:
            subject = replace(subject, pod=host.group(1), workload=workload_of_pod(host.group(1)))
        level_match = _LEVEL.search(stripped)
        level = next((g for g in level_match.groups() if g), "") if level_match else ""
        if level.isdigit():
            level = {"60": "fatal", "50": "error", "40": "warn", "30": "info"}.get(level, level)
        state.kinds["log"] += 1
        return self._fact(
            "log",
            LogRecord(stripped, level.lower()),
            stripped,
            number,
            "log",
            subject=subject,
            at=parse_log_time(stripped),
        )


def _is_heading(stripped: str) -> bool:
    """Prose that starts a new artifact: `Artifact 2: Metrics¶`, `## Logs`, `--- second terminal ---`."""
    return (
        stripped.endswith("¶")
        or bool(re.match(r"^#{1,4} [A-Z]", stripped) and stripped[2:].strip().lower() not in INFO_SECTIONS)
        or bool(re.match(r"^-{2,} .* -{2,}$", stripped))
        or bool(re.match(r"^(Artifact|Attachment|Exhibit) \d+", stripped))
    )


def _is_k8s_or_metrics(obj: dict[str, Any]) -> bool:
    return "kind" in obj or is_api_body(obj) or "metric" in obj or "terminated" in obj or "waiting" in obj


_POLICIES = {
    "noeviction",
    "allkeys-lru",
    "volatile-lru",
    "allkeys-lfu",
    "volatile-lfu",
    "allkeys-random",
    "volatile-random",
    "volatile-ttl",
}


def _plausible_directive(key: str, value: str) -> bool:
    """A directive only counts when its value has the shape Redis expects."""
    if key == "maxmemory":
        return parse_human_bytes(value.rstrip("b").rstrip("B")) is not None or value.isdigit()
    if key == "maxmemory-policy":
        return value in _POLICIES
    if key == "save":
        return value in ('""', "''") or bool(re.fullmatch(r"\d+ \d+(?: \d+ \d+)*", value))
    if key in ("appendonly", "protected-mode", "stop-writes-on-bgsave-error"):
        return value in ("yes", "no")
    if key in ("maxclients", "timeout", "tcp-keepalive", "port"):
        return value.isdigit()
    if key == "bind":
        return bool(re.fullmatch(r"[\d.: *-]+|[\w.-]+(?: [\w.:-]+)*", value)) and any(
            c.isdigit() for c in value
        )
    return key in ("requirepass", "appendfsync", "dir", "aclfile") and " " not in value
