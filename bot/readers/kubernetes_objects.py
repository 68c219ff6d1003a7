"""Kubernetes objects (`kubectl get -o json|yaml`, or the API) as facts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from analyzers.evidence import EventRecord, Fact, FactKind, FactValue, ReplicaSetInfo, Source, Subject
from analyzers.quantity import parse_k8s_quantity
from bot.readers.excerpts import RawText
from bot.readers.redis_text import parse_directive, redis_conf_facts
from bot.readers.timestamps import parse_iso

NOTE = "note: "  # a problem that is only worth saying, not a part left unread
LARGE_LIST = 200
HEALTHY_PODS_READ = 3
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
_HASH_SUFFIX = re.compile(r"-[a-z0-9]{8,10}$")


def workload_of_replicaset(name: str) -> str:
    return _HASH_SUFFIX.sub("", name)


def workload_of_pod(name: str) -> str:
    """Best guess of a pod's workload from its name (`web-7f4b8d9c65-xk2mv` -> `web`)."""
    deployment = re.match(r"^(.*)-[a-z0-9]{8,10}-[a-z0-9]{5}$", name)
    if deployment:
        return deployment.group(1)
    stateful = re.match(r"^(.*)-\d+$", name)
    if stateful:
        return stateful.group(1)
    return name


def _healthy_pod(item: object) -> bool:
    """A running pod whose containers never restarted and are ready: nothing to diagnose in it."""
    if not isinstance(item, dict) or item.get("kind") != "Pod":
        return False
    status = item.get("status")
    if not isinstance(status, dict) or status.get("phase") != "Running":
        return False
    statuses = status.get("containerStatuses")
    if not isinstance(statuses, list) or not statuses:
        return False
    return all(
        isinstance(s, dict)
        and s.get("ready") is True
        and not s.get("restartCount")
        and not s.get("lastState")
        for s in statuses
    )


