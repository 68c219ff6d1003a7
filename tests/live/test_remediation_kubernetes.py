"""A memory limit raised through approval: the flow against a real Redis and the Kubernetes API stand-in.

The patch goes through the kubernetes client to tests/standins/kube_api.py, which applies it
(strategic merge, dry run, validation) and records what it was sent; proposals, locks and the
audit trail live in a real redis-server.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from kubernetes import client

from analyzers.diagnosis import Diagnosis, Remediation
from analyzers.evidence import Evidence, Fact, Source, Subject
from analyzers.quantity import MI
from analyzers.remediation_params import CpuLimitRaise, ImageRollback, MemoryLimitRaise, params_from
from bot.cli import audit_arguments as add_audit_arguments
from bot.remediation.audit import AuditLog
from bot.remediation.audit_cli import run_audit
from bot.remediation.flow import Outcome, RemediationFlow, RemediationRefused
from bot.remediation.kubernetes_change import KubernetesChanger
from bot.remediation.proposals import Proposal
from bot.settings import Catalog
from tests.live.conftest import PrometheusServer, RedisServer
from tests.standins.kube_api import KubeApiStandIn, ServedRequest

NAMESPACE = "ecommerce"
SERVICE = "session-cache"
OLD_HASH = "5d8c7b9f4d"
POD = f"session-cache-{OLD_HASH}-q7wzt"
CHANNEL = "C0ONCALL"
THREAD = "1732838400.000100"
REQUESTER = "U0REQUEST"
ALICE = "U0ALICE"
BOB = "U0BOB"
EVE = "U0EVE"
STRATEGIC = "application/strategic-merge-patch+json"
DEPLOYMENT_PATH = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{SERVICE}"


def _expected_patch(version: str, limits: dict[str, str] | None = None) -> dict[str, Any]:
    """The exact patch body: the container's resources, and the resourceVersion the check was made on."""
    resources = {"limits": limits or {"memory": "192Mi"}}
    return {
        "metadata": {"resourceVersion": version},
        "spec": {"template": {"spec": {"containers": [{"name": "redis", "resources": resources}]}}},
    }


class Clock:
    def __init__(self, start: float = 1_764_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def _deployment(memory_limit: str = "64Mi") -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": SERVICE, "namespace": NAMESPACE, "generation": 4, "uid": "d-1"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": SERVICE}},
            "template": {
                "metadata": {"labels": {"app": SERVICE}},
                "spec": {
                    "containers": [
                        {
                            "name": "redis",
                            "image": "redis:7.2.4-alpine",
                            "resources": {
                                "limits": {"memory": memory_limit, "cpu": "500m"},
                                "requests": {"memory": "48Mi", "cpu": "100m"},
                            },
                        },
                        {
                            "name": "exporter",
                            "image": "oliver006/redis_exporter:v1.58.0",
                            "resources": {"limits": {"memory": "32Mi"}},
                        },
                    ]
                },
            },
        },
        "status": {"observedGeneration": 4, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1},
    }


def _replica_set() -> dict[str, Any]:
    """The ReplicaSet of the Deployment's revision before the change (revision 4)."""
    labels = {"app": SERVICE, "pod-template-hash": OLD_HASH}
    return {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": {
            "name": f"{SERVICE}-{OLD_HASH}",
            "namespace": NAMESPACE,
            "labels": labels,
            "annotations": {"deployment.kubernetes.io/revision": "4"},
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": SERVICE, "uid": "d-1"}
            ],
        },
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}},
    }


def _pod(
    restarts: int = 3, last_reason: str = "OOMKilled", finished: str = "2026-11-28T23:00:00Z"
) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": POD,
            "namespace": NAMESPACE,
            "labels": {"app": SERVICE, "pod-template-hash": OLD_HASH},
            "creationTimestamp": "2025-11-20T08:00:00Z",
        },
        "spec": {"containers": [{"name": "redis"}, {"name": "exporter"}]},
        "status": {
            "containerStatuses": [
                {
                    "name": "redis",
                    "restartCount": restarts,
                    "lastState": {
                        "terminated": {"reason": last_reason, "exitCode": 137, "finishedAt": finished}
                    },
                },
                {"name": "exporter", "restartCount": 0},
            ]
        },
    }


def _catalog(**fields: Any) -> Catalog:
    service = {"namespace": NAMESPACE, "approvers": [ALICE, BOB, REQUESTER]} | fields.pop("service", {})
    return Catalog.model_validate({"services": {SERVICE: service}} | fields)


def _evidence() -> Evidence:
    source = Source("k8s-api", f"/api/v1/namespaces/{NAMESPACE}/pods/{POD}", '"memory":"64Mi"')
    subject = Subject(NAMESPACE, POD, "redis", SERVICE)
    return Evidence([Fact("container.memory_limit", subject, 64.0 * 2**20, source)])


def _diagnosis(to: str = "192Mi", *extra: Remediation) -> Diagnosis:
    remediations = [
        Remediation("add-session-ttl", "Write sessions with an expiry", "low", False),
        Remediation(
            "raise-memory-limit",
            f"Raise the memory limit of redis from 64Mi to {to}",
            "low",
            True,
            params_from("raise-memory-limit", {"container": "redis", "from": "64Mi", "to": to}),
        ),
        *extra,
    ]
    return Diagnosis(SERVICE, "OOMKilled", "cache", [], ["memory-limit-too-low"], [], remediations, [], [])


