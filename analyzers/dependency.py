"""dependency-unavailable: the service fails because something it depends on drops it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from analyzers.base import finding, is_recent, narrow
from analyzers.context import Context, names_match
from analyzers.diagnosis import Finding
from analyzers.evidence import Fact
from analyzers.ids import FindingId
from analyzers.spec import FindingSpec

# How clients word a failed connection, by what went wrong.
_FAILURES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "refused",
        re.compile(
            r"connection refused|ECONNREFUSED|Error 111\b|code: 111\b|could not connect to server|"
            r"Connection to \S+ refused|Cannot connect to \w+://|Communications link failure|"
            r"upstream connect error",
            re.IGNORECASE,
        ),
    ),
    (
        "dns",
        re.compile(
            r"no such host|ENOTFOUND|EAI_AGAIN|Name or service not known|could not translate host name|"
            r"Temporary failure in name resolution|nodename nor servname provided|Unknown host",
            re.IGNORECASE,
        ),
    ),
    ("loading", re.compile(r"\bLOADING Redis is loading the dataset in memory")),
    (
        "timeout",
        re.compile(
            r"i/o timeout|ETIMEDOUT|connect timed out|Connection timed out|timeout occurred after waiting",
            re.IGNORECASE,
        ),
    ),
    ("unreachable", re.compile(r"no route to host|EHOSTUNREACH|network is unreachable", re.IGNORECASE)),
    ("reset", re.compile(r"connection reset by peer|ECONNRESET", re.IGNORECASE)),
)
_WHAT = {
    "refused": "refuses connections",
    "dns": "cannot be resolved (DNS)",
    "loading": "is still loading its dataset and answers LOADING",
    "timeout": "does not answer (timeouts)",
    "unreachable": "is unreachable",
    "reset": "drops connections",
}
_HOST = r"([A-Za-z0-9][\w.-]*)"
# Where clients name the peer, most specific first: the name looked up, the address dialled,
# the URL asked for. Each gives (host, port or None).
_TARGETS: tuple[re.Pattern[str], ...] = (
    re.compile(rf"lookup {_HOST}(?: on \S+)?: no such host"),
    re.compile(r"could not translate host name \"([^\"]+)\""),
    re.compile(rf"(?:ENOTFOUND|EAI_AGAIN) {_HOST}"),
    re.compile(rf"Error -?\d+ connecting to {_HOST}:(\d+)"),
    re.compile(rf"\[tcp://{_HOST}:(\d+)\]"),
    re.compile(rf"Cannot connect to \w+://(?:[^@/\s]*@)?{_HOST}:(\d+)"),
    re.compile(r"Is the server running on host \"([^\"]+)\"(?:.*?port (\d+))?"),
    re.compile(rf"waiting \d+ seconds for {_HOST}:(\d+)"),  # wait-for-it.sh
    re.compile(r"ConnectionPool\(host='([^']+)', port=(\d+)\)"),  # python requests / urllib3
    re.compile(
        rf"(?:dial tcp |connect (?:ETIMEDOUT|ECONNREFUSED) |->|addr[=\":]+|Connection to |host[=\": ]+\"?)"
        rf"\"?{_HOST}:(\d+)",
        re.IGNORECASE,
    ),
    re.compile(r"\w+://(?:[^@/\s\"]*@)?([A-Za-z][\w.-]*):(\d+)"),
    re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3}):(\d+)"),
)
# Failures that name the kind of server but no host: the protocol says what it is.
_KINDS: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = (
    (
        "Redis",
        re.compile(r"\bLOADING Redis\b|redis\.exceptions|Redis(?:Exception|Error)\b|Predis|ioredis"),
        ("redis", "valkey", "keydb"),
    ),
    (
        "PostgreSQL",
        re.compile(r"psycopg2?\b|PG::ConnectionBad|\bpq: |org\.postgresql"),
        ("postgres", "pg", "psql"),
    ),
    (
        "MySQL",
        re.compile(r"mysqli?_connect|MySQLdb|pymysql|Communications link failure|SQLSTATE\[HY000\] \[2002\]"),
        ("mysql", "mariadb"),
    ),
)
_LOOPBACK = re.compile(r"^(?:127\.\d+\.\d+\.\d+|localhost|::1|0\.0\.0\.0)$")
_PROBE = re.compile(
    r"\b(?:Liveness|Readiness|Startup) probe (?:failed|errored)|failed (?:liveness|readiness) probe|"
    r"\bprobeType=|\bprober\.go:"
)
MIN_FAILURES = 3
SHORT_PASTE = 8  # log lines of the service: a paste this short is about what it shows


@dataclass(frozen=True)
class Failure:
    fact: Fact
    what: str  # a key of _WHAT
    needle: str  # the words that say it failed, to narrow the excerpt to
    host: str | None
    port: str | None
    kind: str | None  # the server's kind when no host is named ("Redis")

    @property
    def name(self) -> str:
        if self.host:
            return f"{self.host}:{self.port}" if self.port else self.host
        return self.kind or "?"


# A person telling that a dependency's name does not resolve: `the postgres db hostname is not resolving`.
_SAID_DNS = re.compile(
    r"\b(?:is|are|was|were) not resolving\b|\bdoes(?:n't| not) resolve\b|\b(?:can(?:no|')t|could(?:n't| not)) be "
    r"resolved\b|\bfails? to resolve\b",
    re.IGNORECASE,
)
# Asked, doubted, over, expected or quoted from docs: not a failure now.
_SAID_DENIED = re.compile(
    r"\b(?:if|whether|not sure|when|works now|working now|fixed|resolved|laptop|locally|expected|docs?|"
    r"documentation|yesterday|earlier|during the)\b|\?",
    re.IGNORECASE,
)


def _said_failures(context: Context) -> list[Failure]:
    """DNS failures a reporter states in words, with the kind of server they name."""
    said: list[Failure] = []
    for fact in context.mine("text.note"):
        text = str(fact.value)
        found = _SAID_DNS.search(text)
        if found is None or _SAID_DENIED.search(text):
            continue
        kind = next((label for label, _, words in _KINDS if any(w in text.lower() for w in words)), None)
        if kind is not None:
            said.append(Failure(fact, "dns", found.group(0), None, None, kind))
    return said


def analyze(context: Context) -> list[Finding]:
    failures: dict[str, list[Failure]] = {}
    lines = _service_lines(context)
    for fact in lines:
        if _PROBE.search(context.text_of(fact)):
            continue  # the kubelet probing the pod itself, not the service calling a dependency
        failure = _failure_of(context, fact)
        if failure is None or _is_the_service(context, failure):
            continue
        failures.setdefault(failure.name, []).append(failure)
    reported = False
    if not failures:
        said = _said_failures(context)
        if not said:
            return []
        failures[said[0].name], reported = said, True
    name, found = max(failures.items(), key=lambda item: sum(_count(f.fact) for f in item[1]))
    count = sum(_count(f.fact) for f in found)
    dated = [f.fact for f in found if f.fact.at is not None]
    newest = max(dated, key=lambda f: f.at or 0) if dated else found[-1].fact
    if not is_recent(context, newest):
        return []  # the service has logged on long after its last failure: history
    if count < MIN_FAILURES and not reported and not _all_the_paste_has(found, lines):
        return []
    first = found[0]
    loopback = bool(first.host and _LOOPBACK.match(first.host))
    detail = (
        f"The service's own logs show {count} failed connection{'s' if count > 1 else ''} to {name}: "
        f"it {_WHAT[first.what]}"
    )
    if reported:
        detail = (
            f"The {name} server the service needs {_WHAT[first.what]}, as reported (no log line shows it)"
        )
    if first.what == "loading":
        detail += " (Redis loads its persisted data after a restart and refuses commands until done)"
    detail += (
        ". The failure starts outside the service; restarting it will not help until that dependency answers."
    )
    if loopback:
        detail += (
            f" Note that {first.host} inside a container is the container (or its pod) itself: unless the "
            "dependency runs beside it, the client is pointed at the wrong host."
        )
    return [
        finding(
            FindingId.DEPENDENCY_UNAVAILABLE,
            "warning",
            f"Dependency {name} {_WHAT[first.what]}",
            detail,
            0.5 if reported else 0.7 if count >= MIN_FAILURES else 0.6,
            [narrow(f.fact, f.needle) for f in found[:2]],
            host=first.host or first.kind,
            port=int(first.port) if first.port else None,
            dependency=name,
            failure=first.what,
            failures=count,
            loopback=loopback,
        )
    ]


def _failure_of(context: Context, fact: Fact) -> Failure | None:
    """read_failure of a fact of this diagnosis, worked out once (two analyzers ask for every log line)."""
    known = context.shared.setdefault("dependency.failures", {})
    assert isinstance(known, dict)
    if id(fact) not in known:
        known[id(fact)] = (
            fact,
            read_failure(context.text_of(fact), fact),
        )  # the fact kept: its id stays its own
    found: Failure | None = known[id(fact)][1]
    return found


def read_failure(text: str, fact: Fact) -> Failure | None:
    """The failed connection a log line reports, with the peer it names; None when it is not one."""
    found = next(((what, m) for what, pattern in _FAILURES if (m := pattern.search(text))), None)
    if found is None:
        return None
    what, match = found
    host, port = _target(text)
    kind = None
    if host is None:
        kind = next((label for label, words, _ in _KINDS if words.search(text)), None)
        if kind is None:
            return None  # a failure that names no peer cannot be pinned on a dependency
    return Failure(fact, what, match.group(0), host, port, kind)


def _target(text: str) -> tuple[str | None, str | None]:
    for pattern in _TARGETS:
        for match in pattern.finditer(text):
            host = match.group(1)
            port = match.group(2) if (pattern.groups or 0) >= 2 else None
            if host and not host.startswith("<"):
                return host, port
    return None, None


def _service_lines(context: Context) -> list[Fact]:
    """The service's own log lines; lines that name no one only when the paste has none of its own."""
    own: list[Fact] = []
    unattributed: list[Fact] = []
    for fact in context.logs():
        if context.is_sidecar(fact.subject):
            continue
        relation = context.relation(fact.subject)
        (own if relation == "self" else unattributed).append(fact)
    return own or unattributed


