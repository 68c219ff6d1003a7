"""Readers for fragments: rows and lines that lost their table header or their context.

People paste the three lines that matter, not the whole output: `kubectl get events`
rows without `LAST SEEN TYPE REASON`, a `kubectl get pods | grep` row, an event's
message quoted on its own in a chat, text inside a chat's quote or a box-drawing
border. Each function here recognises one such shape by its content (the columns'
values, not their names) and returns its cells, or None when the line is not one.
"""

from __future__ import annotations

import re

# Quote markers and borders around pasted text: `> `, `│ … │`, `┃`, `║`.
_WRAPPER = re.compile(r"^\s*(?:>\s?|[│┃║|]\s)(.*?)(?:\s[│┃║|])?\s*$")
_BOLD = re.compile(r"^\s*\*\*(?!\*)(.+?)(?<!\*)\*\*\s*$")  # a line a chat or ticket set in bold
_BOX_ONLY = re.compile(r"^[\s─━═┌┐└┘├┤┬┴┼╭╮╯╰+|-]+$")
_MARKDOWN_RULE = re.compile(r"^\s*\|?(?:\s*:?-{3,}:?\s*\|)+\s*(?::?-{3,}:?\s*)?\|?\s*$")  # `|---|---|`

_AGE = r"(?:\d+[smhdy][\dsmhdy]*|<unknown>|<invalid>)"
_KINDS = (
    r"pod|node|deployment|replicaset|statefulset|daemonset|job|cronjob|persistentvolumeclaim|"
    r"persistentvolume|service|endpoints|ingress|horizontalpodautoscaler|configmap|secret|lease|"
    r"poddisruptionbudget|namespace"
)
# `kubectl get events` rows: [NAMESPACE] LAST-SEEN [(xN over M)] TYPE REASON OBJECT MESSAGE
_GET_EVENT = re.compile(
    rf"^(?:(?P<namespace>[a-z0-9][a-z0-9-]*)\s+)?(?P<age>{_AGE}(?:\s+\(x\d+ over {_AGE}\))?)\s+"
    r"(?P<type>Normal|Warning)\s+(?P<reason>[A-Z][A-Za-z]+)\s+"
    rf"(?P<object>(?:{_KINDS})(?:\.[a-z.]+)?/[\w.:-]+)\s+(?P<message>.+)$",
    re.IGNORECASE,
)
# The same cells in another order (custom columns, or a chat that re-flowed them): TYPE REASON AGE OBJECT MESSAGE
_TYPE_FIRST_EVENT = re.compile(
    rf"^(?P<type>Normal|Warning)\s+(?P<reason>[A-Z][A-Za-z]+)\s+(?P<age>{_AGE}(?:\s+\(x\d+ over {_AGE}\))?)\s+"
    rf"(?P<object>(?:{_KINDS})(?:\.[a-z.]+)?/[\w.:-]+)\s+(?P<message>.+)$"
)
# Before kubectl 1.14: FIRSTSEEN LASTSEEN COUNT FROM [SUBOBJECTPATH] TYPE REASON MESSAGE
_OLD_EVENT = re.compile(
    rf"^(?P<first>{_AGE})\s+(?P<age>{_AGE})\s+(?P<count>\d+)\s+(?P<source>\{{[^}}]*\}}|[a-z][\w.-]*)\s+"
    r"(?:(?P<path>spec\.\S+|\S*\{\S*\})\s+)?(?P<type>Normal|Warning)\s+(?P<reason>[A-Z][A-Za-z]+)\s+"
    r"(?P<message>.+)$"
)
# `kubectl get pods` rows: [NAMESPACE] NAME READY STATUS RESTARTS AGE ...
_GET_POD = re.compile(
    r"^(?:(?P<namespace>[a-z0-9][a-z0-9-]*)\s+)?(?P<name>(?:pod/)?[a-z0-9][a-z0-9.-]*[a-z0-9])\s+"
    r"(?P<ready>\d+/\d+)\s+(?P<status>[A-Za-z][\w:-]*)\s+(?P<restarts>\d+(?:\s+\([^)]*\))?)\s+"
    rf"(?P<age>{_AGE})(?:\s|$)"
)
# Event messages quoted on their own, with the reason the kubelet gives them.
_LOOSE_EVENTS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^Failed to pull image \""), "Failed", "Warning"),
    (re.compile(r"^Back-off pulling image \""), "BackOff", "Normal"),
    (re.compile(r"^Error: (?:ErrImagePull|ImagePullBackOff|InvalidImageName)\b"), "Failed", "Warning"),
    (re.compile(r"^Back-off restarting failed container"), "BackOff", "Warning"),
    (re.compile(r"^(?:Liveness|Readiness|Startup) probe (?:failed|errored)"), "Unhealthy", "Warning"),
    (re.compile(r"^Container [\w-]+ failed (?:liveness|startup) probe"), "Killing", "Normal"),
    (re.compile(r"^The node (?:was|had) low on resource"), "Evicted", "Warning"),
    (re.compile(r"^MountVolume\.\w+ failed for volume"), "FailedMount", "Warning"),
    (re.compile(r"^Unable to (?:attach or )?mount volumes for pod"), "FailedMount", "Warning"),
    (
        re.compile(r"^Error: (?:secret|configmap|configmaps|secrets) \"[^\"]+\" not found"),
        "Failed",
        "Warning",
    ),
    (re.compile(r"^Error: couldn't find key \S+ in (?:Secret|ConfigMap)"), "Failed", "Warning"),
    (re.compile(r"^\d+/\d+ nodes are available:"), "FailedScheduling", "Warning"),
    (re.compile(r"^Error: failed to (?:create|start) container"), "Failed", "Warning"),
)
# `ImagePullBackOff: Back-off pulling image "x"`: a waiting reason and its message, as a pod's status shows them.
_REASON_LINE = re.compile(
    r"^(?P<reason>ImagePullBackOff|ErrImagePull|InvalidImageName|CrashLoopBackOff|CreateContainerConfigError|"
    r"CreateContainerError|RunContainerError|ContainerCannotRun|OOMKilled|Evicted|ErrImageNeverPull):\s+"
    r"(?P<message>\S.*)$"
)


