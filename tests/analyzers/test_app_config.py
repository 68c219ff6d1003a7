"""app-config-error: the process exits at start-up because of its own configuration."""

from __future__ import annotations

from analyzer_kit import incident, only

from analyzers import app_config

PAYMENTS_POD = """
    $ kubectl describe pod payments-api-6c8d9e7f5b-h2j3k -n pay
    Name:             payments-api-6c8d9e7f5b-h2j3k
    Namespace:        pay
    Containers:
      payments-api:
        Image:          registry.local/payments-api:1.9.0
        State:          Waiting
          Reason:       CrashLoopBackOff
        Last State:     Terminated
          Reason:       Error
          Exit Code:    1
        Ready:          False
        Restart Count:  8
        Environment:
          LOG_LEVEL:        info
          STRIPE_API_KEY:   <set to the key 'stripe-key' in secret 'payments-secrets'>  Optional: true
"""

FATAL_MISSING_KEY = """
    $ kubectl logs payments-api-6c8d9e7f5b-h2j3k -n pay --previous
    {"level":"fatal","ts":1730600000.12,"msg":"config: required environment variable STRIPE_API_KEY is not set"}
"""


def test_a_fatal_missing_variable_names_the_variable_and_where_it_comes_from() -> None:
    pasted = incident(PAYMENTS_POD, FATAL_MISSING_KEY)
    finding = only(pasted.run(app_config.analyze, "payments-api"), "app-config-error")
    assert finding.severity == "critical"
    assert finding.confidence >= 0.9
    assert finding.data["variable"] == "STRIPE_API_KEY"
    assert "secret 'payments-secrets'" in finding.data["source"]
    assert "STRIPE_API_KEY is not set" in finding.detail
    assert "marked optional" in finding.detail
    excerpts = [s.excerpt for s in finding.evidence]
    assert any("required environment variable STRIPE_API_KEY" in e for e in excerpts)
    assert any("Exit Code:    1" in e for e in excerpts)
    pasted.assert_cited(finding)


def test_a_missing_secret_event_is_a_config_error_before_the_process_starts() -> None:
    pasted = incident(
        """
        $ kubectl get events -n pay
        LAST SEEN   TYPE      REASON                       OBJECT                              MESSAGE
        30s         Warning   Failed                       pod/payments-api-6c8d9e7f5b-h2j3k   Error: secret "payments-secrets" not found
        """
    )
    finding = only(pasted.run(app_config.analyze, "payments-api"), "app-config-error")
    assert finding.confidence < 0.9
    assert finding.data["variable"] is None
    assert 'secret "payments-secrets" not found' in finding.evidence[0].excerpt
    pasted.assert_cited(finding)


def test_a_fatal_config_line_without_any_restart_or_exit_is_not_enough() -> None:
    pasted = incident(FATAL_MISSING_KEY)
    assert pasted.run(app_config.analyze, "payments-api") == []


def test_a_warning_about_an_optional_setting_is_not_a_config_error() -> None:
    pasted = incident(
        PAYMENTS_POD,
        """
        $ kubectl logs payments-api-6c8d9e7f5b-h2j3k -n pay --previous
        {"level":"warn","ts":1730600000.12,"msg":"optional setting FEATURE_FLAGS_URL not set, using defaults"}
        """,
    )
    assert pasted.run(app_config.analyze, "payments-api") == []


def test_another_service_missing_its_secret_is_not_ours() -> None:
    pasted = incident(
        """
        $ kubectl get events -A
        NAMESPACE   LAST SEEN   TYPE      REASON   OBJECT                          MESSAGE
        billing     1m          Warning   Failed   pod/invoicer-7d8e9f6a5b-c4d5e   Error: secret "invoicer-db" not found
        """
    )
    assert pasted.run(app_config.analyze, "payments-api") == []
