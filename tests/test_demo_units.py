"""`triage demo`'s parts on their own: the simulated cluster's controller and kubelet, the CLI hook."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bot.demo import history, incident
from bot.demo.cluster import BACK_OFF, RUN_BEFORE_KILL, SimulatedCluster

DEPLOYMENT = f"/apis/apps/v1/namespaces/{incident.NAMESPACE}/deployments/{incident.SERVICE}"


@pytest.fixture
def cluster() -> Iterator[SimulatedCluster]:
    running = SimulatedCluster(history.default_end(), tick=3600).start()  # stepped by the test only
    yield running
    running.stop()


def patch_memory(cluster: SimulatedCluster, limit: str) -> None:
    body = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": incident.CONTAINER,
                            "resources": {"limits": {"memory": limit}, "requests": {"memory": limit}},
                        }
                    ]
                }
            }
        }
    }
    status, _, answer = cluster.api.answer(
        "PATCH", DEPLOYMENT, "application/strategic-merge-patch+json", json.dumps(body).encode()
    )
    assert status == 200, answer


def restarts(cluster: SimulatedCluster) -> dict[str, int]:
    return {
        pod["metadata"]["name"]: int(pod["status"]["containerStatuses"][0]["restartCount"])
        for pod in cluster.pods()
    }


def test_the_crash_looping_pod_keeps_being_oom_killed_until_a_patch_rolls_out_a_pod_that_fits(
    cluster: SimulatedCluster,
) -> None:
    start = float(cluster.end)
    cluster.step(start)
    assert restarts(cluster) == {incident.POD: 43}
    cluster.step(start + BACK_OFF + 1)
    assert restarts(cluster) == {incident.POD: 44}
    assert cluster.oom_killed_recently(start + BACK_OFF + 1)

    patch_memory(cluster, "256Mi")
    cluster.step(start + 60)
    (pod,) = cluster.pods()
    assert pod["metadata"]["name"] != incident.POD  # the old pod is gone with the rollout
    assert pod["spec"]["containers"][0]["resources"]["limits"]["memory"] == "256Mi"
    deployment = cluster.api.get("Deployment", incident.NAMESPACE, incident.SERVICE)
    assert deployment["status"]["observedGeneration"] == deployment["metadata"]["generation"] == 2

    cluster.step(start + 3600)  # an hour later: still running, the alert's condition gone
    assert list(restarts(cluster).values()) == [0]
    assert not cluster.oom_killed_recently(start + 3600)


def test_a_roll_back_to_the_small_limit_brings_the_oom_kills_back(cluster: SimulatedCluster) -> None:
    start = float(cluster.end)
    patch_memory(cluster, "256Mi")
    cluster.step(start)
    patch_memory(cluster, "64Mi")
    cluster.step(start + 1)
    (pod,) = cluster.pods()
    cluster.step(start + 1 + RUN_BEFORE_KILL)
    assert restarts(cluster) == {pod["metadata"]["name"]: 1}
    assert cluster.oom_killed_recently(start + 1 + RUN_BEFORE_KILL)


def test_the_cli_imports_the_demo_and_the_doctor_only_when_asked() -> None:
    code = (
        "import sys\n"
        "from bot.cli import _parser\n"
        "_parser().parse_args(['demo', '--no-browser'])\n"
        "_parser().parse_args(['doctor'])\n"
        "print(sorted(m for m in sys.modules if m.startswith(('bot.demo', 'bot.doctor'))))\n"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert ran.stdout.strip() == "[]"
