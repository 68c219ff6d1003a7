"""Redis CONFIG SET through approval, against a real redis-server with a password."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from analyzers.diagnosis import Diagnosis, Remediation
from analyzers.evidence import Evidence
from bot.remediation.audit import AuditLog
from bot.remediation.flow import RemediationFlow, RemediationRefused
from bot.remediation.proposals import Proposal
from bot.settings import Catalog
from tests.live.conftest import RedisServer

SERVICE = "session-cache"
PASSWORD = "s3cret-pa55"
CHANNEL = "C0ONCALL"
REQUESTER = "U0REQUEST"
ALICE = "U0ALICE"
BOB = "U0BOB"
MAXMEMORY = Remediation(
    "set-redis-maxmemory",
    "Set maxmemory 48mb (75% of the 64Mi limit), policy allkeys-lru",
    "low",
    True,
    {"maxmemory": "48mb", "policy": "allkeys-lru", "bytes": 48 * 2**20},
)


@pytest.fixture(scope="module")
def target(start_redis: Callable[..., RedisServer]) -> RedisServer:
    """The service's Redis: it wants a password, which only the catalog knows."""
    return start_redis("--requirepass", PASSWORD, "--maxmemory-policy", "noeviction")


@pytest.fixture(scope="module")
def bot_server(start_redis: Callable[..., RedisServer]) -> RedisServer:
    """The bot's own Redis (proposals, audit): another server than the one it changes."""
    return start_redis()


@pytest.fixture
def bot_redis(bot_server: RedisServer) -> Iterator[redis.Redis]:
    with bot_server.client() as connection:
        connection.flushdb()
        yield connection


@pytest.fixture
def target_client(target: RedisServer) -> Iterator[redis.Redis]:
    with target.client(PASSWORD) as connection:
        connection.config_set("maxmemory", "0")
        connection.config_set("maxmemory-policy", "noeviction")
        connection.config_set("maxclients", "100")
        yield connection


@pytest.fixture
def flow(target: RedisServer, bot_redis: redis.Redis) -> RemediationFlow:
    url = f"redis://:{PASSWORD}@{target.address}/0"
    catalog = Catalog.model_validate(
        {"services": {SERVICE: {"namespace": "ecommerce", "redis_url": url, "approvers": [ALICE, BOB]}}}
    )
    return RemediationFlow(catalog, bot_redis)


def _propose(flow: RemediationFlow, *remediations: Remediation) -> list[Proposal]:
    diagnosis = Diagnosis(SERVICE, "", "", [], [], [], list(remediations or [MAXMEMORY]), [], [])
    proposals = flow.propose(
        diagnosis, Evidence(), SERVICE, flow.catalog.service(SERVICE), CHANNEL, "1.2", REQUESTER
    )
    assert proposals, proposals.skipped
    return list(proposals)


def _config(client: redis.Redis, name: str) -> Any:
    return client.config_get(name)[name]


def test_maxmemory_is_set_verified_and_rolled_back(
    flow: RemediationFlow, target_client: redis.Redis, bot_redis: redis.Redis
) -> None:
    (proposal,) = _propose(flow)
    assert proposal.change.redis_config == {"maxmemory": "48mb", "maxmemory-policy": "allkeys-lru"}
    assert proposal.basis.redis_config == {"maxmemory": "0", "maxmemory-policy": "noeviction"}

    preview = flow.preview(proposal.id, ALICE, CHANNEL)
    assert preview.can_approve
    assert preview.commands == ["CONFIG SET maxmemory 48mb", "CONFIG SET maxmemory-policy allkeys-lru"]
    assert preview.diff == [
        "-maxmemory 0",
        "+maxmemory 48mb",
        "-maxmemory-policy noeviction",
        "+maxmemory-policy allkeys-lru",
    ]
    assert any("commonConfiguration" in line for line in preview.persist)
    assert _config(target_client, "maxmemory") == "0"  # a preview changes nothing

    outcome = flow.approve(proposal.id, ALICE, CHANNEL)
    assert outcome.status == "applied", outcome.message
    assert _config(target_client, "maxmemory") == str(48 * 2**20)
    assert _config(target_client, "maxmemory-policy") == "allkeys-lru"
    applied = flow.get(proposal.id)
    assert applied is not None and applied.previous is not None
    assert applied.previous.redis_config == {"maxmemory": "0", "maxmemory-policy": "noeviction"}
    assert flow.verify(proposal.id).status == "verified"

    back = flow.rollback(proposal.id, BOB)
    assert back.change.redis_config == {"maxmemory": "0", "maxmemory-policy": "noeviction"}
    assert flow.approve(back.id, ALICE, CHANNEL).status == "applied"
    assert _config(target_client, "maxmemory") == "0"
    assert _config(target_client, "maxmemory-policy") == "noeviction"
    assert flow.get(proposal.id).state == "rolled_back"  # type: ignore[union-attr]


