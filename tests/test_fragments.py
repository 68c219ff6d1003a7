"""Line readers for fragments: rows without their header, quoted or boxed text, loose event messages."""

from __future__ import annotations

import pytest

from analyzers.evidence import EventRecord
from bot.readers import read_string
from bot.readers.fragments import (
    df_row,
    get_event_row,
    get_pod_row,
    is_prose,
    loose_event,
    stated_memory_limit,
    unwrap,
)


@pytest.mark.parametrize(
    ("line", "inner"),
    [
        (
            "> 42m   Warning   Failed   pod/x-1   Error: ErrImagePull",
            "42m   Warning   Failed   pod/x-1   Error: ErrImagePull",
        ),
        ("│ used_memory:     1.2G │", "used_memory:     1.2G"),
        ("┃ maxmemory 0", "maxmemory 0"),
        ("plain line", "plain line"),
        ("    indented: yaml", "    indented: yaml"),
    ],
)
def test_unwrap(line: str, inner: str) -> None:
    assert unwrap(line) == inner


def test_unwrap_drops_box_borders() -> None:
    assert unwrap("└──────────┴─────┘") == ""


def test_a_get_events_row_without_its_header() -> None:
    cells = get_event_row(
        "42m         Warning   Failed             pod/freenas-nfs-controller-697cb8cd9b-fgnqj    "
        'Failed to pull image "democraticcsi/democratic-csi:latest": toomanyrequests'
    )
    assert cells is not None
    assert (cells["TYPE"], cells["REASON"], cells["OBJECT"]) == (
        "Warning",
        "Failed",
        "pod/freenas-nfs-controller-697cb8cd9b-fgnqj",
    )
    assert cells["MESSAGE"].startswith("Failed to pull image")


def test_a_get_events_row_with_namespace_and_repeat_count() -> None:
    cells = get_event_row(
        "kube-system   5m (x12 over 1h)   Warning   BackOff   pod/app-0   Back-off restarting failed container"
    )
    assert cells is not None
    assert cells["NAMESPACE"] == "kube-system" and cells["LAST SEEN"] == "5m (x12 over 1h)"


def test_an_old_layout_events_row() -> None:
    cells = get_event_row(
        '18m           8s              90      {kubelet 10.3.9.6}                      Warning         FailedMount     configmaps "searchlight-init" not found'
    )
    assert cells is not None
    assert cells["REASON"] == "FailedMount" and cells["LAST SEEN"] == "8s (x90 over 18m)"


def test_a_type_first_events_row() -> None:
    cells = get_event_row(
        "Warning Evicted 6d pod/settlement-svc-64f9c7d7d8-hh2lz The node was low on resource: memory."
    )
    assert cells is not None and cells["LAST SEEN"] == "6d" and cells["REASON"] == "Evicted"


@pytest.mark.parametrize(
    "line",
    [
        "Warning  Unhealthy  3m  kubelet  Liveness probe failed",  # a describe row: read elsewhere
        "2024-01-01 10:00:00 Warning something happened",
        "NAME   READY   STATUS",
    ],
)
def test_what_is_not_a_headerless_event_row(line: str) -> None:
    assert get_event_row(line) is None


def test_a_get_pods_row_without_its_header() -> None:
    cells = get_pod_row("metrics-5bdbb7994-j22k6              0/1     CrashLoopBackOff   1148       4d1h")
    assert cells == {
        "NAME": "metrics-5bdbb7994-j22k6",
        "READY": "0/1",
        "STATUS": "CrashLoopBackOff",
        "RESTARTS": "1148",
        "AGE": "4d1h",
    }


def test_a_grepped_pods_row_with_namespace_prefix_and_restart_age() -> None:
    cells = get_pod_row("redis   redis-ha-server-0   2/3   Running   5 (61s ago)   10m")
    assert cells is not None
    assert cells["NAMESPACE"] == "redis" and cells["RESTARTS"] == "5 (61s ago)"
    assert get_pod_row("pod/elastic-operator-0   0/1     OOMKilled   6          7m56s") is not None


@pytest.mark.parametrize("line", ["used_memory:1024", "requests 12 3/4 done", "a b 1/2 c d"])
def test_what_is_not_a_pods_row(line: str) -> None:
    assert get_pod_row(line) is None


