"""`triage check` end to end, against real servers and the seed incident.

The seed (examples/session-cache/incident.txt): the Redis session store `session-cache` in
namespace `ecommerce`, OOMKilled 43 times at a 64Mi limit, no maxmemory, `noeviction`, no
persistence, no password. Here the same incident is served live:

* a real redis-server configured like the seed (`--maxmemory 0 --maxmemory-policy noeviction
  --save "" --appendonly no`, no password) holding a few thousand `session:<uuid>` keys without TTL;
* a real Prometheus whose TSDB holds the seed's six hours of history (tests/live/seed_history.py,
  turned into blocks with `promtool tsdb create-blocks-from openmetrics`);
* the Kubernetes API stand-in (tests/standins/kube_api.py) serving the seed's pod, its ReplicaSet
  and Deployment, its events and its previous container's log, reached through a kubeconfig.

Every server runs on a free local port and is stopped at the end (the `servers` fixture of
conftest.py stops the processes it started; the stand-ins are stopped by their fixtures).
The tests assert on what the diagnosis says and cites, never on how long it took.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests  # type: ignore[import-untyped, unused-ignore]

from analyzers.evidence import Series
from bot.cli import main
from bot.collectors.base import Target
from bot.collectors.prometheus_collector import PrometheusCollector
from bot.collectors.redis_collector import RedisCollector
from tests.live import seed_history
from tests.standins.kube_api import KubeApiStandIn

if TYPE_CHECKING:
    from conftest import RedisServer, Servers

Json = dict[str, Any]
StartRedis = Callable[..., "RedisServer"]
RedisCli = Callable[..., str]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "session-cache"
SERVICE = seed_history.SERVICE
NAMESPACE = seed_history.NAMESPACE
POD = seed_history.POD
CONTAINER = seed_history.CONTAINER
REPLICASET = POD.rsplit("-", 1)[0]  # session-cache-7f4b8d9c65
DEPLOYMENT_UID = "b2d4e6f8-1a3c-4e5f-9a7b-0c2d4e6f8a1b"
REPLICASET_UID = "c4e6a8b0-2d4f-4a6b-8c0d-1e3f5a7b9c2d"
SESSION_KEYS = 3000
CLEAN_ENVIRONMENT = ("TRIAGE_CONFIG", "KUBECONFIG", "PROMETHEUS_URL")
# INFO fields that stay put while nobody writes; others (uptime, clients, memory) move on their own.
STABLE_INFO_FIELDS = {"db0", "maxmemory", "maxmemory_policy", "aof_enabled", "redis_version", "maxclients"}


# -- the seed's Redis -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seed_redis(start_redis: StartRedis) -> RedisServer:
    """A real Redis configured like the seed's, holding session keys that never expire.

    `start_redis` already passes `--save "" --appendonly no --maxmemory 0`, binds 127.0.0.1 and
    sets no password.
    """
    server = start_redis("--maxmemory-policy", "noeviction")
    rng = random.Random(20240912)
    with server.client() as client:
        pipeline = client.pipeline(transaction=False)
        for _ in range(SESSION_KEYS):
            session = uuid.UUID(int=rng.getrandbits(128), version=4)
            user = rng.randrange(10_000, 99_999)
            cart = [rng.randrange(1000, 9999) for _ in range(rng.randrange(0, 4))]
            pipeline.set(
                f"session:{session}", json.dumps({"user_id": user, "cart": cart, "csrf": session.hex})
            )
        pipeline.execute()
        assert client.dbsize() == SESSION_KEYS
    return server


# -- the seed's history in a real Prometheus -------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SeededPrometheus:
    url: str
    end: int  # the last sample of the history (Unix seconds)


@pytest.fixture(scope="module")
def incident_end() -> int:
    """The moment the seed's `kubectl` ran: two minutes ago, on the 15 s grid of the history."""
    return seed_history.default_end()


