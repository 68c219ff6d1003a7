"""The Kubernetes collector against a stand-in API server (tests/standins/kube_api.py).

The cluster here: `session-cache`, a Redis session store run as a Deployment in `ecommerce`,
restarting over and over because the kernel kills it at its 64Mi limit while it forks to save.
"""

from __future__ import annotations

import json
import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from analyzers import analyze
from analyzers.evidence import Evidence, LogRecord, ReplicaSetInfo, Subject
from bot.collectors.base import CollectorError, Target
from bot.collectors.kubernetes_collector import KubernetesCollector
from bot.readers import read_string
from tests.standins.kube_api import KubeApiStandIn

Json = dict[str, Any]

NAMESPACE = "ecommerce"
SERVICE = "session-cache"
DEPLOYMENT_UID = "8d0f5c1e-3b7a-4c52-9e61-2f4a7b9c0d13"
CURRENT_RS = "session-cache-5d8c7b9f4d"
OLD_RS = "session-cache-6b9f8d7c5a"
LOOPING_POD = f"{CURRENT_RS}-q7wzt"
CALMER_POD = f"{CURRENT_RS}-x4k9p"
LABELS = {"app.kubernetes.io/name": SERVICE, "app.kubernetes.io/component": "session-store"}
POD_PATH = f"/api/v1/namespaces/{NAMESPACE}/pods/{LOOPING_POD}"

PREVIOUS_LOG = """\
1:C 14 Mar 2025 09:41:02.118 * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo
1:C 14 Mar 2025 09:41:02.118 * Redis version=7.2.4, bits=64, commit=00000000, modified=0, pid=1, just started
1:M 14 Mar 2025 09:41:02.121 * Running mode=standalone, port=6379.
1:M 14 Mar 2025 09:41:02.122 * Ready to accept connections tcp
1:M 14 Mar 2025 09:42:19.877 * 100 changes in 300 seconds. Saving...
1:M 14 Mar 2025 09:42:19.879 # Can't save in background: fork: Cannot allocate memory
"""
CURRENT_LOG = """\
1:C 14 Mar 2025 09:47:40.310 * Redis version=7.2.4, bits=64, commit=00000000, modified=0, pid=1, just started
1:M 14 Mar 2025 09:47:40.313 * Ready to accept connections tcp
"""


# -- the cluster, as the API server would return it ----------------------------------------------
def _meta(name: str, version: str, **extra: Any) -> Json:
    return {"name": name, "namespace": NAMESPACE, "resourceVersion": version, **extra}


def _owner(kind: str, name: str, uid: str) -> list[Json]:
    api_version = "apps/v1"
    return [{"apiVersion": api_version, "kind": kind, "name": name, "uid": uid, "controller": True}]


def _redis_container(image: str) -> Json:
    return {
        "name": "redis",
        "image": image,
        "args": ["/etc/redis/redis.conf"],
        "ports": [{"containerPort": 6379, "name": "redis", "protocol": "TCP"}],
        "resources": {
            "limits": {"cpu": "250m", "memory": "64Mi"},
            "requests": {"cpu": "100m", "memory": "64Mi"},
        },
        "livenessProbe": {"tcpSocket": {"port": 6379}, "periodSeconds": 10, "failureThreshold": 3},
        "env": [{"name": "REDIS_PORT", "value": "6379"}],
        "volumeMounts": [{"name": "config", "mountPath": "/etc/redis"}],
    }


