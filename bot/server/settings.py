"""The bot's settings, from the environment: `triage serve` refuses to start without what it needs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class SettingsError(Exception):
    """A required setting is missing or malformed; the message is one line naming it."""


class ServeSettings(BaseSettings):
    """Each field is read from its environment variable (the second alias), by pydantic-settings."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True, populate_by_name=True, case_sensitive=True)

    slack_bot_token: str = Field(validation_alias=AliasChoices("slack_bot_token", "SLACK_BOT_TOKEN"))
    slack_signing_secret: str | None = Field(
        default=None, validation_alias=AliasChoices("slack_signing_secret", "SLACK_SIGNING_SECRET")
    )  # required over HTTP; Socket Mode does not sign
    slack_app_token: str | None = Field(
        default=None, validation_alias=AliasChoices("slack_app_token", "SLACK_APP_TOKEN")
    )  # required for Socket Mode
    slack_api_url: str = Field(
        default=DEFAULT_SLACK_API_URL, validation_alias=AliasChoices("slack_api_url", "SLACK_API_URL")
    )
    redis_url: str = Field(validation_alias=AliasChoices("redis_url", "TRIAGE_REDIS_URL"))
    alertmanager_token: str | None = Field(
        default=None, validation_alias=AliasChoices("alertmanager_token", "ALERTMANAGER_TOKEN")
    )  # when unset, /alertmanager answers 503: no open webhook
    alert_channel: str | None = Field(
        default=None, validation_alias=AliasChoices("alert_channel", "TRIAGE_ALERT_CHANNEL")
    )  # for alerts no route matches
    config_path: str | None = Field(
        default=None, validation_alias=AliasChoices("config_path", "TRIAGE_CONFIG")
    )
    socket_mode: bool = False
    repeat_interval_seconds: int = Field(
        default=4 * 3600,
        gt=0,
        validation_alias=AliasChoices("repeat_interval_seconds", "TRIAGE_REPEAT_INTERVAL_SECONDS"),
    )  # Alertmanager's repeat_interval
    storm_groups: int = Field(
        default=5, gt=0, validation_alias=AliasChoices("storm_groups", "TRIAGE_STORM_GROUPS")
    )  # new groups in one channel within storm_window: a storm
    storm_window_seconds: float = Field(
        default=10.0,
        gt=0,
        validation_alias=AliasChoices("storm_window_seconds", "TRIAGE_STORM_WINDOW_SECONDS"),
    )
    storm_threads: int = Field(
        default=3, ge=0, validation_alias=AliasChoices("storm_threads", "TRIAGE_STORM_THREADS")
    )  # groups of a storm that still get a thread
    channel_rate_per_second: float = Field(
        default=1.0,
        gt=0,
        validation_alias=AliasChoices("channel_rate_per_second", "TRIAGE_CHANNEL_RATE_PER_SECOND"),
    )
    channel_burst: int = Field(
        default=3, gt=0, validation_alias=AliasChoices("channel_burst", "TRIAGE_CHANNEL_BURST")
    )
    slack_timeout_seconds: int = Field(
        default=10,
        gt=0,
        validation_alias=AliasChoices("slack_timeout_seconds", "TRIAGE_SLACK_TIMEOUT_SECONDS"),
    )  # one Slack Web API call
    redis_retry_max_seconds: float = Field(
        default=10.0,
        gt=0,
        validation_alias=AliasChoices("redis_retry_max_seconds", "TRIAGE_REDIS_RETRY_MAX_SECONDS"),
    )  # backoff ceiling while Redis is away
    alert_claim_seconds: float = Field(
        default=30.0, gt=0, validation_alias=AliasChoices("alert_claim_seconds", "TRIAGE_ALERT_CLAIM_SECONDS")
    )  # a notification pending this long is taken over
    diagnosis_claim_seconds: float = Field(
        default=30.0,
        gt=0,
        validation_alias=AliasChoices("diagnosis_claim_seconds", "TRIAGE_DIAGNOSIS_CLAIM_SECONDS"),
    )  # a diagnosis job not heard of this long, too
    group_lock_seconds: float = Field(
        default=90.0, gt=0, validation_alias=AliasChoices("group_lock_seconds", "TRIAGE_GROUP_LOCK_SECONDS")
    )  # a dead replica's hold on a group lasts this long
    reconcile_interval_seconds: float = Field(
        default=10.0,
        gt=0,
        validation_alias=AliasChoices("reconcile_interval_seconds", "TRIAGE_RECONCILE_INTERVAL_SECONDS"),
    )  # how often lost state is looked for


REQUIRED = ("SLACK_BOT_TOKEN", "TRIAGE_REDIS_URL")


def load_serve_settings(environ: Mapping[str, str] = os.environ, socket_mode: bool = False) -> ServeSettings:
    """Settings from the environment; every missing required one named in one SettingsError."""
    source = EnvSettingsSource(ServeSettings, case_sensitive=True)
    source.env_vars = {k: v for k, v in environ.items() if v}  # set but empty counts as not set
    values: dict[str, Any] = {**source(), "socket_mode": socket_mode}
    mode_needs = "SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET"
    missing = [variable for variable in (*REQUIRED, mode_needs) if variable not in source.env_vars]
    if missing:
        why = " (Socket Mode needs an app-level token, xapp-...)" if "SLACK_APP_TOKEN" in missing else ""
        verb = "is" if len(missing) == 1 else "are"
        raise SettingsError(f"{', '.join(missing)} {verb} not set{why}")
    url = str(values.get("slack_api_url") or values.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL)
    values.pop("SLACK_API_URL", None)
    values["slack_api_url"] = url if url.endswith("/") else url + "/"
    try:
        return ServeSettings.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(f"{_variable(item['loc'])}: {item['msg']}" for item in error.errors())
        raise SettingsError(f"bad setting: {problems}") from error


def _variable(loc: tuple[int | str, ...]) -> str:
    field = ServeSettings.model_fields.get(str(loc[0])) if loc else None
    alias = field.validation_alias if field else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[-1])
    return ".".join(str(part) for part in loc)