@pytest.fixture(scope="module")
def redis_server(start_redis: Callable[..., RedisServer]) -> RedisServer:
    return start_redis()


@pytest.fixture
def connection(redis_server: RedisServer) -> Iterator[redis.Redis]:
    with redis_server.client() as opened:
        opened.flushdb()
        yield opened


@pytest.fixture
def api() -> Iterator[KubeApiStandIn]:
    with KubeApiStandIn([_deployment(), _replica_set(), _pod()]) as standin:
        yield standin


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Flows:
    """Makes flows like separate bot processes: each with its own Redis and API connections."""

    def __init__(self, api: KubeApiStandIn, redis_server: RedisServer, clock: Clock) -> None:
        self.api, self.redis_server, self.clock = api, redis_server, clock
        self._closers: list[Callable[[], None]] = []

    def __call__(self, catalog: Catalog | None = None, **options: Any) -> RemediationFlow:
        api_client = client.ApiClient(client.Configuration(host=self.api.url))
        connection = self.redis_server.client()
        self._closers += [api_client.close, connection.close]
        return RemediationFlow(
            catalog or _catalog(),
            connection,
            kubernetes=KubernetesChanger(api_client),
            now=self.clock,
            **options,
        )

    def close(self) -> None:
        for close in self._closers:
            close()


@pytest.fixture
def flows(
    api: KubeApiStandIn, redis_server: RedisServer, clock: Clock, connection: redis.Redis
) -> Iterator[Flows]:
    made = Flows(api, redis_server, clock)
    yield made
    made.close()


def _propose(flow: RemediationFlow, to: str = "192Mi", service: dict[str, Any] | None = None) -> Proposal:
    catalog = flow.catalog
    proposals = flow.propose(
        _diagnosis(to), _evidence(), SERVICE, catalog.service(SERVICE), CHANNEL, THREAD, REQUESTER
    )
    assert len(proposals) == 1, proposals.skipped
    return proposals[0]


def _patches(api: KubeApiStandIn) -> list[ServedRequest]:
    return [r for r in api.requests if r.method == "PATCH"]


def _real_patches(api: KubeApiStandIn) -> list[ServedRequest]:
    return [r for r in _patches(api) if r.query.get("dryRun") != "All"]


def _redis_limits(api: KubeApiStandIn) -> dict[str, Any]:
    containers = api.get("Deployment", NAMESPACE, SERVICE)["spec"]["template"]["spec"]["containers"]
    return {c["name"]: c.get("resources") for c in containers}


def _events(connection: redis.Redis, proposal_id: str | None = None) -> list[tuple[str, str]]:
    entries = AuditLog(connection).read()
    return [(e.event, e.reason) for e in entries if proposal_id is None or e.proposal_id == proposal_id]


# -- proposing and previewing ------------------------------------------------------------------------
def test_a_proposal_is_worked_out_against_the_live_workload(
    flows: Flows, api: KubeApiStandIn, clock: Clock, connection: redis.Redis
) -> None:
    flow = flows()
    proposals = flow.propose(
        _diagnosis(), _evidence(), SERVICE, flow.catalog.service(SERVICE), CHANNEL, THREAD, REQUESTER
    )

    (proposal,) = proposals
    assert proposals.by_index() == {1: proposal.id}  # the button of remediation 1 carries this id
    assert proposal.target.model_dump() == {
        "type": "workload",
        "context": None,
        "namespace": NAMESPACE,
        "kind": "Deployment",
        "name": SERVICE,
        "container": "redis",
    }
    assert proposal.change.resources is not None
    assert proposal.change.resources.model_dump() == {"limits": {"memory": "192Mi"}, "requests": {}}
    stored = api.get("Deployment", NAMESPACE, SERVICE)
    assert proposal.basis.resource_version == stored["metadata"]["resourceVersion"]
    assert proposal.basis.resources is not None
    assert proposal.basis.resources.limits == {"memory": "64Mi", "cpu": "500m"}
    assert (proposal.state, proposal.requested_by, proposal.channel) == ("proposed", REQUESTER, CHANNEL)
    assert proposal.expires_at == clock.now + 30 * 60
    assert (
        len(proposal.id) >= 16
        and proposal.id
        != flow.propose(
            _diagnosis(), _evidence(), SERVICE, flow.catalog.service(SERVICE), CHANNEL, THREAD, REQUESTER
        )[0].id
    )
    assert flow.get(proposal.id) == proposal
    assert _patches(api) == []  # proposing changes nothing
    assert ("proposed", "") in _events(connection, proposal.id)


def test_the_preview_shows_the_diff_the_patch_and_the_dry_run(flows: Flows, api: KubeApiStandIn) -> None:
    flow = flows()
    proposal = _propose(flow)
    before = api.get("Deployment", NAMESPACE, SERVICE)
    expected = _expected_patch(before["metadata"]["resourceVersion"])

    preview = flow.preview(proposal.id, EVE, CHANNEL)  # anyone in the channel may look

    assert preview.can_approve, preview.reason
    assert "-   memory: 64Mi" in preview.diff and "+   memory: 192Mi" in preview.diff
    assert "    memory: 48Mi" in preview.diff  # the request stays
    assert preview.dry_run == "the API server accepts it (dryRun=All)"
    assert (
        "--type strategic" in preview.commands[0]
        and json.dumps(expected, separators=(",", ":")) in preview.commands[0]
    )
    assert any("Helm values" in line for line in preview.persist)
    (dry,) = _patches(api)
    assert (dry.query, dry.content_type, dry.body) == ({"dryRun": "All"}, STRATEGIC, expected)
    assert api.get("Deployment", NAMESPACE, SERVICE) == before


