"""Shell prompts in pasted text, and what a command tells about the output below it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from analyzers.evidence import Subject
from bot.readers.kubernetes_objects import workload_of_pod

_PROMPTS = (
    re.compile(r"^\s*\$ (.+)$"),
    re.compile(r"^\s*[\w.-]+@[\w.-]+:[^$#]*[$#] (.+)$"),
    re.compile(r"^\s*(?:\d{1,3}\.){3}\d{1,3}:\d+> ?(.*)$"),  # redis-cli interactive
    re.compile(r"^\s*((?:kubectl|redis-cli|logcli|gcloud) .+)$"),
)
_SELECTOR = re.compile(r'\b(namespace|namespace_name|pod|pod_name|container|container_name)\s*=\s*"([^"]+)"')


@dataclass(frozen=True, slots=True)
class Command:
    text: str
    verb: str  # describe, logs, exec, get, top, redis, curl, query, other
    subject: Subject
    previous: bool = False
    redis_command: str = ""  # for redis-cli: the command and its arguments, upper-cased verb
    resource: str = ""  # for kubectl get/describe: pods, events, rs, deploy, configmap, secret, ...


def match_prompt(line: str) -> str | None:
    for prompt in _PROMPTS:
        match = prompt.match(line)
        if match:
            return match.group(1).strip()
    return None


def parse_command(text: str, interactive_redis: bool = False) -> Command:
    if interactive_redis:
        return Command(text, "redis", Subject(), redis_command=_redis_command(text.split()))
    words = text.replace("=", " = ").split()
    raw_words = text.split()
    namespace = _option(raw_words, "-n", "--namespace")
    container = _option(raw_words, "-c", "--container")
    selector = _option(raw_words, "-l", "--selector")
    workload = selector.split("=", 1)[1].split(",")[0] if selector and "=" in selector else None
    pod: str | None = None
    verb, resource = "other", ""
    positional = _positionals(raw_words)
    if "kubectl" in raw_words[:2]:
        args = positional[1:] if positional and positional[0] == "kubectl" else positional
        if args:
            verb = args[0] if args[0] in {"describe", "logs", "exec", "get", "top", "rollout"} else "other"
            rest = args[1:]
            if verb in {"describe", "get", "top"} and rest:
                resource = rest[0].split("/")[0]
                names = [r.split("/", 1)[1] if "/" in r else r for r in rest[1:]]
                if "/" in rest[0]:
                    names.insert(0, rest[0].split("/", 1)[1])
                if resource in {"pod", "pods", "po"} and names:
                    pod = names[0]
                elif names and resource not in {"events", "event", "nodes", "node", "secret", "secrets"}:
                    workload = workload or names[0]
            elif verb in {"logs", "exec"} and rest:
                target = rest[0]
                kind, _, name = target.rpartition("/")
                if kind in {"", "pod", "pods", "po"}:
                    pod = name
                else:
                    workload = name  # deploy/x, statefulset/x: some pod of it
                if verb == "logs" and len(rest) > 1 and not container:
                    container = rest[1]  # `kubectl logs POD CONTAINER`
    elif raw_words and raw_words[0] in {"logcli", "gcloud"}:
        verb = "logs"
        found = dict(_SELECTOR.findall(text))
        namespace = namespace or found.get("namespace") or found.get("namespace_name")
        pod = found.get("pod") or found.get("pod_name")
        container = container or found.get("container") or found.get("container_name")
    elif raw_words and raw_words[0] in {"docker", "podman"} and "logs" in positional[1:3]:
        verb = "logs"  # `docker logs [-f] NAME`, `docker compose logs SERVICE`
        names = positional[positional.index("logs") + 1 :]
        container = container or (names[0] if names else None)
    elif raw_words and raw_words[0] == "stern":
        verb = "logs"  # every line starts `pod container`
    elif raw_words and raw_words[0] == "curl":
        verb = "curl"
    redis_command = ""
    if "redis-cli" in raw_words:
        after = raw_words[raw_words.index("redis-cli") + 1 :]
        redis_command = _redis_command(after)
        verb = "redis"
    if pod and not workload:
        workload = workload_of_pod(pod)
    del words
    return Command(
        text,
        verb,
        Subject(namespace, pod, container, workload),
        previous="--previous" in raw_words or "-p" in raw_words,
        redis_command=redis_command,
        resource=resource,
    )


def _redis_command(words: list[str]) -> str:
    """The redis-cli command, skipping connection options (`-h host -p 6379`)."""
    skip = {"-h", "-p", "-a", "-n", "-u", "--user", "--pass"}
    index = 0
    while index < len(words):
        word = words[index]
        if word in skip:
            index += 2
            continue
        if word.startswith("-"):
            index += 1
            continue
        break
    rest = [w.strip("'\"") for w in words[index:]]
    rest = [w for w in rest if w not in {"|", "||"}][:4]
    if not rest:
        return ""
    verb = rest[0].upper()
    if verb in ("CONFIG", "ACL", "CLIENT", "MEMORY", "SLOWLOG") and len(rest) > 1:
        return " ".join([verb, rest[1].upper(), *rest[2:]])  # two-word commands: `config get` too
    return " ".join([verb, *rest[1:]])


def _option(words: list[str], short: str, long: str) -> str | None:
    for index, word in enumerate(words):
        if word in (short, long) and index + 1 < len(words):
            return words[index + 1].strip("'\"")
        if word.startswith(long + "="):
            return word.split("=", 1)[1].strip("'\"")
    return None


def _positionals(words: list[str]) -> list[str]:
    """Words that are not options or option values, up to a pipe or `--`."""
    takes_value = {
        "-n",
        "--namespace",
        "-c",
        "--container",
        "-l",
        "--selector",
        "-o",
        "--output",
        "--tail",
        "--since",
        "--context",
        "--field-selector",
        "--sort-by",
        "--timeout",
    }
    result: list[str] = []
    skip_next = False
    for word in words:
        if word in {"|", "--", ">", "&&", ";"}:
            break
        if skip_next:
            skip_next = False
            continue
        if word in takes_value:
            skip_next = True
            continue
        if word.startswith("-"):
            continue
        result.append(word)
    return result