@pytest.fixture(scope="module")
def seeded_prometheus(
    servers: Servers, tmp_path_factory: pytest.TempPathFactory, incident_end: int
) -> SeededPrometheus:
    folder = tmp_path_factory.mktemp("seed-history")
    history = seed_history.write(folder / "history.om", incident_end)
    data = folder / "data"
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: it comes with the Debian package prometheus", pytrace=False)
    converted = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(history), str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert converted.returncode == 0, converted.stdout + converted.stderr
    port = _free_port()
    process = servers.start(
        "prometheus",
        "--config.file=prometheus.yml",
        f"--storage.tsdb.path={data}",
        "--storage.tsdb.retention.time=30d",
        f"--web.listen-address=127.0.0.1:{port}",
        files={"prometheus.yml": "global:\n  scrape_interval: 15s\nscrape_configs: []\n"},
    )
    url = f"http://127.0.0.1:{port}"
    servers.wait_until(lambda: _ready(url), "prometheus with the seed history", process)
    restarts = f'kube_pod_container_status_restarts_total{{pod="{POD}"}}'
    servers.wait_until(lambda: _instant(url, restarts) == [43.0], "the seed history to be queryable", process)
    return SeededPrometheus(url, incident_end)


# -- the seed's pod in the Kubernetes API stand-in -------------------------------------------------
@pytest.fixture(scope="module")
def kube_api(incident_end: int) -> Iterator[KubeApiStandIn]:
    with KubeApiStandIn(seed_cluster(incident_end)) as standin:
        standin.set_log(NAMESPACE, POD, CONTAINER, previous_log(incident_end), previous=True)
        yield standin