def _pod(
    name: str, restarts: int, waiting: bool, labels: Json | None = None, owner: list[Json] | None = None
) -> Json:
    state: Json = (
        {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": "back-off 5m0s restarting failed container=redis",
            }
        }
        if waiting
        else {"running": {"startedAt": "2025-03-14T09:47:40Z"}}
    )
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": _meta(
            name,
            "884213",
            labels={
                **(labels if labels is not None else LABELS),
                "pod-template-hash": CURRENT_RS.rsplit("-", 1)[1],
            },
            ownerReferences=owner
            if owner is not None
            else _owner("ReplicaSet", CURRENT_RS, "rs-current-uid"),
        ),
        "spec": {
            "containers": [_redis_container("redis:7.2.4-alpine")],
            "volumes": [{"name": "config", "configMap": {"name": "session-cache-config"}}],
            "nodeName": "pool-general-3",
        },
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "redis",
                    "image": "docker.io/library/redis:7.2.4-alpine",
                    "ready": not waiting,
                    "restartCount": restarts,
                    "state": state,
                    "lastState": {
                        "terminated": {
                            "reason": "OOMKilled",
                            "exitCode": 137,
                            "startedAt": "2025-03-14T09:41:02Z",
                            "finishedAt": "2025-03-14T09:42:20Z",
                        }
                    },
                }
            ],
        },
    }


def _replicaset(name: str, image: str, replicas: int) -> Json:
    return {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": _meta(
            name,
            "884100" if replicas else "702311",
            uid="rs-current-uid" if replicas else "rs-old-uid",
            labels={**LABELS, "pod-template-hash": name.rsplit("-", 1)[1]},
            ownerReferences=_owner("Deployment", SERVICE, DEPLOYMENT_UID),
        ),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": SERVICE}},
            "template": {"metadata": {"labels": LABELS}, "spec": {"containers": [_redis_container(image)]}},
        },
        "status": {"replicas": replicas, "readyReplicas": 1 if replicas else 0},
    }


def _event(
    name: str, involved: Json, reason: str, message: str, kind: str = "Warning", count: int = 1
) -> Json:
    return {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": _meta(name, "884250"),
        "involvedObject": {"namespace": NAMESPACE, "resourceVersion": "884213", **involved},
        "reason": reason,
        "message": message,
        "type": kind,
        "count": count,
        "firstTimestamp": "2025-03-14T03:10:44Z",
        "lastTimestamp": "2025-03-14T09:47:39Z",
        "source": {"component": "kubelet", "host": "pool-general-3"},
    }


def _cluster() -> list[Json]:
    redis_in_pod = {"kind": "Pod", "name": LOOPING_POD, "fieldPath": "spec.containers{redis}"}
    deployment = {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": _meta(SERVICE, "884102", uid=DEPLOYMENT_UID, labels=LABELS),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app.kubernetes.io/name": SERVICE}},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {"containers": [_redis_container("redis:7.2.4-alpine")]},
            },
        },
        "status": {"replicas": 2, "readyReplicas": 1, "unavailableReplicas": 1},
    }
    configmap = {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": _meta("session-cache-config", "650007", labels=LABELS),
        "data": {"redis.conf": "maxmemory-policy noeviction\nsave 300 100\nappendonly no\n"},
    }
    return [
        _pod(LOOPING_POD, 27, waiting=True),
        _pod(CALMER_POD, 4, waiting=False),
        _replicaset(CURRENT_RS, "redis:7.2.4-alpine", 2),
        _replicaset(OLD_RS, "redis:7.0.15-alpine", 0),
        deployment,
        configmap,
        _event(
            f"{LOOPING_POD}.17fc2a9b3d1e0001",
            redis_in_pod,
            "BackOff",
            "Back-off restarting failed container redis in pod session-cache-5d8c7b9f4d-q7wzt_ecommerce",
            count=119,
        ),
        _event(
            f"{LOOPING_POD}.17fc2a9b3d1e0002",
            redis_in_pod,
            "Pulled",
            'Container image "redis:7.2.4-alpine" already present on machine',
            kind="Normal",
            count=28,
        ),
        _event(
            f"{SERVICE}.17fc11d0a2b40001",
            {"kind": "Deployment", "name": SERVICE, "apiVersion": "apps/v1"},
            "ScalingReplicaSet",
            f"Scaled up replica set {CURRENT_RS} to 2",
            kind="Normal",
        ),
    ]