def test_df_rows() -> None:
    assert df_row("/dev/sda1        50G   48G  2.0G  97% /data") == ("/data", 0.97)
    assert df_row("overlay          97G   28G   69G  29% /") == ("/", 0.29)
    assert df_row("Filesystem      Size  Used Avail Use% Mounted on") is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('Failed to pull image "grafana/grafana:6.1.2": manifest unknown', "Failed"),
        ('ImagePullBackOff: Back-off pulling image "drainnode/leader:v1.0-rc9"', "ImagePullBackOff"),
        ("Liveness probe failed: HTTP probe failed with statuscode: 500", "Unhealthy"),
        ("The node was low on resource: ephemeral-storage.", "Evicted"),
        ("0/3 nodes are available: 3 Insufficient memory.", "FailedScheduling"),
    ],
)
def test_loose_event_messages(line: str, reason: str) -> None:
    found = loose_event(line)
    assert found is not None and found[0] == reason


@pytest.mark.parametrize("line", ["pulling image done", "Reason: ImagePullBackOff", "probe ok"])
def test_what_is_not_a_loose_event(line: str) -> None:
    assert loose_event(line) is None


def test_memory_limits_stated_in_prose() -> None:
    assert (
        stated_memory_limit("I noticed the memory limit set for the operator is also small (only 100Mb)")
        == "100Mb"
    )
    assert stated_memory_limit("deployed with static memory and cpu limits - `2Gi` and 1 CPU core") == "2Gi"
    assert stated_memory_limit("the cpu limit is 2 cores") is None
    assert stated_memory_limit("rate limit of 100Mb per second on the uplink") is None


def test_prose_is_not_a_value() -> None:
    assert is_prose("Currently istiod Deployment is deployed with static memory and cpu limits")
    assert not is_prose("allkeys-lru")


def test_quoted_event_rows_become_events_of_their_pod() -> None:
    evidence = read_string(
        '> 42m   Warning   Failed   pod/web-6d4cf56db6-x2k9p   Failed to pull image "web:1.2": not found\n',
        "chat.txt",
    )
    events = [f for f in evidence.of("event") if isinstance(f.value, EventRecord)]
    assert len(events) == 1
    assert events[0].subject.pod == "web-6d4cf56db6-x2k9p" and events[0].value.reason == "Failed"
    assert events[0].source.excerpt.startswith("42m")


def test_a_sentence_in_a_notes_file_is_not_read_as_helm_values() -> None:
    evidence = read_string(
        'Reporter: "We run it with static memory and cpu limits - `2Gi` and it is OOMKilled"\n', "notes.md"
    )
    assert not list(evidence.of("helm.value"))
    assert [f.value for f in evidence.of("container.memory_limit")] == [2 * 2**30]


def test_helm_values_pasted_indented_keep_their_full_paths() -> None:
    evidence = read_string(
        "    redis:\n      resources:\n        limits:\n          memory: 4096Mi\n", "values.yaml"
    )
    assert [f.key for f in evidence.of("helm.value")] == ["redis.resources.limits.memory"]


def test_a_pod_status_pasted_without_kind_is_read_as_the_pod() -> None:
    text = (
        "status:\n  phase: Failed\n  reason: Evicted\n"
        "  message: 'The node was low on resource: ephemeral-storage. Container worker was using 60Gi.'\n"
        "  startTime: '2019-03-12T17:39:35Z'\n"
    )
    evidence = read_string(text, "pod-status.yaml")
    assert not list(evidence.of("helm.value"))
    events = [f.value for f in evidence.of("event") if isinstance(f.value, EventRecord)]
    assert [(e.reason, e.object_kind) for e in events] == [("Evicted", "Pod")]


def test_the_line_readers_table_names_real_readers_with_a_reason() -> None:
    from bot.readers.text import LINE_READERS, _Scanner

    assert len({name for name, _, _ in LINE_READERS}) == len(LINE_READERS)
    for _, method, why in LINE_READERS:
        assert callable(getattr(_Scanner, method)) and why


def test_a_claimed_line_without_facts_is_not_counted_as_not_understood() -> None:
    evidence = read_string(
        "NAME   READY   STATUS   RESTARTS   AGE\n\nthis line means nothing at all\n", "pods.txt"
    )
    assert "1 line(s) or object(s) not understood" in evidence.sources[0].detail


def test_bold_markers_are_taken_off_but_redis_banners_kept() -> None:
    assert (
        unwrap("**Message:   The node was low on resource: memory.**")
        == "Message:   The node was low on resource: memory."
    )
    assert unwrap("*** FATAL CONFIG FILE ERROR ***") == "*** FATAL CONFIG FILE ERROR ***"


