"""Least privilege: the rendered Roles and ClusterRoles grant exactly the documented verbs, nothing else."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.ship.ship_kit import COMBINATIONS, NAMESPACE, RELEASE, Manifest, merged_values, of_kind, render

READ = {"get", "list", "watch"}
# (apiGroup, resource) -> verbs the bot may always have.
READ_ONLY: dict[tuple[str, str], set[str]] = {
    ("", "pods"): READ,
    ("", "events"): READ,
    ("", "configmaps"): READ,
    ("", "pods/log"): {"get"},
    ("apps", "replicasets"): READ,
    ("apps", "deployments"): READ,
    ("apps", "statefulsets"): READ,
}
# Only with remediation.enabled, only in a Role in one of remediation.namespaces.
REMEDIATION: dict[tuple[str, str], set[str]] = {
    ("apps", "deployments"): {"patch"},
    ("apps", "statefulsets"): {"patch"},
}
RULE_KEYS = {"apiGroups", "resources", "verbs"}


def rbac_violations(objects: list[Manifest], values: dict[str, Any]) -> list[str]:
    """Every grant beyond the allowed lists, as a readable line; empty when the RBAC is least-privilege."""
    remediation = values["remediation"]
    patch_namespaces = set(remediation["namespaces"]) if remediation["enabled"] else set()
    problems: list[str] = []
    for role in of_kind(objects, "Role") + of_kind(objects, "ClusterRole"):
        where = f"{role['kind']}/{role['metadata']['name']}"
        if role["kind"] == "Role":
            where += f" in {role['metadata'].get('namespace')}"
        if "aggregationRule" in role:
            problems.append(f"{where}: aggregationRule")
        for rule in role.get("rules") or []:
            if set(rule) - RULE_KEYS:
                problems.append(
                    f"{where}: {sorted(set(rule) - RULE_KEYS)} (resourceNames, nonResourceURLs, ...)"
                )
            for group in rule.get("apiGroups", []):
                for resource in rule.get("resources", []):
                    for verb in rule.get("verbs", []):
                        grant = f"{where}: {verb} {group or 'core'}/{resource}"
                        if "*" in (group, resource, verb):
                            problems.append(f"{grant} (wildcard)")
                        elif resource == "secrets" or resource.startswith("secrets/"):
                            problems.append(f"{grant} (secrets)")
                        elif verb in READ_ONLY.get((group, resource), set()):
                            continue
                        elif verb in REMEDIATION.get((group, resource), set()):
                            if not remediation["enabled"]:
                                problems.append(f"{grant} (remediation is off)")
                            elif role["kind"] != "Role":
                                problems.append(f"{grant} (cluster-wide)")
                            elif role["metadata"].get("namespace") not in patch_namespaces:
                                problems.append(f"{grant} (not in remediation.namespaces)")
                        else:
                            problems.append(f"{grant} (not allowed)")
    return problems


def bound_roles(objects: list[Manifest]) -> set[tuple[str, str, str]]:
    """(binding namespace or '*', role kind, role name) for each binding of the bot's service account."""
    bound = set()
    for binding in of_kind(objects, "RoleBinding") + of_kind(objects, "ClusterRoleBinding"):
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": RELEASE, "namespace": NAMESPACE}], (
            binding
        )
        namespace = binding["metadata"].get("namespace", "*") if binding["kind"] == "RoleBinding" else "*"
        bound.add((namespace, binding["roleRef"]["kind"], binding["roleRef"]["name"]))
    return bound


@pytest.mark.parametrize("combination", sorted(COMBINATIONS))
def test_rbac_is_least_privilege(combination: str) -> None:
    values = merged_values(COMBINATIONS[combination])
    objects = render(COMBINATIONS[combination])
    assert rbac_violations(objects, values) == []
    # Every role is bound, to the bot only, in the role's own namespace.
    roles = {
        (role["metadata"].get("namespace", "*"), role["kind"], role["metadata"]["name"])
        for role in of_kind(objects, "Role") + of_kind(objects, "ClusterRole")
    }
    assert bound_roles(objects) == roles