# `df -h` / `df -k` rows: FILESYSTEM SIZE USED AVAIL USE% MOUNTED-ON (the header is often not pasted).
_DF_ROW = re.compile(
    r"^(?P<filesystem>\S+)\s+(?P<size>\d[\d.,]*[KMGTPE]?i?B?)\s+(?P<used>\d[\d.,]*[KMGTPE]?i?B?)\s+"
    r"(?P<avail>\d[\d.,]*[KMGTPE]?i?B?)\s+(?P<share>\d{1,3})%\s+(?P<mount>/\S*)$"
)


def df_row(stripped: str) -> tuple[str, float] | None:
    """(mount point, share in use 0..1) of a `df` row."""
    match = _DF_ROW.match(stripped)
    if not match or int(match["share"]) > 100:
        return None
    return match["mount"], int(match["share"]) / 100


# A memory limit stated in a sentence: "the memory limit is only 100Mb", "limits - `2Gi`", "the limit to 8Gi".
_AMOUNT = r"(?<![\w.])(?P<amount>\d+(?:\.\d+)?\s?(?:[KMGT]i|[KMGT]i?B|[KMGT]b))(?![\w])"
_STATED = {
    "limit": re.compile(r"\blimits?(?:\.memory)?\b[^.;\n]{0,60}?" + _AMOUNT, re.IGNORECASE),
    "request": re.compile(r"\brequests?\b[^.;\n]{0,40}?" + _AMOUNT, re.IGNORECASE),
}
_ABOUT_MEMORY = re.compile(r"memory|\boom|\bram\b", re.IGNORECASE)
_KUBERNETES_BYTES = re.compile(r"^\d+(?:\.\d+)?\s?[KMGT]i$")  # `4Gi`: only memory is counted in bytes


