"""`triage serve`: one HTTP server for Slack, Alertmanager, health and metrics, plus background workers.

POST /slack/events   slash commands, interactivity and events (Slack-signed; slack-bolt)
POST /alertmanager   Alertmanager webhook v4 (bearer token)
GET  /healthz        the process is up
GET  /readyz         Redis and Slack answer
GET  /metrics        the bot's own Prometheus metrics
"""

from __future__ import annotations

import functools
import hmac
import io
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis
from prometheus_client import make_wsgi_app
from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from bot.alerts.groups import AlertGroups, NoRoute
from bot.alerts.ports import DiagnosisRequest
from bot.alerts.queue import AlertQueue
from bot.alerts.reconcile import MARKER, Reconciler
from bot.alerts.webhook import WebhookError, parse_notification
from bot.remediation.flow import KubernetesFactory, RemediationFlow
from bot.remediation.kubernetes_change import KubernetesChanger
from bot.runtime.foreground import Foreground
from bot.runtime.metrics import BotMetrics
from bot.runtime.threads import Threads, pool
from bot.server.settings import ServeSettings
from bot.settings import Catalog
from bot.slack.commands import PrivateAnswer, interpret
from bot.slack.diagnosis_jobs import Diagnose, DiagnosisJobs, DiagnosisQueue, ProposalMaker
from bot.slack.poster import SlackPoster, make_web_client
from bot.slack.remediation_actions import RemediationActions, SlackUserGroups

log = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 4 * 1024 * 1024
# Slack's slash commands are a few hundred bytes; a button click carries its message (at most 50
# blocks): well under this. Checked on Content-Length, before the body is read or parsed.
MAX_SLACK_BYTES = 1024 * 1024
READY_CACHE_SECONDS = 10.0
LISTENER_THREADS = 16  # bolt listeners and the clicks they hand on (Slack wants an ack within 3 s)
FIRST_RETRY_SECONDS = 0.5  # a worker that cannot reach Redis waits this, doubling up to the setting
StartResponse = Callable[..., Any]
Environ = dict[str, Any]