@pytest.mark.parametrize("combination", sorted(COMBINATIONS))
def test_rbac_grants_what_the_bot_needs(combination: str) -> None:
    """Not too little either: reading works where the catalog looks, patch where remediation is on."""
    values = merged_values(COMBINATIONS[combination])
    objects = render(COMBINATIONS[combination])
    grants: dict[str, set[tuple[str, str, str]]] = {}
    for role in of_kind(objects, "Role") + of_kind(objects, "ClusterRole"):
        scope = role["metadata"].get("namespace", "*") if role["kind"] == "Role" else "*"
        for rule in role["rules"]:
            grants.setdefault(scope, set()).update(
                (group, resource, verb)
                for group in rule["apiGroups"]
                for resource in rule["resources"]
                for verb in rule["verbs"]
            )
    wanted = {(group, resource, verb) for (group, resource), verbs in READ_ONLY.items() for verb in verbs}
    if values["rbac"]["scope"] == "cluster":
        assert set(grants) - {"*"} <= set(values["remediation"]["namespaces"])
        assert grants["*"] == wanted
    else:
        assert not of_kind(objects, "ClusterRole") and not of_kind(objects, "ClusterRoleBinding")
        for namespace in values["rbac"]["namespaces"] or [NAMESPACE]:
            assert wanted <= grants[namespace], namespace
    patch = {("apps", "deployments", "patch"), ("apps", "statefulsets", "patch")}
    patched = {namespace for namespace, granted in grants.items() if patch <= granted}
    assert patched == (
        set(values["remediation"]["namespaces"]) if values["remediation"]["enabled"] else set()
    )


def test_remediation_roles_are_only_in_the_listed_namespaces() -> None:
    values = {
        "rbac": {"namespaces": ["ecommerce", "payments", "search"]},
        "remediation": {"enabled": True, "namespaces": ["ecommerce", "search"]},
        "catalog": {"approvers": ["U0SRELEAD"]},
    }
    objects = render(values)
    remediate = [role for role in of_kind(objects, "Role") if role["metadata"]["name"].endswith("-remediate")]
    assert sorted(role["metadata"]["namespace"] for role in remediate) == ["ecommerce", "search"]
    assert rbac_violations(objects, merged_values(values)) == []


def test_no_rbac_when_disabled() -> None:
    objects = render({"rbac": {"create": False}})
    for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"):
        assert not of_kind(objects, kind)


# ---------------------------------------------------------------- the check itself can fail


def mutate(objects: list[Manifest], kind: str, change: Any) -> list[Manifest]:
    mutated = copy.deepcopy(objects)
    change(next(obj for obj in mutated if obj["kind"] == kind))
    return mutated


@pytest.mark.parametrize(
    ("kind", "change", "expected"),
    [
        ("Role", lambda role: role["rules"][0]["verbs"].append("delete"), "delete core/pods (not allowed)"),
        ("Role", lambda role: role["rules"][0]["verbs"].append("*"), "(wildcard)"),
        ("Role", lambda role: role["rules"][0]["resources"].append("secrets"), "get core/secrets (secrets)"),
        ("Role", lambda role: role["rules"][0]["resources"].append("*"), "(wildcard)"),
        (
            "Role",
            lambda role: role["rules"][2]["verbs"].append("patch"),
            "patch apps/deployments (remediation is off)",
        ),
        (
            "Role",
            lambda role: role["rules"].append(
                {"apiGroups": ["apps"], "resources": ["daemonsets"], "verbs": ["get"]}
            ),
            "get apps/daemonsets (not allowed)",
        ),
        ("Role", lambda role: role["rules"][0].update(resourceNames=["x"]), "resourceNames"),
        (
            "Role",
            lambda role: role["rules"][1]["verbs"].append("create"),
            "create core/pods/log (not allowed)",
        ),
    ],
)
def test_violations_are_caught_remediation_off(kind: str, change: Any, expected: str) -> None:
    values = merged_values({})
    objects = render({})
    assert rbac_violations(objects, values) == []
    problems = rbac_violations(mutate(objects, kind, change), values)
    assert any(expected in problem for problem in problems), problems


def test_patch_outside_the_listed_namespaces_is_caught() -> None:
    values = {
        "rbac": {"namespaces": ["ecommerce", "payments"]},
        "remediation": {"enabled": True, "namespaces": ["ecommerce"]},
        "catalog": {"approvers": ["U0SRELEAD"]},
    }
    objects = render(values)
    merged = merged_values(values)

    remediate = copy.deepcopy(objects)
    next(r for r in remediate if r["kind"] == "Role" and r["metadata"]["name"].endswith("-remediate"))[
        "metadata"
    ]["namespace"] = "payments"
    assert any("not in remediation.namespaces" in p for p in rbac_violations(remediate, merged))

    cluster = render({**values, "rbac": {"scope": "cluster"}})
    widened = mutate(cluster, "ClusterRole", lambda role: role["rules"][2]["verbs"].append("patch"))
    assert any("(cluster-wide)" in p for p in rbac_violations(widened, merged))