_AMOUNT_THEN_LIMIT = re.compile(_AMOUNT + r"\s+(?:memory\s+)?limit\b", re.IGNORECASE)  # `at its 2Gi limit`


def _stated(stripped: str, what: str) -> str | None:
    match = _STATED[what].search(stripped) or (
        _AMOUNT_THEN_LIMIT.search(stripped) if what == "limit" else None
    )
    if match is None:
        return None
    # `a rate limit of 100Mb per second` is not memory: plain `Mb` needs the sentence to be about memory.
    if not _KUBERNETES_BYTES.match(match["amount"]) and not _ABOUT_MEMORY.search(stripped):
        return None
    return match["amount"]


def stated_memory_limit(stripped: str) -> str | None:
    """The amount of a memory limit a sentence states (`8Gi`, `100Mb`), or None."""
    return _stated(stripped, "limit")


def stated_memory_request(stripped: str) -> str | None:
    """The amount of a memory request a sentence states (`I increased resource request to 4Gi`), or None."""
    return _stated(stripped, "request")


# A CPU limit stated in a sentence: "the original `cpu: 100m` limit", "a CPU limit of 0.5 cores".
_STATED_CPU = re.compile(
    r"\bcpu\b[^.;\n]{0,40}?(?<![\w.])(?P<amount>\d+(?:\.\d+)?)\s?(?P<unit>m\b|cores?\b|vcpus?\b|cpus?\b)",
    re.IGNORECASE,
)
_AMOUNT_THEN_CPU_LIMIT = re.compile(
    r"(?<![\w.])(?P<amount>\d+(?:\.\d+)?)\s?(?P<unit>m|cores?)\s+CPU limit\b", re.IGNORECASE
)  # `its default 100m CPU limit`
_LIMIT_WORD = re.compile(r"\blimit(?:s|ed)?\b", re.IGNORECASE)


# Sentences whose CPU figure is not the limit in force: a usage, a removed or default limit, a sidecar's.
_NOT_THE_CPU_LIMIT = re.compile(
    r"\brequests?\b|\busage\b|\busing\b|\bremoved\b|\bno (?:cpu )?limit\b|LimitRange|"
    r"\bsidecar\b|istio-proxy|linkerd|\?",
    re.I,
)
_CPU_AMOUNT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?(m\b|cores?\b|vcpus?\b|cpus?\b)", re.I)


def stated_cpu_limit(stripped: str) -> float | None:
    """The CPU limit, in cores, a sentence states, or None (a request or a usage figure is not a limit).
    `raised the CPU limit from 100m to 2 cores` states 2 cores."""
    match = _STATED_CPU.search(stripped) or _AMOUNT_THEN_CPU_LIMIT.search(stripped)
    if match is None or not _LIMIT_WORD.search(stripped) or _NOT_THE_CPU_LIMIT.search(stripped):
        return None
    amount, unit = match["amount"], match["unit"]
    raised = re.search(r"\bfrom\b.*?\bto\b\s*`?(.*)", stripped[match.start() :], re.I)
    if raised:
        target = _CPU_AMOUNT.search(raised.group(1))
        if target is None:
            return None
        amount, unit = target.group(1), target.group(2)
    cores = float(amount) / 1000 if unit.lower() == "m" else float(amount)
    return cores if 0 < cores <= 256 else None


def unwrap(line: str) -> str:
    """The text inside a chat quote (`> `) or a box-drawing border; the line itself otherwise."""
    if _BOX_ONLY.match(line) and line.strip():
        return line.strip() if _MARKDOWN_RULE.match(line) else ""
    match = _WRAPPER.match(line)
    inner = match.group(1) if match else line
    bold = _BOLD.match(inner)
    return bold.group(1) if bold else inner


