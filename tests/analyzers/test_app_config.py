"""app-config-error: the process exits at start-up because of its own configuration."""

from __future__ import annotations

from dataclasses import replace

from analyzer_kit import Incident, fact, incident, only

from analyzers import app_config
from analyzers.evidence import LogRecord, Subject

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


# -- the process refuses its own configuration or flags ----------------------------------------

REDIS_FATAL_CONFIG = """
    $ kubectl logs redis-master-0 -n cache --previous
    1:C 03 Nov 2024 02:11:10.101 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo
    *** FATAL CONFIG FILE ERROR ***
    Reading the configuration file, at line 1322
    >>> 'maxmemory 256mb --maxmemory-samples 5'
    Bad directive or wrong number of arguments
"""


def test_redis_refusing_its_config_is_a_config_error_on_its_own() -> None:
    pasted = incident(REDIS_FATAL_CONFIG)
    finding = only(pasted.run(app_config.analyze, "redis"), "app-config-error")
    assert finding.data["cause"] == "config-file"
    assert finding.confidence >= 0.9
    assert "FATAL CONFIG FILE ERROR" in finding.evidence[0].excerpt
    pasted.assert_cited(finding)


def test_the_quoted_redis_directive_is_named_when_its_line_was_read() -> None:
    base = incident(REDIS_FATAL_CONFIG)
    fatal = next(f for f in base.read("log") if "FATAL CONFIG" in f.source.excerpt)
    quoted = fact(
        "log",
        LogRecord(">>> 'maxmemory 256mb --maxmemory-samples 5'"),
        ">>> 'maxmemory 256mb --maxmemory-samples 5'",
        subject=fatal.subject,
        ref=fatal.source.ref,
    )
    quoted = replace(quoted, source=replace(quoted.source, line=(fatal.source.line or 0) + 2))
    base.evidence.add(quoted)
    finding = only(base.run(app_config.analyze, "redis"), "app-config-error")
    assert finding.data["directive"] == "maxmemory 256mb --maxmemory-samples 5"
    assert "`maxmemory 256mb --maxmemory-samples 5`" in finding.detail


def test_a_redis_that_started_after_its_config_error_is_history() -> None:
    pasted = incident(
        REDIS_FATAL_CONFIG.rstrip() + "\n    1:M 03 Nov 2024 02:15:00.000 * Ready to accept connections tcp\n"
    )
    assert any("Ready to accept" in f.source.excerpt for f in pasted.read("log"))
    assert pasted.run(app_config.analyze, "redis") == []


def test_a_redis_config_error_hours_before_the_newest_evidence_is_stale() -> None:
    pasted = incident(
        """
        2024-11-03T02:11:10Z *** FATAL CONFIG FILE ERROR ***
        """,
        """
        $ kubectl logs redis-master-0 -n cache
        2024-11-03T06:40:00Z WARN slow log entry: 12ms
        """,
    )
    assert len(pasted.read("log")) == 2
    assert pasted.run(app_config.analyze, "redis") == []


def test_a_redis_log_pasted_beside_a_web_service_is_not_its_config_error() -> None:
    pasted = incident(
        """
        $ kubectl describe pod checkout-api-6c8d9e7f5b-h2j3k -n shop
        Name:             checkout-api-6c8d9e7f5b-h2j3k
        Namespace:        shop
        Containers:
          checkout-api:
            Image:          registry.local/checkout-api:2.0.1
            Ready:          True
            Restart Count:  0
        """,
        "*** FATAL CONFIG FILE ERROR ***\n",
    )
    assert pasted.read("log")
    assert pasted.run(app_config.analyze, "checkout-api") == []


def test_an_unknown_flag_names_the_flag() -> None:
    pasted = incident(
        """
        $ kubectl logs metrics-5bdbb7994-j22k6 -n deep-security
        Error: unknown flag: --license-url
        """
    )
    finding = only(pasted.run(app_config.analyze, "metrics"), "app-config-error")
    assert finding.data["cause"] == "flag"
    assert finding.data["flag"] == "--license-url"
    pasted.assert_cited(finding)