class ObjectReader:
    """Turns decoded Kubernetes objects into facts, citing the raw text."""

    def __init__(
        self,
        raw: str,
        ref: str,
        kind: str,
        line_offset: int = 0,
        problems: list[str] | None = None,
        lines: bool = True,
        seen: set[tuple[object, ...]] | None = None,
    ) -> None:
        self.text = RawText(raw, lines)
        # Given (the items of a large List), a container's image, env, probes, requests and CPU limit
        # already read for another pod of the same workload are not repeated: its pods share their
        # spec (a different value is read; every pod's memory limit and status are).
        self.seen = seen
        self.repeated = 0
        self.ref = ref
        self.kind = kind
        self.line_offset = line_offset
        self.cursor = 0
        self.problems = problems if problems is not None else []

    def read(self, obj: Any, context: Subject | None = None) -> Iterator[Fact]:
        if isinstance(obj, list):
            for item in obj:
                yield from self.read(item, context)
            return
        if not isinstance(obj, dict):
            return
        kind = obj.get("kind")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(obj.get("items"), list):
            item_kind = kind.removesuffix("List")  # the API's typed lists omit each item's kind
            healthy_read: dict[str, int] = {}
            summarised = 0
            for item in obj["items"]:
                if isinstance(item, dict) and "kind" not in item and item_kind:
                    item = {**item, "kind": item_kind}
                if len(obj["items"]) > LARGE_LIST and _healthy_pod(item):
                    # Pods of one workload share their spec: a few healthy ones tell it all.
                    workload = workload_of_pod(str((item.get("metadata") or {}).get("name", "")))
                    healthy_read[workload] = healthy_read.get(workload, 0) + 1
                    if healthy_read[workload] > HEALTHY_PODS_READ:
                        summarised += 1
                        continue
                yield from self.read(item, context)
            if summarised:
                self.problems.append(
                    f"{NOTE}{summarised} healthy pods not read in detail ({HEALTHY_PODS_READ} per workload are)"
                )
            return
        try:
            yield from self._one(obj, kind, context)
        except (AttributeError, TypeError, ValueError, KeyError, OverflowError, IndexError):
            # a field without its documented type: skip the object and say so
            self.problems.append(f"a malformed {kind or 'object'} was skipped")

    def _one(self, obj: dict[str, Any], kind: object, context: Subject | None) -> Iterator[Fact]:
        kind = kind if isinstance(kind, str) else ""
        if kind == "Pod":
            yield from self._pod(obj)
        elif kind == "Event":
            yield from self._event(obj)
        elif kind in WORKLOAD_KINDS:
            yield from self._workload(obj, kind)
        elif kind == "ConfigMap":
            yield from self._configmap(obj)
        elif "limits" in obj or "requests" in obj:
            yield from self._resources(obj, context or Subject())
        elif "terminated" in obj or "waiting" in obj:
            # `-o jsonpath='{...containerStatuses[*].lastState}'`: a state of its own, a termination
            yield from self._container_status({"lastState": obj}, context or Subject())

    # -- helpers ---------------------------------------------------------------
    def _fact(
        self,
        kind: FactKind,
        subject: Subject,
        value: FactValue,
        *needles: object,
        key: str | None = None,
        at: Any = None,
    ) -> Fact:
        excerpt, position = self.text.find(*needles, start=self.cursor)
        line = self.text.line_number(position)
        source = Source(self.kind, self.ref, excerpt, None if line is None else line + self.line_offset)
        return Fact(kind, subject, value, source, key=key, at=at)

    def _seek(self, text: str) -> None:
        position = self.text.raw.find(f'"{text}"', self.cursor)
        if position < 0:
            position = self.text.raw.find(text, self.cursor)
        if position >= 0:
            self.cursor = position

    # -- kinds -----------------------------------------------------------------
    def _pod(self, pod: dict[str, Any]) -> Iterator[Fact]:
        meta = pod.get("metadata") or {}
        name = str(meta.get("name", ""))
        namespace = meta.get("namespace")
        workload = None
        for owner in meta.get("ownerReferences") or []:
            if owner.get("kind") == "ReplicaSet":
                workload = workload_of_replicaset(str(owner.get("name", "")))
            elif owner.get("kind") in WORKLOAD_KINDS:
                workload = str(owner.get("name"))
        workload = workload or workload_of_pod(name)
        self._seek(name)
        pod_start = self.cursor
        spec = pod.get("spec") or {}
        for container in spec.get("containers") or []:
            subject = Subject(namespace, name, str(container.get("name")), workload)
            self._seek(str(container.get("name")))
            yield from self._container_spec(container, subject)
        self.cursor = pod_start
        status = pod.get("status") or {}
        self._seek("containerStatuses")
        for container_status in status.get("containerStatuses") or []:
            subject = Subject(namespace, name, str(container_status.get("name")), workload)
            self._seek(str(container_status.get("name")))
            yield from self._container_status(container_status, subject)
        # Init containers that finished cleanly say nothing; one that fails or waits is why the pod is stuck.
        for container_status in status.get("initContainerStatuses") or []:
            if not _init_done(container_status):
                subject = Subject(namespace, name, str(container_status.get("name")), workload)
                self._seek(str(container_status.get("name")))
                yield from self._container_status(container_status, subject)
        if status.get("reason") == "Evicted":
            message = str(status.get("message", ""))
            yield self._fact(
                "event",
                Subject(namespace, name, None, workload),
                EventRecord("Evicted", message, "Warning", 1, "Pod", name),
                "message",
                message,
            )

    def _container_spec(self, container: dict[str, Any], subject: Subject) -> Iterator[Fact]:
        if container.get("image") and not self._repeated(subject, "image", str(container["image"])):
            yield self._fact("container.image", subject, str(container["image"]), "image", container["image"])
        yield from self._resources(container.get("resources") or {}, subject)
        for env in container.get("env") or []:
            if "value" in env:
                if not self._repeated(subject, "env", str(env.get("name")), str(env["value"])):
                    yield self._fact(
                        "container.env", subject, str(env["value"]), env.get("name"), key=str(env.get("name"))
                    )
            elif "valueFrom" in env:
                ref = (env["valueFrom"] or {}).get("secretKeyRef") or (env["valueFrom"] or {}).get(
                    "configMapKeyRef"
                )
                if ref:
                    described = f"<from key '{ref.get('key')}' of '{ref.get('name')}'>"
                    if ref.get("optional"):
                        described += " optional"
                    if not self._repeated(subject, "env", str(env.get("name")), described):
                        yield self._fact(
                            "container.env", subject, described, env.get("name"), key=env.get("name")
                        )
        for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
            probe = container.get(probe_name)
            if isinstance(probe, dict):
                text = " ".join(f"{k}={v}" for k, v in sorted(probe.items()) if not isinstance(v, dict))
                if not self._repeated(subject, "probe", probe_name, text):
                    yield self._fact(
                        "container.probe", subject, text, probe_name, key=probe_name.removesuffix("Probe")
                    )

    def _repeated(self, subject: Subject, *spec: object) -> bool:
        """Whether this entry of a container's spec was read for another pod of its workload."""
        if self.seen is None:
            return False
        key = (subject.namespace, subject.workload, subject.container, *spec)
        if key in self.seen:
            self.repeated += 1
            return True
        self.seen.add(key)
        return False

    def _resources(self, resources: dict[str, Any], subject: Subject) -> Iterator[Fact]:
        kinds: dict[tuple[str, str], FactKind] = {
            ("limits", "memory"): "container.memory_limit",
            ("requests", "memory"): "container.memory_request",
            ("limits", "cpu"): "container.cpu_limit",
            ("requests", "cpu"): "container.cpu_request",
        }
        for (section, resource), fact_kind in kinds.items():
            raw_value = (resources.get(section) or {}).get(resource)
            if raw_value is None:
                continue
            amount = parse_k8s_quantity(str(raw_value))
            if amount is None:
                continue
            # a pod's own limit tells which limit it was OOM-killed at; requests and CPU only need saying once
            if fact_kind == "container.memory_limit" or not self._repeated(subject, fact_kind, amount):
                yield self._fact(fact_kind, subject, amount, resource, raw_value)

    def _container_status(self, status: dict[str, Any], subject: Subject) -> Iterator[Fact]:
        state = status.get("state") or {}
        for state_name, details in state.items():
            yield self._fact("container.state", subject, state_name.capitalize(), state_name)
            reason = (details or {}).get("reason")
            if state_name == "waiting" and reason:
                yield self._fact("container.waiting_reason", subject, str(reason), "reason", reason)
        terminated = (status.get("lastState") or {}).get("terminated") or {}
        if terminated:
            if terminated.get("reason"):
                yield self._fact(
                    "container.last_reason",
                    subject,
                    str(terminated["reason"]),
                    "reason",
                    terminated["reason"],
                )
            if terminated.get("exitCode") is not None:
                yield self._fact(
                    "container.last_exit_code",
                    subject,
                    int(terminated["exitCode"]),
                    "exitCode",
                    terminated["exitCode"],
                )
            for field, kind in (
                ("startedAt", "container.last_started"),
                ("finishedAt", "container.last_finished"),
            ):
                if terminated.get(field):
                    yield self._fact(
                        kind,  # type: ignore[arg-type]
                        subject,
                        str(terminated[field]),
                        field,
                        terminated[field],
                        at=parse_iso(str(terminated[field])),
                    )
        if status.get("restartCount") is not None:
            yield self._fact(
                "container.restart_count",
                subject,
                int(status["restartCount"]),
                "restartCount",
                status["restartCount"],
            )
        if status.get("image") and not self._repeated(subject, "running image", str(status["image"])):
            yield self._fact("container.image", subject, str(status["image"]), "image", status["image"])

    def _event(self, event: dict[str, Any]) -> Iterator[Fact]:
        involved = event.get("involvedObject") or event.get("regarding") or {}
        name = str(involved.get("name", ""))
        field_path = str(involved.get("fieldPath", ""))
        container_match = re.search(r"containers\{([^}]+)\}", field_path)
        kind = str(involved.get("kind", ""))
        if kind == "Pod":
            workload = workload_of_pod(name)
        elif kind in WORKLOAD_KINDS:
            workload = workload_of_replicaset(name) if kind == "ReplicaSet" else name
        else:
            workload = f"{kind.lower()}/{name}"  # a Node's event is not about any service's pods
        subject = Subject(
            involved.get("namespace") or (event.get("metadata") or {}).get("namespace"),
            name if kind == "Pod" else None,
            container_match.group(1) if container_match else None,
            workload,
        )
        message = str(event.get("message") or event.get("note") or "")
        reason = str(event.get("reason", ""))
        when = event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
        self._seek(str((event.get("metadata") or {}).get("name", name)))
        yield self._fact(
            "event",
            subject,
            EventRecord(
                reason, message, str(event.get("type", "")), int(event.get("count") or 1), kind, name
            ),
            "message",
            message,
            at=parse_iso(str(when)) if when else None,
        )

    def _workload(self, obj: dict[str, Any], kind: str) -> Iterator[Fact]:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name", ""))
        namespace = meta.get("namespace")
        workload = workload_of_replicaset(name) if kind == "ReplicaSet" else name
        self._seek(name)
        template = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        for container in template.get("containers") or []:
            self._seek(str(container.get("name")))
            yield from self._container_spec(
                container, Subject(namespace, None, container.get("name"), workload)
            )
        status = obj.get("status") or {}
        for condition in status.get("conditions") or []:
            if condition.get("reason") == "ProgressDeadlineExceeded":
                message = str(condition.get("message", ""))
                yield self._fact(
                    "workload.rollout_failed",
                    Subject(namespace, workload=workload),
                    message,
                    "message",
                    message,
                )
        if kind == "ReplicaSet":
            containers = template.get("containers") or [{}]
            image = str(containers[0].get("image", ""))
            info = ReplicaSetInfo(
                name,
                image,
                int((obj.get("spec") or {}).get("replicas") or 0),
                int(status.get("readyReplicas") or 0),
            )
            yield self._fact(
                "workload.replicaset", Subject(namespace, workload=workload), info, name, key=name
            )
            revision = str((meta.get("annotations") or {}).get("deployment.kubernetes.io/revision", ""))
            if revision.isdigit() and image:
                subject = Subject(namespace, workload=workload)
                yield self._fact("workload.revision", subject, image, "image", image, key=revision)

    def _configmap(self, obj: dict[str, Any]) -> Iterator[Fact]:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name", ""))
        subject = Subject(meta.get("namespace"), workload=name)
        for value in (obj.get("data") or {}).values():
            if isinstance(value, str) and ("\n" in value or parse_directive(value)):
                yield from redis_conf_facts(value, self.text, self.ref, subject)


def _init_done(container_status: dict[str, Any]) -> bool:
    terminated = (container_status.get("state") or {}).get("terminated") or {}
    return terminated.get("reason") == "Completed" and not container_status.get("restartCount")