def get_event_row(stripped: str) -> dict[str, str] | None:
    """The cells of a `kubectl get events` row whose header was not pasted (new or old layout)."""
    match = _GET_EVENT.match(stripped) or _TYPE_FIRST_EVENT.match(stripped)
    if match:
        cells = {
            "LAST SEEN": match["age"],
            "TYPE": match["type"].capitalize(),
            "REASON": match["reason"],
            "OBJECT": match["object"],
            "MESSAGE": match["message"],
        }
        if match.re is _GET_EVENT and match["namespace"]:
            cells["NAMESPACE"] = match["namespace"]
        return cells
    match = _OLD_EVENT.match(stripped)
    if match:
        count = int(match["count"])
        age = match["age"] if count <= 1 else f"{match['age']} (x{count} over {match['first']})"
        return {
            "LAST SEEN": age,
            "TYPE": match["type"],
            "REASON": match["reason"],
            "MESSAGE": match["message"],
        }
    return None


def get_pod_row(stripped: str) -> dict[str, str] | None:
    """The cells of a `kubectl get pods` row whose header was not pasted."""
    match = _GET_POD.match(stripped)
    if not match:
        return None
    cells = {
        "NAME": match["name"],
        "READY": match["ready"],
        "STATUS": match["status"],
        "RESTARTS": match["restarts"],
        "AGE": match["age"],
    }
    if match["namespace"]:
        cells["NAMESPACE"] = match["namespace"]
    return cells


def loose_event(stripped: str) -> tuple[str, str, str] | None:
    """(reason, type, message) of an event message quoted without its row, or of a `Reason: message` line."""
    reason_line = _REASON_LINE.match(stripped)
    if reason_line:
        return reason_line["reason"], "Warning", stripped
    for pattern, reason, kind in _LOOSE_EVENTS:
        if pattern.match(stripped):
            return reason, kind, stripped
    return None


def is_prose(value: str) -> bool:
    """A sentence rather than a setting: `Reporter: "Currently istiod is deployed with ..."`."""
    return len(value.split()) >= 8 and not value.startswith(("|", ">", "{", "["))


# What people report in their own words around a paste. Each is a weak fact (kind "notes"): a sentence that
# denies it (`it is not OOMKilled`) says nothing.
_NEGATED = re.compile(r"\b(?:not|no|never|isn't|wasn't|aren't|weren't|without|nor)\b[^.;]{0,30}$", re.I)
_HYPOTHETICAL = re.compile(r"\b(?:if|should|would|could|might|runbook)\b", re.I)
_NEGATION_WORD = re.compile(r"\b(?:not|never|no longer|isn't|wasn't|doesn't|didn't)\b", re.I)
_SAYS_PROBE_KILLS = re.compile(
    # `liveness probe`, `liveness and readiness (probes)`, `readiness/liveness probes`
    r"\b(?:readiness ?(?:and|&|/) ?)?(?P<probe>liveness|startup)"
    r"(?:(?: ?probes?)?(?: ?(?:and|&|/) ?readiness)(?: ?probes?)?| ?probes?)\b"
    r"[^.;]{0,40}?\b(?:fail(?:s|ed|ing)?|kill(?:s|ed|ing)?|restart(?:s|ed|ing)?)",
    re.I,
)


def _asserted(pattern: re.Pattern[str], stripped: str) -> re.Match[str] | None:
    """Where `pattern` is said as a fact of now: not asked, not told as history, not denied or supposed
    before it. Each reader adds the refusals of its own."""
    found = pattern.search(stripped)
    if found is None or "?" in stripped or _HISTORY.search(stripped):
        return None
    before = stripped[: found.start()]
    return None if _NEGATED.search(before) or _HYPOTHETICAL.search(before) else found


def said_probe_kills(stripped: str) -> str | None:
    """`liveness probe reliably kills the process`: the probe ("liveness" or "startup") it reports failing."""
    found = _asserted(_SAYS_PROBE_KILLS, stripped)
    if found is None or _NEGATION_WORD.search(found.group(0)):
        return None
    return found["probe"].lower()


