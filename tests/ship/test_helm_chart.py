"""The Helm chart, rendered by the real Helm engine, linted, and validated against Kubernetes schemas."""

from __future__ import annotations

import copy
import re
from typing import Any

import helm_python
import kubernetes_validate.utils as kubernetes_validate
import pytest
import yaml

from analyzers import analyze
from analyzers.remediation_plan import MAXMEMORY_SHARE_FORKING
from bot.readers import read_string
from bot.settings import Catalog
from tests.ship.ship_kit import (
    APPROVERS,
    CHART,
    COMBINATIONS,
    DEPLOY,
    KUBE_VERSION,
    NAMESPACE,
    Manifest,
    containers,
    load_documents,
    merged_values,
    of_kind,
    one,
    pod_spec,
    render,
    render_files,
    secret_strings,
)

# Kinds that are CustomResources: no schema ships with kubernetes-validate, so they are checked
# structurally below instead (test_service_monitor, test_prometheus_rule_is_the_deploy_file).
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}


# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion), the one it targets, the newest schemas.
KUBE_VERSIONS = ("1.25", KUBE_VERSION, kubernetes_validate.latest_version())


def validate(obj: Manifest, version: str = KUBE_VERSION) -> None:
    kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize("combination", sorted(COMBINATIONS))
def test_lint(combination: str) -> None:
    report = helm_python.lint(
        CHART, COMBINATIONS[combination], strict=True, kube_version=f"v{KUBE_VERSION}.0"
    )
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not report["errors"] and not problems, report


@pytest.mark.parametrize("combination", sorted(COMBINATIONS))
def test_every_manifest_validates(combination: str) -> None:
    objects = render(COMBINATIONS[combination])
    assert objects
    for obj in objects:
        assert obj["metadata"]["name"], obj
        if obj["kind"] in CUSTOM_KINDS:
            assert obj["apiVersion"] == "monitoring.coreos.com/v1"
            continue
        for version in KUBE_VERSIONS:
            try:
                validate(obj, version)
            except kubernetes_validate.ValidationError as error:
                path = ".".join(str(part) for part in error.path)
                pytest.fail(
                    f"{obj['kind']}/{obj['metadata']['name']} (Kubernetes {version}): {path}: {error.message}"
                )


def test_validation_catches_a_wrong_field() -> None:
    """The schema check has teeth: a misspelt or mistyped field fails it."""
    deployment = one(render(), "Deployment")
    misspelt = copy.deepcopy(deployment)
    pod_spec(misspelt)["containers"][0]["securityContex"] = {}
    mistyped = copy.deepcopy(deployment)
    mistyped["spec"]["replicas"] = "two"
    for broken in (misspelt, mistyped):
        with pytest.raises(kubernetes_validate.ValidationError):
            validate(broken)


def test_defaults_render_the_expected_objects() -> None:
    kinds = sorted(obj["kind"] for obj in render())
    assert kinds == sorted(
        [
            "ConfigMap",  # catalog
            "ConfigMap",  # redis.conf
            "Deployment",
            "NetworkPolicy",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "Role",
            "RoleBinding",
            "Secret",  # the generated Redis password
            "Service",
            "Service",
            "ServiceAccount",
            "StatefulSet",
        ]
    )


def test_notes_render() -> None:
    notes = next(text for path, text in render_files().items() if path.endswith("NOTES.txt"))
    assert "http://oncall-triage.triage.svc:3000/alertmanager" in notes
    assert "oncall-triage-slack" in notes


def test_duplicate_keys_are_caught() -> None:
    with pytest.raises(AssertionError, match="duplicate key"):
        load_documents("metadata:\n  labels:\n    a: x\n    a: y\n", "inline")


# ---------------------------------------------------------------- the bot's Deployment


def bot(objects: list[Manifest]) -> dict[str, Any]:
    container: dict[str, Any] = pod_spec(one(objects, "Deployment"))["containers"][0]
    return container


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


