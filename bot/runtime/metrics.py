"""The bot's own Prometheus metrics, served on GET /metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bot.state.keys import KEYS

log = logging.getLogger(__name__)


@dataclass
class BotMetrics:
    """One registry per server, so tests and several apps in one process do not collide."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "triage_requests", "HTTP requests served", ["endpoint", "status"], registry=self.registry
        )
        self.diagnoses = Counter(
            "triage_diagnoses", "Diagnoses run", ["trigger", "outcome"], registry=self.registry
        )
        self.diagnosis_seconds = Histogram(
            "triage_diagnosis_duration_seconds",
            "Time to collect and analyse one diagnosis",
            ["trigger"],
            buckets=(0.25, 0.5, 1, 2, 5, 10, 15, 30, 60),
            registry=self.registry,
        )
        self.source_failures = Counter(
            "triage_source_failures",
            "Sources that failed or timed out in a diagnosis",
            ["source"],
            registry=self.registry,
        )
        self.slack_errors = Counter(
            "triage_slack_errors",
            "Slack Web API calls that failed",
            ["method", "error"],
            registry=self.registry,
        )
        self.alert_notifications = Counter(
            "triage_alert_notifications", "Alertmanager notifications", ["outcome"], registry=self.registry
        )
        self.slack_messages = Counter(
            "triage_slack_messages", "Messages posted or updated", ["kind"], registry=self.registry
        )
        self.dead_letters = Gauge(
            "triage_alert_dead_letters",
            f"Alertmanager notifications given up on (kept in the {KEYS.alerts_dead()} stream)",
            registry=self.registry,
        )

    def watch_dead_letters(self, count: Callable[[], int]) -> None:
        def read() -> float:
            try:
                return float(count())
            except Exception as error:  # /metrics must answer even when Redis does not
                log.warning("cannot count dead letters: %s", error)
                return float("nan")

        self.dead_letters.set_function(read)
