"""dependency-unavailable: the service fails because something it depends on drops it."""

from __future__ import annotations

import re
from collections import Counter

from analyzers.base import finding, narrow
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import Fact

_FAILURE = re.compile(
    r"connection refused|ECONNREFUSED|no route to host|EHOSTUNREACH|i/o timeout|ETIMEDOUT|"
    r"connection reset by peer|ECONNRESET|no such host|ENOTFOUND|upstream connect error|"
    r"Connection to \S+ refused|Communications link failure|could not connect to server",
    re.IGNORECASE,
)
_TARGET = re.compile(
    r"(?:dial tcp |connect ETIMEDOUT |connect ECONNREFUSED |->|addr[=\":]+|Connection to |host[=\": ]+\"?)"
    r"\"?([A-Za-z][\w.-]*):(\d+)",
    re.IGNORECASE,
)
MIN_FAILURES = 3


def analyze(context: Context) -> list[Finding]:
    hits: dict[str, list[Fact]] = {}
    for fact in context.logs():
        if context.relation(fact.subject) != "self" or context.is_sidecar(fact.subject):
            continue
        text = context.text_of(fact)
        if not _FAILURE.search(text):
            continue
        target = _TARGET.search(text) or re.search(r"\b(\d{1,3}(?:\.\d{1,3}){3}):(\d+)", text)
        if not target:
            continue  # a failure that names no peer cannot be pinned on a dependency
        host = target.group(1)
        if context.service and (host == context.service or host.startswith(context.service + ".")):
            continue
        hits.setdefault(host, []).append(fact)
    if not hits:
        return []
    counts = Counter({host: len(facts) for host, facts in hits.items()})
    host, count = counts.most_common(1)[0]
    if count < MIN_FAILURES:
        return []
    match = _FAILURE.search(context.text_of(hits[host][0]))
    detail = (
        f"The service's own logs show {count} failed connections to {host}: the failures start outside the "
        "service, and restarting it will not help until that dependency answers again."
    )
    return [
        finding(
            "dependency-unavailable",
            "warning",
            f"Dependency {host} refuses or drops connections",
            detail,
            0.7,
            [narrow(f, match.group(0) if match else host) for f in hits[host][:2]],
            host=host,
            failures=count,
        )
    ]
