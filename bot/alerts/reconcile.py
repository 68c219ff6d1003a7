"""Alertmanager is the source of truth for what is firing.

The bot's Redis holds the notifications accepted and not yet handled, and the record of every
group's thread. If that Redis restarts empty (no persistence, or a lost volume), Alertmanager
does not know: it got its 202s, and re-sends a group only when it changes or after its repeat
interval (4 h by default). So the bot notices the loss (a marker key gone, the alert stream
recreated) and asks Alertmanager which groups are firing (`GET /api/v2/alerts/groups`); each
becomes a notification in the alert stream, handled as a re-send: its thread is found again in
the channel by the metadata on its parent, or posted once, and diagnosed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import redis
import requests  # type: ignore[import-untyped, unused-ignore]

from bot.alerts.webhook import NOT_ENDED, parse_notification
from bot.state.keys import KEYS

log = logging.getLogger(__name__)

MARKER = KEYS.marker()  # set while the bot's Redis keeps its data; its absence means it lost it


class Reconciler:
    def __init__(
        self,
        state: redis.Redis,
        alertmanager_url: str | None,
        append: Callable[[bytes], str],
        route: Callable[[bytes], object],
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self._state = state
        self._url = alertmanager_url.rstrip("/") if alertmanager_url else None
        self._append = append
        self._route = route  # raises for a group no channel takes
        self._timeout = timeout
        self._session = session or requests.Session()
        self.no_persistence: str | None = None

    def state_lost(self) -> bool:
        """True once after the bot's Redis started empty (or the first time ever): sets the marker."""
        return bool(self._state.set(MARKER, f"{time.time():.3f}", nx=True))

    def check_persistence(self) -> str | None:
        """Why a restart of the bot's Redis would lose its state, or None (persistence is on, or
        CONFIG is not allowed and INFO says AOF is on)."""
        try:
            config: Any = {**self._state.config_get("appendonly"), **self._state.config_get("save")}
            found = {_text(key): _text(value) for key, value in config.items()}
            on = found.get("appendonly") == "yes" or bool(found.get("save", "").strip())
            problem = None if on else "appendonly no and no save points"
        except redis.ResponseError:  # CONFIG renamed or refused (a managed Redis)
            info: Any = self._state.info("persistence")
            problem = (
                None if int(info.get("aof_enabled", 0)) else "AOF is off (CONFIG not allowed to say more)"
            )
        if problem != self.no_persistence and problem is not None:
            log.warning(
                "the bot's Redis has no persistence (%s): a restart loses accepted alerts and thread "
                "records; they are rebuilt from Alertmanager and Slack's history",
                problem,
            )
        self.no_persistence = problem
        return problem

    def reconcile(self) -> int:
        """Queues every firing group Alertmanager holds as a notification; returns how many."""
        if not self._url:
            log.warning(
                "the bot's Redis holds no state (new, or restarted empty) and the catalog sets no "
                "alertmanager_url: alerts it lost wait for Alertmanager's re-sends"
            )
            return 0
        answer = self._session.get(
            f"{self._url}/api/v2/alerts/groups",
            params={"active": "true", "silenced": "false", "inhibited": "false"},
            timeout=self._timeout,
        )
        answer.raise_for_status()
        queued = 0
        for group in answer.json() or []:
            body = notification_of(group, self._url)
            if body is None:
                continue
            try:
                parse_notification(body)
                self._route(body)
            except Exception as error:  # unrouted or unreadable: skipped, as the webhook would refuse it
                log.info("reconcile: group %s skipped: %s", group.get("labels"), error)
                continue
            self._append(body)
            queued += 1
        log.warning(
            "the bot's Redis holds no state (new, or restarted empty): %d firing group(s) from "
            "Alertmanager queued to be found again or posted",
            queued,
        )
        return queued


def notification_of(group: dict[str, Any], external_url: str) -> bytes | None:
    """A webhook v4 body for one group of `/api/v2/alerts/groups`, as Alertmanager would send it
    from its root route; None when nothing in it fires."""
    alerts = [a for a in group.get("alerts") or [] if (a.get("status") or {}).get("state") == "active"]
    if not alerts:
        return None
    labels: dict[str, str] = dict(group.get("labels") or {})
    common_labels = _common([a.get("labels") or {} for a in alerts])
    common_annotations = _common([a.get("annotations") or {} for a in alerts])
    key = "{" + ", ".join(f"{name}={json.dumps(value)}" for name, value in sorted(labels.items())) + "}"
    body = {
        "version": "4",
        "groupKey": f"{{}}:{key}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": str((group.get("receiver") or {}).get("name") or ""),
        "groupLabels": labels,
        "commonLabels": common_labels,
        "commonAnnotations": common_annotations,
        "externalURL": external_url,
        "alerts": [
            {
                "status": "firing",
                "labels": a.get("labels") or {},
                "annotations": a.get("annotations") or {},
                "startsAt": a.get("startsAt"),
                "endsAt": NOT_ENDED,
                "generatorURL": a.get("generatorURL") or "",
                "fingerprint": a.get("fingerprint") or "",
            }
            for a in alerts
        ],
    }
    return json.dumps(body).encode()


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    shared = dict(maps[0])
    for other in maps[1:]:
        shared = {key: value for key, value in shared.items() if other.get(key) == value}
    return shared


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