def test_a_dry_run_refusal_means_no_approve_and_approving_anyway_changes_nothing(
    flows: Flows, api: KubeApiStandIn, connection: redis.Redis
) -> None:
    flow = flows()
    proposal = _propose(flow)
    before = api.get("Deployment", NAMESPACE, SERVICE)
    api.refuse_patches(
        "spec.template.spec.containers[0].resources.limits: Forbidden: maximum memory usage per Container is 128Mi"
    )

    preview = flow.preview(proposal.id, ALICE, CHANNEL)
    assert not preview.can_approve
    assert (
        "refused the dry run" in preview.reason
        and "maximum memory usage per Container is 128Mi" in preview.reason
    )

    outcome = flow.approve(proposal.id, ALICE, CHANNEL)
    assert outcome.status == "failed"
    assert "maximum memory usage per Container is 128Mi" in outcome.message
    assert _real_patches(api) == []
    assert api.get("Deployment", NAMESPACE, SERVICE) == before
    assert flow.get(proposal.id).state == "failed"  # type: ignore[union-attr]
    assert ("apply_failed", "") in _events(connection, proposal.id)


# -- approving ----------------------------------------------------------------------------------------
def test_an_approval_sends_exactly_the_strategic_merge_patch_of_that_container(
    flows: Flows, api: KubeApiStandIn, connection: redis.Redis
) -> None:
    flow = flows()
    proposal = _propose(flow)
    version = api.get("Deployment", NAMESPACE, SERVICE)["metadata"]["resourceVersion"]

    outcome = flow.approve(proposal.id, ALICE, CHANNEL)

    assert outcome.status == "applied", outcome.message
    dry, real = _patches(api)
    assert (dry.path, dry.query, dry.content_type, dry.body) == (
        DEPLOYMENT_PATH,
        {"dryRun": "All"},
        STRATEGIC,
        _expected_patch(version),
    )
    assert (real.path, real.query, real.content_type, real.body) == (
        DEPLOYMENT_PATH,
        {},
        STRATEGIC,
        _expected_patch(version),
    )
    assert not [r for r in api.requests if "/pods/" in r.path and r.method != "GET"]  # never a pod
    assert _redis_limits(api) == {
        "redis": {
            "limits": {"memory": "192Mi", "cpu": "500m"},
            "requests": {"memory": "48Mi", "cpu": "100m"},
        },
        "exporter": {"limits": {"memory": "32Mi"}},
    }
    stored = api.get("Deployment", NAMESPACE, SERVICE)
    assert stored["metadata"]["generation"] == 5 and stored["metadata"]["resourceVersion"] != version
    applied = flow.get(proposal.id)
    assert applied is not None and applied.state == "applied"
    assert applied.previous is not None and applied.previous.resources is not None
    assert applied.previous.resources.limits == {"memory": "64Mi", "cpu": "500m"}
    assert (
        applied.applied is not None
        and applied.applied.generation == 5
        and applied.applied.restarts == {POD: 3}
    )
    assert _events(connection, proposal.id) == [("proposed", ""), ("approved", ""), ("applied", "")]
    # The same button again: a replay, refused.
    again = flow.approve(proposal.id, BOB, CHANNEL)
    assert (again.status, again.reason) == ("refused", "replay")
    assert len(_real_patches(api)) == 1


def _by_a_non_approver(proposal: Proposal, api: KubeApiStandIn, clock: Clock) -> tuple[str, str, str]:
    return proposal.id, EVE, CHANNEL


def _half_an_hour_later(proposal: Proposal, api: KubeApiStandIn, clock: Clock) -> tuple[str, str, str]:
    clock.now = proposal.expires_at + 1
    return proposal.id, ALICE, CHANNEL


def _after_a_helm_upgrade(proposal: Proposal, api: KubeApiStandIn, clock: Clock) -> tuple[str, str, str]:
    api.add(_deployment(memory_limit="128Mi"))  # someone changed the limit meanwhile
    return proposal.id, ALICE, CHANNEL


def _from_another_channel(proposal: Proposal, api: KubeApiStandIn, clock: Clock) -> tuple[str, str, str]:
    return proposal.id, ALICE, "C0ELSEWHERE"


def _with_a_made_up_id(proposal: Proposal, api: KubeApiStandIn, clock: Clock) -> tuple[str, str, str]:
    return "made-up-id", ALICE, CHANNEL