@pytest.fixture(scope="module")
def kubeconfig(kube_api: KubeApiStandIn, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(
        textwrap.dedent(
            f"""\
            apiVersion: v1
            kind: Config
            clusters:
            - name: standin
              cluster:
                server: {kube_api.url}
            users:
            - name: anonymous
              user: {{}}
            contexts:
            - name: standin
              context:
                cluster: standin
                user: anonymous
            current-context: standin
            """
        )
    )
    return path


def seed_cluster(end: int) -> list[Json]:
    """The seed's pod as the API server returns it, with its ReplicaSet, Deployment and events.

    Times follow the history: created 6h12m before `end`, the last container started 2 minutes
    before it and was killed 45 s later (Started 14:38:02, Finished 14:38:47 in the seed).
    """
    created = end - 6 * 3600 - 12 * 60
    last_start = end - seed_history.LAST_RESTART_AGO
    last_kill = last_start + seed_history.LAST_RUN_SECONDS
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
    pod_uid = seed_history.POD_UID
    pod: Json = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": POD,
            "generateName": f"{REPLICASET}-",
            "namespace": NAMESPACE,
            "uid": pod_uid,
            "resourceVersion": "48213377",
            "creationTimestamp": _iso(created),
            "labels": labels,
            "ownerReferences": [_controller("ReplicaSet", REPLICASET, REPLICASET_UID)],
        },
        "spec": {
            "containers": [container_spec],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "nodeName": seed_history.NODE,
            "schedulerName": "default-scheduler",
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "Initialized", "status": "True", "lastTransitionTime": _iso(created)},
                {
                    "type": "Ready",
                    "status": "False",
                    "lastTransitionTime": _iso(last_kill),
                    "reason": "ContainersNotReady",
                    "message": f"containers with unready status: [{CONTAINER}]",
                },
                {
                    "type": "ContainersReady",
                    "status": "False",
                    "lastTransitionTime": _iso(last_kill),
                    "reason": "ContainersNotReady",
                    "message": f"containers with unready status: [{CONTAINER}]",
                },
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": _iso(created)},
            ],
            "hostIP": "10.0.3.17",
            "podIP": "10.42.3.58",
            "podIPs": [{"ip": "10.42.3.58"}],
            "startTime": _iso(created),
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
                            "startedAt": _iso(last_start),
                            "finishedAt": _iso(last_kill),
                            "containerID": "containerd://9b2f0c7e4d1a3b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c",
                        }
                    },
                    "ready": False,
                    "restartCount": 43,
                    "image": seed_history.IMAGE,
                    "imageID": "docker.io/library/redis@sha256:"
                    "5a1f2e3d4c5b6a7980f1e2d3c4b5a6978869504132a4b5c6d7e8f90a1b2c3d4e",
                    "containerID": "containerd://9b2f0c7e4d1a3b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c",
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
            "resourceVersion": "48190012",
            "creationTimestamp": _iso(created),
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
            "resourceVersion": "48190015",
            "generation": 1,
            "creationTimestamp": _iso(created),
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
        "resourceVersion": "48190030",
        "fieldPath": f"spec.containers{{{CONTAINER}}}",
    }
    return [
        pod,
        replicaset,
        deployment,
        _event(
            "17f4a2c1b9d3e001",
            in_pod,
            "BackOff",
            f"Back-off restarting failed container {CONTAINER} in pod {POD}_{NAMESPACE}({pod_uid})",
            "Warning",
            812,
            created + 300,
            end,
        ),
        _event(
            "17f4a2c1b9d3e002",
            in_pod,
            "Pulled",
            'Container image "redis:7.2-alpine" already present on machine',
            "Normal",
            43,
            created + 60,
            last_start,
        ),
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


def previous_log(end: int) -> str:
    """The last container's output: Redis starting, then the seed's fork failure before the kill."""
    start = end - seed_history.LAST_RESTART_AGO
    killed = start + seed_history.LAST_RUN_SECONDS
    lines = [
        (start, "C", "*", "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"),
        (start, "C", "*", "Redis version=7.2.5, bits=64, commit=00000000, modified=0, pid=1, just started"),
        (start, "C", "*", "Configuration loaded"),
        (start + 0.001, "M", "*", "monotonic clock: POSIX clock_gettime"),
        (start + 0.011, "M", "*", "Running mode=standalone, port=6379."),
        (start + 0.012, "M", "*", "Server initialized"),
        (start + 0.012, "M", "*", "Ready to accept connections tcp"),
        (killed - 5.997, "M", "#", "Can't save in background: fork: Cannot allocate memory"),
    ]
    return "".join(f"1:{role} {_redis_time(at)} {level} {text}\n" for at, role, level, text in lines)


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
    suffix: str,
    involved: Json,
    reason: str,
    message: str,
    kind: str,
    count: int,
    first: float,
    last: float,
) -> Json:
    return {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {"name": f"{POD}.{suffix}", "namespace": NAMESPACE, "resourceVersion": "48213390"},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": {"component": "kubelet", "host": seed_history.NODE},
        "firstTimestamp": _iso(first),
        "lastTimestamp": _iso(last),
        "count": count,
        "type": kind,
        "reportingComponent": "kubelet",
        "reportingInstance": seed_history.NODE,
    }


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _redis_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%d %b %Y %H:%M:%S.%f")[:-3]


