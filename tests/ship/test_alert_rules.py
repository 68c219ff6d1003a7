"""deploy/prometheus-rules.yaml with promtool, deploy/alertmanager-receiver.yaml with amtool."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ship.ship_kit import DEPLOY, REPO, amtool, promtool

RULES = DEPLOY / "prometheus-rules.yaml"
RULES_TEST = Path(__file__).with_name("rules_test.yaml")
RECEIVER = DEPLOY / "alertmanager-receiver.yaml"
WEBHOOK = "http://oncall-triage.triage.svc:3000/alertmanager"


def run(*command: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=cwd)


def alerting_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_checks_the_rules() -> None:
    done = run(promtool(), "check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alerting_rules())} rules found" in done.stdout


def test_promtool_unit_tests_pass() -> None:
    done = run(promtool(), "test", "rules", str(RULES_TEST))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_the_required_alerts_exist() -> None:
    expressions = {rule["alert"]: rule["expr"] for rule in alerting_rules()}
    needles = {
        "ContainerOOMKilled": [
            'kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}',
            "restarts_total",
        ],
        "ContainerCrashLooping": ['kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}'],
        "ContainerMemoryNearLimit": ["container_memory_working_set_bytes", 'resource="memory"', "0.9"],
        "RedisMemoryNearMaxmemory": [
            "redis_memory_used_bytes / redis_memory_max_bytes > 0.9",
            "redis_memory_max_bytes > 0",
        ],
        "RedisMemoryNearLimitWithoutMaxmemory": [
            "redis_memory_max_bytes) == 0",
            "kube_pod_container_resource_limits",
        ],
        "RedisRejectingWrites": ['redis_errors_total{err=~"OOM|MISCONF"}'],
        "RedisRejectingConnections": ["redis_rejected_connections_total"],
        "RedisBackgroundSaveFailed": ["redis_rdb_last_bgsave_status == 0"],
        "RedisClientsNearMaxclients": ["redis_connected_clients / redis_config_maxclients > 0.9"],
    }
    assert set(expressions) == set(needles)
    for alert, parts in needles.items():
        for part in parts:
            assert part in expressions[alert], (alert, part)


def test_every_alert_has_severity_and_text() -> None:
    for rule in alerting_rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["labels"]["triage"] == "true", rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert "$labels.namespace" in rule["annotations"]["summary"], rule["alert"]


def rule_tests() -> list[dict[str, Any]]:
    tests: list[dict[str, Any]] = yaml.safe_load(RULES_TEST.read_text())["tests"]
    return tests


def test_every_alert_has_cases_that_fire_and_cases_that_do_not() -> None:
    fires: dict[str, set[str]] = {}
    silent: set[str] = set()
    for case in rule_tests():
        for check in case["alert_rule_test"]:
            if check.get("exp_alerts"):
                for alert in check["exp_alerts"]:
                    fires.setdefault(check["alertname"], set()).update(alert["exp_labels"])
            else:
                silent.add(check["alertname"])
    names = {rule["alert"] for rule in alerting_rules()}
    assert set(fires) == names
    assert silent == names
    # What fires names where: the namespace, the pod, and how bad.
    for alert, labels in fires.items():
        assert {"namespace", "pod", "severity"} <= labels, alert


def mutated_rules(tmp_path: Path, alert: str, expr: str) -> Path:
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                rule["expr"] = expr
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(yaml.safe_dump(rules))
    tests = yaml.safe_load(RULES_TEST.read_text())
    tests["rule_files"] = [str(rules_path)]
    tests_path = tmp_path / "rules_test.yaml"
    tests_path.write_text(yaml.safe_dump(tests))
    return tests_path


@pytest.mark.parametrize("alert", sorted(rule["alert"] for rule in alerting_rules()))
def test_unit_tests_catch_a_rule_that_never_fires(tmp_path: Path, alert: str) -> None:
    done = run(promtool(), "test", "rules", str(mutated_rules(tmp_path, alert, "vector(1) > 2")))
    assert done.returncode != 0, f"the unit tests do not notice {alert} never firing"
    assert alert in done.stdout + done.stderr


@pytest.mark.parametrize("alert", sorted(rule["alert"] for rule in alerting_rules()))
def test_unit_tests_catch_a_rule_that_always_fires(tmp_path: Path, alert: str) -> None:
    expression = 'label_replace(vector(1), "namespace", "shop", "", "")'
    done = run(promtool(), "test", "rules", str(mutated_rules(tmp_path, alert, expression)))
    assert done.returncode != 0, f"the unit tests do not notice {alert} always firing"


# ---------------------------------------------------------------- Alertmanager


def receiver_snippet() -> dict[str, Any]:
    snippet: dict[str, Any] = yaml.safe_load(RECEIVER.read_text())
    return snippet


def full_config(snippet: dict[str, Any]) -> dict[str, Any]:
    """The snippet merged into a minimal Alertmanager config with an existing pager route after it."""
    return {
        "route": {
            "receiver": "default",
            "group_by": ["alertname"],
            "routes": [
                *snippet["route"]["routes"],
                {"receiver": "pager", "matchers": ['severity="critical"']},
            ],
        },
        "receivers": [{"name": "default"}, {"name": "pager"}, *snippet["receivers"]],
    }


def write_config(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_amtool_checks_the_receiver(tmp_path: Path) -> None:
    path = write_config(tmp_path, full_config(receiver_snippet()))
    done = run(amtool(), "check-config", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_amtool_rejects_a_broken_receiver(tmp_path: Path) -> None:
    snippet = receiver_snippet()
    config = snippet["receivers"][0]["webhook_configs"][0]["http_config"]["authorization"]
    config["credentials"] = "inline-token"  # both credentials and credentials_file: refused
    done = run(amtool(), "check-config", str(write_config(tmp_path, full_config(snippet))))
    assert done.returncode != 0


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["triage=true", "alertname=ContainerOOMKilled", "severity=warning"], "oncall-triage"),
        (["triage=true", "alertname=RedisRejectingWrites", "severity=critical"], "oncall-triage,pager"),
        (["alertname=Watchdog", "severity=none"], "default"),
    ],
)
def test_routing(tmp_path: Path, labels: list[str], receivers: str) -> None:
    """The bot gets the triage alerts and, with `continue`, the existing routes still get them too."""
    path = write_config(tmp_path, full_config(receiver_snippet()))
    done = run(
        amtool(),
        "config",
        "routes",
        "test",
        f"--config.file={path}",
        f"--verify.receivers={receivers}",
        *labels,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_webhook_settings() -> None:
    snippet = receiver_snippet()
    (route,) = snippet["route"]["routes"]
    assert route["continue"] is True
    assert {"alertname", "namespace", "pod"} <= set(route["group_by"])
    assert route["group_interval"] and route["repeat_interval"] and route["group_wait"]
    (receiver,) = snippet["receivers"]
    (webhook,) = receiver["webhook_configs"]
    assert route["receiver"] == receiver["name"]
    assert webhook["url"] == WEBHOOK
    assert webhook["send_resolved"] is True
    authorization = webhook["http_config"]["authorization"]
    assert authorization.get("type", "Bearer") == "Bearer"
    assert authorization["credentials_file"].startswith("/")
    assert "credentials" not in authorization


def test_every_rule_label_set_is_routed() -> None:
    (route,) = receiver_snippet()["route"]["routes"]
    assert route["matchers"] == ['triage="true"']
    assert all(rule["labels"]["triage"] == "true" for rule in alerting_rules())
