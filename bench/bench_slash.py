#!/usr/bin/env python3
"""Slash commands under load: 50 signed `/triage session-cache` at once, acknowledged, then posted.

The bar: **a signed `/triage session-cache` is acknowledged in under 100 ms at the 99th percentile
with 50 concurrent commands on this 2-core machine, and each diagnosis reaches the stand-in.**

Set-up, all on this machine:

* a real `redis-server` on a free port (`tests.live.conftest.launch_redis`: no persistence);
* the Slack Web API STAND-IN (tests/standins/slack_api.py; not Slack, nothing leaves the machine);
* the bot as `triage serve` runs it (`tests.live.bot_harness.start_bot`: `TriageBot` under waitress
  with 8 HTTP threads, its workers started), IN THIS PROCESS, diagnosing with `example_diagnosis`
  (the bundled session-cache incident read and analysed by the real readers and analyzers; it does
  not collect from a cluster). The bot paces its posts per channel (Redis token bucket, 1 message
  per second, bursts of 3) exactly as in production.

Each round fires `--commands` slash commands concurrently: one thread per command, each holding
the body Slack would send (form-encoded, its own `user_id`, the channel it goes to) and the
v0 signature headers, built before the start; a `threading.Barrier` releases them all at once.
Each thread sends its request over its own new connection (`http.client`, little client-side
work, since the client threads share the interpreter with the bot) and times it from just before
the request is sent to the HTTP 200 acknowledgement read back (`time.perf_counter`). The bot
runs in this process, so client threads and bot threads share one GIL: that is part of what is
measured (the bot's own threads share it too in production).

Then the round waits until each command's diagnosis has reached the stand-in: a chat.postMessage
whose blocks carry "requested by <@USER>" for that command's user, and the chart the bot uploads
into its thread. Commands go round-robin to `--channels` channels. At 1 message per second per
channel (after a burst of 3), 50 posts into ONE channel take about 47 s: that is the bot obeying
Slack's posting rate, not slowness; `--channels 10` shows the same load spread over ten channels.
Between rounds the benchmark waits for the channels' buckets to fill again (burst / rate seconds).

A warm-up command (its own channel and user) goes first: the first request imports and
initialises slack-bolt's request handling and draws the first chart (matplotlib); it is timed and
printed but EXCLUDED from every figure.

Printed per round and overall: acknowledgement latency p50 / p90 / p99 / max (nearest-rank
percentiles), acks per second (commands / time from the release to the last ack), non-200
answers, time from the release until the first and the last diagnosis reached the stand-in,
diagnoses computed (the bot shares one diagnosis of a service among the commands asking for it
at once), messages and chart uploads, the most messages posted in any 1 s window of a channel
(Slack allows about 1 per second, short bursts), and the peak memory of this process (`ru_maxrss`:
the bot, the stand-in and the client threads together).

Where the time goes, per round: the CPU time this process used from the release to the last ack,
split by group of threads (each live thread's CPU clock, `pthread_getcpuclockid`; the client
threads' own `thread_time`; threads that ended meanwhile, mostly the stand-in's one thread per
connection, are the rest), and the deepest waitress task queue it logged. And a probe: right
after the burst, one more command goes to another, idle channel; the time until its diagnosis
reaches the stand-in shows whether a busy channel holds up the others (`--no-probe` leaves it out).

This is a measurement, not a test: it asserts nothing and always exits 0.

    .venv/bin/python bench/bench_slash.py                  # 50 commands, one channel, 3 rounds (~3 min)
    .venv/bin/python bench/bench_slash.py --channels 10    # the same load over ten channels (~30 s)
    .venv/bin/python bench/bench_slash.py --commands 100 --channels 10 --rounds 5
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import math
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests/live and tests/standins live in the checkout

from bench.bench_kit import QueueDepth, code_version, percentile  # noqa: E402

if TYPE_CHECKING:
    from tests.live.bot_harness import RunningBot
    from tests.standins.slack_api import Message, SlackApiStandIn

SERVICE = "session-cache"
NAMESPACE = "ecommerce"
WARM_UP_CHANNEL = "C0BENCHWARM"
WARM_UP_USER = "U0WARMUP"
PROBE_CHANNEL = "C0BENCHPROBE"
BAR_SECONDS = 0.100
HTTP_TIMEOUT = 30.0
POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Command:
    user: str
    channel: str
    body: bytes
    headers: dict[str, str]


@dataclass(slots=True)
class Ack:
    seconds: float = math.nan  # request sent -> 200 read back
    cpu: float = 0.0  # CPU time of the client thread for this request
    at: float = math.nan  # time.monotonic() when the ack was read
    status: int = 0
    text: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class Probe:
    """One command to another channel, sent right after the burst was acknowledged."""

    ack: Ack
    sent: float  # time.monotonic()
    diagnosed_after: float | None  # seconds from sending to its diagnosis at the stand-in


@dataclass(slots=True)
class Round:
    number: int
    acks: list[Ack]
    released: float  # time.monotonic() when the barrier let the threads go
    diagnosed_at: dict[str, float] = field(default_factory=dict)  # user -> stand-in arrival
    missing: list[str] = field(default_factory=list)
    uploads: int = 0
    diagnoses_computed: int = 0
    posts_per_channel: dict[str, list[float]] = field(default_factory=dict)
    uploads_per_channel: dict[str, list[float]] = field(default_factory=dict)
    cpu_seconds: float = math.nan  # CPU time of this process from before the release to the last ack
    cpu_by_threads: dict[str, float] = field(default_factory=dict)  # the same, by group of threads
    waitress_queue: int = 0  # deepest waitress task queue reported during the burst
    probe: Probe | None = None

    @property
    def latencies(self) -> list[float]:
        return [a.seconds for a in self.acks if a.status == 200]

    @property
    def failed(self) -> list[Ack]:
        return [a for a in self.acks if a.status != 200 or "Diagnosing" not in a.text]

    @property
    def ack_span(self) -> float:
        done = [a.at for a in self.acks if not math.isnan(a.at)]
        return max(done) - self.released if done else math.nan


# -- the load -------------------------------------------------------------------------------------
def make_commands(
    count: int, channels: Sequence[str], round_number: int, response_base: str
) -> list[Command]:
    from tests.live.bot_harness import SIGNING_SECRET
    from tests.standins.slack_signing import signed_headers, slash_command_body

    commands = []
    for number in range(count):
        user = f"U0R{round_number:02d}C{number:04d}"
        channel = channels[number % len(channels)]
        body = slash_command_body(
            text=SERVICE,
            user_id=user,
            channel_id=channel,
            response_url=f"{response_base}/response/r{round_number}-{number}",
            trigger_id=f"{int(time.time())}.{number}.benchtrigger",
        )
        commands.append(Command(user, channel, body, signed_headers(body, SIGNING_SECRET)))
    return commands


def send(port: int, command: Command) -> Ack:
    """One slash command over a new connection, timed from sending to the acknowledgement read back."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    ack = Ack()
    cpu_started = time.thread_time()
    started = time.perf_counter()
    try:
        connection.request("POST", "/slack/events", body=command.body, headers=command.headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        ack.seconds = time.perf_counter() - started
        ack.at = time.monotonic()
        ack.status, ack.text = response.status, text
    except OSError as error:
        ack.error = f"{type(error).__name__}: {error}"
    finally:
        connection.close()
        ack.cpu = time.thread_time() - cpu_started
    return ack


def fire(port: int, commands: list[Command]) -> tuple[list[Ack], float]:
    """All commands at once (a barrier releases their threads); returns the acks and the release time."""
    acks = [Ack() for _ in commands]
    released = [0.0]
    barrier = threading.Barrier(len(commands), action=lambda: released.__setitem__(0, time.monotonic()))

    def run(index: int) -> None:
        barrier.wait()
        acks[index] = send(port, commands[index])

    threads = [threading.Thread(target=run, args=(i,), name=f"slash-{i}") for i in range(len(commands))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acks, released[0]


# -- what reached the stand-in --------------------------------------------------------------------
def requested_by(message: Message) -> str | None:
    """The user in the footer "requested by <@USER> with `/triage ...`", if the message has one."""
    text = json.dumps(message.blocks)
    marker = "requested by <@"
    start = text.find(marker)
    if start < 0:
        return None
    start += len(marker)
    end = text.find(">", start)
    return text[start:end] if end > start else None


def wait_for_diagnoses(
    slack: SlackApiStandIn, commands: list[Command], released: float, timeout: float
) -> tuple[dict[str, float], dict[str, str]]:
    """user -> arrival time of their diagnosis at the stand-in, and user -> its ts, when all came
    (or the time-out passed)."""
    wanted = {c.user for c in commands}
    found: dict[str, float] = {}
    ts_of: dict[str, str] = {}
    seen = 0  # messages already looked at: the poll shares the GIL with the bot, so it reads only new ones
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = slack.messages()
        for message in messages[seen:]:
            user = requested_by(message) if message.time >= released else None
            if user in wanted and user not in found:
                found[user] = message.time
                ts_of[user] = message.ts
        seen = len(messages)
        if len(found) == len(wanted):
            break
        time.sleep(POLL_SECONDS)
    return found, ts_of


def wait_for_uploads(slack: SlackApiStandIn, threads: set[str], timeout: float) -> int:
    """How many of the diagnoses' threads got their chart (waiting for all, up to the time-out)."""
    deadline = time.monotonic() + timeout
    while True:
        charted = {f.thread_ts for f in slack.uploads} & threads
        if len(charted) == len(threads) or time.monotonic() >= deadline:
            return len(charted)
        time.sleep(POLL_SECONDS)


def diagnoses_computed(bot: RunningBot) -> int:
    value = bot.bot.metrics.registry.get_sample_value(
        "triage_diagnosis_duration_seconds_count", {"trigger": "slash"}
    )
    return int(value or 0)


def cpu_time() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


THREAD_GROUPS = (
    ("waitress-", "waitress request threads (signature check, slack-bolt dispatch, ack)"),
    ("ThreadPoolExecutor-", "slack-bolt listener executor (the /triage handler, job submit)"),
    ("diagnosis", "diagnosis workers (diagnosis, Block Kit, chat.postMessage, charts)"),
    ("alerts-", "alert workers and digest loop"),
    ("digests", "alert workers and digest loop"),
)


def thread_group(thread: threading.Thread) -> str:
    name = thread.name
    if name.endswith("(run)"):
        return "waitress accept/IO loop"
    return next((label for prefix, label in THREAD_GROUPS if name.startswith(prefix)), "other live threads")


def cpu_by_thread() -> dict[int, tuple[str, float]]:
    """thread ident -> (group, CPU seconds so far) for every live thread whose CPU clock can be read."""
    figures: dict[int, tuple[str, float]] = {}
    for thread in threading.enumerate():
        if thread.ident is None:
            continue
        try:
            clock = time.pthread_getcpuclockid(thread.ident)
            figures[thread.ident] = (thread_group(thread), time.clock_gettime(clock))
        except (AttributeError, OSError, OverflowError, ValueError):
            continue  # not on Linux, or the thread ended meanwhile
    return figures


def cpu_split(before: dict[int, tuple[str, float]], total: float, clients: float) -> dict[str, float]:
    """The process's CPU time over the burst by group of threads; threads that ended (the stand-in
    serves each connection in a thread of its own) are what remains."""
    split: dict[str, float] = {"benchmark client threads (http.client)": clients}
    for ident, (group, now) in cpu_by_thread().items():
        earlier = before.get(ident)
        fresh = earlier is None or earlier[0] != group or earlier[1] > now  # started during the burst
        split[group] = split.get(group, 0.0) + now - (0.0 if fresh or earlier is None else earlier[1])
    split["threads that ended meanwhile (mostly the Slack stand-in's)"] = total - sum(split.values())
    return split


def run_round(
    number: int,
    bot: RunningBot,
    slack: SlackApiStandIn,
    port: int,
    commands: int,
    channels: list[str],
    queue_depth: QueueDepth,
    probe: bool,
) -> Round:
    batch = make_commands(commands, channels, number, slack.url)
    computed_before = diagnoses_computed(bot)
    queue_depth.deepest = 0
    threads_before = cpu_by_thread()
    cpu_before = cpu_time()
    acks, released = fire(port, batch)
    result = Round(number, acks, released, cpu_seconds=cpu_time() - cpu_before)
    result.cpu_by_threads = cpu_split(threads_before, result.cpu_seconds, sum(a.cpu for a in acks))
    result.waitress_queue = queue_depth.deepest
    if probe:
        result.probe = send_probe(slack, port, number)
    per_channel = math.ceil(commands / len(channels))
    timeout = 30.0 + per_channel * 1.5
    result.diagnosed_at, ts_of = wait_for_diagnoses(slack, batch, released, timeout)
    result.missing = sorted({c.user for c in batch} - set(result.diagnosed_at))
    result.uploads = wait_for_uploads(slack, set(ts_of.values()), 30.0)
    result.diagnoses_computed = diagnoses_computed(bot) - computed_before
    if result.probe is not None:
        result.probe = probe_arrival(slack, number, result.probe, 30.0)
    result.posts_per_channel = {
        channel: [at for at in slack.post_times(channel) if at >= released] for channel in channels
    }
    uploads = [
        c for c in slack.calls("files.completeUploadExternal") if c.time >= released and c.status == 200
    ]
    result.uploads_per_channel = {
        channel: [c.time for c in uploads if c.params.get("channel_id") == channel] for channel in channels
    }
    return result


def probe_user(number: int) -> str:
    return f"U0PROBE{number:02d}"


def send_probe(slack: SlackApiStandIn, port: int, number: int) -> Probe:
    """A command to another (idle) channel right after the burst: how long do others wait?"""
    from tests.live.bot_harness import SIGNING_SECRET
    from tests.standins.slack_signing import signed_headers, slash_command_body

    user = probe_user(number)
    body = slash_command_body(
        text=SERVICE, user_id=user, channel_id=PROBE_CHANNEL, response_url=f"{slack.url}/response/p{number}"
    )
    sent = time.monotonic()
    ack = send(port, Command(user, PROBE_CHANNEL, body, signed_headers(body, SIGNING_SECRET)))
    return Probe(ack, sent, None)


def probe_arrival(slack: SlackApiStandIn, number: int, probe: Probe, timeout: float) -> Probe:
    user = probe_user(number)
    found, _ = wait_for_diagnoses(slack, [Command(user, PROBE_CHANNEL, b"", {})], probe.sent, timeout)
    return Probe(probe.ack, probe.sent, found[user] - probe.sent if user in found else None)


# -- figures --------------------------------------------------------------------------------------
def max_in_window(times: Sequence[float], seconds: float) -> int:
    """The most events within any span of `seconds` (sliding, as the stand-in counts)."""
    ordered = sorted(times)
    most = start = 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def latency_line(label: str, latencies: Sequence[float]) -> str:
    if not latencies:
        return f"  {label:<9} no acknowledgements"
    return (
        f"  {label:<9} p50 {ms(percentile(latencies, 50))}  p90 {ms(percentile(latencies, 90))}  "
        f"p99 {ms(percentile(latencies, 99))}  max {ms(max(latencies))}  (n={len(latencies)})"
    )


def print_round(result: Round, commands: int) -> None:
    print(f"round {result.number}:")
    print(latency_line("ack", result.latencies))
    span = result.ack_span
    print(f"  acks      {len(result.latencies)}/{commands} in {span:.3f} s = {commands / span:.0f} acks/s")
    print(
        f"  CPU       {result.cpu_seconds * 1000:.0f} ms of this process's CPU time until the last ack "
        f"({result.cpu_seconds / span:.2f} cores busy on average; one GIL); waitress queued up to "
        f"{result.waitress_queue} requests behind its 8 threads"
    )
    for group, seconds in sorted(result.cpu_by_threads.items(), key=lambda item: -item[1]):
        print(f"            {seconds * 1000:6.0f} ms  {group}")
    for ack in result.failed[:5]:
        print(f"  NOT ACKNOWLEDGED: status {ack.status} {ack.error or ack.text[:120]!r}")
    if result.diagnosed_at:
        arrivals = [at - result.released for at in result.diagnosed_at.values()]
        print(
            f"  diagnoses {len(result.diagnosed_at)}/{commands} reached the stand-in: first after "
            f"{min(arrivals):.2f} s, median {statistics.median(arrivals):.2f} s, "
            f"last after {max(arrivals):.2f} s"
        )
    if result.missing:
        print(
            f"  MISSING: {len(result.missing)} diagnoses never reached the stand-in, "
            f"e.g. {result.missing[:3]}"
        )
    posts = sum(len(t) for t in result.posts_per_channel.values())
    windows = {c: max_in_window(t, 1.0) for c, t in result.posts_per_channel.items()}
    busiest = max(windows.values()) if windows else 0
    with_files = max(
        (
            max_in_window(t + result.uploads_per_channel.get(c, []), 1.0)
            for c, t in result.posts_per_channel.items()
        ),
        default=0,
    )
    print(
        f"  posted    {posts} messages, {result.uploads} charts in their threads; "
        f"diagnoses computed {result.diagnoses_computed} (shared by the commands)"
    )
    print(
        f"  pacing    most messages in any 1 s window of a channel: {busiest} "
        f"(per channel: {sorted(windows.values(), reverse=True)[:10]}); counting the chart uploads "
        f"(not paced) too: {with_files}"
    )
    if result.probe is not None:
        print(f"  probe     {probe_text(result.probe)}")


def probe_text(probe: Probe) -> str:
    after = (
        f"{probe.diagnosed_after:.2f} s"
        if probe.diagnosed_after is not None
        else "NEVER (30 s after the round)"
    )
    return (
        f"one command to another, idle channel right after the burst: ack {probe.ack.seconds * 1000:.1f} ms, "
        f"its diagnosis reached the stand-in after {after}"
    )


def print_summary(rounds: list[Round], commands: int, channels: int) -> None:
    latencies = [s for r in rounds for s in r.latencies]
    print(f"overall ({len(rounds)} rounds, {commands} concurrent commands, {channels} channel(s)):")
    print(latency_line("ack", latencies))
    spans = [r.ack_span for r in rounds]
    print(
        f"  acks/s    {' / '.join(f'{commands / s:.0f}' for s in spans)} per round "
        f"(median {commands / statistics.median(spans):.0f})"
    )
    lasts = [max(r.diagnosed_at.values()) - r.released for r in rounds if r.diagnosed_at]
    print(f"  all diagnoses at the stand-in after {' / '.join(f'{s:.2f} s' for s in lasts)} per round")
    delivered = sum(len(r.diagnosed_at) for r in rounds)
    print(
        f"  delivered {delivered}/{commands * len(rounds)} diagnoses, "
        f"{sum(r.uploads for r in rounds)} charts, not acknowledged: {sum(len(r.failed) for r in rounds)}"
    )
    busiest = max((max_in_window(t, 1.0) for r in rounds for t in r.posts_per_channel.values()), default=0)
    print(f"  most messages in any 1 s window of one channel: {busiest}")
    probes = [r.probe.diagnosed_after for r in rounds if r.probe is not None]
    if probes:
        shown = " / ".join("never" if p is None else f"{p:.2f} s" for p in probes)
        print(f"  a command to another channel right after the burst got its diagnosis after {shown}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory (ru_maxrss of this process: bot + stand-in + clients): {peak:.0f} MB")
    p99 = percentile(latencies, 99)
    missing = sum(len(r.missing) for r in rounds)
    verdict = "meets" if p99 < BAR_SECONDS and not missing and latencies else "MISSES"
    print(
        f"bar: p99 ack < {BAR_SECONDS * 1000:.0f} ms with {commands} concurrent and every diagnosis "
        f"delivered -> p99 {p99 * 1000:.1f} ms, {missing} missing: {verdict} the bar"
    )


# -- set-up ---------------------------------------------------------------------------------------
@contextmanager
def running_bot(channels: list[str]) -> Iterator[tuple[RunningBot, SlackApiStandIn]]:
    from bot.settings import Catalog, ServiceConfig
    from tests.live.bot_harness import example_diagnosis, start_bot
    from tests.live.conftest import Servers, launch_redis
    from tests.standins.slack_api import SlackApiStandIn

    catalog = Catalog(
        services={SERVICE: ServiceConfig(namespace=NAMESPACE)},
        allowed_channels=[*channels, WARM_UP_CHANNEL, PROBE_CHANNEL],
    )
    with tempfile.TemporaryDirectory(prefix="bench-slash-") as folder:
        servers = Servers(Path(folder))
        try:
            redis_server = launch_redis(servers)
            with SlackApiStandIn() as slack:
                bot = start_bot(redis_server.url, slack.api_url, catalog, diagnose=example_diagnosis)
                try:
                    yield bot, slack
                finally:
                    bot.stop()
        finally:
            servers.stop_all()


def warm_up(bot: RunningBot, slack: SlackApiStandIn, port: int) -> None:
    from tests.live.bot_harness import SIGNING_SECRET
    from tests.standins.slack_signing import signed_headers, slash_command_body

    body = slash_command_body(
        text=SERVICE, user_id=WARM_UP_USER, channel_id=WARM_UP_CHANNEL, response_url=f"{slack.url}/response/w"
    )
    command = Command(WARM_UP_USER, WARM_UP_CHANNEL, body, signed_headers(body, SIGNING_SECRET))
    started = time.monotonic()
    ack = send(port, command)
    found, ts_of = wait_for_diagnoses(slack, [command], started, 60.0)
    charted = wait_for_uploads(slack, set(ts_of.values()), 30.0)
    posted = f"diagnosis after {found[WARM_UP_USER] - started:.2f} s" if found else "NO diagnosis"
    print(
        f"warm-up (excluded from the figures): ack {ack.seconds * 1000:.1f} ms (status {ack.status}), "
        f"{posted}, chart {'uploaded' if charted else 'MISSING'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--commands", type=int, default=50, help="concurrent slash commands per round (default 50)"
    )
    parser.add_argument(
        "--channels", type=int, default=1, help="channels the commands go to, round-robin (default 1)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument(
        "--no-probe",
        action="store_true",
        help="do not send the one extra command to another channel after each burst",
    )
    args = parser.parse_args(argv)
    if args.commands < 1 or args.channels < 1 or args.rounds < 1:
        parser.error("--commands, --channels and --rounds take 1 or more")

    channels = [f"C0BENCH{n:02d}" for n in range(1, args.channels + 1)]
    per_channel = math.ceil(args.commands / args.channels)
    print(
        f"bench_slash: {args.rounds} rounds of {args.commands} concurrent `/triage {SERVICE}` over "
        f"{args.channels} channel(s) ({per_channel} per channel)"
    )
    print(f"  code: {code_version()}")
    print(
        f"  the bot posts at most ~1 message/s per channel after a burst of 3: that alone puts a channel's "
        f"last diagnosis ~{max(0, per_channel - 3):.0f} s after its first (by design, not slowness)"
    )
    queue_depth = QueueDepth()
    waitress_queue = logging.getLogger("waitress.queue")
    waitress_queue.addHandler(queue_depth)
    waitress_queue.propagate = False
    with running_bot(channels) as (bot, slack):
        port = int(bot.url.rsplit(":", 1)[1])
        warm_up(bot, slack, port)
        rounds: list[Round] = []
        for number in range(1, args.rounds + 1):
            if number > 1:
                time.sleep(3.0)  # the channels' buckets fill again (burst 3 at 1/s)
            result = run_round(
                number, bot, slack, port, args.commands, channels, queue_depth, not args.no_probe
            )
            print_round(result, args.commands)
            rounds.append(result)
    print_summary(rounds, args.commands, args.channels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
