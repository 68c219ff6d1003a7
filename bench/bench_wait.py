#!/usr/bin/env python3
"""The time a person waits: `/triage` to its answer, and an Alertmanager notification to its diagnosis.

The bot runs as `triage serve` runs it (`tests.live.bot_harness.start_bot`, in this process, with a
real `redis-server` for its state and the Slack Web API stand-in), but it diagnoses from LIVE
sources: the real Kubernetes, Prometheus and Redis collectors through `bot.collect.collect`,
against the Kubernetes API stand-in (the seed incident), a Prometheus stand-in (empty matrices)
and a real `redis-server`, each source answering 200 ms late (`--source-seconds`: a wrapper sleeps
before the real collector runs). Every request names its own service, so no diagnosis is shared
or reused.

* `/triage`: signed slash commands, one at a time over five channels, each timed from sending
  to the diagnosis message (its footer names the requester) reaching the stand-in;
* alerts: webhook v4 notifications, each for a new group, POSTed to `/alertmanager` as
  Alertmanager sends them, timed from sending to the diagnosis in the group's thread (and to its
  parent message).

Requests are spaced so that no channel's posting bucket (about 1 message/s, burst 3) and no storm
detection (more than 5 new groups in 10 s) comes into play: Slack pacing is measured apart, by
bench_slash.py and bench_storm.py. A measurement, not a test: it asserts nothing and exits 0.

    .venv/bin/python bench/bench_wait.py                  # 20 commands, 10 alerts, ~1 min
    .venv/bin/python bench/bench_wait.py --commands 40 --alerts 20 --source-seconds 0.5
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_kit import code_version, percentile  # noqa: E402

if TYPE_CHECKING:
    from analyzers.diagnosis import Diagnosis
    from analyzers.evidence import Evidence
    from bot.collectors.base import Collector, Target
    from tests.standins.slack_api import Message, SlackApiStandIn

SERVICE = "session-cache"
NAMESPACE = "ecommerce"
ALERT_CHANNEL = "C0WAITALERTS"
CHANNELS = [f"C0WAIT{n}" for n in range(5)]


class Delayed:
    """A real collector, answering `seconds` later than it would."""

    def __init__(self, inner: Collector, seconds: float) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds = seconds

    def collect(self, target: Target, timeout: float) -> Evidence:
        time.sleep(self.seconds)
        return self.inner.collect(target, timeout - self.seconds)


def live_diagnosis(collectors: list[Collector]) -> Callable[[str, str | None], tuple[Diagnosis, Evidence]]:
    from analyzers import analyze
    from bot.collect import collect
    from bot.collectors.base import Target

    target = Target(SERVICE, namespace=NAMESPACE, since_seconds=3600)

    def diagnose(service: str, namespace: str | None) -> tuple[Diagnosis, Evidence]:
        evidence = collect(target, collectors, source_timeout=5.0)
        return analyze(evidence, SERVICE), evidence

    return diagnose


def wait_for(found: Callable[[], float | None], timeout: float = 30.0) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        moment = found()
        if moment is not None:
            return moment
        time.sleep(0.005)
    return None


def requested_by(message: Message, user: str) -> bool:
    return f"requested by <@{user}>" in json.dumps(message.blocks)


def summary(label: str, waits: list[float]) -> str:
    if not waits:
        return f"  {label:<34} none arrived"
    return (
        f"  {label:<34} p50 {percentile(waits, 50):.3f} s  p95 {percentile(waits, 95):.3f} s  "
        f"max {max(waits):.3f} s  (n={len(waits)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commands", type=int, default=20, help="slash commands (default 20)")
    parser.add_argument("--alerts", type=int, default=10, help="alert notifications (default 10)")
    parser.add_argument("--source-seconds", type=float, default=0.2, help="how late each source answers")
    args = parser.parse_args(argv)

    from kubernetes import client

    from bench.bench_collect import PrometheusStandIn, kube_standin, slow_redis
    from bot.collectors.kubernetes_collector import KubernetesCollector
    from bot.collectors.prometheus_collector import PrometheusCollector
    from bot.collectors.redis_collector import RedisCollector
    from bot.settings import Catalog, ServiceConfig
    from tests.live.bot_harness import SIGNING_SECRET, start_bot
    from tests.live.conftest import Servers, launch_redis
    from tests.live.test_serve_alerts import notification
    from tests.standins.slack_api import SlackApiStandIn
    from tests.standins.slack_signing import signed_headers, slash_command_body

    commands = [f"svc-{n:02d}" for n in range(args.commands)]
    catalog = Catalog(
        services={name: ServiceConfig(namespace=NAMESPACE) for name in [SERVICE, *commands]},
        allowed_channels=CHANNELS,
    )
    print(
        f"bench_wait: {args.commands} `/triage` commands and {args.alerts} alert notifications, "
        f"live sources each {args.source_seconds:g} s late"
    )
    print(f"  code: {code_version()}")
    kube = kube_standin(0.0, every=True)
    with (
        tempfile.TemporaryDirectory(prefix="bench-wait-") as folder,
        kube,
        PrometheusStandIn(0.0, every=False) as prometheus,
        slow_redis(0.0) as service_redis,
        SlackApiStandIn() as slack,
    ):
        servers = Servers(Path(folder))
        api_client = client.ApiClient(client.Configuration(host=kube.url))
        collectors: list[Collector] = [
            Delayed(KubernetesCollector(api_client), args.source_seconds),
            Delayed(PrometheusCollector(prometheus.url), args.source_seconds),
            Delayed(RedisCollector(service_redis.url), args.source_seconds),
        ]
        try:
            state = launch_redis(servers)
            bot = start_bot(
                state.url, slack.api_url, catalog, live_diagnosis(collectors), alert_channel=ALERT_CHANNEL
            )
            try:
                warm = measure_slash(
                    bot.url, slack, [SERVICE], SIGNING_SECRET, signed_headers, slash_command_body
                )
                print(
                    f"  warm-up command (imports, first connections; not counted): {warm[0] if warm else -1:.3f} s"
                )
                slash = measure_slash(
                    bot.url, slack, commands, SIGNING_SECRET, signed_headers, slash_command_body
                )
                alerts = measure_alerts(bot, slack, args.alerts, notification)
            finally:
                bot.stop()
        finally:
            servers.stop_all()
            api_client.close()  # type: ignore[no-untyped-call]
    print("the time a person waits (from sending to the message at the Slack stand-in):")
    print(summary("/triage -> its answer", slash))
    print(summary("alert -> parent message", alerts[0]))
    print(summary("alert -> diagnosis in the thread", alerts[1]))
    print("  Slack pacing: none by construction (requests spaced; see bench_slash/bench_storm for it)")
    return 0


def measure_slash(
    url: str,
    slack: SlackApiStandIn,
    services: list[str],
    secret: str,
    signed_headers: Callable[..., dict[str, str]],
    slash_command_body: Callable[..., bytes],
) -> list[float]:
    import requests

    waits: list[float] = []
    for number, service in enumerate(services):
        channel = CHANNELS[number % len(CHANNELS)]
        user = f"U0WAIT{number:03d}"
        body = slash_command_body(
            text=service, user_id=user, channel_id=channel, response_url=f"{slack.url}/response/{number}"
        )
        started = time.monotonic()
        requests.post(f"{url}/slack/events", data=body, headers=signed_headers(body, secret), timeout=10)
        arrived = wait_for(
            lambda: next((m.time for m in slack.messages(channel) if requested_by(m, user)), None)  # noqa: B023
        )
        if arrived is None:
            print(f"  /triage {service}: no answer within 30 s", file=sys.stderr)
        else:
            waits.append(arrived - started)
        time.sleep(0.6)  # each channel hears from the bot every ~3 s at most: its bucket stays full
    return waits


def measure_alerts(
    bot: object, slack: SlackApiStandIn, count: int, notification: Callable[..., dict[str, object]]
) -> tuple[list[float], list[float]]:
    parents: list[float] = []
    diagnoses: list[float] = []
    for number in range(count):
        known = {m.ts for m in slack.messages(ALERT_CHANNEL) if m.thread_ts in (None, m.ts)}
        started = time.monotonic()
        bot.alertmanager(json.dumps(notification(group=f"wait-{number:02d}")).encode())  # type: ignore[attr-defined]

        def parent(known: set[str] = known) -> Message | None:
            return next(
                (
                    m
                    for m in slack.messages(ALERT_CHANNEL)
                    if m.thread_ts in (None, m.ts) and m.ts not in known
                ),
                None,
            )

        found = wait_for(lambda: p.time if (p := parent()) else None)
        first = parent()
        reply = (
            wait_for(lambda: min((m.time for m in slack.thread(ALERT_CHANNEL, first.ts)), default=None))  # type: ignore[union-attr]  # noqa: B023
            if first
            else None
        )
        if found is None or reply is None:
            print(f"  alert wait-{number:02d}: no parent or no diagnosis within 30 s", file=sys.stderr)
        else:
            parents.append(found - started)
            diagnoses.append(reply - started)
        time.sleep(2.6)  # at most 4 new groups in 10 s: no storm, the channel's bucket refills
    return parents, diagnoses


if __name__ == "__main__":
    sys.exit(main())
