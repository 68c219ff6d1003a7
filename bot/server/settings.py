"""The bot's settings, from the environment: `triage serve` refuses to start without what it needs."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class SettingsError(Exception):
    """A required setting is missing or malformed; the message is one line naming it."""


class ServeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    slack_bot_token: str
    slack_signing_secret: str | None = None  # required over HTTP; Socket Mode does not sign
    slack_app_token: str | None = None  # required for Socket Mode
    slack_api_url: str = DEFAULT_SLACK_API_URL
    redis_url: str
    alertmanager_token: str | None = None  # when unset, /alertmanager answers 503: no open webhook
    alert_channel: str | None = None  # for alerts no route matches
    config_path: str | None = None
    socket_mode: bool = False
    repeat_interval_seconds: int = Field(default=4 * 3600, gt=0)  # Alertmanager's repeat_interval
    storm_groups: int = Field(default=5, gt=0)  # new groups in one channel within storm_window: a storm
    storm_window_seconds: float = Field(default=10.0, gt=0)
    storm_threads: int = Field(default=3, ge=0)  # groups of a storm that still get a thread
    channel_rate_per_second: float = Field(default=1.0, gt=0)
    channel_burst: int = Field(default=3, gt=0)
    slack_timeout_seconds: int = Field(default=10, gt=0)  # one Slack Web API call
    redis_retry_max_seconds: float = Field(default=10.0, gt=0)  # backoff ceiling while Redis is away
    alert_claim_seconds: float = Field(default=30.0, gt=0)  # a notification pending this long is taken over
    diagnosis_claim_seconds: float = Field(default=30.0, gt=0)  # a diagnosis job not heard of this long, too
    group_lock_seconds: float = Field(default=90.0, gt=0)  # a dead replica's hold on a group lasts this long
    reconcile_interval_seconds: float = Field(default=10.0, gt=0)  # how often lost state is looked for


# Environment variable -> field, and whether it is required.
_VARIABLES: tuple[tuple[str, str], ...] = (
    ("SLACK_BOT_TOKEN", "slack_bot_token"),
    ("SLACK_SIGNING_SECRET", "slack_signing_secret"),
    ("SLACK_APP_TOKEN", "slack_app_token"),
    ("SLACK_API_URL", "slack_api_url"),
    ("TRIAGE_REDIS_URL", "redis_url"),
    ("ALERTMANAGER_TOKEN", "alertmanager_token"),
    ("TRIAGE_ALERT_CHANNEL", "alert_channel"),
    ("TRIAGE_CONFIG", "config_path"),
    ("TRIAGE_REPEAT_INTERVAL_SECONDS", "repeat_interval_seconds"),
    ("TRIAGE_STORM_GROUPS", "storm_groups"),
    ("TRIAGE_STORM_THREADS", "storm_threads"),
    ("TRIAGE_STORM_WINDOW_SECONDS", "storm_window_seconds"),
    ("TRIAGE_CHANNEL_RATE_PER_SECOND", "channel_rate_per_second"),
    ("TRIAGE_CHANNEL_BURST", "channel_burst"),
    ("TRIAGE_SLACK_TIMEOUT_SECONDS", "slack_timeout_seconds"),
    ("TRIAGE_REDIS_RETRY_MAX_SECONDS", "redis_retry_max_seconds"),
    ("TRIAGE_ALERT_CLAIM_SECONDS", "alert_claim_seconds"),
    ("TRIAGE_DIAGNOSIS_CLAIM_SECONDS", "diagnosis_claim_seconds"),
    ("TRIAGE_GROUP_LOCK_SECONDS", "group_lock_seconds"),
    ("TRIAGE_RECONCILE_INTERVAL_SECONDS", "reconcile_interval_seconds"),
)


def load_serve_settings(environ: Mapping[str, str] = os.environ, socket_mode: bool = False) -> ServeSettings:
    """Settings from the environment; a missing required one raises SettingsError naming it."""
    values: dict[str, object] = {"socket_mode": socket_mode}
    for variable, field in _VARIABLES:
        if environ.get(variable):
            values[field] = environ[variable]
    required = ["SLACK_BOT_TOKEN", "TRIAGE_REDIS_URL"]
    required.append("SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET")
    for variable in required:
        if not environ.get(variable):
            why = "Socket Mode needs an app-level token (xapp-...)" if variable == "SLACK_APP_TOKEN" else ""
            raise SettingsError(f"{variable} is not set{': ' + why if why else ''}")
    url = str(values.get("slack_api_url", DEFAULT_SLACK_API_URL))
    values["slack_api_url"] = url if url.endswith("/") else url + "/"
    try:
        return ServeSettings.model_validate(values)
    except ValueError as error:
        first = str(error).splitlines()
        raise SettingsError(f"bad setting: {' '.join(first[1:3]) if len(first) > 2 else error}") from error
