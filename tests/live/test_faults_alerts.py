"""Alert threads and diagnoses under faults (issue 12): Slack slower than the client's time-out,
a replica killed mid-storm. Every group ends with exactly one thread, each diagnosed."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_py

from tests.live.bot_harness import ALERTMANAGER_TOKEN, start_bot, wait_for
from tests.live.conftest import AlertmanagerServer, RedisServer, Servers, free_port, launch_redis
from tests.live.serve_process import start_serve
from tests.live.test_serve_alerts import CATALOG, CHANNEL, OOM_LABELS, notification, parents
from tests.standins.slack_api import SlackApiStandIn

GROUPS = 30
FAST_FAULTS = {  # claim time-outs and locks in seconds, so each scenario takes seconds
    "TRIAGE_ALERT_CLAIM_SECONDS": "2",
    "TRIAGE_DIAGNOSIS_CLAIM_SECONDS": "2",
    "TRIAGE_GROUP_LOCK_SECONDS": "5",
    "TRIAGE_SLACK_TIMEOUT_SECONDS": "2",
    "TRIAGE_STORM_GROUPS": "1000",  # every group gets a thread of its own
    "TRIAGE_CHANNEL_RATE_PER_SECOND": "50",
    "TRIAGE_CHANNEL_BURST": "50",
    "TRIAGE_REDIS_RETRY_MAX_SECONDS": "1",
}


@pytest.fixture
def slack() -> Iterator[SlackApiStandIn]:
    with SlackApiStandIn() as standin:
        yield standin


def services_catalog(count: int) -> str:
    lines = ["services:"]
    for number in range(count):
        lines += [f"  svc-{number:02d}:", "    namespace: ecommerce", f"    channel: {CHANNEL}"]
    lines += ["alert_routes:", "  - match: {namespace: ecommerce}", f"    channel: {CHANNEL}"]
    return "\n".join(lines) + "\n"


def threads_by_group(slack: SlackApiStandIn) -> dict[str, list[Any]]:
    """Parent messages by the group named in their metadata."""
    found: dict[str, list[Any]] = {}
    for message in parents(slack):
        metadata = message.params.get("metadata")
        if metadata:
            payload = (json.loads(metadata) if isinstance(metadata, str) else metadata)["event_payload"]
            found.setdefault(payload["group"], []).append(message)
    return found


def diagnosed(slack: SlackApiStandIn, parent: Any) -> bool:
    return any("more alert(s)" not in reply.text for reply in slack.thread(CHANNEL, parent.ts))


def test_slack_slower_than_the_client_time_out_with_old_state_opens_no_second_thread(
    start_redis: Callable[..., RedisServer], slack: SlackApiStandIn
) -> None:
    redis_url = start_redis().url
    redis_py.Redis.from_url(redis_url).set("triage:state-since", f"{time.time() - 30 * 86400:.0f}")
    bot = start_bot(redis_url, slack.api_url, CATALOG, slack_timeout_seconds=1, alert_claim_seconds=1)
    try:
        slack.set_delay("chat.postMessage", 2.5)  # answered after the client gave up; posted all the same
        body = json.dumps(notification()).encode()
        assert bot.alertmanager(body).status_code == 202
        wait_for(lambda: parents(slack), "the parent Slack posted late", timeout=10)
        slack.set_delay("chat.postMessage", 0)
        assert bot.alertmanager(body).status_code == 202  # Alertmanager re-sends the group
        wait_for(lambda: diagnosed(slack, parents(slack)[0]), "the diagnosis in the thread", timeout=20)
        wait_for(lambda: bot.bot.queue.waiting() == 0, "every notification handled", timeout=20)
    finally:
        bot.stop()

    assert len(parents(slack)) == 1
    assert len(slack.calls("chat.postMessage")) >= 2  # the late post, then the diagnosis: nothing re-posted
    assert sum(1 for call in slack.calls("chat.postMessage") if "metadata" in call.params) == 1


def test_a_replica_killed_mid_storm_loses_no_thread_and_no_diagnosis(
    tmp_path: Path, start_redis: Callable[..., RedisServer], slack: SlackApiStandIn
) -> None:
    redis_url = start_redis().url
    catalog = services_catalog(GROUPS)
    victim = start_serve(tmp_path, redis_url, slack.api_url, catalog, **FAST_FAULTS)
    survivor = start_serve(tmp_path, redis_url, slack.api_url, catalog, **FAST_FAULTS)
    try:
        slack.set_delay("chat.postMessage", 0.2)  # so that the kill finds work in flight
        for number in range(GROUPS):
            body = json.dumps(notification(f"svc-{number:02d}")).encode()
            assert victim.alertmanager(body).status_code == 202
        wait_for(lambda: len(parents(slack)) >= 5, "the storm under way", timeout=30)
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(5)
        killed_at = len(parents(slack))

        def done() -> bool:
            groups = threads_by_group(slack)
            return len(groups) == GROUPS and all(diagnosed(slack, thread[0]) for thread in groups.values())

        wait_for(done, "every group's thread and diagnosis", timeout=90)
        time.sleep(2)  # a second thread, if one were coming, would come now
    finally:
        survivor.stop()
        victim.stop()

    groups = threads_by_group(slack)
    assert killed_at < GROUPS  # the kill happened mid-storm
    assert len(groups) == GROUPS
    assert all(len(thread) == 1 for thread in groups.values()), {g: len(t) for g, t in groups.items()}


def labels_threads(slack: SlackApiStandIn) -> dict[str, list[Any]]:
    """Parent messages by the group labels named in their metadata (the same from any route)."""
    found: dict[str, list[Any]] = {}
    for message in parents(slack):
        metadata = message.params.get("metadata")
        if metadata:
            payload = (json.loads(metadata) if isinstance(metadata, str) else metadata)["event_payload"]
            found.setdefault(payload["labels"], []).append(message)
    return found


def restart_empty(servers: Servers, server: RedisServer) -> None:
    """Stops the Redis on `server`'s port and starts a new one there, without the data."""
    process = next(p for p, _ in servers.processes if str(server.port) in p.args and p.poll() is None)  # type: ignore[operator]
    process.terminate()
    process.wait(5)
    launch_redis(servers, port=server.port)


