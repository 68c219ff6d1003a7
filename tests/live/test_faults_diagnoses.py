"""Durable diagnosis jobs (issue 12): one a dead replica took is run by another after the claim
time-out; one already posted is not posted again; one running is not taken away."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis as redis_py

from analyzers.diagnosis import Diagnosis
from analyzers.evidence import Evidence
from bot.runtime.metrics import BotMetrics
from bot.slack.diagnosis_jobs import (
    DIAGNOSIS_GROUP,
    DIAGNOSIS_STREAM,
    DiagnosisJobs,
    DiagnosisQueue,
    DiagnosisRequest,
)
from bot.slack.poster import SlackPoster, make_web_client
from tests.live.bot_harness import example_diagnosis, wait_for
from tests.standins.slack_api import BOT_TOKEN, SlackApiStandIn

CHANNEL = "C0ALERTS"
CLAIM_SECONDS = 0.5


@pytest.fixture
def slack() -> Iterator[SlackApiStandIn]:
    with SlackApiStandIn() as standin:
        yield standin


def replica(
    state: redis_py.Redis, slack: SlackApiStandIn, name: str, diagnose_seconds: float = 0.0
) -> DiagnosisQueue:
    def diagnose(service: str, namespace: str | None) -> tuple[Diagnosis, Evidence]:
        time.sleep(diagnose_seconds)
        return example_diagnosis(service, namespace)

    poster = SlackPoster(make_web_client(BOT_TOKEN, slack.api_url), state, BotMetrics(), 50, 50)
    jobs = DiagnosisJobs(diagnose, poster, BotMetrics(), workers=2)
    return DiagnosisQueue(state, jobs, claim_seconds=CLAIM_SECONDS, capacity=2, consumer=name)


def request(thread_ts: str) -> DiagnosisRequest:
    return DiagnosisRequest("session-cache", "ecommerce", CHANNEL, "alert", thread_ts=thread_ts)


def diagnoses(slack: SlackApiStandIn, parent: str) -> list[object]:
    """The diagnoses in a thread (each may be followed by its "More on ..." reply)."""
    return [m for m in slack.thread(CHANNEL, parent) if not m.text.startswith("More on ")]


def work_until(queues: list[DiagnosisQueue], done: object, what: str) -> None:
    def step() -> bool:
        for queue in queues:
            queue.work(block_ms=50)
        return bool(done if not callable(done) else done())

    wait_for(step, what, timeout=20)


def test_a_job_a_dead_replica_took_is_run_by_another_and_a_posted_one_is_not_run_again(
    bot_redis: redis_py.Redis, slack: SlackApiStandIn
) -> None:
    parent = slack_parent(slack)
    dead, alive = replica(bot_redis, slack, "dead"), replica(bot_redis, slack, "alive")
    alive.work(block_ms=10)  # makes the group
    dead.submit(request(parent), "triage:diagnosed:g1")
    # The dead replica takes the job and dies before running it.
    taken = bot_redis.xreadgroup(DIAGNOSIS_GROUP, "dead", {DIAGNOSIS_STREAM: ">"}, count=1)
    assert taken

    work_until([alive], lambda: bot_redis.get("triage:diagnosed:g1"), "the job taken over and posted")
    assert len(diagnoses(slack, parent)) == 1
    posted = len(slack.thread(CHANNEL, parent))
    wait_for(lambda: alive.waiting() == 0, "the job acknowledged")

    # Posted, and its entry left behind (a replica died between posting and acknowledging).
    alive.submit(request(parent), "triage:diagnosed:g1")
    bot_redis.xreadgroup(DIAGNOSIS_GROUP, "dead", {DIAGNOSIS_STREAM: ">"}, count=1)
    work_until([alive], lambda: alive.waiting() == 0, "the leftover entry dropped")
    assert len(slack.thread(CHANNEL, parent)) == posted


def test_a_running_job_longer_than_the_claim_time_out_stays_with_its_replica(
    bot_redis: redis_py.Redis, slack: SlackApiStandIn
) -> None:
    parent = slack_parent(slack)
    slow = replica(bot_redis, slack, "slow", diagnose_seconds=4 * CLAIM_SECONDS)
    other = replica(bot_redis, slack, "other")
    other.work(block_ms=10)
    slow.submit(request(parent), "triage:diagnosed:g2")

    work_until([slow, other], lambda: bot_redis.get("triage:diagnosed:g2"), "the slow diagnosis posted")
    work_until([slow, other], lambda: slow.waiting() == 0, "the job acknowledged")
    assert len(diagnoses(slack, parent)) == 1  # the other replica never ran it too


def slack_parent(slack: SlackApiStandIn) -> str:
    answer = make_web_client(BOT_TOKEN, slack.api_url).chat_postMessage(
        channel=CHANNEL, text="an alert group"
    )
    return str(answer["ts"])
