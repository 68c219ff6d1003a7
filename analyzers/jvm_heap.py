"""jvm-heap-exceeds-limit: the JVM may grow its heap past the container's memory limit."""

from __future__ import annotations

import re

from analyzers.base import finding, narrow
from analyzers.containers import service_memory_limit
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.evidence import Fact
from analyzers.ids import FindingId, RemediationId
from analyzers.quantity import MI, human_bytes
from analyzers.spec import FindingSpec

_JAVA_ENV = (
    "JAVA_TOOL_OPTIONS",
    "JAVA_OPTS",
    "JDK_JAVA_OPTIONS",
    "_JAVA_OPTIONS",
    "JVM_OPTS",
    "JAVA_OPTIONS",
)
_XMX = re.compile(r"-Xmx(\d+)([kKmMgG]?)\b")
_RAM_PERCENT = re.compile(r"-XX:MaxRAMPercentage=(\d+(?:\.\d+)?)")
OFF_HEAP_MIN = 256 * MI
# Variables and chart values that carry JVM flags besides the standard ones (ES_JAVA_OPTS, KAFKA_HEAP_OPTS,
# CATALINA_OPTS, esJavaOpts, heapOpts, jvmOptions).
_JVM_KEY = re.compile(r"java_?opt|jvm_?opt|heap_?opt|catalina_opts|javaopts|jvmoptions", re.IGNORECASE)
_JAVA_COMMAND = re.compile(r"\bjava\b[^\n]*\s-X(?:mx|X:MaxRAMPercentage)")


def heap_setting(context: Context) -> tuple[float | None, float | None, Fact] | None:
    """(-Xmx in bytes, MaxRAMPercentage, the fact that set it) for the main container.

    The JVM takes its flags from its environment, from a chart value (`esJavaOpts`, `heapOpts`) or from
    the command a start script runs (`exec java -Xmx3072m -jar app.jar`, as its log or `ps` shows it):
    the environment is the most direct, a command line the least.
    """
    env = [f for f in context.main("container.env") if f.key in _JAVA_ENV or _JVM_KEY.search(f.key or "")]
    values = [f for f in context.mine("helm.value") if _JVM_KEY.search(f.key or "")]
    commands = [f for f in context.main("log") if _JAVA_COMMAND.search(context.text_of(f))]
    for fact in [*env, *values, *commands]:
        text = context.text_of(fact)
        xmx, percent = _XMX.search(text), _RAM_PERCENT.search(text)
        if xmx or percent:
            size = _size(xmx.group(1), xmx.group(2)) if xmx else None
            return size, float(percent.group(1)) if percent else None, fact
    # No flag sets it, but the JVM said what it chose (PrintFlagsFinal, -XshowSettings, a table): the
    # service's own, the last one reported.
    measured = [f for f in context.mine("jvm.max_heap") if isinstance(f.value, float | int)]
    if measured:
        latest = measured[-1]
        return float(latest.value), None, latest  # type: ignore[arg-type]
    return None


def analyze(context: Context) -> list[Finding]:
    setting = heap_setting(context)
    limit = service_memory_limit(context)
    if not setting or not limit:
        return []
    heap, percent, fact = setting
    limit_bytes = limit[0]
    if heap is None and percent is not None:
        heap = limit_bytes * percent / 100
    if heap is None:
        return []
    off_heap = max(OFF_HEAP_MIN, 0.25 * heap)
    if heap + off_heap <= limit_bytes:
        return []
    over = heap >= limit_bytes
    chosen = fact.kind == "jvm.max_heap"  # no flag: the JVM sized it itself, not from the container's limit
    detail = (
        ("The JVM reports the maximum heap it chose itself: it " if chosen else "The JVM ")
        + f"may use a heap of {human_bytes(heap)} plus roughly {human_bytes(off_heap)} off-heap "
        f"(metaspace, threads, buffers), but the container limit is {human_bytes(limit_bytes)}. "
        + ("The heap alone is larger than the limit, so" if over else "So")
        + " the kernel kills the process before the JVM ever sees an OutOfMemoryError."
    )
    cited = [fact, limit[1]]
    growth = [
        f
        for f in context.logs()
        if re.search(r"\(\d+M\)", context.text_of(f)) and "GC(" in context.text_of(f)
    ]
    grown = [
        f
        for f in growth
        if (m := re.search(r"\((\d+)M\)", context.text_of(f))) and int(m.group(1)) * MI > limit_bytes
    ]
    cited += [narrow(f, "GC(") for f in grown[:1]]
    cited += [f for f in context.main("container.last_reason") if f.value == "OOMKilled"][:1]
    return [
        finding(
            FindingId.JVM_HEAP_EXCEEDS_LIMIT,
            "critical" if over else "warning",
            f"JVM heap {human_bytes(heap)} does not fit the {human_bytes(limit_bytes)} limit",
            detail,
            (0.8 if chosen else 0.95) if over else 0.75,
            cited,
            heap=heap,
            off_heap=off_heap,
            limit=limit_bytes,
            container=limit[2].container,
            percentage=setting[0] is None,
            chosen_by_jvm=chosen,
        )
    ]


def _size(number: str, unit: str) -> float:
    return float(number) * {"": 1, "k": 1024, "m": MI, "g": 1024 * MI}[unit.lower()]


SPEC = FindingSpec(
    FindingId.JVM_HEAP_EXCEEDS_LIMIT,
    analyze,
    "cause",
    15,
    checks=("kubectl {ns}exec {pod} -- jcmd 1 VM.flags | tr ' ' '\\n' | grep -E 'MaxHeapSize|MaxRAM'",),
    fixed_by=(
        RemediationId.LOWER_JVM_HEAP,
        RemediationId.RAISE_MEMORY_LIMIT,
    ),
)
