"""app-config-error: the process exits at start-up because of its own configuration.

Read in this order, the first that the evidence shows wins:
- a setting the process needs is missing (a fatal start-up line that names it, exits or restarts);
- the process refuses its own configuration or flags (Redis `FATAL CONFIG FILE ERROR`, Go/CLI
  `flag provided but not defined`): only a starting process prints these, so the line alone is enough;
- the runtime cannot start the container (`CreateContainerError`, `exec format error`, an entrypoint
  that is not there or not executable);
- an init container fails (`Init:CrashLoopBackOff`, `Init:Error`) and its own log says why;
- the pod references a ConfigMap or Secret that does not exist;
- the client dials its own loopback address while the configuration names another host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from analyzers.base import event_is_recent, finding, is_recent, narrow
from analyzers.bundled import disabled_bundle_told
from analyzers.containers import ContainerView, containers
from analyzers.context import Context
from analyzers.dependency import Failure, loopback_failures
from analyzers.diagnosis import Finding
from analyzers.evidence import EventRecord, Fact, Subject
from analyzers.ids import FindingId, RemediationId
from analyzers.loopback import WELL_KNOWN_PORTS, configured_host
from analyzers.spec import FindingSpec

_CONFIG_FAILURE = re.compile(
    r"(?:required|missing|mandatory)[^\"]{0,40}?(?:environment variable|env var|variable|setting|config|secret|key)|"
    r"\b(?:is not set|not set|is required|must be set)\b|no such file or directory|"
    r"invalid (?:flag|option|argument|configuration)|unknown flag|could not (?:load|parse) config|"
    r"failed to (?:load|parse) config|KeyError: '[A-Z][A-Z0-9_]+'|ImproperlyConfigured|couldn't find key|"
    r"validation errors? for \w{0,40}(?:Settings|Config)\b|Field required \[type=missing",
    re.IGNORECASE,
)
_CONFIG_EVENTS = ("CreateContainerConfigError", "secret", "configmap")
# Lines only a starting process prints, right before it exits: it refuses its configuration or flags.
_REDIS_CONFIG = re.compile(r"\*\*\* FATAL CONFIG FILE ERROR")
_REDIS_CONFIG_DETAIL = re.compile(
    r"^>>> '.*'$|Bad directive or wrong number of arguments|wrong number of arguments"
)
_FLAG = re.compile(
    r"flag provided but not defined: (-{1,2}[\w.-]+)|unknown (?:shorthand )?flag:? '?(-{0,2}[\w.-]+)'?"
    r"(?: in (-[\w.-]+))?|unrecognized (?:command[- ]line )?option:? '?(-{1,2}[\w.-]+)"
)
_STARTED = re.compile(
    r"Ready to accept connections|Server started|Started server|Listening on|serving on", re.I
)
# The runtime could not start the container's process.
_RUNTIME_REASONS = ("CreateContainerError", "RunContainerError", "ContainerCannotRun", "StartError")
_RUNTIME_FAILURE = re.compile(
    r"exec format error|executable file not found in \$PATH|"
    r"(?:exec(?:ve)?|starting container process caused|entrypoint|exec: \"[^\"]+\")[^\n]{0,80}?"
    r"(?:permission denied|no such file or directory)",
    re.IGNORECASE,
)
_PROBE = re.compile(r"\b(?:Liveness|Readiness|Startup) probe\b", re.IGNORECASE)
# A ConfigMap or Secret the pod mounts or reads is not there.
_MISSING_OBJECT = re.compile(r"\b(configmaps?|secrets?) \"([^\"]+)\" not found", re.IGNORECASE)
_SYSTEM_OBJECTS = re.compile(r"^(?:kube-root-ca\.crt|default-token-\w+|openshift-service-ca\.crt)$")
_EVENT_POD = re.compile(r"for pod \"([a-z0-9][a-z0-9.-]*)_")
_INIT_NAME = re.compile(r"^(?:init|init-.+|.+-init|wait-for-.+)$")
_ERROR_LINE = re.compile(r"\b(?:error|fatal|panic|not met|failed|cannot|can't|unable)\b", re.IGNORECASE)


@dataclass
class _Cause:
    kind: str
    title: str
    detail: str
    confidence: float
    cited: list[Fact]
    data: dict[str, object] = field(default_factory=dict)


def analyze(context: Context) -> list[Finding]:
    if any(f.value == "OOMKilled" for f in context.main("container.last_reason")):
        return []  # the kernel killed it for memory; start-up complaints are not why it exits
    cause = (
        _missing_setting(context)
        or _refused_configuration(context)
        or _runtime_cannot_start(context)
        or _init_container(context)
        or _missing_object(context)
        or _loopback_instead_of_configured(context)
        or _disabled_bundle(context)
    )
    if cause is None:
        return []
    data: dict[str, Any] = {"cause": cause.kind, "variable": None, "source": None, **cause.data}
    return [
        finding(
            FindingId.APP_CONFIG_ERROR,
            "critical",
            cause.title,
            cause.detail,
            cause.confidence,
            cause.cited,
            **data,
        )
    ]


# -- a missing setting --------------------------------------------------------------------------
def _missing_setting(context: Context) -> _Cause | None:
    exits = _bad_exits(context)
    log_hits = [f for f in context.logs() if _is_fatal_config(f, context)]
    events = [f for f in context.mine("event") if _is_config_event(f, context)]
    events += [f for f in context.main("container.waiting_reason") if f.value == "CreateContainerConfigError"]
    if not events and not (log_hits and (exits or _restarting(context))):
        return None
    if not log_hits and any(_MISSING_OBJECT.search(context.text_of(e)) for e in events):
        return None  # a missing ConfigMap/Secret: told below with its name
    variable = _variable(log_hits)
    wiring = _env_wiring(context, variable) if variable else None
    detail = "The process stops right after it starts because its configuration is incomplete"
    if variable:
        detail += f": {variable} is not set"
    if wiring:
        detail += f". The pod takes it from {wiring.value}"
        if "Optional: true" in wiring.source.excerpt or "optional" in str(wiring.value):
            detail += ", marked optional, so the pod starts even when that key is missing"
    detail += ". Restarting will not help until the configuration is supplied."
    cited = [narrow(f, variable or "FATAL") for f in log_hits[:1]] + exits[:1] + events[:2]
    if wiring:
        cited.append(wiring)
    return _Cause(
        "missing-setting",
        f"Exits at start-up: {variable or 'configuration'} missing",
        detail,
        0.9 if log_hits else 0.75,
        cited,
        {"variable": variable, "source": str(wiring.value) if wiring else None},
    )


def _is_fatal_config(fact: Fact, context: Context) -> bool:
    text = context.text_of(fact)
    level = getattr(fact.value, "level", "")
    fatal = level in ("fatal", "panic", "crit", "critical") or re.search(
        r"\b(FATAL|PANIC|CRITICAL)\b|^[\w.]*Error: ", text
    )
    return bool(fatal and _CONFIG_FAILURE.search(text) and not _REDIS_CONFIG.search(text))


def _is_config_event(fact: Fact, context: Context) -> bool:
    record = fact.value
    if (
        not isinstance(record, EventRecord)
        or not event_is_recent(record)
        or not _event_pod_is_ours(context, record)
    ):
        return False
    return (
        record.reason == "CreateContainerConfigError"
        or "couldn't find key" in record.message
        or (
            record.reason in ("Failed", "FailedMount", "FailedSync")
            and any(w in record.message.lower() for w in _CONFIG_EVENTS[1:])
            and "not found" in record.message
            and not _only_system_objects(record.message)
        )
    )


def _restarting(context: Context) -> bool:
    waiting = ("CrashLoopBackOff", "Init:CrashLoopBackOff", "Init:Error", "Error")
    return any(f.value in waiting[:1] for f in context.mine("container.waiting_reason")) or any(
        f.value in waiting for f in context.mine("pod.status")
    )


def _bad_exits(context: Context) -> list[Fact]:
    return [
        f
        for view in containers(context, include_sidecars=False)
        for f in view.facts.get("container.last_exit_code", [])
        if isinstance(f.value, int) and f.value not in (0, 137, 143)
    ]


def _variable(log_hits: list[Fact]) -> str | None:
    for fact in log_hits:
        text = getattr(fact.value, "text", "")
        match = re.search(r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b", text)
        if match:
            return match.group(1)
    return None


def _env_wiring(context: Context, variable: str) -> Fact | None:
    return next((f for f in context.mine("container.env", variable)), None)


# -- the process refuses its configuration or flags ------------------------------------------
def _refused_configuration(context: Context) -> _Cause | None:
    lines = [f for f in context.logs() if not context.is_sidecar(f.subject)]
    redis = [f for f in lines if _REDIS_CONFIG.search(context.text_of(f)) and _redis_is_ours(context, f)]
    flags = [f for f in lines if _FLAG.search(context.text_of(f))]
    for found in (redis, flags):
        current = [f for f in found if _still_failing(context, f, lines)]
        if not current:
            continue
        fact = current[-1]
        if found is redis:
            quoted = _following(lines, fact, _REDIS_CONFIG_DETAIL)
            directive = next(
                (context.text_of(q)[5:-1] for q in quoted if context.text_of(q).startswith(">>> '")), None
            )
            detail = "Redis refuses its own configuration at start-up and exits"
            if directive:
                detail += f": it cannot parse the directive `{directive}`"
            detail += (
                " (a directive it does not know, or the wrong number of arguments: often two flags passed as "
                "one argument, or stray quotes). Fix the directive; restarting or more memory will not help."
            )
            return _Cause(
                "config-file",
                "Redis refuses its configuration at start-up",
                detail,
                0.9,
                [fact, *quoted[:2]],
                {"directive": directive},
            )
        match = _FLAG.search(context.text_of(fact))
        flag = next((g for g in match.groups() if g), None) if match else None
        detail = (
            f"The process exits at start-up because it does not accept the flag {flag}: the arguments "
            "(chart values, command or args) pass a flag this version of the binary does not define. "
            "Remove the flag or run a version that has it; restarting will not help."
        )
        return _Cause(
            "flag",
            f"Exits at start-up: unknown flag {flag}",
            detail,
            0.9,
            [narrow(fact, flag or "flag"), *_bad_exits(context)[:1]],
            {"flag": flag},
        )
    return None


def _redis_is_ours(context: Context, fact: Fact) -> bool:
    """A Redis refusing its config is the incident only when the service is that Redis."""
    if context.relation(fact.subject) == "self" or not context.service:
        return True
    images = " ".join(str(f.value) for f in context.main("container.image"))
    return bool(re.search(r"redis|valkey|keydb", f"{context.service} {images}", re.IGNORECASE))


def _still_failing(context: Context, fact: Fact, lines: list[Fact]) -> bool:
    """Not history: recent, no later successful start in the same log, and the container is not up."""
    if not is_recent(context, fact):
        return False
    if _following(lines, fact, _STARTED, within=10**9):
        return False
    return not _running_ready(context)


def _following(lines: list[Fact], fact: Fact, pattern: re.Pattern[str], within: int = 4) -> list[Fact]:
    """Lines of the same artifact right after `fact` that match."""
    line = fact.source.line or 0
    return [
        f
        for f in lines
        if f.source.ref == fact.source.ref
        and 0 < (f.source.line or 0) - line <= within
        and pattern.search(getattr(f.value, "text", ""))
    ]


def _running_ready(context: Context) -> bool:
    views = containers(context, include_sidecars=False)
    ready = [v.value("container.ready") for v in views if v.last("container.ready")]
    restarts = [v.number("container.restart_count") or v.number("pod.restarts") or 0 for v in views]
    return bool(ready) and all(r is True for r in ready) and not any(restarts) and not _restarting(context)


# -- the runtime cannot start the container -------------------------------------------------
def _runtime_cannot_start(context: Context) -> _Cause | None:
    reasons = [
        f
        for kind in ("container.waiting_reason", "container.last_reason", "pod.status")
        for f in context.main(kind)
        if f.value in _RUNTIME_REASONS
    ]
    events = [
        f
        for f in context.mine("event")
        if isinstance(f.value, EventRecord)
        and event_is_recent(f.value)
        and _event_pod_is_ours(context, f.value)
        and _RUNTIME_FAILURE.search(f.value.message)
        and not _PROBE.search(f.value.message)
    ]
    lines = [
        f
        for f in context.logs()
        if not context.is_sidecar(f.subject)
        and _RUNTIME_FAILURE.search(context.text_of(f))
        and not _PROBE.search(context.text_of(f))
        and is_recent(context, f)
    ]
    said = events or lines
    if not said and not reasons:
        return None
    if (
        not said
        and not _bad_exits(context)
        and not any(f.kind == "container.waiting_reason" for f in reasons)
    ):
        return None
    match = next((m for f in said if (m := _RUNTIME_FAILURE.search(context.text_of(f)))), None)
    why = match.group(0) if match else None
    detail = "The container runtime cannot start the container's process"
    if why and "exec format error" in why:
        detail += ": `exec format error`, the image is built for another CPU architecture than the node's"
    elif why and "not found" in why:
        detail += f": `{why}`, the command or entrypoint the pod runs is not in the image"
    elif why:
        detail += f": `{why}`, the entrypoint is missing or not executable"
    detail += ". Fix the image or the pod's command; restarting will not help."
    cited = [narrow(f, why or "Error") for f in said[:2]] + reasons[:1]
    return _Cause("runtime", "The container cannot be started", detail, 0.9 if said else 0.75, cited)


# -- an init container fails ----------------------------------------------------------------
def _init_container(context: Context) -> _Cause | None:
    status = [
        f for f in context.mine("pod.status") if str(f.value).startswith(("Init:CrashLoop", "Init:Error"))
    ]
    init_names = {v.container for v in containers(context) if v.container and _is_init(v, bool(status))}
    lines = [
        f
        for f in context.logs()
        if f.subject.container
        and (f.subject.container in init_names or _INIT_NAME.match(f.subject.container))
        and _ERROR_LINE.search(context.text_of(f))
        and is_recent(context, f)
    ]
    if not status and not lines:
        return None
    container = lines[0].subject.container if lines else next(iter(sorted(init_names)), None)
    if not lines and not container:
        return None
    detail = f"The init container {container or ''} fails, so the main container never starts".replace(
        "  ", " "
    )
    if lines:
        detail += f"; its log says: `{context.text_of(lines[0])[:160]}`"
    detail += (
        ". Fix what the init step needs (its configuration, versions or inputs); restarting will not help."
    )
    return _Cause(
        "init-container",
        f"Init container {container or ''} fails at start-up".replace("  ", " "),
        detail,
        0.85 if lines and status else 0.7,
        [*lines[:2], *status[:1]],
        {"container": container},
    )


def _is_init(view: ContainerView, init_failing: bool) -> bool:
    if _INIT_NAME.match(view.container or ""):
        return True
    failing = view.value("container.waiting_reason") == "CrashLoopBackOff" or view.number(
        "container.last_exit_code"
    )
    return init_failing and bool(failing)


# -- a ConfigMap or Secret is missing -------------------------------------------------------
def _missing_object(context: Context) -> _Cause | None:
    events = [f for f in context.mine("event") if _is_config_event(f, context)]
    named = [(f, m) for f in events if (m := _missing(context.text_of(f)))]
    if not named:
        return None
    match = named[0][1]
    what, name = match.group(1).rstrip("s").lower(), match.group(2)
    detail = (
        f"The pod references the {what} `{name}`, which does not exist in its namespace, so its containers "
        "never start. Create it (or fix the name or namespace the pod refers to); restarting will not help."
    )
    return _Cause(
        "missing-object",
        f"{what.capitalize()} {name} not found",
        detail,
        0.85,
        [narrow(f, name) for f, _ in named[:2]],
        {"source": f"{what} {name}", "missing": name},
    )


def _missing(text: str) -> re.Match[str] | None:
    return next((m for m in _MISSING_OBJECT.finditer(text) if not _SYSTEM_OBJECTS.match(m.group(2))), None)


def _only_system_objects(message: str) -> bool:
    found = list(_MISSING_OBJECT.finditer(message))
    return bool(found) and all(_SYSTEM_OBJECTS.match(m.group(2)) for m in found)


def _event_pod_is_ours(context: Context, record: EventRecord) -> bool:
    """An event whose message names another service's pod (`for pod "x-7d8_ns(uid)"`) is not ours."""
    named = _EVENT_POD.search(record.message)
    if not named or not context.service:
        return True
    pod = named.group(1)
    # Old pod suffixes (`-mdavi`) do not look like hashes: the service's name in front is enough here.
    return pod.startswith(context.service + "-") or context.relation(Subject(pod=pod)) != "other"