@pytest.mark.parametrize(
    ("prepare", "reason", "says", "state"),
    [
        (_by_a_non_approver, "not_allowed", f"<@{EVE}> is not an approver", "proposed"),
        (_half_an_hour_later, "expired", "expired at", "expired"),
        (_after_a_helm_upgrade, "stale", "then limits.cpu=500m, limits.memory=64Mi, requests", "stale"),
        (_from_another_channel, "wrong_channel", "another channel", "proposed"),
        (_with_a_made_up_id, "unknown", "does not exist", "proposed"),
    ],
)
def test_a_refused_click_changes_nothing_and_says_why(
    flows: Flows,
    api: KubeApiStandIn,
    clock: Clock,
    connection: redis.Redis,
    prepare: Callable[[Proposal, KubeApiStandIn, Clock], tuple[str, str, str]],
    reason: str,
    says: str,
    state: str,
) -> None:
    flow = flows()
    proposal = _propose(flow)
    proposal_id, user, channel = prepare(proposal, api, clock)
    before = api.get("Deployment", NAMESPACE, SERVICE)

    outcome = flow.approve(proposal_id, user, channel)

    assert (outcome.status, outcome.reason) == ("refused", reason)
    assert says in outcome.message
    assert _patches(api) == []  # not even a dry run
    assert api.get("Deployment", NAMESPACE, SERVICE) == before
    stored = flow.get(proposal.id)
    assert stored is not None and stored.state == state
    if state != "stale":  # a stale proposal was approved, then found stale before applying
        assert stored.approvals == []
    assert ("refused", reason) in _events(connection)


def test_a_change_between_the_check_and_the_patch_is_a_conflict_then_checked_again(
    flows: Flows, api: KubeApiStandIn, connection: redis.Redis
) -> None:
    flow = flows()
    proposal = _propose(flow)
    api.before_next_patch(lambda: api.add(_deployment(memory_limit="128Mi")))  # a helm upgrade, just then

    outcome = flow.approve(proposal.id, ALICE, CHANNEL)

    assert (outcome.status, outcome.reason) == ("refused", "stale"), outcome.message
    assert [r.status for r in _real_patches(api)] == [409]
    assert _redis_limits(api)["redis"]["limits"]["memory"] == "128Mi"  # not overwritten
    assert flow.get(proposal.id).state == "stale"  # type: ignore[union-attr]


def test_a_status_update_between_the_check_and_the_patch_is_retried_once(
    flows: Flows, api: KubeApiStandIn
) -> None:
    flow = flows()
    proposal = _propose(flow)
    api.before_next_patch(lambda: api.touch_status("Deployment", NAMESPACE, SERVICE))
    first = api.get("Deployment", NAMESPACE, SERVICE)["metadata"]["resourceVersion"]

    outcome = flow.approve(proposal.id, ALICE, CHANNEL)

    assert outcome.status == "applied", outcome.message
    conflict, applied = _real_patches(api)
    assert (conflict.status, conflict.body) == (409, _expected_patch(first))
    second = applied.body["metadata"]["resourceVersion"]
    assert applied.status == 200 and second != first and applied.body == _expected_patch(second)
    assert _redis_limits(api)["redis"]["limits"]["memory"] == "192Mi"


def test_a_patch_that_timed_out_but_went_through_can_be_rolled_back(
    api: KubeApiStandIn, connection: redis.Redis, clock: Clock
) -> None:
    api_client = client.ApiClient(client.Configuration(host=api.url))
    try:
        flow = RemediationFlow(
            _catalog(), connection, kubernetes=KubernetesChanger(api_client, timeout=0.3), now=clock
        )
        proposal = _propose(flow)
        api.before_next_patch(lambda: time.sleep(0.6))  # the answer comes after the client gave up

        outcome = flow.approve(proposal.id, ALICE, CHANNEL)

        assert outcome.status == "failed" and "cannot reach the Kubernetes API" in outcome.message
        deadline = time.monotonic() + 5
        while not _real_patches(api) and time.monotonic() < deadline:  # the server finishes it meanwhile
            time.sleep(0.05)
        assert _redis_limits(api)["redis"]["limits"]["memory"] == "192Mi"  # yet it was applied
        failed = flow.get(proposal.id)
        assert failed is not None and failed.previous is not None and failed.previous.resources is not None
        assert failed.previous.resources.limits == {"memory": "64Mi", "cpu": "500m"}
        back = flow.rollback(proposal.id, BOB, CHANNEL)
        assert back.change.resources is not None and back.change.resources.limits == {"memory": "64Mi"}
        assert flow.approve(back.id, ALICE, CHANNEL).status == "applied"
        assert _redis_limits(api)["redis"]["limits"]["memory"] == "64Mi"
        assert flow.get(proposal.id).state == "rolled_back"  # type: ignore[union-attr]
    finally:
        api_client.close()  # type: ignore[no-untyped-call]


def test_a_status_update_of_the_workload_is_not_stale(flows: Flows, api: KubeApiStandIn) -> None:
    flow = flows()
    proposal = _propose(flow)
    api.touch_status("Deployment", NAMESPACE, SERVICE)

    outcome = flow.approve(proposal.id, ALICE, CHANNEL)

    assert outcome.status == "applied", outcome.message
    assert any("resourceVersion" in line and "not the resources of redis" in line for line in outcome.lines)