# -- fixtures and helpers -------------------------------------------------------------------------
@pytest.fixture
def api() -> Iterator[KubeApiStandIn]:
    with KubeApiStandIn(_cluster()) as standin:
        standin.set_log(NAMESPACE, LOOPING_POD, "redis", PREVIOUS_LOG, previous=True)
        standin.set_log(NAMESPACE, LOOPING_POD, "redis", CURRENT_LOG)
        standin.set_log(NAMESPACE, CALMER_POD, "redis", CURRENT_LOG)
        yield standin


@pytest.fixture
def collector(api: KubeApiStandIn) -> Iterator[KubernetesCollector]:
    api_client = client.ApiClient(client.Configuration(host=api.url))
    yield KubernetesCollector(api_client)
    api_client.close()  # type: ignore[no-untyped-call]


def _collect(collector: KubernetesCollector, timeout: float = 10.0, **target: Any) -> Evidence:
    return collector.collect(Target(SERVICE, **({"namespace": NAMESPACE} | target)), timeout)


def _report_detail(evidence: Evidence) -> str:
    (report,) = [s for s in evidence.sources if s.name == "kubernetes"]
    return report.detail


# -- the diagnosis ---------------------------------------------------------------------------------
def test_live_pods_give_oom_and_crash_loop_citing_rest_paths(collector: KubernetesCollector) -> None:
    evidence = _collect(collector)
    diagnosis = analyze(evidence, SERVICE)

    for finding_id in ("container-oom-killed", "crash-loop"):
        found = diagnosis.finding(finding_id)
        assert found is not None, finding_id
        assert POD_PATH in {source.ref for source in found.evidence}
    oom = diagnosis.finding("container-oom-killed")
    assert oom is not None
    assert '"reason":"OOMKilled"' in {source.excerpt for source in oom.evidence}
    assert "64Mi" in oom.detail or "64 MiB" in oom.detail or "64.0 MiB" in oom.detail


def test_excerpts_are_text_of_the_responses(collector: KubernetesCollector) -> None:
    bodies = {
        f"/api/v1/namespaces/{NAMESPACE}/pods/{obj['metadata']['name']}": json.dumps(
            obj, separators=(",", ":")
        )
        for obj in _cluster()
        if obj["kind"] == "Pod"
    }
    evidence = _collect(collector)

    pod_facts = [fact for fact in evidence.facts if fact.source.ref in bodies]
    assert {fact.kind for fact in pod_facts} >= {
        "container.last_reason",
        "container.memory_limit",
        "container.probe",
    }
    for fact in pod_facts:
        assert fact.source.kind == "k8s-api"
        assert fact.source.excerpt in bodies[fact.source.ref]


def test_live_and_pasted_evidence_give_the_same_findings(collector: KubernetesCollector) -> None:
    pasted_list = json.dumps({"apiVersion": "v1", "kind": "List", "items": _cluster()}, indent=2)
    pasted = read_string(pasted_list, "kubectl-get-all.json")
    about = Subject(NAMESPACE, LOOPING_POD, "redis", SERVICE)
    pasted.merge(read_string(PREVIOUS_LOG, "redis-previous.log", about=about))
    pasted.merge(read_string(CURRENT_LOG, "redis-current.log", about=about))

    live_ids = {finding.id for finding in analyze(_collect(collector), SERVICE).findings}
    pasted_ids = {finding.id for finding in analyze(pasted, SERVICE).findings}

    assert {"container-oom-killed", "crash-loop"} <= live_ids
    assert live_ids == pasted_ids