class TriageBot:
    """Everything `triage serve` runs, wired together; `wsgi` is the HTTP application."""

    def __init__(
        self,
        settings: ServeSettings,
        catalog: Catalog,
        diagnose: Diagnose,
        web_client: WebClient | None = None,
        make_proposals: ProposalMaker | None = None,
        alert_workers: int = 2,
        diagnosis_workers: int = 4,
        kubernetes: KubernetesChanger | KubernetesFactory | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.metrics = BotMetrics()
        self._metrics_app = make_wsgi_app(self.metrics.registry)
        self.state = redis.Redis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
        )
        self.client = web_client or make_web_client(
            settings.slack_bot_token, settings.slack_api_url, timeout=settings.slack_timeout_seconds
        )
        # Socket Mode has no signing secret (nothing is signed): no verifier then.
        self._verifier = (
            SignatureVerifier(settings.slack_signing_secret) if settings.slack_signing_secret else None
        )
        # Readiness asks Slack with no retries and a short time-out: a probe waits a few seconds at most.
        self._probe_client = make_web_client(
            settings.slack_bot_token, settings.slack_api_url, timeout=2, retries=0
        )
        self.poster = SlackPoster(
            self.client, self.state, self.metrics, settings.channel_rate_per_second, settings.channel_burst
        )
        self.remediation: RemediationActions | None = None
        if catalog.remediation.enabled and make_proposals is None:
            flow = RemediationFlow(
                catalog, self.state, groups_of=SlackUserGroups(self.client, catalog), kubernetes=kubernetes
            )
            self.remediation = RemediationActions(flow, self.poster, self.state, self._resubmit)
            make_proposals = self.remediation.make_proposals
        self.foreground = Foreground()
        self.jobs = DiagnosisJobs(
            diagnose, self.poster, self.metrics, diagnosis_workers, make_proposals, self.foreground
        )
        self.diagnoses = DiagnosisQueue(
            self.state, self.jobs, settings.diagnosis_claim_seconds, capacity=diagnosis_workers
        )
        self.groups = AlertGroups(
            self.state,
            self.poster,
            catalog,
            self.diagnoses.submit,
            self.metrics,
            default_channel=settings.alert_channel,
            repeat_interval=settings.repeat_interval_seconds,
            storm_groups=settings.storm_groups,
            storm_window=settings.storm_window_seconds,
            storm_threads=settings.storm_threads,
            intent_grace=3.0 * settings.slack_timeout_seconds,
            lock_seconds=settings.group_lock_seconds,
        )
        self._reconcile_now = threading.Event()
        self.queue = AlertQueue(
            self.state,
            retry_after_ms=int(settings.alert_claim_seconds * 1000),
            on_recreated=self._reconcile_now.set,
        )
        self.reconciler = Reconciler(
            self.state,
            catalog.alertmanager_url,
            self.queue.append,
            route=lambda body: self.groups.route(parse_notification(body)),
        )
        self.metrics.watch_dead_letters(self.queue.dead_letters)
        # Bolt runs listeners and the clicks' lazy listeners here: bounded, and stopped with the bot.
        self._listeners = pool("listener", LISTENER_THREADS)
        self.app = App(
            client=self.client,
            listener_executor=self._listeners,
            signing_secret=settings.slack_signing_secret or "",
            process_before_response=False,
            request_verification_enabled=not settings.socket_mode,
            token_verification_enabled=False,  # /readyz reports Slack; start-up must not need it
        )
        self.app.command("/triage")(self._slash_triage)
        # The Slack app subscribes to no events, but one that arrives anyway (a subscription added in
        # the app's settings) is acknowledged: unacknowledged, Slack retries it, and over Socket Mode
        # Bolt would not acknowledge it at all.
        self.app.event(re.compile(".*"))(_acknowledge_event)
        if self.remediation is not None:
            self.remediation.register(self.app)
        self._slack_handler = SlackRequestHandler(self.app)
        self._stop = threading.Event()
        self._threads = Threads()
        self._alert_workers = alert_workers
        self._ready: tuple[float, str | None] = (0.0, "not checked yet")

    def _resubmit(self, request: DiagnosisRequest) -> None:
        self.jobs.submit(request)

    # Slack.
    def _slash_triage(self, ack: Ack, command: dict[str, Any]) -> None:
        channel = str(command.get("channel_id", ""))
        asked = interpret(str(command.get("text", "")), channel, self.catalog)
        if isinstance(asked, PrivateAnswer):
            ack(text=asked.text)
            return
        where = f" in {asked.namespace}" if asked.namespace else ""
        ack(text=f"Diagnosing *{asked.service}*{where}… the diagnosis will be posted here.")
        self.jobs.submit(
            DiagnosisRequest(
                service=asked.service,
                namespace=asked.namespace,
                channel=channel,
                trigger="slash",
                requested_by=str(command.get("user_id") or "") or None,
                response_url=str(command.get("response_url") or "") or None,
                owners=tuple(self.catalog.owners_of(asked.service)),
            )
        )

    # HTTP.
    def wsgi(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        endpoint, status, headers, body = "other", 404, [("Content-Type", "text/plain")], b"not found\n"
        try:
            if path == "/slack/events" and not self.settings.socket_mode:
                endpoint = "slack"
                if method != "POST":
                    status, body = 405, b"POST only\n"
                else:
                    status, body, signed = self._signed_slack_body(environ)
                    if signed is not None:
                        with self.foreground.request():
                            response: Iterable[bytes] = self._slack_handler(
                                signed, _recording(start_response, self, endpoint)
                            )
                        return response
            elif path == "/alertmanager":
                endpoint = "alertmanager"
                status, body = self._alertmanager(environ, method)
                headers = [("Content-Type", "application/json")]
            elif path == "/healthz":
                endpoint, status, body = "healthz", 200, b"ok\n"
            elif path == "/readyz":
                endpoint = "readyz"
                problem = self.readiness()
                status, body = (
                    (200, b"ready\n") if problem is None else (503, f"not ready: {problem}\n".encode())
                )
                if problem is None and self.reconciler.no_persistence:
                    body += (
                        f"warning: the bot's Redis has no persistence ({self.reconciler.no_persistence}): "
                        "a restart loses its state, rebuilt from Alertmanager and Slack\n"
                    ).encode()
            elif path == "/metrics":  # prometheus_client's app: OpenMetrics when asked, gzip, name[] filters
                metrics: Iterable[bytes] = self._metrics_app(
                    environ, _recording(start_response, self, "metrics")
                )
                return metrics
        except RecursionError:  # a body nested deeper than any parser goes
            status, body = 400, b"body nested too deeply\n"
        except Exception:  # nothing a request does may take the server down
            log.exception("%s %s failed", method, path)
            status, body = 500, b"internal error; see the bot's log\n"
        self.metrics.requests.labels(endpoint, str(status)).inc()
        start_response(
            f"{status} {_REASONS.get(status, 'Error')}", [*headers, ("Content-Length", str(len(body)))]
        )
        return [body]

    def _signed_slack_body(self, environ: Environ) -> tuple[int, bytes, Environ | None]:
        """The request, its body read once and checked against Slack's signature before anything
        parses it; or the status and reason to answer instead."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return 400, b"bad Content-Length\n", None
        if length > MAX_SLACK_BYTES:
            return 413, f"body over {MAX_SLACK_BYTES} bytes\n".encode(), None
        body = environ["wsgi.input"].read(length)
        timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""))
        signature = str(environ.get("HTTP_X_SLACK_SIGNATURE", ""))
        if self._verifier is not None and not (
            timestamp.isdigit() and self._verifier.is_valid(body, timestamp, signature)
        ):
            return 401, b"invalid or missing Slack signature\n", None
        return 200, b"", {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}

    def _alertmanager(self, environ: Environ, method: str) -> tuple[int, bytes]:
        if method != "POST":
            return 405, _json({"error": "POST an Alertmanager webhook notification here"})
        if not self.settings.alertmanager_token:
            return 503, _json({"error": "the webhook is off: ALERTMANAGER_TOKEN is not set"})
        given = environ.get("HTTP_AUTHORIZATION", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.settings.alertmanager_token}".encode()):
            return 401, _json({"error": "missing or wrong bearer token"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return 400, _json({"error": "bad Content-Length"})
        if length > MAX_WEBHOOK_BYTES:
            return 413, _json({"error": f"body over {MAX_WEBHOOK_BYTES} bytes"})
        body = environ["wsgi.input"].read(length)
        try:
            notification = parse_notification(body)
            channel = self.groups.route(notification)
        except WebhookError as error:
            self.metrics.alert_notifications.labels("rejected").inc()
            return 400, _json({"error": str(error)})
        except NoRoute as error:
            self.metrics.alert_notifications.labels("unrouted").inc()
            log.error("%s", error)
            return 422, _json({"error": str(error)})
        try:
            entry = self.queue.append(body)
        except redis.RedisError as error:
            log.error("cannot keep an alert notification (Redis: %s); Alertmanager will retry", error)
            return 503, _json({"error": f"state store unavailable: {error}"})
        self.metrics.alert_notifications.labels("accepted").inc()
        return 202, _json({"accepted": entry, "group": notification.group_id, "channel": channel})

    def readiness(self) -> str | None:
        """None when Redis and Slack answer; otherwise which does not. Slack is asked at most every 10 s."""
        try:
            self.state.ping()
        except redis.RedisError as error:
            return f"redis: {error}"
        checked, problem = self._ready
        if time.monotonic() - checked > READY_CACHE_SECONDS:
            try:
                self._probe_client.auth_test()
                problem = None
            except SlackApiError as error:
                problem = f"slack: {error.response.get('error')}"
            except Exception as error:
                problem = f"slack: {type(error).__name__}: {error}"
            self._ready = (time.monotonic(), problem)
        return problem

    # Workers.
    def start_workers(self) -> None:
        for number in range(self._alert_workers):
            queue = AlertQueue(
                self.state,
                consumer=f"{self.queue.consumer}-{number}",
                retry_after_ms=int(self.settings.alert_claim_seconds * 1000),
                on_recreated=self._reconcile_now.set,
            )
            self._spawn(f"alerts-{number}", functools.partial(self._alert_loop, queue))
        self._spawn("digests", self._digest_loop)
        self._spawn("diagnoses", self._diagnosis_loop)
        self._spawn("reconcile", self._reconcile_loop)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._reconcile_now.set()  # wakes the reconciliation loop, which then sees the stop
        self._threads.join(timeout)
        self._listeners.shutdown(wait=True, cancel_futures=False)  # clicks being worked on finish
        self.jobs.shutdown()
        if self.remediation is not None:
            self.remediation.shutdown()

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        self._threads.spawn(name, target)

    def _alert_loop(self, queue: AlertQueue) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                queue.work(self.groups.handle, block_ms=500)
                failures = 0
            except Exception as error:  # this thread must outlive any one failure
                failures += 1
                self._stop.wait(self._backoff("alert queue", error, failures))

    def _diagnosis_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self.diagnoses.work(block_ms=500)
                failures = 0
            except Exception as error:  # this thread must outlive any one failure
                failures += 1
                self._stop.wait(self._backoff("diagnosis queue", error, failures))

    def _reconcile_loop(self) -> None:
        """Notices the bot's Redis losing its state and rebuilds what was firing from Alertmanager."""
        failures = 0
        while not self._stop.is_set():
            try:
                self.reconciler.check_persistence()
                if self.reconciler.state_lost() or self._reconcile_now.is_set():
                    self._reconcile_now.clear()
                    try:
                        self.reconciler.reconcile()
                    except Exception:
                        self.state.delete(MARKER)  # try again next round
                        raise
                failures = 0
                self._reconcile_now.wait(self.settings.reconcile_interval_seconds)
            except Exception as error:  # this thread must outlive any one failure
                failures += 1
                self._stop.wait(self._backoff("reconciliation", error, failures))

    def _digest_loop(self) -> None:
        failures = 0
        while not self._stop.wait(1.0):
            try:
                self.groups.flush_digests()
                self.groups.flush_announcements()
                failures = 0
            except Exception as error:  # this thread must outlive any one failure
                failures += 1
                self._stop.wait(self._backoff("digest updates", error, failures))

    def _backoff(self, what: str, error: Exception, failures: int) -> float:
        """Logs a failed round of background work; returns how long to wait before the next one."""
        delay = min(self.settings.redis_retry_max_seconds, FIRST_RETRY_SECONDS * 2.0 ** min(failures - 1, 16))
        if isinstance(error, redis.ConnectionError | redis.TimeoutError):
            log.warning("%s: Redis unavailable (%s); retrying in %.1fs", what, error, delay)
        else:
            log.exception("%s failed; retrying in %.1fs", what, delay)
        return delay


def _acknowledge_event(ack: Ack) -> None:
    ack()


def _recording(start_response: StartResponse, bot: TriageBot, endpoint: str) -> StartResponse:
    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        bot.metrics.requests.labels(endpoint, status.split(" ", 1)[0]).inc()
        return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

    return start


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data) + "\n").encode()


_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    411: "Length Required",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
