"""The Kubernetes stand-in merges patches' lists by the API server's merge keys."""

from __future__ import annotations

from typing import Any

from bot.demo.simulated.strategic_merge import merge


def _deployment(container: dict[str, Any], *others: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": [container, *others]}}}}


def _container(deployment: dict[str, Any], index: int = 0) -> dict[str, Any]:
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][index]
    return container


APP = {
    "name": "app",
    "image": "app:1",
    "args": ["--a", "--b"],
    "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}],
    "volumeMounts": [
        {"name": "data", "mountPath": "/data"},
        {"name": "data", "mountPath": "/cache", "subPath": "c"},
    ],
    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
    "resources": {"limits": {"memory": "256Mi", "cpu": "1"}},
}
SIDECAR = {"name": "exporter", "image": "exporter:1"}


def test_containers_merge_by_name_and_untouched_fields_stay() -> None:
    patch = _deployment({"name": "app", "resources": {"limits": {"memory": "512Mi"}}})
    merged = merge(_deployment(APP, SIDECAR), patch, strategic=True)
    assert _container(merged)["resources"]["limits"] == {"memory": "512Mi", "cpu": "1"}
    assert _container(merged)["image"] == "app:1"
    assert _container(merged, 1) == SIDECAR
    added = merge(_deployment(APP), _deployment({"name": "new", "image": "n:1"}), strategic=True)
    assert [c["name"] for c in added["spec"]["template"]["spec"]["containers"]] == ["app", "new"]


def test_ports_merge_by_container_port_not_by_name() -> None:
    # Same name, another port: by containerPort it is a new port (by name it would replace 8080).
    patch = _deployment({"name": "app", "ports": [{"name": "http", "containerPort": 8443}]})
    ports = _container(merge(_deployment(APP), patch, strategic=True))["ports"]
    assert [p["containerPort"] for p in ports] == [8080, 9090, 8443]
    renamed = _deployment({"name": "app", "ports": [{"name": "web", "containerPort": 8080}]})
    ports = _container(merge(_deployment(APP), renamed, strategic=True))["ports"]
    assert ports[0] == {"name": "web", "containerPort": 8080} and len(ports) == 2


def test_volume_mounts_merge_by_mount_path() -> None:
    # Two mounts of one volume: merging by name would fold them into one.
    patch = _deployment(
        {"name": "app", "volumeMounts": [{"name": "data", "mountPath": "/cache", "readOnly": True}]}
    )
    mounts = _container(merge(_deployment(APP), patch, strategic=True))["volumeMounts"]
    assert mounts == [
        {"name": "data", "mountPath": "/data"},
        {"name": "data", "mountPath": "/cache", "subPath": "c", "readOnly": True},
    ]


def test_env_merges_by_name() -> None:
    patch = _deployment({"name": "app", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]})
    env = _container(merge(_deployment(APP), patch, strategic=True))["env"]
    assert env == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]


def test_lists_without_a_merge_key_are_replaced_and_null_deletes() -> None:
    patch = _deployment({"name": "app", "args": ["--c"], "image": None})
    merged = _container(merge(_deployment(APP), patch, strategic=True))
    assert merged["args"] == ["--c"] and "image" not in merged


def test_a_json_merge_patch_replaces_lists_whole() -> None:
    patch = _deployment({"name": "app", "resources": {"limits": {"memory": "512Mi"}}})
    merged = merge(_deployment(APP, SIDECAR), patch, strategic=False)
    assert merged["spec"]["template"]["spec"]["containers"] == [
        {"name": "app", "resources": {"limits": {"memory": "512Mi"}}}
    ]


def test_merging_changes_neither_input() -> None:
    current, patch = _deployment(APP), _deployment({"name": "app", "env": [{"name": "A", "value": "9"}]})
    before = repr((current, patch))
    merge(current, patch, strategic=True)
    assert repr((current, patch)) == before