def test_sentences_around_a_paste_are_notes() -> None:
    evidence = read_string(
        'Reporter: "the volume ran out of disk space after the upgrade last night"\n', "notes.md"
    )
    assert [f.value for f in evidence.of("text.note")] == [
        'Reporter: "the volume ran out of disk space after the upgrade last night"'
    ]
    assert not list(
        read_string("1:M 04 Mar 2025 09:02:49.331 * Background saving started by pid 7\n", "r").of(
            "text.note"
        )
    )


def test_describe_keys_after_the_annotations_are_the_pods_own() -> None:
    text = (
        "Annotations:    kubernetes.io/psp: eks.privileged\nStatus:         Failed\nReason:         Evicted\n"
    )
    assert [f.value for f in read_string(text, "describe.txt").of("pod.status")] == ["Failed", "Evicted"]


@pytest.mark.parametrize(
    ("command", "pod", "container", "workload"),
    [
        ("kubectl logs pod/jenkins-0 init", "jenkins-0", "init", "jenkins"),
        ("kubectl logs deploy/web", None, None, "web"),
        ("kubectl logs -n x web-0 sidecar --previous", "web-0", "sidecar", "web"),
        ("kubectl logs web-0 --tail 100", "web-0", None, "web"),
    ],
)
def test_kubectl_logs_targets(command: str, pod: str | None, container: str | None, workload: str) -> None:
    from bot.readers.commands import parse_command

    subject = parse_command(command).subject
    assert (subject.pod, subject.container, subject.workload) == (pod, container, workload)


def test_a_file_that_gave_facts_is_never_reported_empty() -> None:
    evidence = read_string(
        "I noticed the memory limit set for the operator is also small (only 100Mb)\n", "n.md"
    )
    assert evidence.facts
    assert evidence.sources[0].status == "ok" and "empty" not in evidence.sources[0].detail


@pytest.mark.parametrize(
    ("sentence", "probe"),
    [
        ("Redis liveness and readiness started failing automatically.", "liveness"),
        ("readiness and liveness probes fail after the upgrade", "liveness"),
        ("the liveness endpoint returns 200 but the readiness one failed", None),  # no probe is said to fail
        ("We observed that the liveness probe reliably kills the container during migrations.", "liveness"),
        ("the startup probe failed three times while the replica was syncing", "startup"),
        ("The liveness probe is not failing, the pod is fine.", None),
        ("Is the liveness probe failing here?", None),
        ("If the liveness probe fails, the kubelet restarts the container.", None),
    ],
)
def test_probe_failures_reported_in_words(sentence: str, probe: str | None) -> None:
    from bot.readers.fragments import said_probe_kills

    assert said_probe_kills(sentence) == probe


def test_memory_requests_stated_in_prose() -> None:
    from bot.readers.fragments import stated_memory_request

    assert stated_memory_request("I increased resource request to 4Gi after your comment") == "4Gi"
    assert stated_memory_request("we raised the request rate to 100Mb per second") is None
    assert stated_memory_request("the cpu request is 500m") is None


def test_a_programs_long_line_is_not_a_persons_note() -> None:
    logged = "2025-03-04T06:00:01Z ERROR payment worker gave up after the third retry on the ledger"
    assert not list(read_string(logged + "\n", "app.log").of("text.note"))
    under_logs = (
        "$ kubectl logs web-0\nThe worker gave up after the third retry on the ledger service today\n"
    )
    assert not list(read_string(under_logs, "paste.txt").of("text.note"))


@pytest.mark.parametrize(
    ("sentence", "cores"),
    [
        ("The original `cpu: 100m` limit came from the sample values.yaml in the repository.", 0.1),
        ("We run it with a CPU limit of 0.5 cores", 0.5),
        ("the cpu request is 500m and there is no limit", None),  # a request
        ("CPU usage peaks at 900m during start-up", None),  # no limit named
        ("the memory limit is 512Mi", None),
    ],
)
def test_cpu_limits_stated_in_prose(sentence: str, cores: float | None) -> None:
    from bot.readers.fragments import stated_cpu_limit

    assert stated_cpu_limit(sentence) == cores


@pytest.mark.parametrize(
    ("sentence", "said"),
    [
        ("On Ubuntu 26.04 the Keycloak pod is `OOMKilled` again and again at its 2Gi", True),
        ("But I very fast ran into crash loops due to OOMKilled Both for Immich and Redis.", True),
        (
            "The restart 12 days ago is the OOM kill that led to CHG-5521: maxmemory went into the ConfigMap",
            False,
        ),
        ("memory is at 140Mi when it dies, it's not OOMKilled", False),
        ('runbook RB-112 says: "If kubectl describe shows Reason: OOMKilled, bump the limit"', False),
        ("Is the pod OOMKilled?", False),
    ],
)
def test_oom_kills_reported_in_words(sentence: str, said: bool) -> None:
    from bot.readers.fragments import said_oom_kill

    assert said_oom_kill(sentence) is said