def test_groups_survive_the_bots_redis_restarting_empty_mid_storm(
    tmp_path: Path,
    servers: Servers,
    start_redis: Callable[..., RedisServer],
    start_alertmanager: Callable[..., AlertmanagerServer],
    slack: SlackApiStandIn,
) -> None:
    bot_redis = start_redis()
    port = free_port()
    manager = start_alertmanager(f"http://127.0.0.1:{port}/alertmanager", ALERTMANAGER_TOKEN)
    catalog = services_catalog(GROUPS) + f"alertmanager_url: {manager.url}\n"
    faults = {**FAST_FAULTS, "TRIAGE_RECONCILE_INTERVAL_SECONDS": "1"}
    bot = start_serve(tmp_path, bot_redis.url, slack.api_url, catalog, port=port, **faults)
    try:
        wait_for(lambda: "no persistence" in bot.get("/readyz").text, "the warning in /readyz")
        slack.set_delay("chat.postMessage", 0.2)  # so that the restart finds threads being posted
        manager.push([{"labels": {**OOM_LABELS, "service": f"svc-{n:02d}"}} for n in range(GROUPS)])
        wait_for(lambda: len(parents(slack)) >= 8, "the storm under way", timeout=30)
        restart_empty(servers, bot_redis)
        restarted_with = len(parents(slack))

        def done() -> bool:
            groups = labels_threads(slack)
            return len(groups) == GROUPS and all(diagnosed(slack, thread[0]) for thread in groups.values())

        wait_for(done, "every group's thread and diagnosis", timeout=180)  # the bound: 3 minutes
        time.sleep(2)  # a second thread, if one were coming, would come now
    finally:
        bot.stop()

    groups = labels_threads(slack)
    assert restarted_with < GROUPS  # the restart happened mid-storm
    assert all(len(thread) == 1 for thread in groups.values()), {g: len(t) for g, t in groups.items()}
    assert "no persistence" in bot.output() and "queued to be found again or posted" in bot.output()
