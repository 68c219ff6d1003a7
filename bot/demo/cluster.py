"""The demo's SIMULATED Kubernetes cluster: the API server stand-in plus a tiny controller and kubelet.

Not a cluster: `KubeApiStandIn` (bot/demo/simulated/kube_api.py) answers the REST calls of the
official client with the real API server's paths, shapes and refusals. This module plays what
runs behind a real API server, once a second:

* the Deployment controller: a spec change (the bot's PATCH) is rolled out, a ReplicaSet and a new
  pod of the new template replacing the old pod;
* the kubelet: a session-cache container whose memory limit is below what the session store
  needs (`incident.MEMORY_NEEDED`) is OOM-killed a while after it starts, again and again; one
  with enough memory keeps running;
* what the alert rule sees: a container OOM-killed in the last 15 minutes.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from analyzers.quantity import parse_k8s_quantity
from bot.demo import history, incident
from bot.demo.simulated.kube_api import Json, KubeApiStandIn

log = logging.getLogger(__name__)

RUN_BEFORE_KILL = 45.0  # seconds a too-small container runs before the kernel kills it
BACK_OFF = 30.0  # seconds the kubelet waits before starting it again (the demo's back-off)
RECENT = 15 * 60.0  # an OOM kill this recent keeps the alert firing


class SimulatedCluster:
    def __init__(self, end: int, tick: float = 1.0) -> None:
        self.api = KubeApiStandIn(incident.objects(end))
        self.end = end
        self._tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="simulated-cluster", daemon=True)
        self._next_kill: dict[str, float] = {}  # pod -> when its container is killed next
        self._lock = threading.Lock()
        last_start = end - history.LAST_RESTART_AGO
        killed = last_start + history.LAST_RUN_SECONDS
        log_text = incident.redis_log(last_start, killed)
        for previous in (True, False):  # a container waiting in back-off shows its last run's output
            self.api.set_log(incident.NAMESPACE, incident.POD, incident.CONTAINER, log_text, previous)
        self.api.set_log(
            incident.NAMESPACE, incident.WEBAPP_POD, incident.WEBAPP_CONTAINER, incident.webapp_log(end)
        )

    @property
    def url(self) -> str:
        return self.api.url

    def start(self) -> SimulatedCluster:
        self.api.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.api.stop()

    def kubeconfig(self) -> str:
        """A kubeconfig for the official client: the simulated cluster, no credentials."""
        return (
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: simulated\n  cluster:\n    server: {self.api.url}\n"
            "users:\n- name: demo\n  user: {}\n"
            "contexts:\n- name: simulated\n  context:\n    cluster: simulated\n    user: demo\n"
            f"    namespace: {incident.NAMESPACE}\n"
            "current-context: simulated\n"
        )

    def oom_killed_recently(self, now: float | None = None) -> bool:
        """Whether a session-cache container was OOM-killed in the last 15 minutes (the alert's rule)."""
        moment = time.time() if now is None else now
        for pod in self._service_pods():
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                terminated = (status.get("lastState") or {}).get("terminated") or {}
                finished = _seconds(terminated.get("finishedAt"))
                if terminated.get("reason") == "OOMKilled" and finished and moment - finished < RECENT:
                    return True
        return False

    def pods(self) -> list[Json]:
        return self._service_pods()

    def step(self, now: float | None = None) -> None:
        """One round of the controller and the kubelet."""
        moment = time.time() if now is None else now
        deployment = self.api.get("Deployment", incident.NAMESPACE, incident.SERVICE)
        generation = int(deployment["metadata"].get("generation") or 1)
        observed = int((deployment.get("status") or {}).get("observedGeneration") or 0)
        if generation > observed:
            before = set(self.api.names("Pod", incident.NAMESPACE))
            self.api.roll_out("Deployment", incident.NAMESPACE, incident.SERVICE, created_at=moment)
            for name in sorted(set(self.api.names("Pod", incident.NAMESPACE)) - before):
                log.info("simulated cluster: rolled out pod %s", name)
                self.api.set_log(
                    incident.NAMESPACE, name, incident.CONTAINER, incident.redis_log(moment, None)
                )
        with self._lock:
            for pod in self._service_pods():
                name = pod["metadata"]["name"]
                if _memory_limit(pod) >= incident.MEMORY_NEEDED:
                    self._next_kill.pop(name, None)
                    continue
                if name not in self._next_kill:
                    started = _seconds(pod["metadata"].get("creationTimestamp")) or moment
                    first = started + RUN_BEFORE_KILL if name != incident.POD else moment + BACK_OFF
                    self._next_kill[name] = max(first, moment)
                if moment >= self._next_kill[name]:
                    self.api.restart(incident.NAMESPACE, name, incident.CONTAINER, "OOMKilled")
                    self.api.set_log(
                        incident.NAMESPACE,
                        name,
                        incident.CONTAINER,
                        incident.redis_log(moment - RUN_BEFORE_KILL, moment),
                        previous=True,
                    )
                    log.info("simulated cluster: %s OOMKilled (limit below what it needs)", name)
                    self._next_kill[name] = moment + BACK_OFF + RUN_BEFORE_KILL

    def _loop(self) -> None:
        while not self._stop.wait(self._tick):
            try:
                self.step()
            except Exception:  # the simulation must outlive any one failure
                log.exception("simulated cluster: step failed")

    def _service_pods(self) -> list[Json]:
        return [
            pod
            for pod in self.api.objects("Pod", incident.NAMESPACE)
            if (pod["metadata"].get("labels") or {}).get("app") == incident.SERVICE
        ]


def _memory_limit(pod: Json) -> float:
    for container in (pod.get("spec") or {}).get("containers") or []:
        if container.get("name") == incident.CONTAINER:
            limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
            parsed = parse_k8s_quantity(str(limit)) if limit else None
            return float(parsed) if parsed else float("inf")
    return float("inf")


def _seconds(stamp: object) -> float | None:
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
