"""The shipping docs point at things that exist: files, registries and tables in code, chart values."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from tests.ship.ship_kit import REPO, merged_values

DOCS = {name: REPO / "docs" / name for name in ("deploying.md", "operating.md", "adding-an-analyzer.md")}
# Paths the docs name that are placeholders, not files.
PLACEHOLDERS = re.compile(r"<|\*")


@pytest.mark.parametrize("name", sorted(DOCS))
def test_named_repository_paths_exist(name: str) -> None:
    text = DOCS[name].read_text()
    named = set(re.findall(r"`((?:analyzers|bot|tests|deploy|helm|config|docs|scripts)/[^`\s]+)`", text))
    named |= {f"docs/{link}" for link in re.findall(r"\]\(([\w-]+\.md)\)", text)}
    assert named
    missing = [path for path in sorted(named) if not PLACEHOLDERS.search(path) and not (REPO / path).exists()]
    assert missing == [], missing


def test_the_analyzer_guide_names_real_registries() -> None:
    text = DOCS["adding-an-analyzer.md"].read_text()
    for module, name in [
        ("analyzers", "ANALYZERS"),
        ("analyzers.correlate", "CAUSE_PRIORITY"),
        ("analyzers.correlate", "EFFECTS"),
        ("analyzers.remediate", "_RULES"),
        ("analyzers.checks", "_CHECKS"),
        ("analyzers.registry", "SPECS"),
        ("analyzers.spec", "FindingSpec"),
        ("analyzers.ids", "FindingId"),
        ("analyzers.base", "finding"),
        ("analyzers.base", "narrow"),
        ("analyzers.redis_view", "redis_view"),
        ("analyzers.containers", "service_memory_limit"),
    ]:
        assert f"`{name}`" in text or f"{name}(" in text, name
        assert hasattr(importlib.import_module(module), name), f"{module}.{name}"
    analyzers = importlib.import_module("analyzers")
    assert "redis-maxmemory-unset" in analyzers.ANALYZERS
    correlate = importlib.import_module("analyzers.correlate")
    assert correlate.CAUSE_PRIORITY["redis-maxmemory-unset"] == 30 and correlate.EFFECTS["crash-loop"] == 70


def test_operating_lists_the_bots_metrics_and_commands() -> None:
    text = DOCS["operating.md"].read_text()
    for metric in (
        "triage_requests_total",
        "triage_diagnoses_total",
        "triage_diagnosis_duration_seconds",
        "triage_source_failures_total",
        "triage_slack_errors_total",
    ):
        assert metric in text, metric
    for needle in (
        "triage audit --since 24h",
        "--service",
        "--json",
        "/healthz",
        "/readyz",
        "appendonly yes",
    ):
        assert needle in text, needle


def test_deploying_values_are_chart_values() -> None:
    """Every `a.b.c` value the deploying guide names is a key of the chart's values."""
    values = merged_values()
    text = DOCS["deploying.md"].read_text()
    named = set(
        re.findall(
            r"`((?:slack|rbac|remediation|redis|networkPolicy|serviceMonitor|prometheusRule|ingress)(?:\.\w+)+)",
            text,
        )
    )
    assert len(named) > 10
    refused = {"slack.botToken"}  # named as what the schema refuses
    assert refused <= named
    for dotted in sorted(named - refused):
        node: object = values
        for part in dotted.split("."):
            if part == "labels" and isinstance(node, dict) and "labels" in node:
                node = {}
                break
            assert isinstance(node, dict) and part in node, dotted
            node = node[part]


def test_quick_start_commands_match_the_files() -> None:
    text = DOCS["deploying.md"].read_text()
    assert "helm install oncall-triage ./helm/oncall-triage -n triage" in text
    receiver = (REPO / "deploy" / "alertmanager-receiver.yaml").read_text()
    secret_file = re.search(r"credentials_file: (\S+)", receiver)
    assert secret_file and secret_file[1] in text
    assert Path(REPO / "deploy" / "slack-app-manifest.yaml").exists()