# -- servers that hang -----------------------------------------------------------------------------
class HangingServer:
    """Accepts TCP connections and never answers (nor closes them) until stopped: a hung server."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self._held: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="hanging-server", daemon=True)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(connection)

    def __enter__(self) -> HangingServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()
        self._thread.join()
        for connection in self._held:
            connection.close()
        self._listener.close()

    @property
    def accepted(self) -> int:
        return len(self._held)


# -- running `triage` ------------------------------------------------------------------------------
@pytest.fixture
def triage_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[..., Json]:
    """Runs `triage ARGS --json` in this process, with no catalog, $KUBECONFIG or ~/.kube/config."""
    for name in CLEAN_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config to find

    def run(*args: str) -> Json:
        capsys.readouterr()
        code = main([*args, "--json"])
        out = capsys.readouterr().out
        assert code == 0, out
        diagnosis: Json = json.loads(out)
        assert diagnosis["schema"] == "triage.diagnosis/v1"
        return diagnosis

    return run


def finding_ids(diagnosis: Json) -> set[str]:
    return {finding["id"] for finding in diagnosis["findings"]}


def finding(diagnosis: Json, finding_id: str) -> Json:
    found: list[Json] = [f for f in diagnosis["findings"] if f["id"] == finding_id]
    assert found, f"{finding_id} not among {sorted(finding_ids(diagnosis))}"
    return found[0]


def source(diagnosis: Json, name: str) -> Json:
    reports: list[Json] = [s for s in diagnosis["sources"] if s["name"] == name]
    assert len(reports) == 1, diagnosis["sources"]
    return reports[0]


# -- 1. Redis alone --------------------------------------------------------------------------------
REDIS_FINDINGS = {
    # id -> what one of its cited excerpts must say (the INFO / CONFIG GET / ACL LIST text)
    "redis-maxmemory-unset": r'^1\) "maxmemory"\n2\) "0"$|^maxmemory:0$',
    "redis-noeviction-policy": r'^1\) "maxmemory-policy"\n2\) "noeviction"$|^maxmemory_policy:noeviction$',
    "redis-keys-without-ttl": rf"^db0:keys={SESSION_KEYS},expires=0,",
    "redis-persistence-disabled": r'^1\) "save"\n2\) ""$',
    "redis-auth-disabled": r'^user default on (?:.* )?nopass\b|^1\) "requirepass"\n2\) ""$',
}


def test_redis_like_the_seed_gives_its_findings_citing_what_the_server_said(
    seed_redis: RedisServer, redis_cli: RedisCli, triage_json: Callable[..., Json]
) -> None:
    diagnosis = triage_json(
        "check", SERVICE, "--redis-url", seed_redis.url, "--no-kubernetes", "--no-prometheus"
    )

    origin = f"redis://127.0.0.1:{seed_redis.port}"
    assert source(diagnosis, "redis")["status"] == "ok", diagnosis["sources"]
    missing = set(REDIS_FINDINGS) - finding_ids(diagnosis)
    if missing:
        pytest.fail(
            f"missing {sorted(missing)}; found {sorted(finding_ids(diagnosis))}.\n"
            f"What the Redis collector returned:\n{_redis_evidence(seed_redis.url)}",
            pytrace=False,
        )
    for finding_id, expected in REDIS_FINDINGS.items():
        cited = finding(diagnosis, finding_id)["evidence"]
        assert cited, finding_id
        for evidence in cited:
            assert evidence["source"] == "redis-live", (finding_id, evidence)
            assert evidence["ref"].startswith(origin + " "), (finding_id, evidence)
            command = evidence["ref"][len(origin) + 1 :]
            assert _server_said(seed_redis, redis_cli, command, evidence["excerpt"]), (finding_id, evidence)
        excerpts = [evidence["excerpt"] for evidence in cited]
        assert any(re.search(expected, excerpt) for excerpt in excerpts), (finding_id, excerpts)
    persistence = [e["excerpt"] for e in finding(diagnosis, "redis-persistence-disabled")["evidence"]]
    assert '1) "appendonly"\n2) "no"' in persistence or "aof_enabled:0" in persistence, persistence


def _server_said(server: RedisServer, redis_cli: RedisCli, command: str, excerpt: str) -> bool:
    """Whether `excerpt` is text of the server's own reply to `command`, asked again now."""
    words = command.split()
    assert words[0] in ("INFO", "CONFIG", "ACL"), f"not a command the collector sends: {command}"
    reply = redis_cli(server, *words)
    if words[0] != "INFO":
        # redis-cli prints `1) "user default on nopass ..."`: the excerpt is a reply line or all of it
        return excerpt in reply or all(f'"{line}"' in reply for line in excerpt.splitlines())
    fields = dict(
        line.split(":", 1) for line in reply.splitlines() if ":" in line and not line.startswith("#")
    )
    for line in excerpt.splitlines():
        key, _, value = line.partition(":")
        if key not in fields or (key in STABLE_INFO_FIELDS and fields[key].strip() != value.strip()):
            return False
    return True


