"""The line readers, in the order of `LINE_READERS`: the first that claims a line reads it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from analyzers.evidence import (
    Fact,
    Series,
    Subject,
)
from analyzers.quantity import parse_human_bytes
from bot.readers.commands import Command, match_prompt, parse_command
from bot.readers.fragments import (
    df_row,
    get_event_row,
    get_pod_row,
    loose_event,
    stated_cpu_limit,
    stated_memory_limit,
    stated_memory_request,
    throttling_alert,
    waiting_to_start,
)
from bot.readers.kubernetes_objects import workload_of_pod
from bot.readers.log_lines import LogLines
from bot.readers.pipe_tables import (
    cell_bytes,
    cell_int,
    column_meaning,
    is_separator,
    jvm_max_heap,
    pipe_cells,
    pipe_header,
)
from bot.readers.prometheus import THROTTLED_RATIO, sample_fact
from bot.readers.redis_text import INFO_MARKERS, INFO_SECTIONS, parse_directive, parse_info_line
from bot.readers.scanner_base import Claim
from bot.readers.tables import Table, is_header
from bot.readers.tools import (
    FREE_HEADER,
    REDIS_STAT_BANNER,
    REDIS_STAT_HEADER,
    free_row,
    free_unit,
    ls_row,
    ps_columns,
    ps_row,
    redis_stat_row,
)

_EVENT_ROW = re.compile(
    r"^(Normal|Warning)\s+([A-Z][A-Za-z]+)\s+(\S+(?:\s+\(x\d+ over [^)]+\))?)\s+"
    r"(kubelet(?:, [\w.-]+)?|\{kubelet [\w.-]+\}|default-scheduler|[a-z][\w-]*-controller|[a-z][\w.-]*)\s+(.+)$"
)
_LS_TOTAL = re.compile(r"^total \d+(?:[.,]\d+)?[KMGTP]?$")  # the first line of `ls -l`
_NODE_CONDITION = re.compile(r"^\s*(MemoryPressure|DiskPressure|PIDPressure)\s+(True|False|Unknown)\s")

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
    (
        "tools",
        "_read_tool_output",
        "free, ps/top, ls -l, redis-cli --stat: their own headers and rows, before kubectl tables take them",
    ),
    (
        "pipe-table",
        "_read_pipe_table",
        "`key | ttl | memory`: a pipe table whose header names a column we know",
    ),
    ("table-row", "_read_table_row", "inside a table the header decides; before fragments guess"),
    ("fragment", "_read_fragment", "rows without a header, df rows, lone event messages: by their cells"),
    ("table-header", "_read_table_header", "an upper-case header row starts a table"),
    ("info-section", "_read_info_section", "`# Memory`: INFO section titles, before headings take `#` lines"),
    ("info-field", "_read_info_field", "`used_memory:123`: INFO fields, before YAML takes `key:` lines"),
    ("metric", "_read_metric_sample", "`name{labels} value`: exposition samples"),
    ("describe-event", "_read_describe_event", "`Warning Unhealthy 3m kubelet ...`: describe's event rows"),
    ("node-condition", "_read_node_condition", "`MemoryPressure True`: node conditions"),
    (
        "jvm-heap",
        "_read_jvm_heap",
        "`MaxHeapSize = ...`: what a JVM says of its heap, before describe takes `Key:`",
    ),
    ("describe", "_read_describe", "`Key:  value` of kubectl describe, with its sections and containers"),
    ("heading", "_read_heading", "`## Logs`, `Artifact 2:`: prose that starts a new artifact"),
    ("redis-directive", "_read_redis_directive", "`maxmemory 0`: redis.conf, only with a plausible value"),
    ("yaml", "_read_yaml", "`key: value` left: Helm values, indented or not (never a sentence)"),
    ("log", "_read_log", "whatever else holds a trigger word is a log line; a sentence may state a limit"),
)


class LineReaders(LogLines):
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

    def _read_blank(self, line: str, stripped: str, number: int) -> Claim:
        if stripped and not is_separator(stripped):
            return None
        if stripped and self.state.pipe_columns:
            return []  # `|---|---|` under a pipe table's header
        self.state.table = None
        self.state.pipe_columns = None
        self.state.tool = ""
        self.state.yaml_parents = []
        return []

    def _read_tool_output(self, line: str, stripped: str, number: int) -> Claim:
        state = self.state
        for header, tool in (
            (FREE_HEADER, "free"),
            (REDIS_STAT_HEADER, "redis-stat"),
            (REDIS_STAT_BANNER, ""),
        ):
            if header.match(stripped):
                state.tool = tool or state.tool
                return []
        if _LS_TOTAL.match(stripped):
            return []
        columns = ps_columns(stripped)
        if columns:
            state.tool, state.tool_columns, state.table = "ps", columns, None
            return []
        command = state.command.text if state.command else ""
        facts: list[Fact] = []
        memory = free_row(stripped, free_unit(command))
        process = ps_row(stripped, state.tool_columns) if state.tool == "ps" else None
        stat = redis_stat_row(stripped) if state.tool == "redis-stat" else None
        listed = ls_row(stripped)
        if memory:
            row, values = memory
            for name in ("total", "used", "available"):
                key = name if row == "Mem" else f"swap_{name}"
                if name in values:
                    facts.append(self._fact("host.memory", values[name], stripped, number, "free", key=key))
        elif process:
            facts.append(self._fact("process.rss", process[1], stripped, number, "ps", key=process[0]))
        elif stat:
            for key, value in stat.items():
                field = "dbsize" if key == "keys" else key
                facts.append(self._fact("redis.info", value, stripped, number, "redis-stat", key=field))
        elif listed:
            facts.append(self._fact("file.size", listed[1], stripped, number, "ls", key=listed[0]))
        else:
            return None
        state.kinds[facts[0].source.kind] += 1
        return facts

    def _read_pipe_table(self, line: str, stripped: str, number: int) -> Claim:
        columns = self.state.pipe_columns
        if columns is None:
            self.state.pipe_columns = pipe_header(stripped)
            return None if self.state.pipe_columns is None else []
        cells = pipe_cells(stripped)
        if cells is None or len(cells) != len(columns):
            self.state.pipe_columns = None  # the table ended
            return None
        self.state.kinds["pipe-table"] += 1
        facts: list[Fact] = []
        subject = self._row_subject(columns, cells)
        for name, cell in zip(columns, cells, strict=True):
            meaning = column_meaning(name)
            ttl = cell_int(cell) if meaning == "ttl" else None
            heap = cell_bytes(cell) if meaning == "max_heap" else None
            if ttl is not None:
                facts.append(
                    self._fact("redis.info", str(ttl), stripped, number, "pipe-table", key="ttl_sample")
                )
            if heap:
                facts.append(
                    self._fact("jvm.max_heap", heap, stripped, number, "pipe-table", subject=subject)
                )
        return facts

    def _row_subject(self, columns: list[str], cells: list[str]) -> Subject:
        """The row's own pod or service when the table has a column for it."""
        subject = self._subject()
        for name, cell in zip(columns, cells, strict=True):
            label = name.strip().lower()
            if label in ("pod", "pod name") and cell:
                subject = replace(subject, pod=cell, workload=workload_of_pod(cell))
            elif label in ("service", "app", "application", "component", "workload", "deployment") and cell:
                subject = replace(subject, workload=cell)
        return subject

    def _read_jvm_heap(self, line: str, stripped: str, number: int) -> Claim:
        heap = jvm_max_heap(stripped)
        if heap is None:
            return None
        self.state.kinds["jvm-flags"] += 1
        return [self._fact("jvm.max_heap", heap, stripped, number, "jvm-flags")]

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
        keyspace = (
            info is not None and re.fullmatch(r"db\d+", info[0]) is not None and info[1].startswith("keys=")
        )
        if not info or not (state.in_info or info[0] in INFO_MARKERS or keyspace):
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

    def _read_log(self, line: str, stripped: str, number: int) -> Claim:
        log = self._log_line(line, number)
        facts = [log] if log else []
        person = self._written_by_a_person(stripped)
        if person:
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
        cores = stated_cpu_limit(stripped) if person else None  # a program's `cpu limit 0.1` is its own view
        if cores:
            facts.append(self._fact("container.cpu_limit", cores, stripped, number, "prose"))
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
        throttled = throttling_alert(stripped)
        if throttled is not None:
            share, namespace, container, pod = throttled
            labels = (("container", container), ("namespace", namespace), ("pod", pod))
            series = Series(THROTTLED_RATIO, labels, ((None, share),))
            subject = Subject(namespace, pod, container, workload_of_pod(pod))
            state.kinds["alert"] += 1
            yield self._fact(
                "metric", series, stripped, number, "alert", key=THROTTLED_RATIO, subject=subject
            )
            return
        waiting = waiting_to_start(stripped)
        if waiting is not None:
            pod, container, reason = waiting
            subject = Subject(state.subject.namespace, pod, container, workload_of_pod(pod))
            state.kinds["kubectl-logs"] += 1
            yield self._fact("container.waiting_reason", reason, stripped, number, "kubectl", subject=subject)
            return
        loose = loose_event(stripped)
        if loose is not None:
            reason, event_type, message = loose
            cells = {"TYPE": event_type, "REASON": reason, "MESSAGE": message}
            state.kinds["kubectl-events"] += 1
            yield from self._event_row(cells, stripped, number, state.subject.namespace)


def _is_heading(stripped: str) -> bool:
    """Prose that starts a new artifact: `Artifact 2: Metrics¶`, `## Logs`, `--- second terminal ---`."""
    return (
        stripped.endswith("¶")
        or bool(re.match(r"^#{1,4} [A-Z]", stripped) and stripped[2:].strip().lower() not in INFO_SECTIONS)
        or bool(re.match(r"^-{2,} .* -{2,}$", stripped))
        or bool(re.match(r"^(Artifact|Attachment|Exhibit) \d+", stripped))
    )


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
