"""downstream-latency: the services that use this one report slow calls that line up with its trouble."""

from __future__ import annotations

import re

from analyzers.base import finding, narrow
from analyzers.context import Context, names_match
from analyzers.diagnosis import Finding
from analyzers.evidence import Fact
from analyzers.ids import FindingId
from analyzers.redis_view import redis_view
from analyzers.spec import FindingSpec

_SLOW = re.compile(
    r"\bslow\b|latency(?:_ms)?[=:]\s*\d|\bp9\d(?:\.\d)?[=:]\s*\d|\btimed out\b|deadline exceeded",
    re.IGNORECASE,
)
_ABOUT_STORE = re.compile(r"session|cache|redis|\bstore\b|falling back|fallback", re.IGNORECASE)
_SERVER_LOG = re.compile(r"^\d+:[MCSX] \d{1,2} \w{3} \d{4}")


def analyze(context: Context) -> list[Finding]:
    service = context.service or ""
    store = redis_view(context).present or bool(_ABOUT_STORE.search(service))
    clients: list[Fact] = []
    for fact in context.evidence.of("log"):
        if not _is_client(context, fact, service):
            continue
        text = context.text_of(fact)
        if _SLOW.search(text) and _about_us(text, service, store):
            clients.append(fact)
    if not clients:
        return []
    who = sorted({c.subject.origin or c.subject.workload or "a client" for c in clients})
    detail = (
        f"{', '.join(who)} report slow calls to this service at the same time: its restarts and stalls reach "
        "the users through them."
    )
    return [
        finding(
            FindingId.DOWNSTREAM_LATENCY,
            "warning",
            f"Clients see slow calls ({', '.join(who)})",
            detail,
            0.75,
            [narrow(c, "slow") for c in clients[:2]],
            clients=who,
        )
    ]


def _about_us(text: str, service: str, store: bool) -> bool:
    """A slow call is ours when it names us, or names no other host and we are the store it talks of."""
    if service and service in text:
        return True
    hosts = re.findall(r"([a-z][\w.-]*):\d{2,5}\b", text)
    return store and not hosts and bool(_ABOUT_STORE.search(text))


def _is_client(context: Context, fact: Fact, service: str) -> bool:
    relation = context.relation(fact.subject)
    if relation == "other":
        return True
    origin = fact.subject.origin
    if relation == "unknown" and origin and not names_match(origin, service):
        text = context.text_of(fact)
        prefix_removed = text.split("|", 1)[-1].strip()
        return not _SERVER_LOG.match(prefix_removed)
    return False


SPEC = FindingSpec(
    FindingId.DOWNSTREAM_LATENCY,
    analyze,
    "effect",
    80,
    checks=("kubectl {ns}logs deploy/<client> --since=15m | grep -i slow",),
    fixed_by=(),
)