def test_two_approvals_at_the_same_moment_apply_once(
    flows: Flows, api: KubeApiStandIn, connection: redis.Redis
) -> None:
    def click(
        flow: RemediationFlow, proposal_id: str, user: str, start: threading.Barrier, outcomes: list[Outcome]
    ) -> None:
        start.wait()
        outcomes.append(flow.approve(proposal_id, user, CHANNEL))

    for _ in range(3):  # a few rounds: each a fresh proposal, two bot processes, two approvers
        api.add(_deployment())
        proposal = _propose(flows())
        start = threading.Barrier(2)
        outcomes: list[Outcome] = []
        threads = [
            threading.Thread(target=click, args=(flows(), proposal.id, user, start, outcomes))
            for user in (ALICE, BOB)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted((o.status, o.reason) for o in outcomes) == [("applied", ""), ("refused", "replay")]
        assert [event for event, _ in _events(connection, proposal.id)].count("applied") == 1
        assert len(_real_patches(api)) == 1
        api.requests.clear()


def test_above_four_times_the_limit_two_different_approvers_are_needed(
    flows: Flows, api: KubeApiStandIn, connection: redis.Redis
) -> None:
    flow = flows()
    proposal = _propose(flow, to="1Gi")
    assert proposal.needs_second_approver and "more than 4x the current limit 64Mi" in proposal.bounds_reason

    first = flow.approve(proposal.id, ALICE, CHANNEL)
    assert first.status == "waiting" and "1 of 2" in first.message
    assert _patches(api) == []
    again = flow.approve(proposal.id, ALICE, CHANNEL)
    assert (again.status, again.reason) == ("refused", "bounds")
    assert _patches(api) == []

    second = flow.approve(proposal.id, BOB, CHANNEL)
    assert second.status == "applied", second.message
    assert _redis_limits(api)["redis"]["limits"]["memory"] == "1Gi"
    assert flow.get(proposal.id).approved_by() == [ALICE, BOB]  # type: ignore[union-attr]
    assert _events(connection, proposal.id) == [
        ("proposed", ""),
        ("approved", ""),
        ("refused", "bounds"),
        ("approved", ""),
        ("applied", ""),
    ]


def test_a_production_service_keeps_the_requester_from_approving(flows: Flows, api: KubeApiStandIn) -> None:
    flow = flows(_catalog(service={"production": True}))
    proposal = _propose(flow)
    assert proposal.two_person

    own = flow.approve(proposal.id, REQUESTER, CHANNEL)
    assert (own.status, own.reason) == ("refused", "not_allowed") and "two-person rule" in own.message
    assert _patches(api) == []
    assert flow.approve(proposal.id, ALICE, CHANNEL).status == "applied"


def test_a_forbidden_patch_fails_naming_the_rbac_verb(flows: Flows, api: KubeApiStandIn) -> None:
    flow = flows()
    proposal = _propose(flow)
    api.forbid("deployments", "patch")

    outcome = flow.approve(proposal.id, ALICE, CHANNEL)

    assert outcome.status == "failed"
    assert 'RBAC needs verb "patch" on "deployments"' in outcome.message
    assert _redis_limits(api)["redis"]["limits"]["memory"] == "64Mi"


def test_a_rejected_proposal_cannot_be_approved(
    flows: Flows, api: KubeApiStandIn, connection: redis.Redis
) -> None:
    flow = flows()
    proposal = _propose(flow)
    assert flow.reject(proposal.id, EVE, CHANNEL).reason == "not_allowed"
    assert flow.reject(proposal.id, BOB, CHANNEL, "restart it instead").status == "rejected"

    late = flow.approve(proposal.id, ALICE, CHANNEL)
    assert (late.status, late.reason) == ("refused", "replay") and "rejected" in late.message
    assert _patches(api) == []


def test_a_statefulset_is_found_when_there_is_no_deployment(flows: Flows, api: KubeApiStandIn) -> None:
    statefulset = _deployment() | {"kind": "StatefulSet"}
    with KubeApiStandIn([statefulset, _pod()]) as standin:
        flow = Flows(standin, flows.redis_server, flows.clock)()
        cpu = Remediation(
            "raise-cpu-limit",
            "Raise the CPU limit",
            "low",
            True,
            CpuLimitRaise("redis", from_millicores=500, to_millicores=1000),
        )
        diagnosis = Diagnosis(SERVICE, "", "", [], [], [], [cpu], [], [])
        (proposal,) = flow.propose(
            diagnosis, _evidence(), SERVICE, flow.catalog.service(SERVICE), CHANNEL, THREAD, REQUESTER
        )

        version = standin.get("StatefulSet", NAMESPACE, SERVICE)["metadata"]["resourceVersion"]
        assert flow.approve(proposal.id, ALICE, CHANNEL).status == "applied"
        (real,) = _real_patches(standin)
        assert real.path == f"/apis/apps/v1/namespaces/{NAMESPACE}/statefulsets/{SERVICE}"
        assert real.body == _expected_patch(version, {"cpu": "1"})


def test_what_cannot_be_proposed_is_listed_with_why(flows: Flows) -> None:
    flow = flows()
    rollback = Remediation("rollback-image", "Roll back", "low", True, ImageRollback("redis:7.2.3"))
    bigger = Remediation(
        "raise-memory-limit", "Raise", "low", True, MemoryLimitRaise("redis", 64 * MI, 32 * MI)
    )
    diagnosis = Diagnosis(SERVICE, "", "", [], [], [], [rollback, bigger], [], [])

    proposals = flow.propose(
        diagnosis, _evidence(), SERVICE, flow.catalog.service(SERVICE), CHANNEL, THREAD, REQUESTER
    )

    assert list(proposals) == []
    assert [(s.remediation, s.reason) for s in proposals.skipped] == [
        ("rollback-image", "rollback-image is not applied by the bot; do it by hand"),
        ("raise-memory-limit", "the memory limit of redis is 64Mi already (wanted 32Mi)"),
    ]


# -- the whole story ----------------------------------------------------------------------------------
def test_approve_apply_verify_and_roll_back_end_to_end(
    flows: Flows,
    api: KubeApiStandIn,
    redis_server: RedisServer,
    connection: redis.Redis,
    capsys: pytest.CaptureFixture[str],
) -> None:
    polls: list[float] = []

    def controller_catches_up(seconds: float) -> None:
        polls.append(seconds)
        flows.clock.now += seconds
        api.roll_out("Deployment", NAMESPACE, SERVICE)

    flow = flows(sleep=controller_catches_up)
    proposal = _propose(flow)
    assert flow.preview(proposal.id, ALICE, CHANNEL).can_approve
    assert flow.approve(proposal.id, ALICE, CHANNEL).status == "applied"

    verified = flow.verify(proposal.id, timeout=30, interval=10)
    assert verified.status == "verified", verified.lines
    assert polls == [10, 10, 10]  # watched for the whole window, not only until rolled out
    assert "rolled out: 1/1 updated and available at generation 5" in verified.lines
    (new_pod,) = [pod for pod in api.names("Pod", NAMESPACE) if pod != POD]
    assert any(
        line.startswith("no restarts of redis in the new pods (1 pods, pod-template-hash")
        for line in verified.lines
    )
    assert "held for the whole verification window (30s)" in verified.lines

    # It OOMs again all the same: verification says so.
    api.restart(NAMESPACE, new_pod, "redis")
    failed = flow.verify(proposal.id, timeout=0, interval=0.01)
    assert failed.status == "verify_failed"
    assert any(f"{new_pod} x1 (last: OOMKilled)" in line for line in failed.lines)

    with pytest.raises(RemediationRefused):
        flow.rollback("made-up-id", BOB, CHANNEL)
    back = flow.rollback(proposal.id, BOB, CHANNEL)
    assert back.rollback_of == proposal.id and back.requested_by == BOB and back.channel == CHANNEL
    assert back.change.resources is not None and back.change.resources.limits == {"memory": "64Mi"}
    assert back.change.resources.requests == {}  # 48Mi is under 64Mi: kept
    version = api.get("Deployment", NAMESPACE, SERVICE)["metadata"]["resourceVersion"]
    assert flow.approve(back.id, ALICE, CHANNEL).status == "applied"

    assert _redis_limits(api)["redis"]["limits"] == {"memory": "64Mi", "cpu": "500m"}
    assert _real_patches(api)[-1].body == _expected_patch(version, {"memory": "64Mi"})
    assert flow.get(proposal.id).state == "rolled_back"  # type: ignore[union-attr]
    with pytest.raises(RemediationRefused, match="rolled_back"):
        flow.rollback(proposal.id, BOB, CHANNEL)

    parser = argparse.ArgumentParser()
    add_audit_arguments(parser)
    assert (
        run_audit(parser.parse_args(["--redis-url", redis_server.url, "--json", "--service", SERVICE])) == 0
    )
    story = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["event"], e["proposal_id"], e["actor"]) for e in story] == [
        ("proposed", proposal.id, REQUESTER),
        ("previewed", proposal.id, ALICE),
        ("approved", proposal.id, ALICE),
        ("applied", proposal.id, ALICE),
        ("verified", proposal.id, "triage"),
        ("verify_failed", proposal.id, "triage"),
        ("rollback_proposed", back.id, BOB),
        ("approved", back.id, ALICE),
        ("applied", back.id, ALICE),
    ]
    assert "+   memory: 192Mi" in story[3]["detail"] and "+   memory: 64Mi" in story[-1]["detail"]
    assert run_audit(parser.parse_args(["--redis-url", redis_server.url, "--service", SERVICE])) == 0
    table = capsys.readouterr().out
    for event in ("rollback_proposed", "verify_failed", "applied"):
        assert event in table


