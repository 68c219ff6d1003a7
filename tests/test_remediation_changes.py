"""The pure parts of a workload change: the patch, requests under limits, roll back values, staleness."""

from __future__ import annotations

import pytest

from bot.remediation.kubernetes_change import (
    Workload,
    newest_replica_set_hash,
    plan_resources,
    pod_regex,
    qos_class,
    resources_diff,
    resources_patch,
    restore_resources,
    rollout_done,
    stale_reason,
)
from bot.remediation.proposals import Basis, Proposal, Resources, WorkloadTarget
from bot.remediation.redis_change import persist_hint

TARGET = WorkloadTarget(namespace="shop", kind="Deployment", name="web", container="app")


def _workload(resources: Resources, version: str = "7", generation: int = 3) -> Workload:
    return Workload(
        "Deployment", "shop", "web", version, generation, {"app": resources}, {"app": "web"}, 2, {}
    )


def test_the_patch_names_one_container_and_only_its_resources() -> None:
    change = Resources(limits={"memory": "192Mi"})
    assert resources_patch("app", change) == {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "192Mi"}}}]}
            }
        }
    }
    # With the resourceVersion the stale check was made on: 409 Conflict if it moved since.
    assert resources_patch("app", change, "4711")["metadata"] == {"resourceVersion": "4711"}


def test_a_raise_keeps_the_requests() -> None:
    current = Resources(limits={"memory": "64Mi", "cpu": "500m"}, requests={"memory": "64Mi", "cpu": "100m"})
    assert plan_resources(current, {"memory": "192Mi"}) == Resources(limits={"memory": "192Mi"})


def test_a_lower_limit_takes_the_request_down_with_it() -> None:
    current = Resources(limits={"memory": "192Mi"}, requests={"memory": "128Mi"})
    assert plan_resources(current, {"memory": "64Mi"}) == Resources(
        limits={"memory": "64Mi"}, requests={"memory": "64Mi"}
    )
    # A request already under the new limit stays.
    assert plan_resources(current, {"memory": "160Mi"}) == Resources(limits={"memory": "160Mi"})


def test_a_roll_back_restores_the_previous_values_of_what_was_written() -> None:
    previous = Resources(limits={"memory": "64Mi", "cpu": "1"}, requests={"memory": "48Mi"})
    written = Resources(limits={"memory": "192Mi"})
    now = Resources(limits={"memory": "192Mi", "cpu": "1"}, requests={"memory": "48Mi"})
    assert restore_resources(previous, written, now) == Resources(limits={"memory": "64Mi"})


def test_a_roll_back_keeps_a_request_raised_since_under_the_restored_limit() -> None:
    previous = Resources(limits={"memory": "64Mi"}, requests={"memory": "64Mi"})
    now = Resources(limits={"memory": "192Mi"}, requests={"memory": "128Mi"})  # someone raised the request
    assert restore_resources(previous, Resources(limits={"memory": "192Mi"}), now) == Resources(
        limits={"memory": "64Mi"}, requests={"memory": "64Mi"}
    )


def test_a_roll_back_of_a_limit_that_did_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match="no memory limit before"):
        restore_resources(Resources(), Resources(limits={"memory": "192Mi"}), Resources())


def test_a_status_update_alone_is_not_stale_but_is_reported() -> None:
    resources = Resources(limits={"memory": "64Mi"})
    basis = Basis(resource_version="7", generation=3, resources=resources)
    reason, note = stale_reason(basis, _workload(resources, version="9"), "app")
    assert reason is None
    assert "resourceVersion 7 -> 9" in note and "not the resources of app" in note
    assert stale_reason(basis, _workload(resources), "app") == (None, "")


def test_changed_resources_or_a_missing_container_are_stale() -> None:
    basis = Basis(resource_version="7", resources=Resources(limits={"memory": "64Mi"}))
    reason, _ = stale_reason(basis, _workload(Resources(limits={"memory": "128Mi"})), "app")
    assert reason is not None and "then limits.memory=64Mi, now limits.memory=128Mi" in reason
    # Even a request that moved (the patch would not touch it, but the proposal was worked out without it).
    moved_request = Resources(limits={"memory": "64Mi"}, requests={"memory": "32Mi"})
    assert stale_reason(basis, _workload(moved_request, version="7"), "app")[0] is not None
    gone, _ = stale_reason(basis, _workload(Resources()), "sidecar")
    assert gone is not None and "no container sidecar" in gone


