"""The bot as `triage serve` runs it, on a free port, against a real Redis and the Slack stand-in."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests  # type: ignore[import-untyped, unused-ignore]

from analyzers import analyze
from analyzers.diagnosis import Diagnosis
from analyzers.evidence import Evidence
from bot.readers import read_paths, read_string
from bot.remediation.kubernetes_change import KubernetesChanger
from bot.server.app import TriageBot
from bot.server.serve import make_http_server
from bot.server.settings import ServeSettings
from bot.settings import Catalog
from bot.slack.diagnosis_jobs import Diagnose, ProposalMaker
from tests.standins.slack_api import BOT_TOKEN
from tests.standins.slack_signing import signed_headers

SIGNING_SECRET = "standin-signing-secret-0123456789abcdef"
ALERTMANAGER_TOKEN = "alertmanager-webhook-token"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "session-cache"


def example_diagnosis(service: str, namespace: str | None) -> tuple[Diagnosis, Evidence]:
    """The bundled session-cache incident plus an hour of its memory, as if collected live."""
    evidence = read_paths([str(EXAMPLE)])
    evidence.merge(read_string(_memory_hour(), "query_range working set"))
    return analyze(evidence, service), evidence


def _memory_hour() -> str:
    """A Prometheus range-query body: the working set climbing to the 64Mi limit, minute by minute."""
    end = 1_780_000_000
    values = [[end - 60 * (59 - i), str(int(40e6 + i * 0.45e6))] for i in range(60)]
    metric = {
        "__name__": "container_memory_working_set_bytes",
        "namespace": "ecommerce",
        "pod": "session-cache-7f4b8d9c65-xk2mv",
        "container": "redis",
    }
    body = {
        "status": "success",
        "data": {"resultType": "matrix", "result": [{"metric": metric, "values": values}]},
    }
    return json.dumps(body)


@dataclass
class RunningBot:
    bot: TriageBot
    url: str
    _stop: Callable[[], None] = field(repr=False)

    def slack(
        self, body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None
    ) -> requests.Response:
        return requests.post(
            f"{self.url}/slack/events", data=body, headers=signed_headers(body, secret, timestamp), timeout=10
        )

    def alertmanager(self, body: bytes, token: str | None = ALERTMANAGER_TOKEN) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.post(f"{self.url}/alertmanager", data=body, headers=headers, timeout=10)

    def stop(self) -> None:
        self._stop()


def start_bot(
    redis_url: str,
    slack_api_url: str,
    catalog: Catalog,
    diagnose: Diagnose = example_diagnosis,
    make_proposals: ProposalMaker | None = None,
    workers: bool = True,
    kubernetes: KubernetesChanger | None = None,
    **settings: object,
) -> RunningBot:
    values: dict[str, object] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack_api_url,
        "redis_url": redis_url,
        "alertmanager_token": ALERTMANAGER_TOKEN,
        **settings,
    }
    bot = TriageBot(
        ServeSettings.model_validate(values),
        catalog,
        diagnose,
        make_proposals=make_proposals,
        kubernetes=kubernetes,
    )
    server = make_http_server(bot.wsgi, "127.0.0.1", 0, threads=8)
    port = server.effective_port  # type: ignore[union-attr]

    def serve() -> None:
        with contextlib.suppress(OSError, ValueError):  # closed from the test's thread while in select()
            server.run()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    if workers:
        bot.start_workers()

    def stop() -> None:
        server.close()
        bot.stop()
        thread.join(1)

    return RunningBot(bot, f"http://127.0.0.1:{port}", stop)


def wait_for(condition: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
