"""The parts of `triage serve` that need no server: settings, webhook parsing, /triage words."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.alerts.messages import digest_blocks, format_duration
from bot.alerts.reconcile import notification_of
from bot.alerts.webhook import WebhookError, parse_notification
from bot.cli import main
from bot.server.settings import SettingsError, load_serve_settings
from bot.settings import Catalog, ServiceConfig
from bot.slack.commands import PrivateAnswer, TriageRequest, interpret

HTTP_ENV = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "TRIAGE_REDIS_URL": "redis://r:6379"}


@pytest.mark.parametrize("missing", sorted(HTTP_ENV))
def test_a_missing_required_setting_is_named(missing: str) -> None:
    environ = {k: v for k, v in HTTP_ENV.items() if k != missing}

    with pytest.raises(SettingsError, match=f"^{missing} is not set"):
        load_serve_settings(environ)


def test_every_missing_and_malformed_setting_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as raised:
        load_serve_settings({"SLACK_SIGNING_SECRET": "s"})
    assert str(raised.value) == "SLACK_BOT_TOKEN, TRIAGE_REDIS_URL are not set"
    malformed = {**HTTP_ENV, "TRIAGE_STORM_GROUPS": "many", "TRIAGE_CHANNEL_BURST": "0"}
    with pytest.raises(SettingsError) as raised:
        load_serve_settings(malformed)
    assert "TRIAGE_STORM_GROUPS" in str(raised.value) and "TRIAGE_CHANNEL_BURST" in str(raised.value)
    settings = load_serve_settings({**HTTP_ENV, "TRIAGE_STORM_GROUPS": "7", "SLACK_APP_TOKEN": ""})
    assert settings.storm_groups == 7 and settings.slack_app_token is None  # empty is unset


def test_socket_mode_needs_the_app_token_not_the_signing_secret() -> None:
    environ = {k: v for k, v in HTTP_ENV.items() if k != "SLACK_SIGNING_SECRET"}

    with pytest.raises(SettingsError, match="SLACK_APP_TOKEN"):
        load_serve_settings(environ, socket_mode=True)
    settings = load_serve_settings({**environ, "SLACK_APP_TOKEN": "xapp-1"}, socket_mode=True)
    assert settings.socket_mode and settings.slack_api_url == "https://slack.com/api/"


def test_slack_api_url_gets_its_trailing_slash() -> None:
    settings = load_serve_settings({**HTTP_ENV, "SLACK_API_URL": "http://proxy:8080/api"})

    assert settings.slack_api_url == "http://proxy:8080/api/"


def test_serve_without_settings_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for variable in HTTP_ENV:
        monkeypatch.delenv(variable, raising=False)

    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err == "triage serve: SLACK_BOT_TOKEN, TRIAGE_REDIS_URL, SLACK_SIGNING_SECRET are not set\n"


def _notification(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "version": "4",
        "groupKey": '{}:{alertname="X"}',
        "status": "firing",
        "receiver": "triage",
        "groupLabels": {"alertname": "X"},
        "commonLabels": {"alertname": "X", "app": "checkout", "severity": "warning"},
        "commonAnnotations": {},
        "externalURL": "",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "X", "app": "checkout", "severity": "warning"},
                "startsAt": "2026-11-28T03:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
            }
        ],
    }
    body.update(changes)
    return body


def test_a_notification_names_its_service_severity_and_a_stable_group_id() -> None:
    first = parse_notification(json.dumps(_notification()).encode())
    again = parse_notification(json.dumps(_notification()).encode())

    assert first.service == "checkout" and first.severity == "warning" and first.alert_name == "X"
    assert first.group_id == again.group_id and len(first.group_id) == 24
    assert first.alerts[0].key  # no fingerprint sent: one made from the labels


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"42", "JSON object"),
        (json.dumps(_notification(version="2")).encode(), "version '2'"),
        (json.dumps(_notification(status="pending")).encode(), "status"),
        (json.dumps(_notification(alerts=[{"status": "firing"}])).encode(), "alerts.0.labels"),
    ],
)
def test_a_malformed_notification_says_what_is_wrong(body: bytes, reason: str) -> None:
    with pytest.raises(WebhookError, match=reason):
        parse_notification(body)


CATALOG = Catalog(
    services={"session-cache": ServiceConfig(), "checkout": ServiceConfig()}, allowed_channels=["C1"]
)


@pytest.mark.parametrize(
    ("text", "channel", "expected"),
    [
        ("session-cache", "C1", TriageRequest("session-cache", None)),
        ("Session-Cache ecommerce", "C1", TriageRequest("session-cache", "ecommerce")),
    ],
)
def test_triage_words_become_a_request(text: str, channel: str, expected: TriageRequest) -> None:
    assert interpret(text, channel, CATALOG) == expected


@pytest.mark.parametrize(
    ("text", "channel", "answer"),
    [
        ("", "C1", "/triage SERVICE [NAMESPACE]"),
        ("help", "C9", "/triage SERVICE [NAMESPACE]"),
        ("session-cache", "C9", "not enabled in this channel"),
        ("sesion-cache", "C1", "Did you mean `session-cache`?"),
        ("a b c", "C1", "Too many words"),
        ("session_cache!", "C1", "not a Kubernetes name"),
    ],
)
def test_triage_words_that_need_a_private_answer(text: str, channel: str, answer: str) -> None:
    result = interpret(text, channel, CATALOG)

    assert isinstance(result, PrivateAnswer) and answer in result.text


def test_an_empty_catalog_lets_any_service_be_looked_up_by_its_labels() -> None:
    assert interpret("anything", "C7", Catalog()) == TriageRequest("anything", None)


def test_a_digest_of_many_groups_stays_within_slack_limits() -> None:
    lines = [
        f"🔴 *Alert{n} · ns/svc-{n}* (critical, 3 firing) `alertname=Alert{n}, service=svc-{n}`"
        for n in range(300)
    ]

    title, blocks = digest_blocks(lines, 300, 10)

    assert "300 alert groups (290 firing, 10 resolved)" in title
    assert len(blocks) <= 50 and all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert sum(b.get("text", {}).get("text", "").count("svc-") for b in blocks) == 600  # every group listed


@pytest.mark.parametrize(("seconds", "text"), [(45, "45s"), (600, "10m"), (7380, "2h3m"), (86400 * 3, "3d")])
def test_durations_read_as_people_write_them(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_a_group_from_alertmanagers_api_becomes_the_notification_its_webhook_would_send() -> None:
    labels = {"alertname": "KubePodOOMKilled", "namespace": "ecommerce", "service": "svc-00"}
    group = {
        "labels": labels,
        "receiver": {"name": "triage"},
        "alerts": [
            {
                "labels": {**labels, "pod": f"svc-00-{n}", "severity": "critical"},
                "annotations": {"summary": "OOM"},
                "startsAt": "2026-11-28T03:00:00Z",
                "fingerprint": f"f{n}",
                "status": {"state": state},
            }
            for n, state in enumerate(("active", "active", "suppressed"))
        ],
    }

    body = notification_of(group, "http://alertmanager:9093")
    assert body is not None
    notification = parse_notification(body)
    # Alertmanager's group key for its root route: the same group id as its webhook's.
    assert (
        notification.group_key == '{}:{alertname="KubePodOOMKilled", namespace="ecommerce", service="svc-00"}'
    )
    assert [a.fingerprint for a in notification.alerts] == ["f0", "f1"]
    assert notification.common_labels["severity"] == "critical" and "pod" not in notification.common_labels
    assert notification_of({**group, "alerts": group["alerts"][2:]}, "http://am") is None
