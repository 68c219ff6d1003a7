"""Alertmanager silences through its v2 API, with `requests`.

POST   /api/v2/silences        create (the answer is {"silenceID": ...})
GET    /api/v2/silences        list (optionally ?filter=name="value")
DELETE /api/v2/silence/{id}    expire
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests  # type: ignore[import-untyped, unused-ignore]


class SilenceError(Exception):
    """Alertmanager refused or could not be reached; the message is one line."""


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: dict[str, str]  # equality matchers only (name -> value)
    starts_at: str
    ends_at: str
    created_by: str
    comment: str
    state: str  # "active", "pending" or "expired"


def thread_link(channel: str, thread_ts: str) -> str:
    """A Slack link to a thread that works from any workspace (Slack redirects it)."""
    return f"https://slack.com/archives/{channel}/p{thread_ts.replace('.', '')}"


class AlertmanagerSilences:
    def __init__(
        self,
        url: str,
        bearer_token: str | None = None,
        timeout: float = 5.0,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        if bearer_token:
            self.session.headers["Authorization"] = f"Bearer {bearer_token}"

    def create(
        self,
        matchers: Mapping[str, str],
        duration_seconds: float,
        created_by: str,
        comment: str,
        now: datetime | None = None,
    ) -> str:
        """Silence alerts whose labels equal all `matchers`, from now for the duration; the silence id."""
        if not matchers:
            raise SilenceError("a silence needs at least one matcher")
        start = now or datetime.now(UTC)
        body = {
            "matchers": [
                {"name": name, "value": value, "isRegex": False, "isEqual": True}
                for name, value in sorted(matchers.items())
            ],
            "startsAt": _iso(start),
            "endsAt": _iso(start + timedelta(seconds=duration_seconds)),
            "createdBy": created_by,
            "comment": comment,
        }
        answer = self._send("POST", "/api/v2/silences", json=body)
        silence_id = answer.get("silenceID") if isinstance(answer, dict) else None
        if not silence_id:
            raise SilenceError(f"Alertmanager created no silence: {answer!r}")
        return str(silence_id)

    def list(self, matchers: Mapping[str, str] | None = None) -> list[Silence]:
        params = [("filter", f'{name}="{value}"') for name, value in sorted((matchers or {}).items())]
        answer = self._send("GET", "/api/v2/silences", params=params)
        return [_silence(item) for item in answer or [] if isinstance(item, dict)]

    def get(self, silence_id: str) -> Silence:
        return _silence(self._send("GET", f"/api/v2/silence/{silence_id}"))

    def expire(self, silence_id: str) -> None:
        self._send("DELETE", f"/api/v2/silence/{silence_id}")

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.session.request(method, f"{self.url}{path}", timeout=self.timeout, **kwargs)
        except requests.exceptions.RequestException as error:
            raise SilenceError(f"cannot reach Alertmanager for {method} {path}: {error}") from None
        if response.status_code >= 400:
            text = " ".join(response.text.split())[:300]
            raise SilenceError(f"Alertmanager answered {response.status_code} to {method} {path}: {text}")
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return None


def _silence(item: Any) -> Silence:
    if not isinstance(item, dict):
        raise SilenceError(f"not a silence: {item!r}")
    return Silence(
        id=str(item.get("id")),
        matchers={
            str(m.get("name")): str(m.get("value"))
            for m in item.get("matchers") or []
            if not m.get("isRegex") and m.get("isEqual", True)
        },
        starts_at=str(item.get("startsAt")),
        ends_at=str(item.get("endsAt")),
        created_by=str(item.get("createdBy")),
        comment=str(item.get("comment")),
        state=str((item.get("status") or {}).get("state")),
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