@pytest.mark.parametrize(
    ("sentence", "said"),
    [
        ("if a worker crashes or restarts, the keys remain forever with `TTL -1`.", True),
        ("the session keys are written without a TTL by the old client", True),
        ("Do the keys have no expiry?", False),
        ("The keys do not never expire, we set EX 3600 everywhere", False),
        ("TTL is 3600 on every key", False),
    ],
)
def test_keys_without_ttl_reported_in_words(sentence: str, said: bool) -> None:
    from bot.readers.fragments import said_no_ttl

    assert said_no_ttl(sentence) is said


@pytest.mark.parametrize(
    ("sentence", "delay"),
    [
        ("This recovery took like 1 minute. The livenessprobe starts probing 20s after pod startup.", 20),
        ("the liveness probe has an initialDelaySeconds: 5 s", 5),
        ("Should the liveness probe start after 60 seconds?", None),
        ("the readiness probe starts after 10s", None),  # not the liveness probe
    ],
)
def test_liveness_probe_delays_stated_in_prose(sentence: str, delay: int | None) -> None:
    from bot.readers.fragments import said_probe_delay

    assert said_probe_delay(sentence) == delay


@pytest.mark.parametrize(
    ("sentence", "policy"),
    [
        ("running into OOM issues in Redis with maxmemory-policy set to volatile-lru.", "volatile-lru"),
        (
            "I have got 'maxmemory' set on redis with volatile-ttl policy, which removes the nearest expire",
            "volatile-ttl",
        ),
        ("Should we use the allkeys-lru policy instead?", None),
        ("We do not run maxmemory-policy noeviction any more", None),
    ],
)
def test_eviction_policies_stated_in_prose(sentence: str, policy: str | None) -> None:
    from bot.readers.fragments import said_redis_policy

    assert said_redis_policy(sentence) == policy


@pytest.mark.parametrize(
    "line",
    [
        'Error: secret "prefect-api-key" not found',
        'CreateContainerConfigError: secret "airflow-mysql-secrets" not found',
        "InvalidConfiguration: max number of clients reached",
        "Redis::CannotConnectError: Error connecting to Redis on 127.0.0.1:6379 (Errno::ECONNREFUSED)",
    ],
)
def test_a_message_with_a_reason_or_exception_in_front_is_not_a_helm_value(line: str) -> None:
    evidence = read_string(line + "\n", "error.txt")
    assert not list(evidence.of("helm.value"))
    assert list(evidence.of("event")) or list(evidence.of("log"))


def test_a_settings_file_with_capitalised_keys_is_still_values() -> None:
    evidence = read_string("LogLevel: debug\nMaxConnections: 100\n", "values.yaml")
    assert {f.key for f in evidence.of("helm.value")} == {"LogLevel", "MaxConnections"}


def test_kubectl_says_which_container_waits_to_start_and_why() -> None:
    evidence = read_string(
        'Error from server (BadRequest): container "prefect-agent" in pod "prefect-agent-768c7844b4-b2frc" '
        "is waiting to start: CreateContainerConfigError\n",
        "logs.txt",
    )
    (waiting,) = evidence.of("container.waiting_reason")
    assert waiting.value == "CreateContainerConfigError"
    assert (waiting.subject.pod, waiting.subject.container) == (
        "prefect-agent-768c7844b4-b2frc",
        "prefect-agent",
    )


def test_a_cpu_throttling_alert_text_is_a_throttled_share() -> None:
    evidence = read_string(
        "41% throttling of CPU in namespace monitoring for container prometheus-config-reloader in pod "
        "prometheus-operator-prometheus-0.\n",
        "alerts.txt",
    )
    (metric,) = evidence.of("metric")
    assert metric.value.last == pytest.approx(0.41)  # type: ignore[union-attr]
    assert metric.subject.container == "prometheus-config-reloader"