def test_deployment_shape() -> None:
    objects = render()
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    spec = pod_spec(deployment)
    container = bot(objects)
    assert container["command"] == ["triage", "serve"]
    assert container["args"][:4] == ["--host", "0.0.0.0", "--port", "3000"]
    assert "--socket-mode" in container["args"]
    assert container["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]
    spread = spec["topologySpreadConstraints"]
    assert {c["topologyKey"] for c in spread} == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    for constraint in spread:
        assert constraint["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    tmp = next(m for m in container["volumeMounts"] if m["mountPath"] == "/tmp")
    volume = next(v for v in spec["volumes"] if v["name"] == tmp["name"])
    assert "emptyDir" in volume
    service = one(objects, "Service", "oncall-triage")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["port"] == 3000


def test_http_mode_drops_socket_mode() -> None:
    container = bot(render({"slack": {"socketMode": False}}))
    assert "--socket-mode" not in container["args"]
    env = env_of(container)
    assert "SLACK_APP_TOKEN" not in env
    assert env["SLACK_SIGNING_SECRET"]["valueFrom"]["secretKeyRef"]["optional"] is False


def test_environment_comes_from_values_and_secret_references() -> None:
    values = {
        "slack": {
            "existingSecret": "my-slack",
            "alertChannel": "C0ONCALL",
            "apiUrl": "https://slack.proxy/api/",
        },
        "prometheus": {"url": "http://prom:9090"},
        "alertmanager": {"url": "http://am:9093"},
    }
    env = env_of(bot(render(values)))
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "ALERTMANAGER_TOKEN"):
        reference = env[name]["valueFrom"]["secretKeyRef"]
        assert reference["name"] == "my-slack" and reference["key"] == name
        assert "value" not in env[name]
    assert env["TRIAGE_ALERT_CHANNEL"]["value"] == "C0ONCALL"
    assert env["SLACK_API_URL"]["value"] == "https://slack.proxy/api/"
    assert env["PROMETHEUS_URL"]["value"] == "http://prom:9090"
    assert env["ALERTMANAGER_URL"]["value"] == "http://am:9093"
    assert "KUBECONFIG" not in env  # in-cluster service account
    assert env["MPLCONFIGDIR"]["value"].startswith("/tmp/")


def test_catalog_config_map_is_a_valid_catalog_and_is_what_trIAGE_CONFIG_names() -> None:
    catalog_values = {
        "approvers": ["U0AAA111"],
        "services": {
            "session-cache": {"namespace": "ecommerce", "selector": "app=session-cache", "production": True}
        },
        "remediation": {"enabled": True, "expiry_minutes": 15},
    }
    objects = render({"catalog": catalog_values, "rbac": {"namespaces": ["ecommerce"]}})
    container = bot(objects)
    path = env_of(container)["TRIAGE_CONFIG"]["value"]
    mount = next(m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
    volume = next(v for v in pod_spec(one(objects, "Deployment"))["volumes"] if v["name"] == mount["name"])
    config_map = one(objects, "ConfigMap", volume["configMap"]["name"])
    catalog = Catalog.model_validate(yaml.safe_load(config_map["data"][path.rsplit("/", 1)[1]]))
    assert catalog.services["session-cache"].production is True
    assert catalog.namespaces == ["ecommerce"]
    assert catalog.remediation.expiry_minutes == 15
    # The chart's RBAC decides: no patch permission, so the bot must not offer to apply.
    assert catalog.remediation.enabled is False


def test_catalog_follows_remediation() -> None:
    objects = render(
        {"remediation": {"enabled": True, "namespaces": ["triage"]}, "catalog": {"approvers": APPROVERS}}
    )
    config_map = one(objects, "ConfigMap", "oncall-triage")
    assert Catalog.model_validate(yaml.safe_load(config_map["data"]["catalog.yaml"])).remediation.enabled


def test_catalog_change_rolls_the_pods() -> None:
    def checksum(values: dict[str, Any]) -> str:
        annotations = one(render(values), "Deployment")["spec"]["template"]["metadata"]["annotations"]
        return str(annotations["checksum/catalog"])

    assert checksum({}) != checksum({"catalog": {"approvers": ["U1"]}})


# ---------------------------------------------------------------- security


@pytest.mark.parametrize("combination", sorted(COMBINATIONS))
def test_security_context_everywhere(combination: str) -> None:
    objects = render(COMBINATIONS[combination])
    seen = 0
    for workload, container in containers(objects):
        seen += 1
        pod = pod_spec(workload).get("securityContext", {})
        context = container.get("securityContext", {})
        where = f"{workload['kind']}/{workload['metadata']['name']}/{container['name']}"
        assert context.get("runAsNonRoot", pod.get("runAsNonRoot")) is True, where
        assert context.get("runAsUser", pod.get("runAsUser", 0)) != 0, where
        assert context.get("readOnlyRootFilesystem") is True, where
        assert context.get("allowPrivilegeEscalation") is False, where
        assert context.get("privileged", False) is False, where
        assert context.get("capabilities", {}).get("drop") == ["ALL"], where
        assert not context.get("capabilities", {}).get("add"), where
        seccomp = context.get("seccompProfile", pod.get("seccompProfile", {}))
        assert seccomp.get("type") == "RuntimeDefault", where
        assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
        assert not pod_spec(workload).get("hostNetwork") and not pod_spec(workload).get("hostPID"), where
    assert seen >= 1


def values_strings(values: Any) -> list[str]:
    if isinstance(values, dict):
        return [s for value in values.values() for s in values_strings(value)]
    if isinstance(values, list):
        return [s for value in values for s in values_strings(value)]
    return [values] if isinstance(values, str) else []


@pytest.mark.parametrize("combination", sorted(COMBINATIONS))
def test_no_secret_carries_a_value(combination: str) -> None:
    values = COMBINATIONS[combination]
    objects = render(values)
    known = [s for s in values_strings(merged_values(values)) if len(s) >= 6]
    for secret in of_kind(objects, "Secret"):
        # The only Secret the chart writes is the bundled Redis's generated password.
        assert secret["metadata"]["name"] == "oncall-triage-redis", secret["metadata"]
        for stored in secret_strings(secret):
            assert len(stored) >= 32
            assert not any(value in stored or stored in value for value in known), secret["metadata"]["name"]
    for obj in objects:
        if obj["kind"] != "Secret":
            text = yaml.safe_dump(obj)
            assert not re.search(r"xox[abpr]-[0-9A-Za-z]|xapp-[0-9A-Za-z]", text), (
                f"{obj['kind']} carries a Slack token"
            )


def test_an_existing_redis_password_secret_means_no_secret_at_all() -> None:
    values = {
        "redis": {"bundled": {"auth": {"existingSecret": "triage-redis", "existingSecretKey": "password"}}}
    }
    objects = render(values)
    assert not of_kind(objects, "Secret")
    reference = env_of(bot(objects))["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert reference == {"name": "triage-redis", "key": "password"}


@pytest.mark.parametrize(
    "values",
    [
        {"slack": {"botToken": "xoxb-123"}},
        {"slack": {"token": "xoxb-123"}},
        {"slackBotToken": "xoxb-123"},
        {"alertmanager": {"token": "abc"}},
        {"redis": {"external": {"url": "redis://:hunter2@state:6379/0"}}},
        {"redis": {"external": {"password": "hunter2"}}},
        {"redis": {"bundled": {"auth": {"password": "hunter2"}}}},
    ],
)
def test_values_refuse_tokens(values: dict[str, Any]) -> None:
    with helm_python.Chart.load(CHART) as chart, pytest.raises(helm_python.HelmValuesError):
        chart.validate_schema(values)


def test_values_file_holds_no_token() -> None:
    text = (CHART / "values.yaml").read_text()
    assert not re.search(r"xox[abpr]-[0-9A-Za-z]|xapp-[0-9A-Za-z]|redis://[^\s\"]*@", text)


# ---------------------------------------------------------------- Redis


def redis_conf(objects: list[Manifest]) -> dict[str, str]:
    text = one(objects, "ConfigMap", "oncall-triage-redis")["data"]["redis.conf"]
    directives: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            directives[key] = value.strip()
    return directives


QUANTITY = re.compile(r"^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
UNITS = {
    None: 1,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
}


def quantity_bytes(quantity: str | int) -> int:
    match = QUANTITY.match(str(quantity))
    assert match, quantity
    return int(match[1]) * UNITS[match[2]]


@pytest.mark.parametrize(
    ("limit", "percent"),
    [("256Mi", 75), ("1Gi", 75), ("1500M", 70), ("2G", 50), ("3Gi", 90), (536870912, 75)],
)
def test_bundled_redis_maxmemory_below_its_limit(limit: str | int, percent: int) -> None:
    values = {"redis": {"bundled": {"maxmemoryPercent": percent, "resources": {"limits": {"memory": limit}}}}}
    objects = render(values)
    statefulset = one(objects, "StatefulSet", "oncall-triage-redis")
    (container,) = pod_spec(statefulset)["containers"]
    limit_bytes = quantity_bytes(container["resources"]["limits"]["memory"])
    conf = redis_conf(objects)
    maxmemory = int(conf["maxmemory"])
    assert 0 < maxmemory < limit_bytes
    assert maxmemory == limit_bytes * percent // 100
    assert conf["maxmemory-policy"] == "noeviction"
    assert conf["appendonly"] == "yes"


def test_bundled_redis_follows_the_bots_own_advice() -> None:
    """By default maxmemory is the share the bot recommends for a Redis that forks (AOF rewrites)."""
    objects = render()
    (container,) = pod_spec(one(objects, "StatefulSet", "oncall-triage-redis"))["containers"]
    limit = quantity_bytes(container["resources"]["limits"]["memory"])
    assert int(redis_conf(objects)["maxmemory"]) == int(limit * MAXMEMORY_SHARE_FORKING)


def own_diagnosis(text: str) -> set[str]:
    return {
        finding.id for finding in analyze(read_string(text, "redis.yaml"), "oncall-triage-redis").findings
    }


def test_the_bot_finds_nothing_wrong_with_its_own_redis() -> None:
    """Its own analyzers, on the rendered StatefulSet and redis.conf, report no finding at all."""
    text = render_files()["oncall-triage/templates/redis.yaml"]
    assert own_diagnosis(text) == set()
    # ... and they would: without maxmemory, or without persistence, they say so.
    unbounded = re.sub(r"\n\s*maxmemory \d+", "", text)
    assert unbounded != text and "redis-maxmemory-unset" in own_diagnosis(unbounded)
    volatile = text.replace("appendonly yes", "appendonly no")
    assert volatile != text and "redis-persistence-disabled" in own_diagnosis(volatile)


def test_bundled_redis_shape() -> None:
    objects = render()
    statefulset = one(objects, "StatefulSet", "oncall-triage-redis")
    assert statefulset["spec"]["replicas"] == 1
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    (container,) = pod_spec(statefulset)["containers"]
    data_mount = next(m for m in container["volumeMounts"] if m["name"] == claim["metadata"]["name"])
    conf = redis_conf(objects)
    assert data_mount["mountPath"] == conf["dir"] == "/data"
    assert container["command"] == ["redis-server"]
    assert container["args"][0] == "/etc/redis/redis.conf"
    assert container["args"][1:] == ["--requirepass", "$(REDIS_PASSWORD)"]
    password = env_of(container)["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert password == {"name": "oncall-triage-redis", "key": "redis-password"}
    assert container["resources"]["limits"]["memory"]
    assert pod_spec(statefulset)["automountServiceAccountToken"] is False
    # The bot connects to it with the same password.
    env = env_of(bot(objects))
    assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == password
    assert (
        env["TRIAGE_REDIS_URL"]["value"] == "redis://:$(REDIS_PASSWORD)@oncall-triage-redis.triage.svc:6379/0"
    )
    names = [item["name"] for item in bot(objects)["env"]]
    assert names.index("REDIS_PASSWORD") < names.index("TRIAGE_REDIS_URL")  # $(VAR) needs it defined first
    # Only the bot reaches it.
    policy = one(objects, "NetworkPolicy", "oncall-triage-redis")
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [
        {"podSelector": {"matchLabels": one(objects, "Deployment")["spec"]["selector"]["matchLabels"]}}
    ]
    assert policy["spec"]["egress"] == []


@pytest.mark.parametrize(
    ("external", "expected"),
    [
        ({"url": "redis://state.platform.svc:6379/3"}, {"value": "redis://state.platform.svc:6379/3"}),
        (
            {"existingSecret": "triage-redis-url"},
            {"secretKeyRef": {"name": "triage-redis-url", "key": "TRIAGE_REDIS_URL"}},
        ),
    ],
)
def test_external_redis_replaces_the_bundled_one(external: dict[str, str], expected: dict[str, Any]) -> None:
    objects = render({"redis": {"external": external}})
    assert not of_kind(objects, "StatefulSet") and not of_kind(objects, "Secret")
    assert {obj["metadata"]["name"] for obj in of_kind(objects, "NetworkPolicy")} == {"oncall-triage"}
    env = env_of(bot(objects))
    assert "REDIS_PASSWORD" not in env
    redis_url = env["TRIAGE_REDIS_URL"]
    assert redis_url.get("value") == expected.get("value")
    assert redis_url.get("valueFrom", {}).get("secretKeyRef") == expected.get("secretKeyRef")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"redis": {"bundled": {"resources": {"limits": {"memory": "1.5Gi"}}}}}, "limits.memory"),
        ({"redis": {"bundled": {"resources": {"limits": {"memory": "512MB"}}}}}, "limits.memory"),
        ({"remediation": {"enabled": True}}, "remediation.namespaces"),
        ({"remediation": {"enabled": True, "namespaces": ["payments"]}}, "not in rbac.namespaces"),
        (
            {"remediation": {"enabled": True, "namespaces": ["triage"]}, "catalog": {"approvers": []}},
            "nobody could approve",
        ),
        (
            {"catalog": {"services": {"cache": {"redis_url": "redis://:hunter2@cache:6379"}}}},
            "services.cache.redis_url carries credentials",
        ),
        ({"slack": {"existingSecret": ""}}, "existingSecret"),
    ],
)
def test_refused_values(values: dict[str, Any], message: str) -> None:
    with (
        helm_python.Chart.load(CHART) as chart,
        pytest.raises(helm_python.HelmError, match=re.escape(message)),
    ):
        chart.render(values, name="oncall-triage", namespace=NAMESPACE)


def test_maxmemory_percent_is_bounded() -> None:
    with helm_python.Chart.load(CHART) as chart, pytest.raises(helm_python.HelmValuesError):
        chart.validate_schema({"redis": {"bundled": {"maxmemoryPercent": 100}}})


# ---------------------------------------------------------------- availability and network


def test_disruption_budget_keeps_one_bot() -> None:
    objects = render()
    budget = one(objects, "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    assert (
        budget["spec"]["selector"]["matchLabels"]
        == one(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    )
    # A budget on a single replica would block every node drain.
    assert not of_kind(render({"replicaCount": 1}), "PodDisruptionBudget")


def test_network_policy_for_the_bot() -> None:
    objects = render()
    policy = one(objects, "NetworkPolicy", "oncall-triage")
    assert (
        policy["spec"]["podSelector"]["matchLabels"]
        == one(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    )
    assert policy["spec"]["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]}]
    monitoring = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    restricted = one(render({"networkPolicy": {"ingressFrom": monitoring}}), "NetworkPolicy", "oncall-triage")
    assert restricted["spec"]["ingress"][0]["from"] == monitoring
    egress = one(render({"networkPolicy": {"egress": {"enabled": True}}}), "NetworkPolicy", "oncall-triage")
    assert egress["spec"]["policyTypes"] == ["Ingress", "Egress"]
    ports = {port["port"] for rule in egress["spec"]["egress"] for port in rule["ports"]}
    assert {53, 443, 6379, 9090, 9093} <= ports


def test_ingress_exposes_only_slack_events() -> None:
    ingress = one(render({"slack": {"socketMode": False}, "ingress": {"enabled": True}}), "Ingress")
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "triage.example.com"
    assert [path["path"] for path in rule["http"]["paths"]] == ["/slack/events"]


# ---------------------------------------------------------------- monitoring (CRDs: checked structurally)


def test_service_monitor() -> None:
    assert not of_kind(render(), "ServiceMonitor")
    objects = render({"serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}}})
    monitor = one(objects, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    service = one(objects, "Service", "oncall-triage")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    port_names = {port["name"] for port in service["spec"]["ports"]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in port_names
    assert endpoint["path"] == "/metrics"
    assert re.fullmatch(r"\d+[smh]", endpoint["interval"])
    assert set(monitor["spec"]) == {"selector", "namespaceSelector", "endpoints"}
    assert set(endpoint) <= {"port", "path", "interval", "scrapeTimeout"}


def test_prometheus_rule_is_the_deploy_file() -> None:
    assert not of_kind(render(), "PrometheusRule")
    deploy_text = (DEPLOY / "prometheus-rules.yaml").read_text()
    assert (CHART / "files" / "prometheus-rules.yaml").read_text() == deploy_text, (
        "helm/oncall-triage/files/prometheus-rules.yaml must be a copy of deploy/prometheus-rules.yaml"
    )
    rule = one(render({"prometheusRule": {"enabled": True, "labels": {"release": "kps"}}}), "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["labels"]["release"] == "kps"
    assert rule["spec"] == {"groups": yaml.safe_load(deploy_text)["groups"]}