def _redis_evidence(url: str) -> str:
    evidence = RedisCollector(url).collect(Target(SERVICE), 10.0)
    lines = [
        f"  {fact.kind} {fact.key}={fact.value!r} <- {fact.source.ref}: {fact.source.excerpt!r}"
        for fact in evidence.facts
        if fact.kind != "redis.info" or re.search(r"acl|auth|pass|protected|user", fact.key or "")
    ]
    return "\n".join([*lines, f"  (+ {len(evidence.facts) - len(lines)} other INFO fields)"])


# -- 2. Prometheus alone, with the seed's history ---------------------------------------------------
def test_seed_history_in_prometheus_gives_oom_crash_loop_and_limit(
    seeded_prometheus: SeededPrometheus, triage_json: Callable[..., Json]
) -> None:
    diagnosis = triage_json(
        "check", SERVICE, "--prometheus-url", seeded_prometheus.url, "--no-kubernetes", "--no-redis"
    )

    report = source(diagnosis, "prometheus")
    assert report["status"] == "ok", report
    expected = {"container-oom-killed", "crash-loop", "memory-limit-too-low"}
    missing = expected - finding_ids(diagnosis)
    if missing:
        pytest.fail(
            f"missing {sorted(missing)}; found {sorted(finding_ids(diagnosis))}.\n"
            f"What the Prometheus collector returned:\n{_prometheus_series(seeded_prometheus.url)}",
            pytrace=False,
        )
    # Found through the standard labels: pods named after the service, exporters named after it.
    standard = re.compile(r'pod=~"session-cache-\.\*"|instance=~"session-cache\.\*"')
    for finding_id in expected:
        for evidence in finding(diagnosis, finding_id)["evidence"]:
            assert evidence["source"] == "prometheus-api", (finding_id, evidence)
            assert standard.search(evidence["ref"]), (finding_id, evidence)
    assert _cites(
        diagnosis, "container-oom-killed", "kube_pod_container_status_last_terminated_reason", '"1"'
    )
    assert _cites(diagnosis, "crash-loop", "kube_pod_container_status_restarts_total", '"43"')
    limit = finding(diagnosis, "memory-limit-too-low")
    assert _cites(diagnosis, "memory-limit-too-low", "kube_pod_container_resource_limits", '"67108864"')
    assert _cites(diagnosis, "memory-limit-too-low", "redis_memory_used_bytes", '"58720256"')
    assert "64Mi" in limit["title"], limit


def _cites(diagnosis: Json, finding_id: str, metric: str, value: str) -> bool:
    return any(
        e["ref"].startswith(metric + "{") and value in e["excerpt"]
        for e in finding(diagnosis, finding_id)["evidence"]
    )


def _prometheus_series(url: str) -> str:
    evidence = PrometheusCollector(url).collect(Target(SERVICE, since_seconds=3600), 10.0)
    lines = [
        f"  {fact.source.ref}: {len(series.points)} points, last {series.last:g}, peak {series.peak:g}, "
        f"labels {dict(series.labels)}"
        for fact in evidence.facts
        if isinstance(series := fact.value, Series)
    ]
    return "\n".join(lines) or "  (no series)"