def _is_the_service(context: Context, failure: Failure) -> bool:
    service = context.service
    if not service:
        return False
    if failure.host:
        return names_match(failure.host, service) or any(
            names_match(failure.host, a) for a in context.aliases
        )
    words = next((w for label, _, w in _KINDS if label == failure.kind), ())
    return any(word in service.lower() for word in words)  # clients of the service, in its paste


def _all_the_paste_has(found: list[Failure], lines: list[Fact]) -> bool:
    """A clear line or two naming the peer is enough in a short paste, or when it is much of what was logged."""
    return len(lines) <= SHORT_PASTE or 4 * len(found) >= len(lines)


def _count(fact: Fact) -> int:
    count = getattr(fact.value, "count", 1)  # a LogRecord's repeats; a note is one
    return max(1, count) if isinstance(count, int) else 1


def service_failures(context: Context) -> Iterator[Failure]:
    """Every failed connection the service's own lines report (init containers included)."""
    for fact in _service_lines(context):
        failure = _failure_of(context, fact)  # read once per diagnosis, whoever asks
        if failure is not None:
            yield failure


def loopback_failures(context: Context) -> Iterator[Failure]:
    """The service's failed connections to its own loopback address (127.0.0.1, localhost)."""
    return (f for f in service_failures(context) if f.host and _LOOPBACK.match(f.host))


SPEC = FindingSpec(
    FindingId.DEPENDENCY_UNAVAILABLE,
    analyze,
    "cause",
    45,
    checks=("kubectl {ns}logs {pod} --tail=200 | grep -iE 'refused|timeout|reset'",),
    fixed_by=(),
)