# -- loopback instead of the configured host -----------------------------------------------
def _loopback_instead_of_configured(context: Context) -> _Cause | None:
    for failure in loopback_failures(context):
        configured = configured_host(context, failure.port)
        if configured is None:
            alone = _loopback_alone_in_container(context, failure)
            if alone is not None:
                return alone
            continue
        detail = (
            f"The service dials {failure.name}, its own loopback address inside the container, while its "
            f"configuration names another host (`{configured.source.excerpt.strip()}`): the setting is not "
            "applied (a wrong variable name, format or precedence), so it falls back to localhost. Fix how the "
            "host is passed; the dependency itself may be fine."
        )
        return _Cause(
            "loopback",
            f"Connects to {failure.name} instead of the configured host",
            detail,
            0.8,
            [narrow(failure.fact, failure.needle), configured],
            {"dials": failure.name},
        )
    return None


def _disabled_bundle(context: Context) -> _Cause | None:
    told = disabled_bundle_told(context)
    return _Cause("disabled-bundle", *told) if told else None


_OUTSIDE_CONTAINER = re.compile(
    r"\b(?:locally|on my (?:machine|laptop|mac)|bare[- ]metal|systemctl|brew)\b", re.I
)
_IN_CONTAINER = re.compile(r"\b(?:in|inside|from) (?:my |the |a |our )?(?:docker )?(?:container|pod)\b", re.I)