_SAYS_OOM_KILL = re.compile(
    r"\bOOM[- ]?kill(?:ed|s|ing)?\b|\bkilled by the (?:kernel'?s? )?OOM[- ]killer|\bout of memory killer",
    re.I,
)


# A kill told as history: `the OOM kill 12 days ago that led to CHG-5521`.
_HISTORY = re.compile(
    r"\b(?:\d+|a|one|two|three|few|several) (?:days?|weeks?|months?|years?) ago\b|\blast (?:week|month|year)\b|"
    r"\bpreviously\b|\bused to\b|\bled to\b|\bin the past\b|\b(?:was|were|has been|got|is) fixed\b|\bsince then\b|"
    r"\byesterday\b|\bearlier\b|\bwe raised\b|\bafter raising\b|\bworks now\b|\banother (?:issue|thread|ticket)\b",
    re.I,
)
# Denied after the fact: `OOMKilled is not the reason here`, `we ruled out an OOM kill`.
_DENIED_AFTER = re.compile(
    r"^\W*(?:is|was|are|were)? ?(?:not|n't)\b|^[^.;]{0,20}\b(?:ruled out|excluded)\b", re.I
)
_DENIAL_BEFORE = re.compile(
    r"\b(?:ruled out|don'?t see|do not see|no sign of|not seeing|no)\b[^.;]{0,25}$", re.I
)
# A sentence about another component: a sidecar, or another named workload "on the same node".
_ABOUT_ANOTHER = re.compile(
    r"\bsidecar\b|istio-proxy|linkerd-proxy|\bon the same node\b|\bother pods?\b", re.I
)


def said_oom_kill(stripped: str) -> bool:
    """`the pod is OOMKilled again and again`: a person reports an OOM kill now (not denied, asked, supposed
    or told as history)."""
    found = _asserted(_SAYS_OOM_KILL, stripped)
    if found is None or _ABOUT_ANOTHER.search(stripped):
        return False
    before, after = stripped[: found.start()], stripped[found.end() :]
    return not (
        _NEGATION_WORD.search(before[-25:]) or _DENIAL_BEFORE.search(before) or _DENIED_AFTER.search(after)
    )


# `the keys remain forever with TTL -1`, `keys written without a TTL`: keys that never expire, as reported.
_SAYS_NO_TTL = re.compile(
    r"\bTTL(?: of| is| =|:)?\s?`?-1\b|\b(?:without|with no) (?:a |any )?(?:TTL|expir(?:y|ation|e))\b|"
    r"\bnever expire",
    re.I,
)


_ON_PURPOSE = re.compile(r"\b(?:intended|intentional\w*|on purpose|by design|expected|as it should)\b", re.I)


def said_no_ttl(stripped: str) -> bool:
    """A person reports keys that never expire (not asked, not denied)."""
    found = _SAYS_NO_TTL.search(stripped)
    if found is None or "?" in stripped or _ON_PURPOSE.search(stripped):
        return False
    return not _NEGATION_WORD.search(stripped[: found.start()][-25:])


_SAYS_PROBE_DELAY = re.compile(
    r"\bliveness ?probe\b[^.;?]{0,60}?(?:\b(?:after|delay(?:ed)?(?: of| by)?|initial ?delay(?:Seconds)?[ :=]*)\s?"
    r"(\d{1,4}) ?(?:s|secs?|seconds)\b|\b(\d{1,4}) ?(?:s|secs?|seconds) after\b)",
    re.I,
)


def said_probe_delay(stripped: str) -> int | None:
    """`The livenessprobe starts probing 20s after pod startup`: the initial delay, in seconds, a person states."""
    found = _SAYS_PROBE_DELAY.search(stripped)
    if found is None or "?" in stripped or _HYPOTHETICAL.search(stripped[: found.start()]):
        return None
    if re.search(r"\b(?:suggest\w*|recommend\w*|propos\w+|try|tried|raise|increase)\b", stripped, re.I):
        return None  # advice or a change, not the delay in force
    return int(found.group(1) or found.group(2))


