"""Diagnoses run in the background and posted to Slack: the message, then the memory chart in its thread.

A slash command or alert only queues a job here, so Slack gets its acknowledgement at once. The
same service asked about several times at once (everyone types `/triage` during an incident) is
collected once: jobs for it share one diagnosis while it runs and for a few seconds after.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject

from analyzers.diagnosis import Diagnosis, Remediation
from analyzers.evidence import Evidence, SourceReport
from analyzers.ids import RemediationId
from bot.alerts.messages import mention
from bot.alerts.ports import DiagnosisRequest
from bot.remediation.targets.silence import DEFAULT_SILENCE_SECONDS, AlertSilence
from bot.render.charts import write_memory_charts
from bot.render.slack import render_slack_blocks, render_slack_text, render_slack_thread_blocks
from bot.runtime.foreground import Foreground
from bot.runtime.metrics import BotMetrics
from bot.runtime.threads import SerialQueues, pool
from bot.slack.poster import SlackPoster
from bot.state.keys import KEYS

log = logging.getLogger(__name__)

Diagnose = Callable[[str, str | None], tuple[Diagnosis, Evidence]]
SHARED_FOR_SECONDS = 15.0
CHARTS_MAX = 2
NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


@dataclass(frozen=True, slots=True)
class PostedDiagnosis:
    channel: str
    ts: str
    diagnosis: Diagnosis


# Called after a diagnosis is computed, before it is posted: stores the proposals of its automated
# remediations and returns index -> proposal id for the buttons.
ProposalMaker = Callable[[Diagnosis, Evidence, DiagnosisRequest, str], dict[int, str]]


@dataclass
class _Shared:
    """One diagnosis of a service, shared by the jobs asking for it at about the same time."""

    result: Future[tuple[Diagnosis, Evidence]]
    at: float
    charts: list[tuple[str, bytes]] | None = None  # drawn once, by the first job that posts
    charted_channels: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class DiagnosisJobs:
    """Diagnoses on a pool of workers; posting on one queue per channel.

    Posting waits for the channel's turn (Slack's rate per channel), so it has a queue of its own
    per channel: a busy channel never holds up another's diagnoses.
    """

    def __init__(
        self,
        diagnose: Diagnose,
        poster: SlackPoster,
        metrics: BotMetrics,
        workers: int = 4,
        make_proposals: ProposalMaker | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        self._foreground = foreground or Foreground()
        self._diagnose = diagnose
        self._poster = poster
        self._metrics = metrics
        self._make_proposals = make_proposals
        self._pool = pool("diagnosis", workers)
        # One poster per channel, so a channel's diagnoses are posted in the order they were asked
        # for; a channel quiet for a while gives its thread back.
        self._posting = SerialQueues("post")
        self._shared: dict[tuple[str, str | None], _Shared] = {}
        self._lock = threading.Lock()
        self._pending = 0

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, request: DiagnosisRequest) -> Future[PostedDiagnosis | None]:
        with self._lock:
            self._pending += 1
        done: Future[PostedDiagnosis | None] = Future()
        self._pool.submit(self._compute, request, done)
        return done

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
        self._posting.shutdown()

    def _compute(self, request: DiagnosisRequest, done: Future[PostedDiagnosis | None]) -> None:
        self._foreground.wait_until_idle()
        try:
            shared = self._diagnosis(request)
            self._posting.submit(request.channel, self._publish, request, shared, done)
        except Exception as error:
            self._fail(request, error, done)

    def _publish(
        self, request: DiagnosisRequest, shared: _Shared, done: Future[PostedDiagnosis | None]
    ) -> None:
        self._foreground.wait_until_idle()
        try:
            diagnosis, evidence = shared.result.result()
            posted = self._post(request, diagnosis, evidence, shared)
        except Exception as error:
            self._fail(request, error, done)
            return
        with self._lock:
            self._pending -= 1
        done.set_result(posted)

    def _fail(
        self, request: DiagnosisRequest, error: Exception, done: Future[PostedDiagnosis | None]
    ) -> None:
        log.error("diagnosis of %s for %s failed", request.service, request.channel, exc_info=error)
        self._metrics.diagnoses.labels(request.trigger, "failed").inc()
        self._tell_failure(request, error)
        with self._lock:
            self._pending -= 1
        done.set_result(None)

    def _diagnosis(self, request: DiagnosisRequest) -> _Shared:
        key = (request.service, request.namespace)
        with self._lock:
            now = time.monotonic()
            for stale in [
                k for k, s in self._shared.items() if s.result.done() and now - s.at > SHARED_FOR_SECONDS
            ]:
                del self._shared[stale]  # keeps no evidence around longer than it is shared
            shared = self._shared.get(key)
            owner = shared is None
            if shared is None:
                shared = self._shared[key] = _Shared(Future(), now)
        if owner:
            started = time.monotonic()
            try:
                result = self._diagnose(request.service, request.namespace)
            except BaseException as error:
                shared.result.set_exception(error)
                with self._lock:
                    self._shared.pop(key, None)
                raise
            self._metrics.diagnosis_seconds.labels(request.trigger).observe(time.monotonic() - started)
            shared.at = time.monotonic()
            shared.result.set_result(result)
            for source in _failed_sources(result[1]):
                self._metrics.source_failures.labels(source.kind).inc()
        shared.result.result()  # raises the owner's failure for everyone who shared it
        return shared

    def _post(
        self, request: DiagnosisRequest, diagnosis: Diagnosis, evidence: Evidence, shared: _Shared
    ) -> PostedDiagnosis:
        diagnosis = _with_alert_silence(diagnosis, request)
        proposal_ids: dict[int, str] = {}
        if self._make_proposals is not None and diagnosis.remediations:
            try:
                proposal_ids = self._make_proposals(diagnosis, evidence, request, request.thread_ts or "")
            except Exception:
                log.exception("could not store the proposals of %s; posting without buttons", request.service)
        severity = (request.alert_labels or {}).get("severity")
        # In an alert's thread the diagnosis is a reply already: one message holds all of it.
        whole = request.thread_ts is not None
        blocks = render_slack_blocks(diagnosis, proposal_ids, alert_severity=severity, whole=whole)
        footer = _footer(request)
        if footer and len(blocks) < 50:
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=footer)]).to_dict())
        text = render_slack_text(diagnosis)
        try:
            ts = self._poster.post(request.channel, text, blocks, thread_ts=request.thread_ts)
        except SlackApiError as error:
            if request.response_url and error.response.get("error") in NOT_A_MEMBER:
                self._poster.respond(request.response_url, f"{text}\n{footer}", ephemeral=False)
                self._metrics.diagnoses.labels(request.trigger, "posted_via_response_url").inc()
                return PostedDiagnosis(request.channel, "", diagnosis)
            raise
        outcome = "partial" if _failed_sources(evidence) else "ok"
        self._metrics.diagnoses.labels(request.trigger, outcome).inc()
        if not whole:
            self._post_thread(request, diagnosis, ts)
        self._upload_charts(request, evidence, request.thread_ts or ts, shared)
        return PostedDiagnosis(request.channel, ts, diagnosis)

    def _post_thread(self, request: DiagnosisRequest, diagnosis: Diagnosis, thread_ts: str) -> None:
        """Everything the message leaves out (more findings, checks, manual steps, sources) in its thread."""
        blocks = render_slack_thread_blocks(diagnosis)
        if not blocks:
            return
        try:
            self._poster.post(request.channel, f"More on {request.service}", blocks, thread_ts=thread_ts)
        except SlackApiError as error:
            log.error("thread reply for %s refused: %s", request.service, error.response.get("error"))

    def _upload_charts(
        self, request: DiagnosisRequest, evidence: Evidence, thread_ts: str, shared: _Shared
    ) -> None:
        """The memory charts into the thread: drawn once per shared diagnosis, and for top-level
        messages once per channel (the next asks in the channel point at the same incident)."""
        with shared.lock:
            if request.thread_ts is None and request.channel in shared.charted_channels:
                return
            shared.charted_channels.add(request.channel)
            if shared.charts is None:
                shared.charts = _draw_charts(evidence, request.service)
            charts = shared.charts
        for name, png in charts[:CHARTS_MAX]:
            try:
                self._poster.wait_for_turn(request.channel)
                self._poster.upload(
                    request.channel, thread_ts, png, name, f"Memory of {name.removesuffix('.png')}"
                )
            except SlackApiError as error:
                log.error("chart upload for %s refused: %s", request.service, error.response.get("error"))

    def _tell_failure(self, request: DiagnosisRequest, error: Exception) -> None:
        text = f"Could not diagnose {request.service}: {type(error).__name__}: {str(error)[:300]}"
        try:
            if request.response_url:
                self._poster.respond(request.response_url, text)
            else:
                self._poster.post(request.channel, text, thread_ts=request.thread_ts)
        except Exception:
            log.exception("could not even report the failure of %s", request.service)


def _failed_sources(evidence: Evidence) -> list[SourceReport]:
    return [source for source in evidence.sources if source.status in ("error", "partial")]


def _with_alert_silence(diagnosis: Diagnosis, request: DiagnosisRequest) -> Diagnosis:
    """For an alert's thread, silencing that alert is one of the fixes on offer (a copy: the
    diagnosis may be shared with other requests)."""
    if not request.alert_labels or any(r.id == RemediationId.SILENCE_ALERT for r in diagnosis.remediations):
        return diagnosis
    name = request.alert_labels.get("alertname", "the alert")
    silence = Remediation(
        RemediationId.SILENCE_ALERT,
        f"Silence {name} while the fix rolls out",
        "low",
        True,
        AlertSilence(DEFAULT_SILENCE_SECONDS),
        "Only the notifications stop; the alert keeps firing in Prometheus and Alertmanager.",
    )
    return dataclasses.replace(diagnosis, remediations=[*diagnosis.remediations, silence])


def _draw_charts(evidence: Evidence, service: str) -> list[tuple[str, bytes]]:
    with tempfile.TemporaryDirectory(prefix="triage-charts-") as folder:
        try:
            paths = write_memory_charts(evidence, Path(folder), service)
        except Exception:
            log.exception("could not draw the memory charts of %s", service)
            return []
        return [(path.name, path.read_bytes()) for path in paths[:CHARTS_MAX]]


def _footer(request: DiagnosisRequest) -> str:
    parts: list[str] = []
    if request.requested_by:
        parts.append(f"requested by <@{request.requested_by}> with `/triage {request.service}`")
    if request.owners:
        parts.append("owners: " + " ".join(mention(owner) for owner in request.owners))
    return " · ".join(parts)


DIAGNOSIS_STREAM = KEYS.diagnoses()
DIAGNOSIS_GROUP = "triage"


class DiagnosisQueue:
    """Alert diagnoses kept in a Redis stream until posted, so a replica that dies loses none.

    Every replica reads the stream as one consumer group and runs what it took on its
    DiagnosisJobs. While a job runs, its entry is claimed again every third of `claim_seconds`
    (which resets its idle time); an entry idle longer than that belongs to a dead replica and is
    taken over (XAUTOCLAIM). A job whose group is already marked diagnosed is dropped, so a
    replica dying between posting and acknowledging costs no second diagnosis.
    """

    def __init__(
        self,
        state: redis.Redis,
        jobs: DiagnosisJobs,
        claim_seconds: float = 30.0,
        capacity: int = 4,
        consumer: str | None = None,
        keep_seconds: int = 7 * 86400,
    ) -> None:
        self._state = state
        self._jobs = jobs
        self._claim_ms = max(1, int(claim_seconds * 1000))
        self._capacity = capacity
        self._keep_seconds = keep_seconds
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-diagnoses"
        self._running: dict[str, str] = {}  # entry id -> done key
        self._lock = threading.Lock()
        self._beat_at = 0.0

    def submit(self, request: DiagnosisRequest, done_key: str) -> str:
        """Queues an alert's diagnosis; `done_key` is set once it is posted. Raises redis errors."""
        fields = {"request": json.dumps(dataclasses.asdict(request)), "done_key": done_key}
        entry = self._state.xadd(DIAGNOSIS_STREAM, fields, maxlen=100_000, approximate=True)  # type: ignore[arg-type]
        return entry.decode() if isinstance(entry, bytes) else str(entry)

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._running)

    def waiting(self) -> int:
        """Jobs queued or running, in all replicas."""
        return int(self._state.xlen(DIAGNOSIS_STREAM))

    def work(self, block_ms: int = 500) -> int:
        """Takes what this replica has room for (stale entries of dead replicas first), keeps its
        running entries claimed; returns how many jobs it started."""
        self._heartbeat()
        room = self._capacity - self.running
        if room <= 0:
            time.sleep(block_ms / 1000)
            return 0
        try:
            answer: Any = self._state.xautoclaim(
                DIAGNOSIS_STREAM, DIAGNOSIS_GROUP, self.consumer, self._claim_ms, "0-0", count=room
            )
            entries = [entry for entry in answer[1] if entry and entry[1]]
            if not entries:
                read: Any = self._state.xreadgroup(
                    DIAGNOSIS_GROUP, self.consumer, {DIAGNOSIS_STREAM: ">"}, count=room, block=block_ms
                )
                entries = [entry for _, found in read or [] for entry in found]
        except redis.ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            self._ensure_group()
            return 0
        started = 0
        for entry_id, fields in entries:
            if self._start(_str(entry_id), fields):
                started += 1
        return started

    def _ensure_group(self) -> None:
        try:
            self._state.xgroup_create(DIAGNOSIS_STREAM, DIAGNOSIS_GROUP, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def _start(self, entry_id: str, fields: dict[bytes, bytes]) -> bool:
        done_key = _str(fields.get(b"done_key", b""))
        with self._lock:
            if entry_id in self._running:
                return False  # claimed back by this replica while it still runs here
        try:
            request = DiagnosisRequest(**json.loads(fields.get(b"request", b"{}")))
            request = dataclasses.replace(request, owners=tuple(request.owners))
        except (TypeError, ValueError) as error:
            log.error("diagnosis job %s unreadable (%s); dropped", entry_id, error)
            self._finish(entry_id)
            return False
        if done_key and self._state.exists(done_key):
            self._finish(entry_id)  # posted by a replica that died before acknowledging it
            return False
        with self._lock:
            self._running[entry_id] = done_key
        future = self._jobs.submit(request)
        future.add_done_callback(functools.partial(self._done, entry_id, done_key))
        return True

    def _done(self, entry_id: str, done_key: str, finished: Future[PostedDiagnosis | None]) -> None:
        try:
            posted = (
                not finished.cancelled() and finished.exception() is None and finished.result() is not None
            )
            if posted and done_key:
                self._state.set(done_key, "1", ex=self._keep_seconds)
            self._finish(entry_id)  # a failure was told in the thread: it is done too
        except redis.RedisError as error:  # stays pending: claimed again and found done or redone
            log.warning("cannot acknowledge diagnosis job %s: %s", entry_id, error)
        finally:
            with self._lock:
                self._running.pop(entry_id, None)

    def _finish(self, entry_id: str) -> None:
        self._state.xack(DIAGNOSIS_STREAM, DIAGNOSIS_GROUP, entry_id)
        self._state.xdel(DIAGNOSIS_STREAM, entry_id)

    def _heartbeat(self) -> None:
        """Claims the running entries again (idle time back to 0) every third of the claim time-out."""
        now = time.monotonic()
        if now - self._beat_at < self._claim_ms / 3000:
            return
        self._beat_at = now
        with self._lock:
            running: Any = list(self._running)
        if running:
            self._state.xclaim(DIAGNOSIS_STREAM, DIAGNOSIS_GROUP, self.consumer, 0, running, justid=True)


def _str(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