def test_a_value_changed_since_the_proposal_makes_it_stale(
    flow: RemediationFlow, target_client: redis.Redis
) -> None:
    (proposal,) = _propose(flow)
    target_client.config_set("maxmemory", "100mb")  # someone fixed it by hand meanwhile

    assert not flow.preview(proposal.id, ALICE, CHANNEL).can_approve
    outcome = flow.approve(proposal.id, ALICE, CHANNEL)

    assert (outcome.status, outcome.reason) == ("refused", "stale")
    assert "maxmemory was '0', is '104857600'" in outcome.message
    assert _config(target_client, "maxmemory") == str(100 * 2**20)
    assert _config(target_client, "maxmemory-policy") == "noeviction"  # no half-applied change


def test_a_change_lost_after_applying_fails_verification(
    flow: RemediationFlow, target_client: redis.Redis
) -> None:
    clients = Remediation("raise-redis-maxclients", "Raise maxclients to 200", "medium", True, {"to": 200})
    eviction = Remediation("set-redis-eviction-policy", "Switch", "low", True, {"policy": "volatile-lru"})
    raise_clients, policy = _propose(flow, clients, eviction)
    assert raise_clients.change.redis_config == {"maxclients": "200"}
    assert flow.approve(raise_clients.id, BOB, CHANNEL).status == "applied"
    assert flow.approve(policy.id, BOB, CHANNEL).status == "applied"
    target_client.config_set("maxclients", "100")  # a restart puts the file's value back

    outcome = flow.verify(raise_clients.id)
    assert outcome.status == "verify_failed"
    assert "maxclients is 100, not 200" in outcome.lines
    assert flow.verify(policy.id).status == "verified"


def test_nothing_to_do_is_not_proposed(flow: RemediationFlow, target_client: redis.Redis) -> None:
    target_client.config_set("maxmemory", "48mb")
    target_client.config_set("maxmemory-policy", "allkeys-lru")
    diagnosis = Diagnosis(SERVICE, "", "", [], [], [], [MAXMEMORY], [], [])

    proposals = flow.propose(
        diagnosis, Evidence(), SERVICE, flow.catalog.service(SERVICE), CHANNEL, "1.2", REQUESTER
    )

    assert list(proposals) == []
    assert [s.reason for s in proposals.skipped] == [
        "Redis runs with maxmemory 48mb, maxmemory-policy allkeys-lru already"
    ]


def test_the_password_is_never_stored_nor_audited(
    flow: RemediationFlow, target_client: redis.Redis, bot_redis: redis.Redis
) -> None:
    (proposal,) = _propose(flow)
    flow.preview(proposal.id, ALICE, CHANNEL)
    flow.approve(proposal.id, ALICE, CHANNEL)
    flow.verify(proposal.id)

    everything = repr(
        [
            bot_redis.xrange(key) if bot_redis.type(key) == b"stream" else bot_redis.get(key)
            for key in bot_redis.scan_iter()
        ]
    )
    assert proposal.id in everything and "CONFIG SET maxmemory 48mb" in everything
    assert len(AuditLog(bot_redis).read()) >= 4
    assert PASSWORD not in everything


def test_a_value_redis_refuses_fails_and_changes_nothing(
    flow: RemediationFlow, target_client: redis.Redis, bot_redis: redis.Redis
) -> None:
    clients = Remediation("raise-redis-maxclients", "Raise maxclients", "medium", True, {"to": 50_000_000})
    (proposal,) = _propose(flow, clients)

    outcome = flow.approve(proposal.id, ALICE, CHANNEL)

    assert outcome.status == "failed"
    assert "CONFIG SET refused" in outcome.message and "maxclients" in outcome.message
    assert _config(target_client, "maxclients") == "100"
    assert flow.get(proposal.id).state == "failed"  # type: ignore[union-attr]
    assert [e.event for e in AuditLog(bot_redis).read() if e.proposal_id == proposal.id][-1] == "apply_failed"


def test_no_roll_back_over_a_value_set_since(flow: RemediationFlow, target_client: redis.Redis) -> None:
    (proposal,) = _propose(flow)
    assert flow.approve(proposal.id, ALICE, CHANNEL).status == "applied"
    target_client.config_set("maxmemory", "100mb")

    with pytest.raises(RemediationRefused, match="maxmemory is 104857600") as refused:
        flow.rollback(proposal.id, BOB)
    assert refused.value.reason == "stale"
    assert _config(target_client, "maxmemory") == str(100 * 2**20)