# -- 3. parity: live sources vs the pasted seed --------------------------------------------------------
def test_live_sources_give_every_finding_of_the_pasted_seed(
    seeded_prometheus: SeededPrometheus,
    seed_redis: RedisServer,
    kube_api: KubeApiStandIn,
    kubeconfig: Path,
    triage_json: Callable[..., Json],
) -> None:
    live = triage_json(
        "check",
        SERVICE,
        "--namespace",
        NAMESPACE,
        "--kubeconfig",
        str(kubeconfig),
        "--prometheus-url",
        seeded_prometheus.url,
        "--redis-url",
        seed_redis.url,
    )
    pasted = triage_json("diagnose", str(EXAMPLE), "--service", SERVICE)

    statuses = {s["name"]: (s["status"], s["detail"]) for s in live["sources"]}
    assert {name: status for name, (status, _) in statuses.items()} == {
        "kubernetes": "ok",
        "prometheus": "ok",
        "redis": "ok",
    }, statuses
    assert kube_api.served(f"/pods/{POD}/log"), "the previous container's log was not asked for"
    live_ids, pasted_ids = finding_ids(live), finding_ids(pasted)
    # What only the paste can show: the client's (webapp's) log, which `triage check` does not
    # collect, and the Helm values whose `save ""` the live server actually runs with.
    pasted_ids -= {"downstream-latency", "redis-config-not-applied"}
    assert {"container-oom-killed", "crash-loop", "memory-limit-too-low"} <= live_ids
    assert pasted_ids <= live_ids, (
        f"\npasted: {sorted(pasted_ids)}\nlive:   {sorted(live_ids)}\n"
        f"missing live: {sorted(pasted_ids - live_ids)}\nonly live: {sorted(live_ids - pasted_ids)}"
    )


# -- 4. hanging sources ----------------------------------------------------------------------------------
def test_hanging_sources_are_marked_error_and_the_diagnosis_still_comes(tmp_path: Path) -> None:
    triage = Path(sys.executable).parent / "triage"
    environment = {key: value for key, value in os.environ.items() if key not in CLEAN_ENVIRONMENT}
    environment["HOME"] = str(tmp_path)
    with HangingServer() as hung_redis, HangingServer() as hung_prometheus:
        redis_url = f"redis://127.0.0.1:{hung_redis.port}"
        prometheus_url = f"http://127.0.0.1:{hung_prometheus.port}"
        finished = subprocess.run(
            [
                str(triage),
                "check",
                SERVICE,
                "--redis-url",
                redis_url,
                "--prometheus-url",
                prometheus_url,
                "--no-kubernetes",
                "--timeout",
                "1",
                "--deadline",
                "3",
                "--json",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=environment,
            timeout=60,  # a hang fails the test here instead of blocking the run
        )
        accepted = (hung_redis.accepted, hung_prometheus.accepted)

    assert finished.returncode == 4, finished.stderr  # every source asked for failed: nothing was read
    diagnosis = json.loads(finished.stdout)
    assert diagnosis["schema"] == "triage.diagnosis/v1"
    assert diagnosis["service"] == SERVICE and diagnosis["summary"]
    assert accepted[0] >= 1 and accepted[1] >= 1, f"connections accepted (redis, prometheus): {accepted}"
    redis_report, prometheus_report = source(diagnosis, "redis"), source(diagnosis, "prometheus")
    assert redis_report["status"] == "error", redis_report
    assert prometheus_report["status"] == "error", prometheus_report
    for report, url in ((redis_report, redis_url), (prometheus_report, prometheus_url)):
        assert re.search(r"timed out|no answer within", report["detail"]), report
        assert url in report["detail"] or "no answer within" in report["detail"], report
    assert source(diagnosis, "kubernetes") == {
        "name": "kubernetes",
        "kind": "kubernetes",
        "status": "skipped",
        "detail": "turned off (--no-kubernetes)",
    }


# -- helpers -------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _ready(url: str) -> bool:
    try:
        return bool(requests.get(f"{url}/-/ready", timeout=1).status_code == 200)
    except requests.exceptions.RequestException:
        return False


def _instant(url: str, promql: str) -> list[float]:
    """The values of an instant query now ([] before Prometheus has loaded the blocks)."""
    try:
        params: dict[str, str | float] = {"query": promql, "time": time.time()}
        answer = requests.get(f"{url}/api/v1/query", params=params, timeout=1)
        results = answer.json().get("data", {}).get("result", [])
    except (requests.exceptions.RequestException, ValueError):
        return []
    return [float(result["value"][1]) for result in results]
