"""Proposals, locks and the audit stream in a real Redis (tests/live/conftest.py starts it)."""

from __future__ import annotations

import argparse
import json
import threading

import pytest
import redis

from bot.cli import audit_arguments as add_audit_arguments
from bot.remediation.audit import AuditLog
from bot.remediation.audit_cli import run_audit
from bot.remediation.proposals import (
    KEEP_AFTER_EXPIRY,
    Approval,
    Change,
    Proposal,
    ProposalNotFound,
    ProposalStore,
    RedisTarget,
    StoreConflict,
)
from tests.live.conftest import RedisServer

NOW = 1_700_000_000.0


def _proposal(proposal_id: str = "p-1", **fields: object) -> Proposal:
    base: dict[str, object] = {
        "id": proposal_id,
        "remediation": "set-redis-eviction-policy",
        "title": "Switch maxmemory-policy to allkeys-lru",
        "service": "session-cache",
        "channel": "C1",
        "thread_ts": "1.2",
        "requested_by": "U0REQ",
        "target": RedisTarget(service="session-cache"),
        "change": Change(redis_config={"maxmemory-policy": "allkeys-lru"}),
        "created_at": NOW,
        "expires_at": NOW + 1800,
    }
    return Proposal.model_validate(base | fields)


def test_a_proposal_is_stored_as_json_and_kept_past_its_expiry(bot_redis: redis.Redis) -> None:
    store = ProposalStore(bot_redis, "t:")
    store.create(_proposal(), NOW)

    assert store.get("p-1") == _proposal()
    assert json.loads(bot_redis.get("t:proposal:p-1") or "")["target"] == {
        "type": "redis",
        "service": "session-cache",
    }
    assert 1800 < bot_redis.ttl("t:proposal:p-1") <= 1800 + KEEP_AFTER_EXPIRY
    assert store.get("nope") is None
    with pytest.raises(StoreConflict):
        store.create(_proposal(title="another"), NOW)  # an id is never reused


def test_a_transition_only_happens_from_an_expected_state(bot_redis: redis.Redis) -> None:
    store = ProposalStore(bot_redis, "t:")
    store.create(_proposal(), NOW)

    assert store.transition("p-1", ["approved"], "applying", NOW) is None
    assert store.get("p-1").state == "proposed"  # type: ignore[union-attr]
    moved = store.transition("p-1", ["proposed"], "rejected", NOW)
    assert moved is not None and moved.state == "rejected"
    assert store.get("p-1").state == "rejected"  # type: ignore[union-attr]
    with pytest.raises(ProposalNotFound):
        store.transition("missing", ["proposed"], "rejected", NOW)


def test_concurrent_updates_lose_nothing(bot_server: RedisServer, bot_redis: redis.Redis) -> None:
    ProposalStore(bot_redis, "t:").create(_proposal(), NOW)
    users = [f"U{i:03d}" for i in range(8)]
    start = threading.Barrier(len(users))

    def approve(user: str) -> None:
        with bot_server.client() as own:  # like separate bot processes
            store = ProposalStore(own, "t:")
            start.wait()
            store.update(
                "p-1",
                lambda p: p.model_copy(update={"approvals": [*p.approvals, Approval(user=user, at=NOW)]}),
                NOW,
                attempts=100,
            )

    threads = [threading.Thread(target=approve, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stored = ProposalStore(bot_redis, "t:").get("p-1")
    assert stored is not None
    assert sorted(stored.approved_by()) == users


def test_the_apply_lock_is_held_by_one_at_a_time(bot_redis: redis.Redis) -> None:
    store = ProposalStore(bot_redis, "t:")
    with store.apply_lock("p-1", seconds=30) as first:
        with store.apply_lock("p-1") as second:
            assert first.held and not second.held
        assert bot_redis.get("t:lock:p-1") is not None  # the loser did not release the winner's lock
        assert 0 < bot_redis.ttl("t:lock:p-1") <= 30
    assert bot_redis.get("t:lock:p-1") is None
    with store.apply_lock("p-1") as again:
        assert again.held


def test_the_audit_stream_is_read_back_by_age_and_service(bot_redis: redis.Redis) -> None:
    audit = AuditLog(bot_redis, "t:audit")
    bot_redis.xadd("t:audit", {"event": "applied", "service": "ancient", "actor": "U0OLD"}, id="1000-0")
    audit.append("proposed", "U0REQ", "p-1", "session-cache", "CONFIG SET maxmemory-policy allkeys-lru")
    audit.append("refused", "U0EVE", "p-1", "session-cache", result="not an approver", reason="not_allowed")
    audit.append("proposed", "U0REQ", "p-2", "checkout")

    recent = audit.read(3600)
    assert [(e.event, e.proposal_id, e.service) for e in recent] == [
        ("proposed", "p-1", "session-cache"),
        ("refused", "p-1", "session-cache"),
        ("proposed", "p-2", "checkout"),
    ]
    assert recent[1].reason == "not_allowed" and recent[1].actor == "U0EVE"
    assert [e.proposal_id for e in audit.read(3600, service="checkout")] == ["p-2"]
    assert audit.read()[0].service == "ancient"


def _audit_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="triage audit")
    add_audit_arguments(parser)
    return parser.parse_args(list(argv))


def test_run_audit_prints_json_lines_or_a_table(
    bot_server: RedisServer,
    bot_redis: redis.Redis,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    audit = AuditLog(bot_redis)
    audit.append("applied", "U0ALICE", "p-1", "session-cache", "-   memory: 64Mi\n+   memory: 192Mi", "ok")
    audit.append("applied", "U0BOB", "p-2", "checkout", "[containers[0]]", "ok")

    assert run_audit(_audit_args("--redis-url", bot_server.url, "--json", "--service", "session-cache")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["proposal_id"] for line in lines] == ["p-1"]
    assert json.loads(lines[0])["detail"] == "-   memory: 64Mi\n+   memory: 192Mi"

    monkeypatch.setenv("TRIAGE_REDIS_URL", bot_server.url)  # the default URL
    assert run_audit(_audit_args("--since", "1h")) == 0
    table = capsys.readouterr().out
    assert "U0ALICE" in table and "U0BOB" in table and "192Mi" in table
    assert "[containers[0]]" in table  # shown as it is, not read as markup


def test_run_audit_refuses_a_bad_duration_and_hides_a_password(
    closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:  # a usage error, from the parser
        _audit_args("--since", "yesterday")
    assert exited.value.code == 2
    assert "--since" in capsys.readouterr().err

    assert run_audit(_audit_args("--redis-url", f"redis://:hunter2@127.0.0.1:{closed_port}/0")) == 1
    error = capsys.readouterr().err
    assert "cannot read triage:audit" in error and "hunter2" not in error