_POLICIES = r"(noeviction|allkeys-(?:lru|lfu|random)|volatile-(?:lru|lfu|random|ttl))"
_SAYS_POLICY = re.compile(
    rf"\bmaxmemory[-_ ]policy\b[^.;?]{{0,30}}?\b{_POLICIES}\b|\b{_POLICIES}\b (?:eviction )?policy\b", re.I
)


# Advice about a setting, not the setting in force: `the docs recommend allkeys-lru`.
_ADVICE = re.compile(r"\b(?:recommend\w*|suggest\w*|warns?|advis\w+|docs?|documentation|wiki|guide)\b", re.I)


def said_redis_policy(stripped: str) -> str | None:
    """`with maxmemory-policy set to volatile-lru`: the eviction policy a person says Redis runs with."""
    found = _SAYS_POLICY.search(stripped)
    if found is None or "?" in stripped or _HYPOTHETICAL.search(stripped[: found.start()]):
        return None
    if _NEGATION_WORD.search(stripped[: found.start()][-30:]) or _ADVICE.search(stripped):
        return None
    if _DENIED_AFTER.search(stripped[found.end() :]):
        return None
    changed = re.search(rf"\bfrom\s+`?{_POLICIES}`?\s+to\s+`?{_POLICIES}", stripped, re.I)
    if changed:
        return changed.group(2).lower()  # `changed the policy from volatile-lru to allkeys-lru`: the new one
    return (found.group(1) or found.group(2)).lower()


# kubectl's answer to `logs` for a container that never started: `container "x" in pod "y" is waiting to start: R`
_WAITING_TO_START = re.compile(r'container "([\w.-]+)" in pod "([\w.-]+)" is waiting to start: (.+?)\s*$')
_WAITING_WORDS = {
    "image can't be pulled": "ImagePullBackOff",
    "trying and failing to pull image": "ErrImagePull",
}


def waiting_to_start(stripped: str) -> tuple[str, str, str] | None:
    """(pod, container, waiting reason) of kubectl's `is waiting to start` answer."""
    match = _WAITING_TO_START.search(stripped)
    if match is None:
        return None
    reason = _WAITING_WORDS.get(match.group(3), match.group(3))
    return match.group(2), match.group(1), reason


# kube-prometheus's CPUThrottlingHigh alert: `41% throttling of CPU in namespace m for container c in pod p.`
_THROTTLING_ALERT = re.compile(
    r"(\d+(?:\.\d+)?)% throttling of CPU in namespace ([\w.-]+) for container ([\w.-]+) in pod ([\w.-]+?)\.?(?:\s|$)"
)


def throttling_alert(stripped: str) -> tuple[float, str, str, str] | None:
    """(throttled share 0..1, namespace, container, pod) of a CPUThrottlingHigh alert's text."""
    match = _THROTTLING_ALERT.search(stripped)
    if match is None:
        return None
    return float(match.group(1)) / 100, match.group(2), match.group(3), match.group(4)


# `the config-reloader began experiencing high CPU throttling`, `hitting the 100m CPU limit very often`
_SAYS_THROTTLED = re.compile(
    r"\bCPU throttl\w*|\bthrottl\w+ (?:of )?(?:the )?CPU\b|\b(?:hitting|hits|pegged at|maxed out at|capped at) "
    r"(?:the |its )?(?:\d+m |\d+(?:\.\d+)? cores? )?CPU limit",
    re.I,
)


def said_cpu_throttled(stripped: str) -> bool:
    """A person reports the container throttled at its CPU limit (not asked, denied, supposed or past)."""
    found = _asserted(_SAYS_THROTTLED, stripped)
    return found is not None and not _DENIED_AFTER.search(stripped[found.end() :])