def test_a_go_flag_error_is_read_from_the_line_alone() -> None:
    line = "flag provided but not defined: -zap-level"
    pod = Subject(pod="watermarkpodautoscaler-75cd69b9f7-tz88b", workload="watermarkpodautoscaler")
    pasted = Incident().with_facts(fact("log", LogRecord(line), line, subject=pod))
    finding = only(pasted.run(app_config.analyze, "watermarkpodautoscaler"), "app-config-error")
    assert finding.data["flag"] == "-zap-level"
    pasted.assert_cited(finding)


def test_a_flag_error_while_the_container_runs_ready_is_history() -> None:
    pasted = incident(
        """
        $ kubectl describe pod metrics-5bdbb7994-j22k6 -n deep-security
        Name:             metrics-5bdbb7994-j22k6
        Namespace:        deep-security
        Containers:
          metrics:
            Image:          registry.local/metrics:1.2.0
            State:          Running
            Ready:          True
            Restart Count:  0
        """,
        """
        $ kubectl logs metrics-5bdbb7994-j22k6 -n deep-security
        Error: unknown flag: --license-url
        """,
    )
    assert pasted.read("container.ready")
    assert pasted.run(app_config.analyze, "metrics") == []


def test_another_services_flag_error_is_not_ours() -> None:
    pasted = incident(
        """
        $ kubectl logs ledger-worker-5d8f7c9b4-q2w7e -n pay
        Error: unknown flag: --license-url
        """
    )
    assert pasted.read("log")
    assert pasted.run(app_config.analyze, "metrics") == []


# -- the runtime cannot start the container ------------------------------------------------------

ENTRYPOINT_DENIED = """
    $ kubectl get events -n pay
    LAST SEEN   TYPE      REASON   OBJECT                              MESSAGE
    20s         Warning   Failed   pod/payments-api-6c8d9e7f5b-h2j3k   Error: failed to create containerd task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/docker-entrypoint.sh": permission denied: unknown
"""


def test_an_entrypoint_the_runtime_cannot_execute_is_a_config_error() -> None:
    pasted = incident(ENTRYPOINT_DENIED)
    finding = only(pasted.run(app_config.analyze, "payments-api"), "app-config-error")
    assert finding.data["cause"] == "runtime"
    assert "permission denied" in finding.detail
    pasted.assert_cited(finding)


def test_exec_format_error_says_the_architecture_is_wrong() -> None:
    pasted = incident(
        """
        $ kubectl get events -n pay
        LAST SEEN   TYPE      REASON   OBJECT                              MESSAGE
        20s         Warning   Failed   pod/payments-api-6c8d9e7f5b-h2j3k   Error: failed to start container "payments-api": exec format error
        """
    )
    finding = only(pasted.run(app_config.analyze, "payments-api"), "app-config-error")
    assert "architecture" in finding.detail


def test_a_probe_command_missing_is_not_a_container_that_cannot_start() -> None:
    pasted = incident(
        """
        $ kubectl get events -n db
        LAST SEEN   TYPE      REASON      OBJECT                          MESSAGE
        20s         Warning   Unhealthy   pod/mongodb-869dfbd697-nqxql    Readiness probe errored: rpc error: code = Unknown desc = failed to exec in container: exec: "mongosh": executable file not found in $PATH
        """
    )
    assert pasted.read("event")
    assert pasted.run(app_config.analyze, "mongodb") == []


def test_an_old_start_failure_event_is_history() -> None:
    pasted = incident(ENTRYPOINT_DENIED.replace("20s  ", "3d   "))
    assert pasted.read("event")
    assert pasted.run(app_config.analyze, "payments-api") == []


# -- init containers -------------------------------------------------------------------------------


def test_a_failing_init_container_and_its_log_explain_the_start() -> None:
    pasted = incident(
        """
        $ kubectl get pods -n ci
        NAME        READY   STATUS                  RESTARTS   AGE
        jenkins-0   0/2     Init:CrashLoopBackOff   4          3m
        """,
        """
        $ kubectl logs jenkins-0 -n ci -c init
        ERROR: Plugin prerequisites not met for configuration-as-code
        """,
    )
    finding = only(pasted.run(app_config.analyze, "jenkins"), "app-config-error")
    assert finding.data["cause"] == "init-container"
    assert finding.data["container"] == "init"
    assert finding.confidence >= 0.85
    pasted.assert_cited(finding)