def test_the_diff_shows_before_and_after_and_a_qos_change() -> None:
    before = Resources(limits={"memory": "64Mi", "cpu": "1"}, requests={"memory": "64Mi", "cpu": "1"})
    lines = resources_diff(TARGET, before, Resources(limits={"memory": "192Mi"}))
    assert lines == [
        "# Deployment shop/web, container app",
        "resources:",
        "  limits:",
        "    cpu: 1",
        "-   memory: 64Mi",
        "+   memory: 192Mi",
        "  requests:",
        "    cpu: 1",
        "    memory: 64Mi",
        "# QoS class of the pods: Guaranteed -> Burstable (only this container looked at)",
    ]


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        (Resources(), "BestEffort"),
        (Resources(limits={"memory": "1Gi", "cpu": "1"}), "Guaranteed"),  # requests default to limits
        (Resources(limits={"memory": "1Gi", "cpu": "1"}, requests={"cpu": "1000m"}), "Guaranteed"),
        (Resources(limits={"memory": "1Gi"}, requests={"memory": "512Mi"}), "Burstable"),
    ],
)
def test_qos_class(resources: Resources, expected: str) -> None:
    assert qos_class(resources) == expected


def test_the_redis_persist_hint_gives_the_directives_for_a_configmap_and_helm_values() -> None:
    hint = "\n".join(persist_hint({"maxmemory": "48mb", "maxmemory-policy": "allkeys-lru"}))
    assert "maxmemory 48mb\nmaxmemory-policy allkeys-lru" in hint
    assert "commonConfiguration: |-\n  maxmemory 48mb\n  maxmemory-policy allkeys-lru" in hint
    assert "CONFIG REWRITE is not attempted" in hint


def test_a_proposal_round_trips_through_json_with_its_target_kind() -> None:
    proposal = Proposal(
        id="p",
        remediation="raise-memory-limit",
        title="t",
        service="web",
        channel="C",
        thread_ts="1.2",
        requested_by="U",
        target=TARGET,
        change={"resources": {"limits": {"memory": "192Mi"}}},  # type: ignore[arg-type]
        created_at=1.0,
        expires_at=2.0,
    )
    again = Proposal.model_validate_json(proposal.model_dump_json())
    assert again == proposal
    assert isinstance(again.target, WorkloadTarget)


def _set(status: dict[str, object], strategy: dict[str, object] | None = None) -> Workload:
    return Workload("StatefulSet", "shop", "db", "7", 3, {}, {"app": "db"}, 2, status, "s-1", strategy or {})


def test_a_rollout_is_done_as_kubectl_says() -> None:
    done = {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}
    revisions = {"currentRevision": "db-2", "updateRevision": "db-2"}
    assert rollout_done(_set(done | revisions), 3)[0]
    assert not rollout_done(_set(done | revisions), 4)[0]  # the controller has not seen the patch
    old_left = done | revisions | {"replicas": 3}  # an old pod still runs beside two new ones
    assert rollout_done(_set(old_left), 3) == (
        False,
        ["waiting: 2/2 updated, 2 available, 1 old still running"],
    )
    not_available = done | revisions | {"availableReplicas": 1}
    assert not rollout_done(_set(not_available), 3)[0]
    moving = done | {"currentRevision": "db-1", "updateRevision": "db-2"}
    assert not rollout_done(_set(moving), 3)[0]


def test_a_statefulset_that_never_rolls_out_by_itself_is_warned_about() -> None:
    status = {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 0, "availableReplicas": 2}
    done, lines = rollout_done(_set(status, {"type": "OnDelete"}), 3)
    assert not done and "OnDelete" in lines[0] and "never completes" in lines[0]
    done, lines = rollout_done(_set(status, {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}), 3)
    assert not done and "partition is 1" in lines[0]


def test_the_newest_replica_set_of_the_deployment_gives_the_revision() -> None:
    def rs(name: str, revision: str, uid: str = "d-1") -> dict[str, object]:
        return {
            "metadata": {
                "name": f"web-{name}",
                "labels": {"pod-template-hash": name},
                "annotations": {"deployment.kubernetes.io/revision": revision},
                "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": uid}],
            }
        }

    deployment = Workload("Deployment", "shop", "web", "7", 3, {}, {"app": "web"}, 2, {}, "d-1")
    sets = [rs("aaa", "9"), rs("bbb", "10"), rs("ccc", "11", uid="other"), rs("ddd", "x")]
    assert newest_replica_set_hash(deployment, sets) == "bbb"  # 10 > 9, numerically; not another's
    assert newest_replica_set_hash(deployment, []) is None


def test_the_pod_regex_is_an_exact_alternation() -> None:
    assert pod_regex(["api-7f-abc", "api-7f-def"]) == "api-7f-abc|api-7f-def"
    assert pod_regex(["web.0"]) == "web\\\\.0"  # an escaped dot inside a PromQL string


def test_quantities_are_the_same_amount_however_written() -> None:
    from bot.remediation.kubernetes_change import same_quantity, same_resources

    assert same_quantity("1024Mi", "1Gi") and same_quantity("0.5", "500m")
    assert not same_quantity("1Gi", "1G") and not same_quantity("64Mi", None)
    assert same_resources(Resources(limits={"cpu": "0.5"}), Resources(limits={"cpu": "500m"}))
    assert not same_resources(
        Resources(limits={"cpu": "1"}), Resources(limits={"cpu": "1"}, requests={"cpu": "1"})
    )
