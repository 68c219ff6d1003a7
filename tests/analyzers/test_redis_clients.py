"""redis-maxclients-reached: new connections are refused at maxclients."""

from __future__ import annotations

import pytest
from analyzer_kit import incident, only
from redis_snippets import info

from analyzers import redis_clients

CLIENT_REFUSED = """
    $ kubectl exec -n web session-store-0 -- redis-cli PING
    (error) ERR max number of clients reached
"""

CHECKOUT_VALUES = """
    checkout:
      redis:
        poolSize: 200
      autoscaling:
        maxReplicas: 60
"""


def clients_info(connected: int) -> str:
    return info(
        "session-store-0",
        "# Clients",
        f"connected_clients:{connected}",
        "maxclients:10000",
        "# Stats",
        "rejected_connections:4821",
    )


def test_refused_connections_at_maxclients_with_the_pools_that_fill_it() -> None:
    pasted = incident(CLIENT_REFUSED, clients_info(10000), CHECKOUT_VALUES)
    finding = only(pasted.run(redis_clients.analyze, "session-store"), "redis-maxclients-reached")
    assert finding.severity == "critical"
    assert finding.confidence == pytest.approx(0.95)
    assert finding.data["maxclients"] == 10000
    assert finding.data["pool"] == 200
    assert "10000 clients are connected and maxclients is 10000" in finding.detail
    assert "4821 connections were rejected" in finding.detail
    assert "pool of 200 connections" in finding.detail and "up to 60 pods" in finding.detail
    excerpts = [s.excerpt for s in finding.evidence]
    assert "(error) ERR max number of clients reached" in excerpts
    assert "connected_clients:10000" in excerpts and "maxclients:10000" in excerpts
    assert any("poolSize: 200" in e for e in excerpts)
    pasted.assert_cited(finding)


def test_connected_clients_at_maxclients_without_a_refusal_seen() -> None:
    pasted = incident(clients_info(9990))
    finding = only(pasted.run(redis_clients.analyze, "session-store"), "redis-maxclients-reached")
    assert finding.confidence == pytest.approx(0.8)
    assert finding.data["pool"] is None
    pasted.assert_cited(finding)


def test_a_few_hundred_clients_under_maxclients_10000_give_nothing() -> None:
    pasted = incident(clients_info(312))
    assert pasted.run(redis_clients.analyze, "session-store") == []


def test_pool_settings_alone_are_not_a_refusal() -> None:
    pasted = incident(CHECKOUT_VALUES)
    assert pasted.run(redis_clients.analyze, "session-store") == []