def test_another_pods_init_container_is_not_ours() -> None:
    pasted = incident(
        """
        $ kubectl logs ledger-0 -n ci -c init
        ERROR: Plugin prerequisites not met for configuration-as-code
        """
    )
    assert pasted.read("log")
    assert pasted.run(app_config.analyze, "jenkins") == []


# -- missing ConfigMaps and Secrets ----------------------------------------------------------------


def test_a_mount_of_a_missing_configmap_names_it() -> None:
    pasted = incident(
        """
        Events:
          FirstSeen     LastSeen        Count   From                    SubobjectPath   Type            Reason          Message
          ---------     --------        -----   ----                    -------------   --------        ------          -------
          18m           8s              90      {kubelet 10.3.9.6}                      Warning         FailedMount     Unable to mount volumes for pod "searchlight-init-mdavi_openstack-system(0731e1f9)": configmaps "searchlight-init" not found
        """
    )
    finding = only(pasted.run(app_config.analyze, "searchlight-init"), "app-config-error")
    assert finding.data["cause"] == "missing-object"
    assert finding.data["missing"] == "searchlight-init"
    pasted.assert_cited(finding)


def test_a_mount_failure_naming_another_services_pod_is_not_ours() -> None:
    pasted = incident(
        """
        Events:
          FirstSeen     LastSeen        Count   From                    SubobjectPath   Type            Reason          Message
          ---------     --------        -----   ----                    -------------   --------        ------          -------
          18m           8s              90      {kubelet 10.3.9.6}                      Warning         FailedMount     Unable to mount volumes for pod "ledger-worker-5d8f7c9b4-q2w7e_pay(0731e1f9)": configmaps "ledger" not found
        """
    )
    assert pasted.read("event")
    assert pasted.run(app_config.analyze, "searchlight-init") == []


def test_the_cluster_ca_configmap_not_yet_there_is_not_the_apps_config() -> None:
    pasted = incident(
        """
        $ kubectl get events -n pay
        LAST SEEN   TYPE      REASON        OBJECT                              MESSAGE
        20s         Warning   FailedMount   pod/payments-api-6c8d9e7f5b-h2j3k   MountVolume.SetUp failed for volume "kube-api-access-8x2kq" : configmap "kube-root-ca.crt" not found
        """
    )
    assert pasted.read("event")
    assert pasted.run(app_config.analyze, "payments-api") == []


# -- loopback instead of the configured host -------------------------------------------------------

LOCALHOST_REFUSED = """
    $ kubectl logs redisadmin-7c9f8d6b5-m4k2p -n tools
    setUpConnection Redis error Error: connect ECONNREFUSED 127.0.0.1:6379
"""


def test_dialling_localhost_while_the_config_names_another_host_is_a_config_error() -> None:
    pasted = incident(
        LOCALHOST_REFUSED,
        """
        $ kubectl describe pod redisadmin-7c9f8d6b5-m4k2p -n tools
        Name:             redisadmin-7c9f8d6b5-m4k2p
        Namespace:        tools
        Containers:
          redisadmin:
            Image:          rediscommander/redis-commander:latest
            Environment:
              REDIS_HOSTS:  local:redis:6379
        """,
    )
    finding = only(pasted.run(app_config.analyze, "redisadmin"), "app-config-error")
    assert finding.data["cause"] == "loopback"
    assert finding.data["dials"] == "127.0.0.1:6379"
    pasted.assert_cited(finding)


def test_dialling_localhost_with_no_other_host_configured_is_not_shown_to_be_config() -> None:
    pasted = incident(
        LOCALHOST_REFUSED,
        """
        $ kubectl describe pod redisadmin-7c9f8d6b5-m4k2p -n tools
        Name:             redisadmin-7c9f8d6b5-m4k2p
        Namespace:        tools
        Containers:
          redisadmin:
            Image:          rediscommander/redis-commander:latest
            Environment:
              REDIS_HOSTS:  local:127.0.0.1:6379
        """,
    )
    assert pasted.read("container.env")
    assert pasted.run(app_config.analyze, "redisadmin") == []


