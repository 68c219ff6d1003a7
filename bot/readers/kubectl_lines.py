"""kubectl as text: rows of `get` tables (pods, events, ReplicaSets, history, top) and `describe` keys."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from analyzers.evidence import (
    EventRecord,
    Fact,
    FactKind,
    ReplicaSetInfo,
    Subject,
)
from analyzers.quantity import duration_seconds, parse_k8s_quantity
from bot.readers.kubernetes_objects import workload_of_pod, workload_of_replicaset
from bot.readers.scanner_base import ScannerBase
from bot.readers.timestamps import parse_describe_time, parse_log_time

_DESCRIBE_KEY = re.compile(r"^\s*([A-Z][A-Za-z]+(?: [A-Za-z]+)*):(?:\s+(.*?))?\s*$")
_RESOURCE_LINE = re.compile(r"^\s*(cpu|memory|ephemeral-storage):\s+(\S+)\s*$")
_ENV_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*):\s+(.*?)\s*$")
_CONTAINER_NAME = re.compile(r"^\s*([a-z0-9][a-z0-9.-]*):\s*$")
_DESCRIBE_SECTIONS = {
    "Containers",
    "Init Containers",
    "Conditions",
    "Volumes",
    "Events",
    "Labels",
    "Annotations",
}


class KubectlLines(ScannerBase):
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
            if not pod or not re.match(r"^[a-z0-9][a-z0-9.-]*$", pod) or re.match(r"^\d{4}-\d\d-\d\d", pod):
                return  # `2024-05-01 10:00:01 LOG: ...` under a pods table is a log line, not a pod
            if kind == "pods" and not re.fullmatch(r"\d+/\d+", cells.get("READY", "0/0")):
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
        ready = re.fullmatch(r"(\d+)/(\d+)", cells.get("READY", ""))
        if ready:
            all_ready = ready.group(1) == ready.group(2)
            yield self._fact("pod.ready", all_ready, excerpt, number, "kubectl-table", subject=subject)
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