@pytest.mark.parametrize(
    "sentence",
    [
        "OOMKilled is not the reason here, the exit code is 1",
        "I don't see any OOMKilled in the describe output",
        "We ruled out an OOM kill because memory stays at 200Mi",
        "Yesterday the api pod got OOMKilled, so we raised the limit to 2Gi",
        "Elasticsearch on the same node keeps getting OOMKilled",
        "the istio-proxy sidecar in the pod got OOMKilled twice",
        "I read in another issue that Grafana gets OOMKilled with this dashboard",
    ],
)
def test_oom_kills_denied_elsewhere_or_told_as_history_are_not_reported(sentence: str) -> None:
    from bot.readers.fragments import said_oom_kill

    assert said_oom_kill(sentence) is False


@pytest.mark.parametrize(
    ("sentence", "cores"),
    [
        ("We raised the CPU limit from 100m to 2 cores and it still restarts", 2.0),
        ("CPU usage is only 50m while the limit is 4 cores", None),
        ("We removed the CPU limit of 200m last week", None),
        ("the LimitRange gives every container a default cpu limit of 100m", None),
        ("the istio-proxy sidecar has a cpu limit of 100m", None),
    ],
)
def test_cpu_limits_in_prose_that_are_not_the_limit_in_force(sentence: str, cores: float | None) -> None:
    from bot.readers.fragments import stated_cpu_limit

    assert stated_cpu_limit(sentence) == cores


@pytest.mark.parametrize(
    ("sentence", "policy"),
    [
        ("We changed the maxmemory-policy from volatile-lru to allkeys-lru yesterday", "allkeys-lru"),
        ("The vendor docs recommend the allkeys-lru eviction policy for caches", None),
        ("The Sidekiq wiki warns that a volatile-lru eviction policy silently drops jobs", None),
    ],
)
def test_eviction_policies_changed_or_advised_in_prose(sentence: str, policy: str | None) -> None:
    from bot.readers.fragments import said_redis_policy

    assert said_redis_policy(sentence) == policy


def test_probe_failures_told_as_history_and_delays_advised_are_not_read() -> None:
    from bot.readers.fragments import said_probe_delay, said_probe_kills

    assert (
        said_probe_kills("During last week's load test the liveness probe started failing, that was fixed")
        is None
    )
    assert said_probe_delay("My colleague suggested a liveness probe delay of 300 seconds") is None


def test_a_log_line_under_a_pods_table_is_not_a_pod() -> None:
    evidence = read_string(
        "NAME          READY   STATUS             RESTARTS   AGE\n"
        "postgres-0    0/1     CrashLoopBackOff   8          30m\n"
        "2024-05-01 10:00:01.789 UTC [27] LOG:  database system was not properly shut down\n",
        "paste.txt",
    )
    assert {f.subject.pod for f in evidence.of("pod.status")} == {"postgres-0"}


@pytest.mark.parametrize(
    ("sentence", "said"),
    [
        ("the config-reloader container began experiencing high CPU throttling:", True),
        ("We have observed it hitting the 100m CPU limit very often", True),
        ("Is the CPU throttling the reason for the latency?", False),
        ("There is no CPU throttling at all on these nodes", False),
        ("Last week the CPU throttling was fixed by removing the limit", False),
    ],
)
def test_cpu_throttling_reported_in_words(sentence: str, said: bool) -> None:
    from bot.readers.fragments import said_cpu_throttled

    assert said_cpu_throttled(sentence) is said


def test_notes_that_repeat_a_key_are_read_line_by_line_not_as_one_mapping() -> None:
    evidence = read_string(
        'Reporter: "the config-reloader began experiencing high CPU throttling after the upgrade to v23"\n'
        'Reporter: "Observe CPU throttling on the config-reloader container"\n',
        "notes.md",
    )
    assert not list(evidence.of("helm.value"))
    assert len(list(evidence.of("text.note", None))) >= 2


def test_a_failing_init_container_in_pod_json_is_read_and_a_finished_one_is_not() -> None:
    import json

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "flagsmith-api-6c9959c65c-4n49k", "namespace": "flagsmith"},
        "spec": {"containers": [{"name": "api", "image": "flagsmith/api:2.0"}]},
        "status": {
            "phase": "Pending",
            "initContainerStatuses": [
                {
                    "name": "migrate",
                    "restartCount": 0,
                    "state": {"terminated": {"reason": "Completed", "exitCode": 0}},
                },
                {
                    "name": "wait-for-db",
                    "restartCount": 5,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s"}},
                    "lastState": {"terminated": {"reason": "Error", "exitCode": 1}},
                },
            ],
        },
    }
    evidence = read_string(json.dumps(pod), "pod.json")
    waiting = {(f.subject.container, f.value) for f in evidence.of("container.waiting_reason")}
    assert waiting == {("wait-for-db", "CrashLoopBackOff")}
