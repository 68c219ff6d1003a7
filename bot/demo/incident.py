"""The seed incident (examples/session-cache) as the demo runs it.

The objects the simulated cluster serves (the session-cache Deployment at 64Mi, its ReplicaSet,
its crash-looping pod with 43 OOM kills, their events and logs, the webapp that uses it), the
session keys the real session-cache Redis holds, and the demo's service catalog. Times follow the
history in `bot.demo.history`: the last container started 2 minutes before `end` and was killed
45 s later.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import redis

from bot.demo import history

Json = dict[str, Any]

SERVICE = history.SERVICE
NAMESPACE = history.NAMESPACE
POD = history.POD
CONTAINER = history.CONTAINER
REPLICASET = POD.rsplit("-", 1)[0]  # session-cache-7f4b8d9c65
DEPLOYMENT_UID = "b2d4e6f8-1a3c-4e5f-9a7b-0c2d4e6f8a1b"
REPLICASET_UID = "c4e6a8b0-2d4f-4a6b-8c0d-1e3f5a7b9c2d"
WEBAPP = "webapp"
WEBAPP_POD = "webapp-5d8c7b6f4-q9x2t"
WEBAPP_CONTAINER = "webapp"
SESSION_KEYS = 30_000
# What the session store needs to run: the working set the history climbs to before each kill
# (99% of 64Mi) plus a fork's copy-on-write. A pod whose limit is below it keeps being OOM-killed.
MEMORY_NEEDED = 80 * 2**20

# The Slack side of the demo: one channel, the bot's users and the people acting on the page.
CHANNEL_ID = "C0ONCALL"
CHANNEL_NAME = "oncall"
REQUESTER = "U0DEMORILEY"
APPROVER = "U0DEMOALEX"
OUTSIDER = "U0DEMOSAM"
USERS = {
    REQUESTER: "Riley (on call, requester)",
    APPROVER: "Alex (SRE, approver)",
    OUTSIDER: "Sam (not an approver)",
}


def catalog(prometheus_url: str | None, alertmanager_url: str | None, redis_url: str) -> Json:
    """The demo's service catalog (config/catalog.example.yaml's shape)."""
    found: Json = {
        "namespaces": [NAMESPACE],
        "approvers": [APPROVER],
        "allowed_channels": [CHANNEL_ID],
        "alert_routes": [{"match": {"namespace": NAMESPACE}, "channel": CHANNEL_ID}],
        "remediation": {"verify_seconds": 20, "expiry_minutes": 60},
        "services": {
            SERVICE: {
                "namespace": NAMESPACE,
                "selector": f"app={SERVICE}",
                "redis_url": redis_url,
                "prometheus": {"matchers": {"namespace": NAMESPACE}},
                "channel": CHANNEL_ID,
                "owners": [REQUESTER],
                "approvers": [APPROVER],
                "production": False,
            }
        },
    }
    if prometheus_url:
        found["prometheus_url"] = prometheus_url
    if alertmanager_url:
        found["alertmanager_url"] = alertmanager_url
    return found


def alert_labels() -> dict[str, str]:
    """The labels of the alert Alertmanager fires: KubePodOOMKilled for the session-cache pod."""
    return {
        "alertname": "KubePodOOMKilled",
        "severity": "warning",
        "namespace": NAMESPACE,
        "service": SERVICE,
        "pod": POD,
        "container": CONTAINER,
        "triage": "true",
    }


def alert_annotations() -> dict[str, str]:
    return {
        "summary": f"{NAMESPACE}/{POD}: container {CONTAINER} was OOMKilled",
        "description": f"Container {CONTAINER} of pod {NAMESPACE}/{POD} was killed for exceeding its "
        "memory limit and restarted in the last 15 minutes.",
    }


def fill_session_store(client: redis.Redis, keys: int = SESSION_KEYS) -> int:
    """Session keys without a TTL, as the webapp writes them; returns how many the server holds."""
    rng = random.Random(20240912)
    pipeline = client.pipeline(transaction=False)
    for number in range(keys):
        session = uuid.UUID(int=rng.getrandbits(128), version=4)
        user = rng.randrange(10_000, 99_999)
        cart = [rng.randrange(1000, 9999) for _ in range(rng.randrange(0, 4))]
        pipeline.set(f"session:{session}", json.dumps({"user_id": user, "cart": cart, "csrf": session.hex}))
        if number % 5000 == 4999:
            pipeline.execute()
    pipeline.execute()
    return int(client.dbsize())


def objects(end: int) -> list[Json]:
    """The incident's namespace as the API server returns it."""
    created = end - 6 * 3600 - 12 * 60
    last_start = end - history.LAST_RESTART_AGO
    last_kill = last_start + history.LAST_RUN_SECONDS
    labels = {"app": SERVICE, "pod-template-hash": REPLICASET.rsplit("-", 1)[1]}
    container_spec: Json = {
        "name": CONTAINER,
        "image": "redis:7.2-alpine",
        "args": ["redis-server", "--maxmemory-policy", "noeviction", "--save", "", "--appendonly", "no"],
        "ports": [{"name": "redis", "containerPort": 6379, "protocol": "TCP"}],
        "resources": {
            "limits": {"cpu": "250m", "memory": "64Mi"},
            "requests": {"cpu": "100m", "memory": "64Mi"},
        },
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    }
    pod_uid = history.POD_UID
    pod: Json = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": POD,
            "generateName": f"{REPLICASET}-",
            "namespace": NAMESPACE,
            "uid": pod_uid,
            "creationTimestamp": iso(created),
            "labels": labels,
            "ownerReferences": [_controller("ReplicaSet", REPLICASET, REPLICASET_UID)],
        },
        "spec": {
            "containers": [container_spec],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "nodeName": history.NODE,
            "schedulerName": "default-scheduler",
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "Initialized", "status": "True", "lastTransitionTime": iso(created)},
                _not_ready("Ready", last_kill),
                _not_ready("ContainersReady", last_kill),
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": iso(created)},
            ],
            "hostIP": "10.0.3.17",
            "podIP": "10.42.3.58",
            "podIPs": [{"ip": "10.42.3.58"}],
            "startTime": iso(created),
            "qosClass": "Burstable",
            "containerStatuses": [
                {
                    "name": CONTAINER,
                    "state": {
                        "waiting": {
                            "reason": "CrashLoopBackOff",
                            "message": f"back-off 5m0s restarting failed container={CONTAINER} "
                            f"pod={POD}_{NAMESPACE}({pod_uid})",
                        }
                    },
                    "lastState": {
                        "terminated": {
                            "exitCode": 137,
                            "reason": "OOMKilled",
                            "startedAt": iso(last_start),
                            "finishedAt": iso(last_kill),
                        }
                    },
                    "ready": False,
                    "restartCount": history.RESTARTS,
                    "image": history.IMAGE,
                    "started": False,
                }
            ],
        },
    }
    template = {"metadata": {"labels": {"app": SERVICE}}, "spec": {"containers": [container_spec]}}
    replicaset: Json = {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": {
            "name": REPLICASET,
            "namespace": NAMESPACE,
            "uid": REPLICASET_UID,
            "creationTimestamp": iso(created),
            "labels": labels,
            "annotations": {"deployment.kubernetes.io/revision": "1"},
            "ownerReferences": [_controller("Deployment", SERVICE, DEPLOYMENT_UID)],
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": template["spec"]},
        },
        "status": {"replicas": 1, "fullyLabeledReplicas": 1, "observedGeneration": 1},
    }
    deployment: Json = {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {
            "name": SERVICE,
            "namespace": NAMESPACE,
            "uid": DEPLOYMENT_UID,
            "generation": 1,
            "creationTimestamp": iso(created),
            "labels": {"app": SERVICE},
            "annotations": {"deployment.kubernetes.io/revision": "1"},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": SERVICE}},
            "template": template,
            "strategy": {"type": "RollingUpdate"},
        },
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "updatedReplicas": 1,
            "unavailableReplicas": 1,
            "conditions": [
                {
                    "type": "Available",
                    "status": "False",
                    "reason": "MinimumReplicasUnavailable",
                    "message": "Deployment does not have minimum availability.",
                }
            ],
        },
    }
    in_pod = {
        "kind": "Pod",
        "namespace": NAMESPACE,
        "name": POD,
        "uid": pod_uid,
        "apiVersion": "v1",
        "fieldPath": f"spec.containers{{{CONTAINER}}}",
    }
    back_off = f"Back-off restarting failed container {CONTAINER} in pod {POD}_{NAMESPACE}({pod_uid})"
    pulled = 'Container image "redis:7.2-alpine" already present on machine'
    return [
        pod,
        replicaset,
        deployment,
        *_webapp(created),
        _event("17f4a2c1b9d3e001", in_pod, "BackOff", back_off, "Warning", 812, created + 300, end),
        _event("17f4a2c1b9d3e002", in_pod, "Pulled", pulled, "Normal", 43, created + 60, last_start),
        _event(
            "17f4a2c1b9d3e003",
            in_pod,
            "Created",
            f"Created container {CONTAINER}",
            "Normal",
            44,
            created,
            last_start,
        ),
        _event(
            "17f4a2c1b9d3e004",
            in_pod,
            "Started",
            f"Started container {CONTAINER}",
            "Normal",
            44,
            created,
            last_start,
        ),
    ]


