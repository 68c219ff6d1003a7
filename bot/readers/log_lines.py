"""Lines that programs and people wrote: logs, redis-cli replies, YAML values, and sentences around a paste."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from analyzers.evidence import (
    EventRecord,
    Fact,
    LogRecord,
)
from bot.readers.fragments import (
    is_prose,
    said_cpu_throttled,
    said_no_ttl,
    said_oom_kill,
    said_probe_delay,
    said_probe_kills,
    said_redis_policy,
)
from bot.readers.kubectl_lines import KubectlLines
from bot.readers.kubernetes_objects import workload_of_pod
from bot.readers.timestamps import parse_log_time

LOG_TRIGGER = re.compile(
    r"error|warn|fatal|panic|exception|fail|refused|reset by peer|timeout|timed out|deadline|\boom\b|"
    r"out of ?memory|outofmemory|killed|fork|cannot allocate|no space left|max number of clients|slow|"
    r"latency|unhealthy|probe|denied|forbidden|not set|missing|not found|evict|overcommit|saving|"
    r"db saved|copy-on-write|fork cow|bgsave|ready to accept|redis version=|version=|sigterm|shutdown|"
    r"signal|heap|-xmx|rehydrat|cold|run_id|pool|exhausted|unavailable|rejected|too many|mode=|required|\bgc\(|pause|"
    r"flag provided|unknown (?:shorthand )?flag|unrecognized option|bad directive|wrong number of arguments|^>>> '|"
    r"not met|no such host|name or service not known|could not translate host|loading|could not connect|"
    r"cannot connect|is the server running|disk|quota|not allowed|maxmemory|recover|shut down",
    re.IGNORECASE,
)
_COLLECTOR_PREFIX = re.compile(r"^\[([^\]]{8,40})\]\s+([\w.-]+)\s+\|\s?(.*)$")
_LEVEL = re.compile(
    r'level=(\w+)|"level"\s*:\s*"?(\w+)"?|\b(FATAL|ERROR|WARN(?:ING)?|INFO|DEBUG)\b|\[\s*(error|warn|info)\]'
)
_YAML_LINE = re.compile(r"^(\s*)([A-Za-z_][\w.-]*):(?:\s+(.*?))?\s*$")
_REDIS_REPLY = re.compile(r'^(?:\d+\)\s+)?(?:"(.*)"|\(integer\) (-?\d+)|\(nil\)|(.+))$')
_POD_PREFIX = re.compile(r"^\[?(?:pod/)?([a-z0-9][a-z0-9.-]*-[a-z0-9]+)[ /]+([a-z0-9][a-z0-9-]*)\]?\s")
_CLASS_NAME = re.compile(r"^(?:[A-Z][a-z0-9]+){2,}$")  # UpperCamelCase: an exception class, not a setting
_LOG_WORD_KEY = re.compile(r"^(?:\w*(?:Error|Exception)|Warning|Fatal|Panic|Caused by|Traceback)$")
# A line a program wrote (a time stamp, a level, a Redis `1:M` prefix), not a person.
_LOG_SHAPE = re.compile(r"^(?:\[?\d{4}-\d\d-\d\d|\d+:[MCSX] |\[?\d\d:\d\d|I\d{4}|[EWIF]\d{4} |level=|\{)")
# What programs put in their lines and people do not: levels, key=value pairs, stack frames.
_PROGRAM_WORDS = re.compile(
    r"\b(?:ERROR|WARN(?:ING)?|INFO|DEBUG|TRACE|FATAL)\b|\w=\S|\bat [\w.$]+\(|^\s*File \""
)


class LogLines(KubectlLines):
    def _is_redis_reply(self, stripped: str) -> bool:
        command = self.state.command
        if command is None or command.verb != "redis" or self.state.in_info:
            return False
        replies = ("CONFIG GET", "TTL", "DBSIZE", "PING", "ACL LIST")
        return command.redis_command.startswith(replies) or stripped.startswith(("ERR", "(error)"))

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

    def _yaml_line(self, line: str, number: int) -> Fact | bool | None:
        match = _YAML_LINE.match(line)
        if not match or "." in match.group(2) or (self.state.command and self.state.command.verb == "logs"):
            return None  # dotted keys and lines under `kubectl logs` are log lines, not values
        if _LOG_WORD_KEY.match(match.group(2)):
            return None  # `Error: connect ECONNREFUSED ...` is a log line
        value = match.group(3) or ""
        if match.group(2)[0].isupper() and value.startswith(('"', "“")) and len(value.split()) >= 4:
            return None  # `Reporter: "the pod restarts every hour"`: someone's words quoted, not a setting
        if _CLASS_NAME.match(match.group(2)) and len((match.group(3) or "").split()) >= 3:
            return None  # `InvalidConfiguration: max number of clients reached`: an exception and its message
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

    def _written_by_a_person(self, stripped: str) -> bool:
        """A sentence around the paste (a reporter's words), not a line a program logged."""
        command = self.state.command
        if command is not None and command.verb == "logs":
            return False  # under `kubectl logs`, every line is the program's
        return (
            is_prose(stripped)
            and not _LOG_SHAPE.match(stripped)
            and not _PROGRAM_WORDS.search(stripped)
            and (stripped[0] in "\"'>*-" or stripped[0].isupper() or ': "' in stripped[:40])
        )

    def _said(self, stripped: str, number: int) -> list[Fact]:
        """What a person reports seeing, as the weak facts it amounts to (source kind "notes")."""
        said: list[Fact] = []
        probe = said_probe_kills(stripped)
        if probe:
            record = EventRecord("Unhealthy", f"{probe.capitalize()} probe failed (as reported)", "Warning")
            said.append(self._fact("event", record, stripped, number, "notes"))
        delay = said_probe_delay(stripped)
        if delay:
            probe = f"delay={delay}s (as reported)"
            said.append(self._fact("container.probe", probe, stripped, number, "notes", key="liveness"))
        policy = said_redis_policy(stripped)
        if policy:
            said.append(self._fact("redis.config", policy, stripped, number, "notes", key="maxmemory-policy"))
        if said_cpu_throttled(stripped):
            said.append(
                self._fact(
                    "text.note", "CPU throttled (as reported)", stripped, number, "notes", key="cpu_throttled"
                )
            )
        if said_no_ttl(stripped):
            said.append(self._fact("redis.info", "-1", stripped, number, "notes", key="ttl_sample"))
        if said_oom_kill(stripped):
            record = EventRecord("OOMKilling", "Container OOMKilled (as reported)", "Warning")
            said.append(self._fact("event", record, stripped, number, "notes"))
        return said