@pytest.mark.parametrize(("scale", "held"), [(1, True), (300, False)])
def test_verification_compares_the_memory_peak_in_prometheus_with_the_new_limit(
    api: KubeApiStandIn,
    connection: redis.Redis,
    clock: Clock,
    prometheus: PrometheusServer,
    scale: int,
    held: bool,
) -> None:
    # The stand-in cluster has no cAdvisor series: the Redis that Prometheus scrapes plays the container
    # (about 1 MiB; scaled 300 times it is above 95% of 192Mi).
    query = f'max(max_over_time(redis_memory_used_bytes{{{{namespace="web"}}}}[5m])) * {scale}'  # a template
    api_client = client.ApiClient(client.Configuration(host=api.url))
    try:
        changer = KubernetesChanger(api_client, memory_query=query)
        flow = RemediationFlow(
            _catalog(prometheus_url=prometheus.url), connection, kubernetes=changer, now=clock
        )
        proposal = _propose(flow)
        assert flow.approve(proposal.id, ALICE, CHANNEL).status == "applied"
        api.roll_out("Deployment", NAMESPACE, SERVICE)

        outcome = flow.verify(proposal.id, timeout=0)
    finally:
        api_client.close()  # type: ignore[no-untyped-call]

    (line,) = [line for line in outcome.lines if line.startswith("memory peak")]
    assert re.fullmatch(r"memory peak \d+Mi = \d+% of the new 192Mi limit \(new pods, 60s\)", line), line
    assert outcome.status == ("verified" if held else "verify_failed"), outcome.lines