LOOPBACK_FROM_A_CONTAINER = """
    In my container I notice that it doesnt connect to redis, running on the same machine.
    Cannot connect to redis://127.0.0.1:6379/0: Error 111 connecting to 127.0.0.1:6379. Connection refused..
"""


def test_loopback_from_inside_a_container_is_the_wrong_address() -> None:
    pasted = incident(LOOPBACK_FROM_A_CONTAINER)
    finding = only(pasted.run(app_config.analyze, None), "app-config-error")
    assert "inside a container that address is the container itself" in finding.detail
    assert pasted.diagnose(None).root_causes[0] == "app-config-error"
    pasted.assert_cited(finding)


def test_loopback_to_a_sidecar_of_the_same_pod_is_right() -> None:
    sidecar = """
        $ kubectl describe pod worker-7d9f8c6b5-q2w8z
        Name:         worker-7d9f8c6b5-q2w8z
        Containers:
          worker:
            Image:  corp/worker:1.0
          redis:
            Image:  redis:7.2
    """
    assert incident(LOOPBACK_FROM_A_CONTAINER, sidecar).run(app_config.analyze, "worker") == []


BARE_LOOPBACK = (
    "Cannot connect to redis://127.0.0.1:6379/0: Error 111 connecting to 127.0.0.1:6379. Connection refused.."
)


def test_loopback_with_nothing_said_about_containers_is_a_less_certain_wrong_address() -> None:
    pasted = incident(BARE_LOOPBACK)
    finding = only(pasted.run(app_config.analyze, None), "app-config-error")
    assert finding.confidence == 0.55
    pasted.assert_cited(finding)


def test_loopback_when_it_runs_on_a_laptop_is_left_to_the_dependency() -> None:
    pasted = incident("I run the worker locally with docker compose up\n" + BARE_LOOPBACK)
    assert pasted.run(app_config.analyze, None) == []


def _wait_for_bundled(enabled: str) -> list[str]:
    return [
        f"""
        $ cat values.yaml
        postgresql:
          enabled: {enabled}
        databaseExternal:
          enabled: true
          host: db.prod.example.com
        """,
        """
        $ kubectl logs flagsmith-api-6c9959c65c-4n49k -c wait-for-db
        wait-for-it.sh: waiting 30 seconds for flagsmith-flagsmith-postgresql.flagsmith.svc.cluster.local:5432
        wait-for-it.sh: timeout occurred after waiting 30 seconds for flagsmith-flagsmith-postgresql.flagsmith.svc.cluster.local:5432
        """,
    ]


def test_waiting_for_a_bundled_database_the_values_switch_off_is_a_config_error() -> None:
    pasted = incident(*_wait_for_bundled("false"))
    finding = only(pasted.run(app_config.analyze, "flagsmith-api"), "app-config-error")
    assert finding.data["cause"] == "disabled-bundle"
    assert "`postgresql.enabled: false`" in finding.detail
    assert "databaseExternal.host: db.prod.example.com" in finding.detail
    pasted.assert_cited(finding)


def test_waiting_for_a_bundled_database_that_is_switched_on_is_not_a_config_error() -> None:
    pasted = incident(*_wait_for_bundled("true"))
    assert pasted.read("helm.value")
    assert pasted.run(app_config.analyze, "flagsmith-api") == []


def test_dialling_the_external_host_the_values_name_is_not_the_disabled_bundle() -> None:
    values, logs = _wait_for_bundled("false")
    logs = logs.replace("flagsmith-flagsmith-postgresql.flagsmith.svc.cluster.local", "db.prod.example.com")
    assert incident(values, logs).run(app_config.analyze, "flagsmith-api") == []


def test_a_feature_switched_off_is_not_a_bundled_datastore() -> None:
    values = """
        $ cat values.yaml
        auth:
          enabled: false
        """
    logs = """
        $ kubectl logs web-6c9959c65c-4n49k
        wait-for-it.sh: timeout occurred after waiting 30 seconds for web-auth-service.web.svc.cluster.local:8080
        """
    assert incident(values, logs).run(app_config.analyze, "web") == []
