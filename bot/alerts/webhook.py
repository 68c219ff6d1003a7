"""Alertmanager's webhook payload (version 4), validated: a malformed body gets a reason, not a crash."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Alertmanager writes this for an alert that has not ended.
NOT_ENDED = "0001-01-01T00:00:00Z"
SEVERITY_RANK = {"critical": 0, "page": 0, "error": 1, "high": 1, "warning": 2, "medium": 2, "info": 3}
# Labels that name the service an alert is about, in order of preference.
SERVICE_LABELS = ("service", "app", "app_kubernetes_io_name", "container", "job", "deployment", "statefulset")


class WebhookError(ValueError):
    """The body is not an Alertmanager v4 notification; the message says why."""


class Alert(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""

    @property
    def key(self) -> str:
        """The fingerprint, or one made from the labels as Alertmanager does, if it was left out."""
        if self.fingerprint:
            return self.fingerprint
        return hashlib.sha256(json.dumps(self.labels, sort_keys=True).encode()).hexdigest()[:16]


class Notification(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    version: Literal["4"]
    group_key: str = Field(alias="groupKey", min_length=1)
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts")
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[Alert] = Field(min_length=1)

    @property
    def group_id(self) -> str:
        """A short stable id of the group, safe in Redis keys and Slack metadata."""
        return hashlib.sha256(self.group_key.encode()).hexdigest()[:24]

    @property
    def labels_id(self) -> str:
        """The group by its labels alone: the same from any route, and from Alertmanager's API
        (which does not give the group key)."""
        return hashlib.sha256(json.dumps(self.group_labels, sort_keys=True).encode()).hexdigest()[:24]

    @property
    def firing(self) -> list[Alert]:
        return [alert for alert in self.alerts if alert.status == "firing"]

    @property
    def alert_name(self) -> str:
        return self.common_labels.get("alertname") or self.group_labels.get("alertname") or "alert"

    @property
    def severity(self) -> str:
        severities = [a.labels.get("severity", "") for a in self.alerts] or [""]
        return min(severities, key=lambda s: SEVERITY_RANK.get(s.lower(), 9)) or "unknown"

    @property
    def severity_rank(self) -> int:
        return SEVERITY_RANK.get(self.severity.lower(), 9)

    @property
    def namespace(self) -> str | None:
        return self.common_labels.get("namespace")

    @property
    def service(self) -> str | None:
        for label in SERVICE_LABELS:
            if value := self.common_labels.get(label):
                return value
        return None

    def labels_for_routing(self) -> dict[str, str]:
        return {**self.common_labels, **self.group_labels}


def parse_notification(body: bytes) -> Notification:
    """The notification in `body`, or WebhookError with the first reasons it is not one."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WebhookError(f"body is not JSON: {error}") from error
    except RecursionError as error:
        raise WebhookError("body is nested too deeply to be an Alertmanager notification") from error
    if not isinstance(data, dict):
        raise WebhookError("body must be a JSON object (an Alertmanager webhook notification)")
    if "version" in data and data["version"] != "4":
        raise WebhookError(f"unsupported webhook version {data['version']!r}: this receiver speaks version 4")
    try:
        return Notification.model_validate(data)
    except RecursionError as error:
        raise WebhookError("body is nested too deeply to be an Alertmanager notification") from error
    except ValidationError as error:
        reasons = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}"
            for item in error.errors()[:3]
        )
        raise WebhookError(f"not an Alertmanager v4 notification: {reasons}") from error
