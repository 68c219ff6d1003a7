"""The demo's alert: Prometheus' rule evaluation for KubePodOOMKilled, played over the simulated cluster."""

from __future__ import annotations

import datetime
import json
import logging
import threading
import time
from typing import Any

import requests  # type: ignore[import-untyped, unused-ignore]

from bot.demo import history, incident
from bot.demo.cluster import SimulatedCluster

log = logging.getLogger("bot.demo.run")

ALERT_RESEND_SECONDS = 30.0  # Prometheus re-sends a firing alert about this often


class AlertFeed:
    """Plays Prometheus' rule evaluation for KubePodOOMKilled over the simulated cluster: while a
    session-cache container was OOM-killed in the last 15 minutes the alert fires (sent to
    Alertmanager and re-sent every 30 s, with an endsAt a few minutes ahead, as Prometheus does);
    once none was, it is sent resolved. Without Alertmanager, the webhook goes to the bot directly."""

    def __init__(
        self,
        cluster: SimulatedCluster,
        alertmanager_url: str | None,
        bot_url: str,
        token: str,
        end: int,
        interval: float = 2.0,
    ) -> None:
        self.cluster = cluster
        self.alertmanager_url = alertmanager_url
        self.bot_url = bot_url
        self.token = token
        self.started_at = end - history.LAST_RESTART_AGO + history.LAST_RUN_SECONDS
        self.status = "not evaluated yet"
        self._interval = interval
        self._firing = False
        self._sent = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="alert-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._evaluate(time.time())
            except Exception as error:  # Alertmanager or the bot away for a moment: try again
                log.warning("alert feed: %s", error)
            self._stop.wait(self._interval)

    def _evaluate(self, now: float) -> None:
        firing = self.cluster.oom_killed_recently(now)
        if firing:
            if not self._firing or now - self._sent >= ALERT_RESEND_SECONDS:
                self._send(now, resolved=False)
                self._firing, self._sent = True, now
                self.status = f"firing since {_rfc3339(self.started_at)}"
        elif self._firing:
            self._send(now, resolved=True)
            self._firing = False
            self.status = f"resolved at {_rfc3339(now)}"
        elif self._sent == 0.0:
            self.status = "inactive"

    def _send(self, now: float, resolved: bool) -> None:
        labels = incident.alert_labels()
        ends = now if resolved else now + 4 * ALERT_RESEND_SECONDS
        alert: dict[str, Any] = {
            "labels": labels,
            "annotations": incident.alert_annotations(),
            "startsAt": _rfc3339(self.started_at),
            "endsAt": _rfc3339(ends),
            "generatorURL": "http://prometheus.monitoring:9090/graph?g0.expr=kube_pod_container_status_last_terminated_reason",
        }
        if self.alertmanager_url:
            answer = requests.post(f"{self.alertmanager_url}/api/v2/alerts", json=[alert], timeout=5)
            answer.raise_for_status()
            return
        group = {k: labels[k] for k in ("alertname", "namespace", "service")}
        body = {
            "version": "4",
            "groupKey": "{}:" + "{" + ",".join(f'{k}="{v}"' for k, v in group.items()) + "}",
            "truncatedAlerts": 0,
            "status": "resolved" if resolved else "firing",
            "receiver": "triage",
            "groupLabels": group,
            "commonLabels": labels,
            "commonAnnotations": alert["annotations"],
            "externalURL": "http://127.0.0.1/alertmanager-not-installed",
            "alerts": [
                {
                    "status": "resolved" if resolved else "firing",
                    "labels": labels,
                    "annotations": alert["annotations"],
                    "startsAt": alert["startsAt"],
                    "endsAt": alert["endsAt"] if resolved else "0001-01-01T00:00:00Z",
                    "generatorURL": alert["generatorURL"],
                    "fingerprint": "5f1c2a3b4d5e6f70",
                }
            ],
        }
        answer = requests.post(
            f"{self.bot_url}/alertmanager",
            data=json.dumps(body),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        answer.raise_for_status()


def _rfc3339(moment: float) -> str:
    stamp = datetime.datetime.fromtimestamp(moment, datetime.UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")
