"""redis-auth-disabled: Redis accepts clients without a password."""

from __future__ import annotations

import pytest
from analyzer_kit import incident, only

from analyzers import redis_auth

CHART_VALUES = """
    sessionStore:
      auth:
        enabled: {enabled}
      master:
        configuration: |-
          maxmemory 900mb
          maxmemory-policy volatile-lru
"""

REDIS_CONF = """
    bind 0.0.0.0
    protected-mode no
    maxmemory 900mb
    maxmemory-policy volatile-lru
    appendonly yes
"""


def test_a_chart_that_disables_auth_on_redis_is_informational() -> None:
    pasted = incident(CHART_VALUES.format(enabled="false"))
    finding = only(pasted.run(redis_auth.analyze, "session-store"), "redis-auth-disabled")
    assert finding.severity == "info"
    assert finding.confidence == pytest.approx(0.85)
    assert finding.evidence[0].excerpt == "enabled: false"
    pasted.assert_cited(finding)


def test_protected_mode_off_without_a_password() -> None:
    pasted = incident(REDIS_CONF)
    finding = only(pasted.run(redis_auth.analyze, "session-store"), "redis-auth-disabled")
    assert finding.severity == "info"
    assert [s.excerpt for s in finding.evidence] == ["protected-mode no"]
    pasted.assert_cited(finding)


def test_protected_mode_off_with_requirepass_is_protected() -> None:
    pasted = incident(REDIS_CONF + "    requirepass s3ss10n-st0re-pw\n")
    assert pasted.run(redis_auth.analyze, "session-store") == []


def test_a_chart_with_auth_enabled_gives_nothing() -> None:
    pasted = incident(CHART_VALUES.format(enabled="true"))
    assert pasted.run(redis_auth.analyze, "session-store") == []


def test_auth_disabled_in_a_chart_without_any_redis_is_not_about_redis() -> None:
    pasted = incident(
        """
        grafana:
          auth:
            enabled: false
          adminUser: admin
        """
    )
    assert pasted.run(redis_auth.analyze, "session-store") == []