# -- what is read ------------------------------------------------------------------------------------
def test_previous_container_logs_are_read(api: KubeApiStandIn, collector: KubernetesCollector) -> None:
    evidence = _collect(collector)

    previous = [r for r in api.served(f"/pods/{LOOPING_POD}/log") if r.query.get("previous") == "true"]
    assert previous and previous[0].query["container"] == "redis"
    assert previous[0].query["tailLines"] == "500" and previous[0].query["sinceSeconds"] == "3600"
    fork_failures = [
        fact
        for fact in evidence.of("log")
        if isinstance(fact.value, LogRecord) and "Cannot allocate memory" in fact.value.text
    ]
    assert fork_failures
    assert fork_failures[0].source.ref == f"{POD_PATH}/log?container=redis&previous=true"
    assert fork_failures[0].source.kind == "k8s-logs"
    assert fork_failures[0].subject == Subject(NAMESPACE, LOOPING_POD, "redis", SERVICE)


def test_owner_chain_reads_the_deployment_and_its_replicasets(
    api: KubeApiStandIn, collector: KubernetesCollector
) -> None:
    evidence = _collect(collector)

    replicasets = {fact.key: fact.value for fact in evidence.of("workload.replicaset")}
    assert set(replicasets) == {CURRENT_RS, OLD_RS}
    old = replicasets[OLD_RS]
    assert isinstance(old, ReplicaSetInfo) and old.image == "redis:7.0.15-alpine" and old.desired == 0
    assert api.served(f"/apis/apps/v1/namespaces/{NAMESPACE}/replicasets/{CURRENT_RS}")
    assert api.served(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{SERVICE}")
    assert "Deployment session-cache" in _report_detail(evidence)


def test_events_of_pods_and_workload_are_read(api: KubeApiStandIn, collector: KubernetesCollector) -> None:
    evidence = _collect(collector)

    asked_about = {r.query.get("fieldSelector") for r in api.served(f"/namespaces/{NAMESPACE}/events")}
    assert {
        f"involvedObject.name={name}" for name in (LOOPING_POD, CALMER_POD, CURRENT_RS, SERVICE)
    } <= asked_about
    reasons = {getattr(fact.value, "reason", None): fact.source.ref for fact in evidence.of("event")}
    events_path = f"/api/v1/namespaces/{NAMESPACE}/events"
    assert reasons["BackOff"] == f"{events_path}?fieldSelector=involvedObject.name%3D{LOOPING_POD}"
    assert reasons["ScalingReplicaSet"] == f"{events_path}?fieldSelector=involvedObject.name%3D{SERVICE}"


def test_mounted_configmap_is_read(collector: KubernetesCollector) -> None:
    evidence = _collect(collector)

    declared = {fact.key: fact.value for fact in evidence.of("redis.declared")}
    assert declared.get("maxmemory-policy") == "noeviction"
    refs = {fact.source.ref for fact in evidence.of("redis.declared")}
    assert refs == {f"/api/v1/namespaces/{NAMESPACE}/configmaps/session-cache-config"}


def test_success_report_counts_what_was_read(collector: KubernetesCollector) -> None:
    evidence = _collect(collector)

    (report,) = evidence.sources
    assert (report.name, report.kind, report.status) == ("kubernetes", "kubernetes", "ok")
    assert report.detail.startswith(f"2 pods (app.kubernetes.io/name=session-cache in {NAMESPACE})")
    # current logs of both pods and the previous log of the looping one; the other has no previous
    for part in ("3 events", "3 log streams", "1 ConfigMap"):
        assert part in report.detail


# -- which pods ------------------------------------------------------------------------------------
def test_label_key_matching_most_pods_wins_and_the_report_says_why(
    api: KubeApiStandIn, collector: KubernetesCollector
) -> None:
    stray = _pod("session-cache-loadtest", 0, waiting=False, labels={"app": SERVICE}, owner=[])
    api.add(stray)

    evidence = _collect(collector)

    pods = {fact.subject.pod for fact in evidence.facts if fact.subject.pod}
    assert pods == {LOOPING_POD, CALMER_POD}
    assert not api.served("/pods/session-cache-loadtest")
    detail = _report_detail(evidence)
    assert (
        f"chose app.kubernetes.io/name=session-cache in {NAMESPACE} (2 pods) over app=session-cache" in detail
    )
    assert "(1 pod)" in detail and "most pods" in detail


def test_given_selector_is_the_only_one_asked(api: KubeApiStandIn, collector: KubernetesCollector) -> None:
    evidence = _collect(collector, selector="app.kubernetes.io/component=session-store")

    listed = {
        r.query.get("labelSelector")
        for r in api.served(f"/api/v1/namespaces/{NAMESPACE}/pods")
        if r.path.endswith("/pods")
    }
    assert listed == {"app.kubernetes.io/component=session-store"}
    assert _report_detail(evidence).startswith(
        "2 pods (app.kubernetes.io/component=session-store in ecommerce)"
    )


def test_namespaces_are_searched_when_none_is_known(
    api: KubeApiStandIn, collector: KubernetesCollector
) -> None:
    evidence = collector.collect(Target(SERVICE, namespaces=("staging", NAMESPACE)), 10.0)

    assert api.served("/api/v1/namespaces/staging/pods")
    assert _report_detail(evidence).startswith(
        f"2 pods (app.kubernetes.io/name=session-cache in {NAMESPACE})"
    )


def test_statefulset_pods_follow_their_owner(api: KubeApiStandIn, collector: KubernetesCollector) -> None:
    statefulset = {
        "kind": "StatefulSet",
        "apiVersion": "apps/v1",
        "metadata": _meta("cart-store", "90001", uid="sts-uid", labels={"app": "cart-store"}),
        "spec": {
            "replicas": 1,
            "template": {"spec": {"containers": [_redis_container("redis:7.2.4-alpine")]}},
        },
        "status": {"replicas": 1, "readyReplicas": 0},
    }
    api.add(statefulset)
    api.add(
        _pod(
            "cart-store-0",
            6,
            waiting=True,
            labels={"app": "cart-store"},
            owner=_owner("StatefulSet", "cart-store", "sts-uid"),
        )
    )

    evidence = collector.collect(Target("cart-store", namespace=NAMESPACE), 10.0)

    assert api.served(f"/apis/apps/v1/namespaces/{NAMESPACE}/statefulsets/cart-store")
    refs = {fact.source.ref for fact in evidence.of("container.waiting_reason")}
    assert refs == {f"/api/v1/namespaces/{NAMESPACE}/pods/cart-store-0"}
    assert "StatefulSet cart-store" in _report_detail(evidence)
    assert analyze(evidence, "cart-store").finding("crash-loop") is not None


def test_no_matching_pods_is_a_partial_report(collector: KubernetesCollector) -> None:
    evidence = collector.collect(Target("checkout-api", namespace=NAMESPACE), 10.0)

    assert evidence.facts == []
    (report,) = evidence.sources
    assert report.status == "partial"
    assert report.detail == (
        "no pods labelled app, app.kubernetes.io/name, app.kubernetes.io/instance = checkout-api in ecommerce"
    )


# -- refusals and failures -------------------------------------------------------------------------
def test_forbidden_pods_raise_naming_verb_and_resource(
    api: KubeApiStandIn, collector: KubernetesCollector
) -> None:
    api.forbid("pods")

    with pytest.raises(CollectorError) as raised:
        _collect(collector)

    assert str(raised.value) == (
        '403 Forbidden: cannot list pods in namespace "ecommerce" (RBAC needs verb "list" on "pods")'
    )


def test_forbidden_events_raise_naming_verb_and_resource(
    api: KubeApiStandIn, collector: KubernetesCollector
) -> None:
    api.forbid("events")

    with pytest.raises(CollectorError, match=r'RBAC needs verb "list" on "events"'):
        _collect(collector)


def test_forbidden_logs_give_a_partial_result_with_the_pod_facts(
    api: KubeApiStandIn, collector: KubernetesCollector
) -> None:
    api.forbid("pods/log")

    evidence = _collect(collector)

    assert not list(evidence.of("log"))
    assert any(fact.value == "OOMKilled" for fact in evidence.of("container.last_reason"))
    (report,) = evidence.sources
    assert report.status == "partial"
    assert (
        'cannot get pods/log in namespace "ecommerce" (RBAC needs verb "get" on "pods/log")' in report.detail
    )
    assert len(api.served("/log")) == 1  # one refusal is enough to know the rest
    assert analyze(evidence, SERVICE).finding("container-oom-killed") is not None


def test_forbidden_configmaps_give_a_partial_result(
    api: KubeApiStandIn, collector: KubernetesCollector
) -> None:
    api.forbid("configmaps")

    evidence = _collect(collector)

    assert not list(evidence.of("redis.declared"))
    assert list(evidence.of("log"))
    (report,) = evidence.sources
    assert report.status == "partial"
    assert 'RBAC needs verb "get" on "configmaps"' in report.detail


def test_a_forbidden_owner_workload_gives_a_partial_result_not_a_failure(
    api: KubeApiStandIn, collector: KubernetesCollector
) -> None:
    api.forbid("deployments")  # as for a DaemonSet owner, which the chart's RBAC does not read

    evidence = _collect(collector)

    (report,) = evidence.sources
    assert report.status == "partial"
    assert 'RBAC needs verb "get" on "deployments"' in report.detail
    assert any(fact.value == "OOMKilled" for fact in evidence.of("container.last_reason"))


def test_slow_api_server_raises_a_timeout(api: KubeApiStandIn, collector: KubernetesCollector) -> None:
    api.delay = 5.0

    with pytest.raises(
        CollectorError, match=r"timed out after 0\.2s waiting for GET /api/v1/namespaces/ecommerce/pods"
    ):
        _collect(collector, timeout=0.2)


def test_unreachable_api_server_raises_one_line() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configuration = client.Configuration(host=f"http://127.0.0.1:{port}")
    configuration.retries = 0
    api_client = client.ApiClient(configuration)
    try:
        with pytest.raises(
            CollectorError, match=r"^cannot reach the Kubernetes API for GET /api/v1/"
        ) as raised:
            KubernetesCollector(api_client).collect(Target(SERVICE, namespace=NAMESPACE), 5.0)
    finally:
        api_client.close()  # type: ignore[no-untyped-call]
    assert "\n" not in str(raised.value)


def test_kubeconfig_context_gives_server_and_namespace(api: KubeApiStandIn, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        textwrap.dedent(
            f"""\
            apiVersion: v1
            kind: Config
            clusters:
            - name: standin
              cluster: {{server: "{api.url}"}}
            users:
            - name: triage
              user: {{token: not-a-real-token}}
            contexts:
            - name: elsewhere
              context: {{cluster: standin, user: triage, namespace: staging}}
            - name: shop
              context: {{cluster: standin, user: triage, namespace: {NAMESPACE}}}
            current-context: elsewhere
            """
        )
    )
    collector = KubernetesCollector(kubeconfig=str(kubeconfig), context="shop")

    evidence = collector.collect(Target(SERVICE), 10.0)

    assert _report_detail(evidence).startswith(
        f"2 pods (app.kubernetes.io/name=session-cache in {NAMESPACE})"
    )
    assert not api.served("/namespaces/staging/")


def test_missing_kubeconfig_raises_one_line(tmp_path: Path) -> None:
    collector = KubernetesCollector(kubeconfig=str(tmp_path / "absent"))

    with pytest.raises(CollectorError, match=r"^cannot load the Kubernetes configuration: ") as raised:
        collector.collect(Target(SERVICE, namespace=NAMESPACE), 5.0)
    assert "\n" not in str(raised.value)


# -- the stand-in itself ---------------------------------------------------------------------------
def test_standin_answers_unknown_paths_with_a_status(api: KubeApiStandIn) -> None:
    status, content_type, body = api.answer("GET", "/api/v1/namespaces/ecommerce/secrets")

    assert (status, content_type) == (404, "application/json")
    assert json.loads(body) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "the server could not find the requested resource",
        "reason": "NotFound",
        "code": 404,
    }