def test_no_roll_back_over_a_change_made_since(flows: Flows, api: KubeApiStandIn) -> None:
    flow = flows()
    proposal = _propose(flow)
    assert flow.approve(proposal.id, ALICE, CHANNEL).status == "applied"
    api.add(_deployment(memory_limit="256Mi"))  # someone raised it further by hand

    with pytest.raises(RemediationRefused, match=r"limits\.memory is 256Mi") as refused:
        flow.rollback(proposal.id, BOB, CHANNEL)
    assert refused.value.reason == "stale"


# -- verification looks at the new revision only, for the whole window ------------------------------
class Controller:
    """An injected sleep: the clock moves on by what was slept, then the test's step for that look runs."""

    def __init__(self, clock: Clock, *steps: Callable[[], object]) -> None:
        self.clock, self.steps, self.slept = clock, list(steps), []  # type: list[float]

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.now += seconds
        if self.steps:
            self.steps.pop(0)()


def test_old_pods_still_oom_during_the_rollout_but_the_new_ones_hold(
    flows: Flows, api: KubeApiStandIn, clock: Clock
) -> None:
    controller = Controller(
        clock,
        lambda: api.restart(NAMESPACE, POD, "redis"),  # the old pod, old limit, OOMs again
        lambda: api.roll_out("Deployment", NAMESPACE, SERVICE),  # the rollout completes
    )
    flow = flows(sleep=controller)
    proposal = _propose(flow)
    assert flow.approve(proposal.id, ALICE, CHANNEL).status == "applied"
    api.roll_out("Deployment", NAMESPACE, SERVICE, finished=False)  # a new pod beside the old one
    api.restart(NAMESPACE, POD, "redis")
    (new_pod,) = [pod for pod in api.names("Pod", NAMESPACE) if pod != POD]
    new_hash = new_pod.split("-")[-2]
    assert new_hash != OLD_HASH
    rs = api.get("ReplicaSet", NAMESPACE, f"{SERVICE}-{new_hash}")
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "5"

    outcome = flow.verify(proposal.id, timeout=20, interval=10)

    assert outcome.status == "verified", outcome.lines
    assert controller.slept == [10, 10]
    assert f"no restarts of redis in the new pods (1 pods, pod-template-hash {new_hash})" in outcome.lines


def test_without_a_replica_set_the_pods_created_since_the_change_count(
    flows: Flows, api: KubeApiStandIn, clock: Clock
) -> None:
    with KubeApiStandIn([_deployment(), _pod()]) as standin:  # no ReplicaSet to tell the revision by
        flow = Flows(standin, flows.redis_server, clock)()
        proposal = _propose(flow)
        assert flow.approve(proposal.id, ALICE, CHANNEL).status == "applied"
        standin.forbid("replicasets")
        standin.roll_out("Deployment", NAMESPACE, SERVICE, finished=False, created_at=clock.now + 5)
        standin.restart(NAMESPACE, POD, "redis")

        waiting = flow.verify(proposal.id, timeout=0)
        assert "no restarts of redis in the new pods (1 pods, created since the change)" in waiting.lines
        assert waiting.status == "verify_failed" and "not rolled out after 0s" in waiting.lines

        (new_pod,) = [pod for pod in standin.names("Pod", NAMESPACE) if pod != POD]
        standin.restart(NAMESPACE, new_pod, "redis")
        failed = flow.verify(proposal.id, timeout=0)
        assert any(f"{new_pod} x1 (last: OOMKilled)" in line for line in failed.lines)


def test_a_statefulset_counts_the_pods_of_its_update_revision(flows: Flows, clock: Clock) -> None:
    statefulset = _deployment() | {"kind": "StatefulSet"}
    old = _pod()
    old["metadata"] |= {"name": f"{SERVICE}-0", "labels": {"app": SERVICE, "controller-revision-hash": "old"}}
    with KubeApiStandIn([statefulset, old]) as standin:
        flow = Flows(standin, flows.redis_server, clock)()
        proposal = _propose(flow)
        assert flow.approve(proposal.id, ALICE, CHANNEL).status == "applied"
        standin.restart(NAMESPACE, f"{SERVICE}-0", "redis")  # the old pod OOMs before it is replaced
        standin.roll_out("StatefulSet", NAMESPACE, SERVICE)

        outcome = flow.verify(proposal.id, timeout=0)

        status = standin.get("StatefulSet", NAMESPACE, SERVICE)["status"]
        assert status["currentRevision"] == status["updateRevision"]
        assert outcome.status == "verified", outcome.lines
        revision = status["updateRevision"]
        assert (
            f"no restarts of redis in the new pods (1 pods, controller-revision-hash {revision})"
            in outcome.lines
        )


def test_a_new_pod_oom_two_minutes_after_the_rollout_fails_the_verification_early(
    flows: Flows, api: KubeApiStandIn, clock: Clock
) -> None:
    def new_pod_ooms() -> None:
        (new_pod,) = [pod for pod in api.names("Pod", NAMESPACE) if pod != POD]
        api.restart(NAMESPACE, new_pod, "redis")

    controller = Controller(
        clock,
        lambda: api.roll_out("Deployment", NAMESPACE, SERVICE),  # rolled out at 30s
        lambda: None,
        lambda: None,
        lambda: None,
        new_pod_ooms,  # 2 minutes later
    )
    flow = flows(sleep=controller)
    proposal = _propose(flow)
    assert flow.approve(proposal.id, ALICE, CHANNEL).status == "applied"

    outcome = flow.verify(proposal.id, timeout=300, interval=30)

    assert outcome.status == "verify_failed", outcome.lines
    assert any("x1 (last: OOMKilled)" in line for line in outcome.lines)
    assert controller.slept == [30] * 5  # failed at the look after the OOM, not at the deadline


