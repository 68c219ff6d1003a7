"""Silencing the alert being triaged, through approval, in a real Alertmanager."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
import redis

from analyzers.diagnosis import Diagnosis, Remediation
from analyzers.evidence import Evidence
from bot.remediation.audit import AuditLog
from bot.remediation.flow import RemediationFlow, RemediationRefused
from bot.remediation.silences import AlertmanagerSilences, SilenceError
from bot.remediation.targets.silence import AlertSilence
from bot.settings import Catalog
from tests.live.conftest import AlertmanagerServer, free_port

SERVICE = "session-cache"
CHANNEL = "C0ONCALL"
THREAD = "1732838400.000100"
REQUESTER = "U0REQUEST"
ALICE = "U0ALICE"
ALERT = {"alertname": "RedisOOMKilled", "namespace": "ecommerce", "service": SERVICE, "severity": "critical"}


@pytest.fixture(scope="module")
def alertmanager(start_alertmanager: Callable[..., AlertmanagerServer]) -> AlertmanagerServer:
    # Nobody listens for its notifications here: only its silences API is used.
    return start_alertmanager(f"http://127.0.0.1:{free_port()}/hook", "unused-token")


def _flow(bot_redis: redis.Redis, alertmanager_url: str | None) -> RemediationFlow:
    catalog = Catalog.model_validate(
        {
            "alertmanager_url": alertmanager_url,
            "services": {SERVICE: {"namespace": "ecommerce", "approvers": [ALICE]}},
        }
    )
    return RemediationFlow(catalog, bot_redis)


def _propose(flow: RemediationFlow, alert: dict[str, str] | None = ALERT, *remediations: Remediation) -> Any:
    diagnosis = Diagnosis(SERVICE, "", "", [], [], [], list(remediations), [], [])
    return flow.propose(
        diagnosis, Evidence(), SERVICE, flow.catalog.service(SERVICE), CHANNEL, THREAD, REQUESTER, alert=alert
    )


def _state_of_alert(alertmanager: AlertmanagerServer, labels: dict[str, str]) -> dict[str, Any]:
    for alert in alertmanager.alerts():
        if alert["labels"] == labels:
            status: dict[str, Any] = alert["status"]
            return status
    raise AssertionError(f"Alertmanager holds no alert {labels}")


def test_the_client_creates_lists_and_expires_silences(alertmanager: AlertmanagerServer) -> None:
    silences = AlertmanagerSilences(alertmanager.url)
    matchers = {"alertname": "ClientTest", "namespace": "web"}

    silence_id = silences.create(matchers, 600, created_by="U0ALICE", comment="testing the client")

    (listed,) = silences.list({"alertname": "ClientTest"})
    assert (listed.id, listed.matchers, listed.created_by, listed.state) == (
        silence_id,
        matchers,
        "U0ALICE",
        "active",
    )
    silences.expire(silence_id)
    assert silences.get(silence_id).state == "expired"
    with pytest.raises(SilenceError, match="at least one matcher"):
        silences.create({}, 600, created_by="U0ALICE", comment="")


def test_an_approved_silence_silences_the_alert_until_it_is_rolled_back(
    alertmanager: AlertmanagerServer, bot_redis: redis.Redis
) -> None:
    alertmanager.push([{"labels": ALERT}])
    flow = _flow(bot_redis, alertmanager.url)
    duration = Remediation("silence-alert", "Silence it", "low", True, AlertSilence(4 * 3600))
    proposals = _propose(flow, ALERT, duration)
    (proposal,) = proposals
    assert proposals.by_index() == {0: proposal.id}
    assert (proposal.title, proposal.change.silence_seconds) == ("Silence RedisOOMKilled for 4h", 4 * 3600)
    assert _state_of_alert(alertmanager, ALERT)["state"] == "active"

    outcome = flow.approve(proposal.id, ALICE, CHANNEL)

    assert outcome.status == "applied", outcome.message
    applied = flow.get(proposal.id)
    assert applied is not None and applied.applied is not None
    silence_id = applied.applied.silence_id
    (silence,) = [s for s in alertmanager.silences() if s["id"] == silence_id]
    assert silence["createdBy"] == ALICE
    assert proposal.id in silence["comment"]
    assert "https://slack.com/archives/C0ONCALL/p1732838400000100" in silence["comment"]
    assert {m["name"]: m["value"] for m in silence["matchers"]} == ALERT
    assert all(m["isEqual"] and not m["isRegex"] for m in silence["matchers"])
    deadline = time.monotonic() + 10  # Alertmanager marks alerts silenced on its own schedule
    while _state_of_alert(alertmanager, ALERT)["state"] != "suppressed" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _state_of_alert(alertmanager, ALERT)["silencedBy"] == [silence_id]
    assert flow.verify(proposal.id).status == "verified"

    back = flow.rollback(proposal.id, ALICE, CHANNEL)
    assert back.change.expire_silence == silence_id
    assert flow.approve(back.id, ALICE, CHANNEL).status == "applied"
    assert [s["status"]["state"] for s in alertmanager.silences() if s["id"] == silence_id] == ["expired"]
    events = [e.event for e in AuditLog(bot_redis).read()]
    assert events == [
        "proposed",
        "approved",
        "silenced",
        "verified",
        "rollback_proposed",
        "approved",
        "applied",
    ]


def test_without_an_alert_or_an_alertmanager_no_silence_is_proposed(
    alertmanager: AlertmanagerServer, bot_redis: redis.Redis
) -> None:
    silence = Remediation("silence-alert", "Silence it", "low", True, AlertSilence(3600))
    no_alert = _propose(_flow(bot_redis, alertmanager.url), None, silence)
    assert [(s.remediation, s.reason) for s in no_alert.skipped] == [
        ("silence-alert", "no alert is known to silence")
    ]

    no_alertmanager = _propose(_flow(bot_redis, None), ALERT)
    assert list(no_alertmanager) == []
    assert [s.reason for s in no_alertmanager.skipped] == ["no alertmanager_url in the catalog"]


def test_an_unreachable_alertmanager_fails_the_apply(bot_redis: redis.Redis) -> None:
    flow = _flow(bot_redis, f"http://127.0.0.1:{free_port()}")
    (proposal,) = _propose(flow)

    outcome = flow.approve(proposal.id, ALICE, CHANNEL)

    assert outcome.status == "failed" and "cannot reach Alertmanager" in outcome.message
    assert flow.get(proposal.id).state == "failed"  # type: ignore[union-attr]


def test_the_approver_can_choose_another_length_for_the_silence(
    alertmanager: AlertmanagerServer, bot_redis: redis.Redis
) -> None:
    flow = _flow(bot_redis, alertmanager.url)
    (proposal,) = _propose(
        flow, ALERT, Remediation("silence-alert", "Silence it", "low", True, AlertSilence(2 * 3600))
    )

    longer = flow.with_silence_duration(proposal.id, 8 * 3600, ALICE, CHANNEL)

    assert (longer.title, longer.change.silence_seconds) == ("Silence RedisOOMKilled for 8h", 8 * 3600)
    assert longer.id != proposal.id and longer.channel == CHANNEL and longer.approvers == proposal.approvers
    assert flow.approve(longer.id, ALICE, CHANNEL).status == "applied"
    applied = flow.get(longer.id)
    assert applied is not None and applied.applied is not None
    (silence,) = [s for s in alertmanager.silences() if s["id"] == applied.applied.silence_id]
    lasts = datetime.fromisoformat(silence["endsAt"]) - datetime.fromisoformat(silence["startsAt"])
    assert abs(lasts.total_seconds() - 8 * 3600) < 60
    with pytest.raises(RemediationRefused, match="one of 1h, 2h, 4h, 8h, 24h"):
        flow.with_silence_duration(proposal.id, 3 * 86400, ALICE, CHANNEL)
    with pytest.raises(RemediationRefused, match="another channel"):
        flow.with_silence_duration(proposal.id, 3600, ALICE, "C0ELSEWHERE")
    with pytest.raises(RemediationRefused, match="applied"):
        flow.with_silence_duration(longer.id, 3600, ALICE, CHANNEL)
