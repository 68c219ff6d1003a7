"""Redis CONFIG SET through approval, against a real redis-server with a password."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from analyzers.diagnosis import Diagnosis, Remediation
from analyzers.evidence import Evidence
from analyzers.param_values import EvictionPolicy
from analyzers.quantity import MI
from analyzers.remediation_params import EvictionPolicyChange, MaxclientsRaise, MaxmemorySetting
from bot.remediation.audit import AuditLog
from bot.remediation.flow import RemediationFlow, RemediationRefused
from bot.remediation.proposals import Proposal
from bot.remediation.redis_change import RedisChanger, default_client
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
    MaxmemorySetting(48 * MI, EvictionPolicy.ALLKEYS_LRU, "75% of the 64Mi limit"),
)


@pytest.fixture(scope="module")
def target(start_redis: Callable[..., RedisServer]) -> RedisServer:
    """The service's Redis: it wants a password, which only the catalog knows."""
    return start_redis("--requirepass", PASSWORD, "--maxmemory-policy", "noeviction")


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
    verified = flow.verify(proposal.id)
    assert verified.status == "verified", verified.lines
    assert "maxmemory is 48.0mb (no longer 0)" in verified.lines
    assert any(
        line.startswith("used memory ") and "within maxmemory 48.0mb" in line for line in verified.lines
    )
    assert "a test write was accepted" in verified.lines
    assert not target_client.keys("triage:verify:*")  # the probe leaves nothing behind

    back = flow.rollback(proposal.id, BOB, CHANNEL)
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
    clients = Remediation(
        "raise-redis-maxclients", "Raise maxclients to 200", "medium", True, MaxclientsRaise(200)
    )
    eviction = Remediation(
        "set-redis-eviction-policy", "Switch", "low", True, EvictionPolicyChange(EvictionPolicy.VOLATILE_LRU)
    )
    raise_clients, policy = _propose(flow, clients, eviction)
    assert raise_clients.change.redis_config == {"maxclients": "200"}
    assert flow.approve(raise_clients.id, BOB, CHANNEL).status == "applied"
    assert flow.approve(policy.id, BOB, CHANNEL).status == "applied"
    target_client.config_set("maxclients", "100")  # a restart puts the file's value back

    outcome = flow.verify(raise_clients.id)
    assert outcome.status == "verify_failed"
    assert "maxclients is 100, not 200" in outcome.lines
    # the policy holds, but does nothing while maxmemory is 0: its effect is not verified
    evicting = flow.verify(policy.id)
    assert evicting.status == "verify_failed"
    assert any(line.startswith("maxmemory is 0") for line in evicting.lines), evicting.lines


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
    clients = Remediation(
        "raise-redis-maxclients", "Raise maxclients", "medium", True, MaxclientsRaise(50_000_000)
    )
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
        flow.rollback(proposal.id, BOB, CHANNEL)
    assert refused.value.reason == "stale"
    assert _config(target_client, "maxmemory") == str(100 * 2**20)


class _Redis6(redis.Redis):
    """A real connection that answers a CONFIG SET of several pairs as Redis 6 does, and can be told
    to refuse one parameter or to drop the connection at the CONFIG GET after a CONFIG SET."""

    refuse: str | None = None
    drop_get_after_set = False
    was_set = False

    def execute_command(self, *args: Any, **options: Any) -> Any:
        name = None
        if args[:2] == ("CONFIG", "SET"):
            if len(args) > 4:
                raise redis.ResponseError("ERR wrong number of arguments for 'config|set' command")
            name = args[2]
        elif args[0] == "CONFIG SET":
            name = args[1]
        if name is not None:
            if name == _Redis6.refuse:
                raise redis.ResponseError(f"ERR CONFIG SET failed (possibly related to argument '{name}')")
            _Redis6.was_set = True
        if args[0] == "CONFIG GET" and _Redis6.drop_get_after_set and _Redis6.was_set:
            _Redis6.drop_get_after_set = False
            raise redis.ConnectionError("Connection reset by peer")
        return super().execute_command(*args, **options)