def redis_log(start: float, killed: float | None) -> str:
    """A session-cache container's output: Redis starting, and when it is killed, the fork failure before."""
    lines = [
        (start, "C", "*", "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"),
        (start, "C", "*", "Redis version=7.2.5, bits=64, commit=00000000, modified=0, pid=1, just started"),
        (start, "C", "*", "Configuration loaded"),
        (start + 0.001, "M", "*", "monotonic clock: POSIX clock_gettime"),
        (start + 0.011, "M", "*", "Running mode=standalone, port=6379."),
        (start + 0.012, "M", "*", "Server initialized"),
        (start + 0.012, "M", "*", "Ready to accept connections tcp"),
    ]
    if killed is not None:
        lines.append((killed - 5.997, "M", "#", "Can't save in background: fork: Cannot allocate memory"))
    return "".join(f"1:{role} {_redis_time(at)} {level} {text}\n" for at, role, level, text in lines)


def webapp_log(end: float) -> str:
    """The client's complaints about its session store, in logfmt."""
    lines = []
    for ago in (300, 190, 122, 75, 31):
        at = iso(end - ago)
        lines.append(
            f'time="{at}" level=warning msg="session store slow" latency_ms={2000 + ago * 3} '
            'endpoint="/api/checkout"'
        )
    lines.append(
        f'time="{iso(end - 20)}" level=error msg="session store unavailable" '
        f'error="dial tcp {SERVICE}:6379: connect: connection refused"'
    )
    return "\n".join(lines) + "\n"


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _webapp(created: float) -> list[Json]:
    labels = {"app": WEBAPP, "pod-template-hash": WEBAPP_POD.rsplit("-", 2)[1]}
    container: Json = {
        "name": WEBAPP_CONTAINER,
        "image": "registry.example.com/shop/webapp:4.12.1",
        "env": [{"name": "SESSION_STORE_ADDR", "value": f"{SERVICE}:6379"}],
        "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "200m", "memory": "256Mi"}},
    }
    deployment: Json = {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {
            "name": WEBAPP,
            "namespace": NAMESPACE,
            "uid": "e1f2a3b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b",
            "generation": 7,
            "creationTimestamp": iso(created - 86400 * 30),
            "labels": {"app": WEBAPP},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": WEBAPP}},
            "template": {"metadata": {"labels": {"app": WEBAPP}}, "spec": {"containers": [container]}},
        },
        "status": {"observedGeneration": 7, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1},
    }
    pod: Json = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": WEBAPP_POD,
            "namespace": NAMESPACE,
            "uid": "f2a3b4c5-6d7e-4f8a-9b0c-1d2e3f4a5b6c",
            "creationTimestamp": iso(created - 86400),
            "labels": labels,
        },
        "spec": {"containers": [container], "nodeName": "pool-general-1"},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": WEBAPP_CONTAINER,
                    "state": {"running": {"startedAt": iso(created - 86400)}},
                    "ready": True,
                    "restartCount": 0,
                    "image": "registry.example.com/shop/webapp:4.12.1",
                    "started": True,
                }
            ],
        },
    }
    return [deployment, pod]


def _not_ready(kind: str, since: float) -> Json:
    return {
        "type": kind,
        "status": "False",
        "lastTransitionTime": iso(since),
        "reason": "ContainersNotReady",
        "message": f"containers with unready status: [{CONTAINER}]",
    }


def _controller(kind: str, name: str, uid: str) -> Json:
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _event(
    suffix: str, involved: Json, reason: str, message: str, kind: str, count: int, first: float, last: float
) -> Json:
    return {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {"name": f"{POD}.{suffix}", "namespace": NAMESPACE},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": {"component": "kubelet", "host": history.NODE},
        "firstTimestamp": iso(first),
        "lastTimestamp": iso(last),
        "count": count,
        "type": kind,
        "reportingComponent": "kubelet",
        "reportingInstance": history.NODE,
    }


def _redis_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%d %b %Y %H:%M:%S.%f")[:-3]