def _loopback_alone_in_container(context: Context, failure: Failure) -> _Cause | None:
    """127.0.0.1 from inside a container is the container itself: with nothing of the dependency in the
    same pod (a sidecar, its own log lines), the client was pointed at the wrong address."""
    said = next((f for f in context.mine("text.note") if _IN_CONTAINER.search(str(f.value))), None)
    if any(_OUTSIDE_CONTAINER.search(str(f.value)) for f in context.mine("text.note")):
        return None  # run on a laptop or a VM, where the dependency may well be local
    containers = {f.subject.container for f in context.evidence.facts if f.subject.container}
    words = WELL_KNOWN_PORTS.get(failure.port or "", ())
    if any(word in (name or "").lower() for name in containers for word in words):
        return None  # the dependency runs beside the service (a sidecar): localhost is right
    detail = (
        f"The service runs in a container and dials {failure.name}: inside a container that address is the "
        "container itself, not the machine or the service the dependency runs in. Point the client at the "
        "dependency's service name or the host's address."
    )
    return _Cause(
        "loopback",
        f"Connects to {failure.name} from inside a container",
        detail,
        0.6 if said else 0.55,
        [narrow(failure.fact, failure.needle), *([said] if said else [])],
        {"dials": failure.name},
    )


SPEC = FindingSpec(
    FindingId.APP_CONFIG_ERROR,
    analyze,
    "cause",
    12,
    checks=(
        "kubectl {ns}logs {pod} --previous | tail -20",
        "kubectl {ns}describe pod {pod} | grep -A20 Environment",
    ),
    fixed_by=(RemediationId.FIX_APP_CONFIG,),
)