@pytest.fixture
def redis6_flow(flow: RemediationFlow) -> Iterator[RemediationFlow]:
    def factory(url: str) -> redis.Redis:
        pool = default_client(url).connection_pool
        return _Redis6(connection_pool=pool)

    _Redis6.refuse, _Redis6.drop_get_after_set, _Redis6.was_set = None, False, False
    flow.redis_changer = RedisChanger(factory)
    yield flow
    _Redis6.refuse, _Redis6.drop_get_after_set, _Redis6.was_set = None, False, False


def test_one_pair_at_a_time_a_refused_pair_undoes_those_set_before_it(
    redis6_flow: RemediationFlow, target_client: redis.Redis
) -> None:
    (proposal,) = _propose(redis6_flow)
    _Redis6.refuse = "maxmemory-policy"  # maxmemory is set first, then this one fails

    outcome = redis6_flow.approve(proposal.id, ALICE, CHANNEL)

    assert outcome.status == "failed"
    assert "CONFIG SET refused" in outcome.message and "undone: maxmemory" in outcome.message
    assert _config(target_client, "maxmemory") == "0"
    assert _config(target_client, "maxmemory-policy") == "noeviction"
    failed = redis6_flow.get(proposal.id)
    assert failed is not None and failed.previous is not None
    assert failed.previous.redis_config == {"maxmemory": "0", "maxmemory-policy": "noeviction"}
    with pytest.raises(RemediationRefused, match="nothing to roll back"):
        redis6_flow.rollback(proposal.id, BOB, CHANNEL)


def test_a_failure_after_config_set_still_leaves_a_roll_back(
    redis6_flow: RemediationFlow, target_client: redis.Redis
) -> None:
    (proposal,) = _propose(redis6_flow)
    _Redis6.drop_get_after_set = True  # set, then the CONFIG GET that reads it back fails

    outcome = redis6_flow.approve(proposal.id, ALICE, CHANNEL)

    assert outcome.status == "failed" and "cannot reach Redis" in outcome.message
    assert _config(target_client, "maxmemory") == str(48 * 2**20)  # it was set all the same
    failed = redis6_flow.get(proposal.id)
    assert failed is not None and failed.previous is not None
    assert failed.previous.redis_config == {"maxmemory": "0", "maxmemory-policy": "noeviction"}

    back = redis6_flow.rollback(proposal.id, BOB, CHANNEL)
    assert back.change.redis_config == {"maxmemory": "0", "maxmemory-policy": "noeviction"}
    assert redis6_flow.approve(back.id, ALICE, CHANNEL).status == "applied"
    assert _config(target_client, "maxmemory") == "0"
    assert redis6_flow.get(proposal.id).state == "rolled_back"  # type: ignore[union-attr]


def test_a_maxmemory_below_the_data_under_noeviction_is_not_verified(
    flow: RemediationFlow, target_client: redis.Redis
) -> None:
    small = Remediation(
        "set-redis-maxmemory",
        "Set maxmemory 1mb",
        "high",
        True,
        MaxmemorySetting(MI, EvictionPolicy.NOEVICTION, "a test"),
    )
    target_client.set("payload", b"x" * (2 * 2**20))  # 2 MB of data: above the 1mb bound
    try:
        (proposal,) = _propose(flow, small)
        assert flow.approve(proposal.id, ALICE, CHANNEL).status == "applied"

        outcome = flow.verify(proposal.id)

        assert outcome.status == "verify_failed"
        assert any("above maxmemory 1.0mb" in line for line in outcome.lines), outcome.lines
        assert any(
            line.startswith("a test write was refused: ") and "maxmemory" in line for line in outcome.lines
        ), outcome.lines
    finally:
        target_client.config_set("maxmemory", "0")
        target_client.delete("payload")
