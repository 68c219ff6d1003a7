"""app-config-error: the process exits at start-up because of its own configuration."""

from __future__ import annotations

import re

from analyzers.base import finding, narrow
from analyzers.containers import containers
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import EventRecord, Fact

_CONFIG_FAILURE = re.compile(
    r"(?:required|missing|mandatory)[^\"]{0,40}?(?:environment variable|env var|variable|setting|config|secret|key)|"
    r"\b(?:is not set|not set|is required|must be set)\b|no such file or directory|"
    r"invalid (?:flag|option|argument|configuration)|unknown flag|could not (?:load|parse) config|"
    r"failed to (?:load|parse) config|KeyError: '[A-Z][A-Z0-9_]+'|ImproperlyConfigured|couldn't find key|"
    r"validation errors? for \w{0,40}(?:Settings|Config)\b|Field required \[type=missing",
    re.IGNORECASE,
)
_CONFIG_EVENTS = ("CreateContainerConfigError", "secret", "configmap")


def analyze(context: Context) -> list[Finding]:
    exits = [
        f
        for view in containers(context, include_sidecars=False)
        for f in view.facts.get("container.last_exit_code", [])
        if isinstance(f.value, int) and f.value not in (0, 137, 143)
    ]
    if any(f.value == "OOMKilled" for f in context.main("container.last_reason")):
        return []  # the kernel killed it for memory; start-up complaints are not why it exits
    log_hits = [f for f in context.logs() if _is_fatal_config(f, context)]
    events = [f for f in context.mine("event") if _is_config_event(f)]
    events += [f for f in context.main("container.waiting_reason") if f.value == "CreateContainerConfigError"]
    if not events and not (log_hits and (exits or _restarting(context))):
        return []
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
    return [
        finding(
            "app-config-error",
            "critical",
            f"Exits at start-up: {variable or 'configuration'} missing",
            detail,
            0.9 if log_hits else 0.75,
            cited,
            variable=variable,
            source=str(wiring.value) if wiring else None,
        )
    ]


def _is_fatal_config(fact: Fact, context: Context) -> bool:
    text = context.text_of(fact)
    level = getattr(fact.value, "level", "")
    fatal = level in ("fatal", "panic", "crit", "critical") or re.search(
        r"\b(FATAL|PANIC|CRITICAL)\b|^[\w.]*Error: ", text
    )
    return bool(fatal and _CONFIG_FAILURE.search(text))


def _is_config_event(fact: Fact) -> bool:
    record = fact.value
    if not isinstance(record, EventRecord):
        return False
    return (
        record.reason == "CreateContainerConfigError"
        or "couldn't find key" in record.message
        or (
            record.reason == "Failed"
            and any(w in record.message for w in _CONFIG_EVENTS[1:])
            and "not found" in record.message
        )
    )


def _restarting(context: Context) -> bool:
    return any(f.value == "CrashLoopBackOff" for f in context.mine("container.waiting_reason")) or any(
        f.value == "CrashLoopBackOff" for f in context.mine("pod.status")
    )


def _variable(log_hits: list[Fact]) -> str | None:
    for fact in log_hits:
        text = getattr(fact.value, "text", "")
        match = re.search(r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b", text)
        if match:
            return match.group(1)
    return None


def _env_wiring(context: Context, variable: str) -> Fact | None:
    return next((f for f in context.mine("container.env", variable)), None)