def test_ready_old_pods_do_not_make_a_rollout_done(flows: Flows, api: KubeApiStandIn) -> None:
    flow = flows()
    proposal = _propose(flow)
    assert flow.approve(proposal.id, ALICE, CHANNEL).status == "applied"
    # One new pod is up and the old one still runs: 1 of 1 updated, 1 ready, but 2 replicas in all.
    api.roll_out("Deployment", NAMESPACE, SERVICE, ready=1, finished=False)

    outcome = flow.verify(proposal.id, timeout=0)

    assert outcome.status == "verify_failed"
    assert "not rolled out after 0s" in outcome.lines
    assert "waiting: 1/1 updated, 1 available, 1 old still running" in outcome.lines


def test_the_memory_query_names_the_new_pods_exactly_since_the_change(
    flows: Flows, api: KubeApiStandIn, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    class Answer:
        def json(self) -> dict[str, Any]:
            return {"data": {"result": [{"value": [0, str(100 * 2**20)]}]}}

    def prometheus(url: str, params: dict[str, str], timeout: float) -> Answer:
        asked.append(params["query"])
        return Answer()

    monkeypatch.setattr("bot.remediation.kubernetes_change.requests.get", prometheus)
    flow = flows(_catalog(prometheus_url="http://prometheus.invalid"))
    proposal = _propose(flow)
    assert flow.approve(proposal.id, ALICE, CHANNEL).status == "applied"
    api.roll_out("Deployment", NAMESPACE, SERVICE)
    (new_pod,) = api.names("Pod", NAMESPACE)
    clock.now += 300  # five minutes after the change

    outcome = flow.verify(proposal.id, timeout=0)

    assert asked == [
        "max(max_over_time(container_memory_working_set_bytes"
        f'{{namespace="{NAMESPACE}",pod=~"{new_pod}",container="redis"}}[300s]))'
    ]
    assert "memory peak 100Mi = 52% of the new 192Mi limit (new pods, 300s)" in outcome.lines
    assert outcome.status == "verified"


def test_a_roll_back_is_asked_for_by_an_approver_or_the_requester_in_the_proposal_channel(
    flows: Flows, api: KubeApiStandIn, connection: redis.Redis
) -> None:
    flow = flows()
    proposal = _propose(flow)
    assert flow.approve(proposal.id, ALICE, CHANNEL).status == "applied"

    with pytest.raises(RemediationRefused, match="neither an approver") as stranger:
        flow.rollback(proposal.id, EVE, CHANNEL)
    assert stranger.value.reason == "not_allowed"
    with pytest.raises(RemediationRefused, match="another channel") as elsewhere:
        flow.rollback(proposal.id, BOB, "C0ELSEWHERE")
    assert elsewhere.value.reason == "wrong_channel"
    assert ("refused", "not_allowed") in _events(connection, proposal.id)
    assert ("refused", "wrong_channel") in _events(connection, proposal.id)
    assert flow.rollback(proposal.id, REQUESTER, CHANNEL).rollback_of == proposal.id


def test_a_roll_back_applies_even_when_the_original_expired_meanwhile(
    flows: Flows, api: KubeApiStandIn, connection: redis.Redis
) -> None:
    flow = flows()
    proposal = _propose(flow)
    assert flow.approve(proposal.id, ALICE, CHANNEL).status == "applied"
    back = flow.rollback(proposal.id, BOB, CHANNEL)
    connection.delete(flow.store.key(proposal.id))  # its key expired

    outcome = flow.approve(back.id, ALICE, CHANNEL)

    assert outcome.status == "applied", outcome.message
    assert _redis_limits(api)["redis"]["limits"]["memory"] == "64Mi"


def test_a_proposal_expiring_from_redis_during_the_approval_is_unknown(
    flows: Flows, api: KubeApiStandIn, connection: redis.Redis
) -> None:
    deleted: list[str] = []

    def groups_of(user: str) -> set[str]:  # asked while approving: the key expires right then
        for key in connection.scan_iter("triage:proposal:*"):
            connection.delete(key)
            deleted.append(key.decode())
        return {"S0SRE"}

    flow = flows(_catalog(service={"approvers": ["S0SRE"]}), groups_of=groups_of)
    proposal = _propose(flow)

    outcome = flow.approve(proposal.id, ALICE, CHANNEL)

    assert deleted and (outcome.status, outcome.reason) == ("refused", "unknown")
    assert _patches(api) == []


def test_quantities_are_compared_as_amounts_not_as_text(flows: Flows, api: KubeApiStandIn) -> None:
    flow = flows()
    proposal = _propose(flow, to="1024Mi")  # read as 1 GiB; the API server stores it as 1Gi

    preview = flow.preview(proposal.id, ALICE, CHANNEL)
    assert preview.can_approve and preview.notes == []  # no "admission would store" for 1Gi
    assert flow.approve(proposal.id, ALICE, CHANNEL).status == "waiting"
    assert flow.approve(proposal.id, BOB, CHANNEL).status == "applied"
    assert _redis_limits(api)["redis"]["limits"]["memory"] == "1Gi"

    back = flow.rollback(proposal.id, BOB, CHANNEL)  # 1Gi is what it wrote: no "changed since"
    assert back.change.resources is not None and back.change.resources.limits == {"memory": "64Mi"}
