"""A huge `kubectl get -o json` List: decoded where it is read, every unhealthy pod read, nothing else lost."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

from analyzers import analyze
from bot.readers import read_paths, read_string
from bot.readers.kubernetes_objects import HEALTHY_PODS_READ

PAD = "x" * 9000  # kubectl's managedFields and annotations make a pod about this big


def _container(name: str, memory: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": f"registry.example.com/{name}:1.0",
        "env": [{"name": "LOG_LEVEL", "value": "info"}],
        "resources": {"limits": {"memory": memory}, "requests": {"memory": memory}},
    }


def _status(name: str, oom: bool) -> dict[str, Any]:
    status: dict[str, Any] = {
        "name": name,
        "image": f"registry.example.com/{name}:1.0",
        "ready": not oom,
        "restartCount": 4 if oom else 0,
        "lastState": {},
        "state": {"running": {"startedAt": "2025-03-04T06:00:00Z"}},
    }
    if oom:
        status["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
        status["lastState"] = {
            "terminated": {
                "exitCode": 137,
                "reason": "OOMKilled",
                "startedAt": "2025-03-04T05:00:00Z",
                "finishedAt": "2025-03-04T05:59:00Z",
            }
        }
    return status


def _pod(index: int, oom: bool, **extra: Any) -> dict[str, Any]:
    workload = ("cart", "orders")[index % 2]
    name = f"{workload}-7f4b8d9c65-{index:05d}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "annotations": {"pad": PAD}},
        "spec": {"containers": [_container(workload, "512Mi"), _container("istio-proxy", "128Mi")]},
        "status": {
            "phase": "Running",
            "containerStatuses": [_status(workload, oom), _status("istio-proxy", False)],
        },
        **extra,
    }


def _pods(count: int = 500, **extra: Any) -> dict[str, Any]:
    items = [_pod(i, oom=i % 10 == 0, **extra) for i in range(count)]
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


def _write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "pods.json"
    path.write_text(json.dumps(document, indent=4))
    assert path.stat().st_size > 4 * 2**20  # the bytes path
    return path


def _facts(path: Path) -> set[tuple[object, ...]]:
    evidence = read_paths([str(path)])
    return {(f.kind, f.subject, str(f.value), f.key) for f in evidence.facts}


def test_every_unhealthy_pod_is_read_and_only_known_healthy_containers_are_left_out(tmp_path: Path) -> None:
    document = _pods()
    path = _write(tmp_path, document)
    evidence = read_paths([str(path)])
    whole = read_string(path.read_text(), "pods.json")  # the whole List decoded and read, as before
    new = {(f.kind, f.subject, str(f.value), f.key) for f in evidence.facts}
    old = {(f.kind, f.subject, str(f.value), f.key) for f in whole.facts}
    assert new <= old
    killed = {f.subject.pod for f in evidence.of("container.last_reason") if f.value == "OOMKilled"}
    assert killed == {p["metadata"]["name"] for p in document["items"] if "OOMKilled" in json.dumps(p)}
    read_containers = {(s.pod, s.container) for _, s, _, _ in new}
    left_out = {(s.pod, s.container) for _, s, _, _ in old} - read_containers
    assert left_out and all(container == "istio-proxy" for _, container in left_out)
    proxies = {
        f.subject.pod for f in evidence.of("container.restart_count") if f.subject.container == "istio-proxy"
    }
    assert len(proxies) == 2 * HEALTHY_PODS_READ  # a few per workload
    # of the containers read, only spec entries the same as in another pod of the workload
    spec = {(kind, s.workload, s.container, value, key) for kind, s, value, key in new}
    for kind, s, value, key in old - new:
        if (s.pod, s.container) in read_containers:
            assert kind != "container.memory_limit" and not kind.startswith("container.last")
            assert (kind, s.workload, s.container, value, key) in spec
    [source] = evidence.sources
    assert f"{len(left_out)} healthy containers in pods read not read in detail" in source.detail
    assert "healthy pods not read in detail" in source.detail
    assert (
        "images, env, probes and requests the same as in another pod of the workload not repeated"
        in source.detail
    )
    old_ids = [f.id for f in analyze(whole).findings]
    assert [f.id for f in analyze(evidence).findings] == old_ids and "container-oom-killed" in old_ids


def test_excerpts_cite_the_pair_in_the_pod_read(tmp_path: Path) -> None:
    evidence = read_paths([str(_write(tmp_path, _pods()))])
    reasons = [f for f in evidence.of("container.last_reason")]
    assert reasons and all(f.source.excerpt == '"reason": "OOMKilled"' for f in reasons)
    assert all(f.source.line is None for f in evidence.facts)  # a line in 40 MB says less than the pod


def test_items_with_other_keys_are_read_whole_alike(tmp_path: Path) -> None:
    plain = _facts(_write(tmp_path, _pods()))
    (tmp_path / "pods.json").unlink()
    assert _facts(_write(tmp_path, _pods(extra_key={"a": 1}))) == plain


def test_a_large_list_of_events_is_read_whole(tmp_path: Path) -> None:
    events = [
        {
            "kind": "Event",
            "metadata": {"name": f"cart-{i}.17f", "namespace": "shop", "annotations": {"pad": PAD}},
            "involvedObject": {"kind": "Pod", "name": f"cart-7f4b8d9c65-{i:05d}", "namespace": "shop"},
            "reason": "BackOff",
            "message": "Back-off restarting failed container",
            "type": "Warning",
        }
        for i in range(480)
    ]
    evidence = read_paths([str(_write(tmp_path, {"kind": "List", "items": events}))])
    assert len(list(evidence.of("event"))) == 480


def test_the_cyclic_collector_is_on_again_after_reading(tmp_path: Path) -> None:
    assert gc.isenabled()
    read_paths([str(_write(tmp_path, _pods()))])
    assert gc.isenabled()
