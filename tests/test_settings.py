"""The service catalog: the documented shape loads, broken files say where, env wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import CatalogError, load_catalog

ROOT = Path(__file__).resolve().parent.parent

SHAPE_FROM_THE_ISSUE = """
prometheus_url: http://prometheus.monitoring:9090
services:
  session-cache:
    namespace: ecommerce
    selector: app=session-cache
    redis_url: redis://session-cache.ecommerce:6379/0
    channel: C0123ONCALL
    owners: [U0123ABC]
"""


def test_the_documented_shape_loads(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(SHAPE_FROM_THE_ISSUE)
    catalog = load_catalog(path, environ={})
    service = catalog.service("session-cache")
    assert service is not None
    assert (service.namespace, service.selector, service.owners) == (
        "ecommerce",
        "app=session-cache",
        ["U0123ABC"],
    )
    assert catalog.prometheus_url == "http://prometheus.monitoring:9090"


def test_the_bundled_example_is_valid() -> None:
    catalog = load_catalog(ROOT / "config" / "catalog.example.yaml", environ={})
    assert "session-cache" in catalog.services


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(SHAPE_FROM_THE_ISSUE)
    environ = {"TRIAGE_CONFIG": str(path), "PROMETHEUS_URL": "http://localhost:9999", "KUBECONFIG": "/k"}
    catalog = load_catalog(None, environ=environ)
    assert catalog.prometheus_url == "http://localhost:9999"
    assert catalog.kubeconfig == "/k"
    assert catalog.service("session-cache") is not None


def test_no_file_is_an_empty_catalog() -> None:
    assert load_catalog(None, environ={}).services == {}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("services: [a, b]", "services"),
        ("services:\n  x:\n    selector: app\n", "selector"),
        ("services:\n  x:\n    namespce: typo\n", "namespce"),
        ("prometheus_url: [", "not valid YAML"),
        ("- just\n- a list\n", "mapping"),
    ],
)
def test_a_broken_catalog_says_what_and_where(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError) as error:
        load_catalog(path, environ={})
    assert str(path) in str(error.value) and says in str(error.value)


def test_a_missing_catalog_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "nope.yaml", environ={})


def test_unknown_services_get_the_closest_names(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(SHAPE_FROM_THE_ISSUE)
    assert load_catalog(path, environ={}).suggestions("session-cach") == ["session-cache"]


def test_a_redis_password_comes_from_the_environment_not_the_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text("services:\n  cache:\n    redis_url: redis://:${CACHE_REDIS_PASSWORD}@cache:6379/0\n")

    catalog = load_catalog(path, environ={"CACHE_REDIS_PASSWORD": "s3cret"})

    assert catalog.services["cache"].redis_url == "redis://:s3cret@cache:6379/0"
    with pytest.raises(CatalogError, match=r"services\.cache\.redis_url names \$\{CACHE_REDIS_PASSWORD\}"):
        load_catalog(path, environ={})
