"""Property tests: the readers, and the whole diagnosis, never crash on bad input.

Pasted evidence arrives cut off, reordered, stripped of its indentation, as
binary, or as one enormous line.  Whatever comes in, `read_string` must return
`Evidence` that reports every input in `sources`, every excerpt must be text
that is really in the input, and `analyze(...).to_contract()` must be plain
JSON.  The realistic snippets below are written for these tests only.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from analyzers import analyze
from analyzers.evidence import Evidence
from bot.readers import read_paths, read_string

REPO = Path(__file__).resolve().parent.parent

# Budgets: the whole module runs in well under a minute on two cores.
FAST = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
THOROUGH = settings(FAST, max_examples=1000)

# -- realistic artifacts ---------------------------------------------------------------------

DESCRIBE_POD = """\
$ kubectl describe pod orders-api-6c9d7b5f48-q2wzt -n shop
Name:             orders-api-6c9d7b5f48-q2wzt
Namespace:        shop
Priority:         0
Service Account:  orders-api
Node:             ip-10-0-12-87.eu-west-1.compute.internal/10.0.12.87
Start Time:       Tue, 04 Mar 2025 08:11:23 +0000
Labels:           app.kubernetes.io/name=orders-api
                  pod-template-hash=6c9d7b5f48
Annotations:      prometheus.io/scrape: true
Status:           Running
IP:               10.0.14.201
Controlled By:    ReplicaSet/orders-api-6c9d7b5f48
Containers:
  orders-api:
    Container ID:   containerd://4be1f0c2d9a8
    Image:          registry.example.com/shop/orders-api:2.14.1
    Image ID:       registry.example.com/shop/orders-api@sha256:9f1c
    Port:           8080/TCP
    Host Port:      0/TCP
    State:          Waiting
      Reason:       CrashLoopBackOff
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
      Started:      Tue, 04 Mar 2025 09:40:02 +0000
      Finished:     Tue, 04 Mar 2025 09:41:17 +0000
    Ready:          False
    Restart Count:  17
    Limits:
      cpu:     500m
      memory:  256Mi
    Requests:
      cpu:      200m
      memory:   256Mi
    Liveness:   http-get http://:8080/healthz delay=10s timeout=1s period=10s #success=1 #failure=3
    Readiness:  http-get http://:8080/ready delay=5s timeout=1s period=5s #success=1 #failure=3
    Environment:
      JAVA_OPTS:     -Xmx512m -XX:+UseG1GC
      CART_REDIS:    cart-redis:6379
    Mounts:
      /var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-7xk2p (ro)
Conditions:
  Type              Status
  Initialized       True
  Ready             False
  ContainersReady   False
  PodScheduled      True
Events:
  Type     Reason     Age                  From     Message
  ----     ------     ----                 ----     -------
  Normal   Pulled     12m (x18 over 95m)   kubelet  Container image "registry.example.com/shop/orders-api:2.14.1" already present on machine
  Warning  BackOff    2m (x64 over 90m)    kubelet  Back-off restarting failed container orders-api in pod orders-api-6c9d7b5f48-q2wzt_shop
"""

PODS_JSON = json.dumps(
    {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": "cart-redis-0",
                    "namespace": "shop",
                    "labels": {"app": "cart-redis"},
                    "ownerReferences": [{"kind": "StatefulSet", "name": "cart-redis"}],
                },
                "spec": {
                    "containers": [
                        {
                            "name": "redis",
                            "image": "redis:7.2.4-alpine",
                            "args": ["--maxmemory", "0", "--maxmemory-policy", "noeviction"],
                            "resources": {
                                "limits": {"cpu": "1", "memory": "512Mi"},
                                "requests": {"cpu": "250m", "memory": "512Mi"},
                            },
                        },
                        {
                            "name": "exporter",
                            "image": "oliver006/redis_exporter:v1.58.0",
                            "resources": {"limits": {"memory": "64Mi"}},
                        },
                    ]
                },
                "status": {
                    "phase": "Running",
                    "containerStatuses": [
                        {
                            "name": "redis",
                            "ready": True,
                            "restartCount": 4,
                            "image": "redis:7.2.4-alpine",
                            "state": {"running": {"startedAt": "2025-03-04T09:02:51Z"}},
                            "lastState": {
                                "terminated": {
                                    "reason": "OOMKilled",
                                    "exitCode": 137,
                                    "startedAt": "2025-03-04T07:15:10Z",
                                    "finishedAt": "2025-03-04T09:02:49Z",
                                }
                            },
                        },
                        {
                            "name": "exporter",
                            "ready": True,
                            "restartCount": 0,
                            "state": {"running": {"startedAt": "2025-03-03T22:00:04Z"}},
                            "lastState": {},
                        },
                    ],
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "orders-api-6c9d7b5f48-q2wzt", "namespace": "shop"},
                "spec": {
                    "containers": [
                        {
                            "name": "orders-api",
                            "image": "registry.example.com/shop/orders-api:2.14.1",
                            "env": [{"name": "CART_REDIS", "value": "cart-redis:6379"}],
                            "resources": {"limits": {"memory": "256Mi"}, "requests": {"cpu": "200m"}},
                        }
                    ]
                },
                "status": {
                    "phase": "Running",
                    "containerStatuses": [
                        {
                            "name": "orders-api",
                            "ready": False,
                            "restartCount": 17,
                            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
                        }
                    ],
                },
            },
        ],
    },
    indent=4,
    sort_keys=True,  # as kubectl prints it
)

QUERY_RANGE_JSON = """\
{
  "status": "success",
  "data": {
    "resultType": "matrix",
    "result": [
      {
        "metric": {"__name__": "container_memory_working_set_bytes", "namespace": "shop",
                   "pod": "cart-redis-0", "container": "redis"},
        "values": [
          [1741078800, "401604608"],
          [1741078860, "455081984"],
          [1741078920, "512753664"],
          [1741078980, "536870912"]
        ]
      },
      {
        "metric": {"__name__": "redis_memory_used_bytes", "instance": "cart-redis:6379"},
        "values": [[1741078800, "380000000"], [1741078860, "441450496"], [1741078920, "498073600"]]
      }
    ]
  }
}
"""

REDIS_INFO = """\
$ kubectl exec -n shop cart-redis-0 -c redis -- redis-cli INFO
# Server
redis_version:7.2.4
redis_mode:standalone
process_id:1
uptime_in_seconds:5211

# Clients
connected_clients:9981
maxclients:10000
blocked_clients:0

# Memory
used_memory:536621056
used_memory_human:511.76M
used_memory_rss:587202560
used_memory_peak:536870912
maxmemory:0
maxmemory_human:0B
maxmemory_policy:noeviction
mem_fragmentation_ratio:1.09

# Persistence
rdb_bgsave_in_progress:0
rdb_last_bgsave_status:err
aof_enabled:0

# Stats
total_connections_received:120443
rejected_connections:312
evicted_keys:0
$ redis-cli -h cart-redis CONFIG GET maxmemory
1) "maxmemory"
2) "0"
"""

JSON_LOGS = """\
{"ts":"2025-03-04T09:40:55.120Z","level":"info","logger":"http","msg":"GET /orders/8812 200","latency_ms":18}
{"ts":"2025-03-04T09:41:01.004Z","level":"warn","logger":"cart","msg":"redis call slow","latency_ms":2210,"hostname":"orders-api-6c9d7b5f48-q2wzt"}
{"ts":"2025-03-04T09:41:09.871Z","level":"error","logger":"cart","msg":"OOM command not allowed when used memory > 'maxmemory'"}
{"ts":"2025-03-04T09:41:16.402Z","level":"fatal","logger":"main","msg":"java.lang.OutOfMemoryError: Java heap space"}
1:M 04 Mar 2025 09:02:49.331 # Can't save in background: fork: Cannot allocate memory
time="2025-03-04T09:41:12Z" level=error msg="connection refused" upstream=cart-redis:6379
"""

GET_PODS_AND_METRICS = """\
$ kubectl get pods -n shop
NAME                          READY   STATUS             RESTARTS       AGE
cart-redis-0                  2/2     Running            4 (38m ago)    2d
orders-api-6c9d7b5f48-q2wzt   0/1     CrashLoopBackOff   17 (2m ago)    95m
# HELP redis_connected_clients Number of client connections
# TYPE redis_connected_clients gauge
redis_connected_clients{instance="cart-redis:6379"} 9981
redis_config_maxclients{instance="cart-redis:6379"} 10000
values.yaml:
cartRedis:
  master:
    resources:
      limits:
        memory: 512Mi
  configuration: |-
    maxmemory-policy noeviction
    save ""
"""

NAMED_ARTIFACTS = {
    "describe-pod": DESCRIBE_POD,
    "pods-json": PODS_JSON,
    "query-range": QUERY_RANGE_JSON,
    "redis-info": REDIS_INFO,
    "json-logs": JSON_LOGS,
    "table-metrics-values": GET_PODS_AND_METRICS,
}
ARTIFACTS = list(NAMED_ARTIFACTS.values())
ALL_LINES = [line for artifact in ARTIFACTS for line in artifact.splitlines()]


# -- the contract every input must satisfy ---------------------------------------------------


def _collapse(text: str) -> str:
    return " ".join(text.split())


def assert_sound(text: str, evidence: Evidence) -> dict[str, Any]:
    """Evidence and diagnosis of `text` keep the promises of the readers; the contract dict."""
    assert isinstance(evidence, Evidence)
    if text:
        assert evidence.sources, "a non-empty input must be reported in sources"
    haystack = _collapse(text)
    for fact in evidence.facts:
        assert _collapse(fact.source.excerpt) in haystack, fact.source
    contract = analyze(evidence).to_contract()
    json.dumps(contract, allow_nan=False)  # strict JSON: no NaN or Infinity either
    for finding in contract["findings"]:
        for item in finding["evidence"]:
            assert _collapse(item["excerpt"]) in haystack, item
    broken = [s for s in contract["sources"] if s["kind"] == "analyzer" and s["status"] == "error"]
    assert not broken, broken  # analyze() survives an analyzer crash, but none may crash
    return contract


def diagnose_text(text: str) -> dict[str, Any]:
    return assert_sound(text, read_string(text, "pasted.txt"))


# -- random input ----------------------------------------------------------------------------

ANY_CHAR = st.characters()  # every code point but lone surrogates
CONTROL = st.characters(min_codepoint=0, max_codepoint=0x1F) | st.sampled_from("\x7f\x85\u2028\u2029\ufeff")


@FAST
@given(st.text(ANY_CHAR | CONTROL, max_size=400))
@example("")
@example("\n\n\r\n\t")
@example("\x00")
@example("{")
@example("[20")
@example("$ ")
@example("apiVersion:")
def test_random_text(text: str) -> None:
    diagnose_text(text)


@THOROUGH
@given(st.lists(st.sampled_from(ALL_LINES) | st.text(ANY_CHAR | CONTROL, max_size=40), max_size=40))
def test_realistic_lines_mixed_with_noise(lines: list[str]) -> None:
    diagnose_text("\n".join(lines))


@FAST
@given(st.binary(max_size=2048), st.booleans(), st.integers(min_value=0, max_value=8191))
@example(b"", False, 0)
@example(b"\xff\xfe\xfd", False, 0)
@example("kind: Pod\n".encode("utf-16"), False, 0)
def test_random_bytes_from_a_file(data: bytes, force_nul: bool, nul_at: int) -> None:
    if force_nul:
        data = data[:nul_at] + b"\x00" + data[nul_at:]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "artifact.bin")
        path.write_bytes(data)
        evidence = read_paths([str(path)])
    assert len(evidence.sources) == 1
    if b"\x00" in data[:8192]:
        source = evidence.sources[0]
        assert (source.kind, source.status) == ("binary", "skipped")
        assert not evidence.facts
    assert_sound(data.decode("utf-8", errors="replace"), evidence)


def test_a_folder_with_binary_and_text_files_reports_each() -> None:
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "core.dump").write_bytes(bytes(range(256)) * 64)
        Path(folder, "describe.txt").write_text(DESCRIBE_POD)
        Path(folder, "empty.log").write_text("")
        evidence = read_paths([folder])
    statuses = {s.name: (s.kind, s.status) for s in evidence.sources}
    assert statuses["core.dump"] == ("binary", "skipped")
    assert statuses["describe.txt"][1] == "ok"
    assert "empty.log" in statuses
    assert_sound(DESCRIBE_POD, evidence)


# -- realistic artifacts, mangled the way chat pastes mangle them ----------------------------


@pytest.mark.parametrize("artifact", ARTIFACTS, ids=list(NAMED_ARTIFACTS))
def test_each_artifact_is_read(artifact: str) -> None:
    evidence = read_string(artifact, "artifact.txt")
    assert evidence.facts, evidence.sources
    assert_sound(artifact, evidence)


@THOROUGH
@given(st.sampled_from(ARTIFACTS), st.data())
def test_truncated_artifacts(artifact: str, data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(artifact)), label="cut")
    diagnose_text(artifact[:cut])  # the paste was cut off
    diagnose_text(artifact[cut:])  # only the tail was pasted (`| tail`)


@FAST
@given(st.sampled_from(ARTIFACTS), st.data())
def test_a_slice_of_an_artifact(artifact: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(min_value=0, max_value=len(artifact)), label="start")
    end = data.draw(st.integers(min_value=start, max_value=len(artifact)), label="end")
    diagnose_text(artifact[start:end])


@FAST
@given(st.permutations(ALL_LINES))
def test_shuffled_lines(lines: list[str]) -> None:
    diagnose_text("\n".join(lines))


@FAST
@given(st.sampled_from(ARTIFACTS), st.randoms(use_true_random=False))
def test_shuffled_lines_of_one_artifact(artifact: str, rng: random.Random) -> None:
    lines = artifact.splitlines()
    rng.shuffle(lines)
    diagnose_text("\n".join(lines))


@pytest.mark.parametrize("artifact", ARTIFACTS, ids=list(NAMED_ARTIFACTS))
def test_indentation_stripped(artifact: str) -> None:
    diagnose_text("\n".join(line.strip() for line in artifact.splitlines()))


@FAST
@given(
    st.lists(st.sampled_from(ARTIFACTS), min_size=1, max_size=4),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.booleans(),
    st.integers(min_value=0, max_value=20_000),
)
def test_mangled_pastes(artifacts: list[str], newline: str, strip: bool, cut: int) -> None:
    """Several artifacts in one paste, other line endings, indentation lost, cut off."""
    lines = "\n".join(artifacts).splitlines()
    if strip:
        lines = [line.strip() for line in lines]
    diagnose_text(newline.join(lines)[:cut])


# -- structured content with the wrong shape -------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
FIELDS = [
    "metadata",
    "spec",
    "status",
    "containers",
    "containerStatuses",
    "lastState",
    "terminated",
    "exitCode",
    "restartCount",
    "resources",
    "limits",
    "env",
    "ownerReferences",
    "data",
    "result",
    "values",
    "metric",
    "value",
    "state",
    "reason",
    "name",
    "kind",
    "image",
    "items",
]


def _replace_field(obj: Any, name: str, value: Any) -> Any:
    if isinstance(obj, dict):
        return {k: (value if k == name else _replace_field(v, name, value)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_replace_field(v, name, value) for v in obj]
    return obj


@THOROUGH
@given(st.sampled_from(FIELDS), JSON_VALUES)
def test_kubernetes_json_with_wrongly_typed_fields(name: str, value: Any) -> None:
    diagnose_text(json.dumps(_replace_field(json.loads(PODS_JSON), name, value), indent=4))


@THOROUGH
@given(st.sampled_from(FIELDS), JSON_VALUES)
def test_prometheus_json_with_wrongly_typed_fields(name: str, value: Any) -> None:
    diagnose_text(json.dumps(_replace_field(json.loads(QUERY_RANGE_JSON), name, value), indent=2))


def _vector(sample: str) -> str:
    return '{"status": "success", "data": {"resultType": "vector", "result": [' + sample + "]}}"


# Inputs that crashed the readers or the analysis once; each must now be read or reported.
FORMER_CRASHES = {
    "metadata-not-an-object": '{"kind": "Pod", "metadata": "orders-api"}',
    "container-not-an-object": '{"kind": "Pod", "spec": {"containers": ["redis"]}}',
    "exit-code-not-a-number": '{"kind": "Pod", "status": {"containerStatuses": [{"name": "redis", '
    '"lastState": {"terminated": {"exitCode": "unknown"}}}]}}',
    "restart-count-infinite": '{"kind": "Pod", "status": {"containerStatuses": '
    '[{"name": "redis", "restartCount": 1e400}]}}',
    "prometheus-api-NaN": _vector('{"metric": {"__name__": "up"}, "value": [1741078800, "NaN"]}'),
    "prometheus-api-Inf": _vector('{"metric": {"__name__": "up"}, "value": [1741078800, "+Inf"]}'),
    "exposition-NaN": 'redis_memory_used_bytes{instance="cart-redis:6379"} NaN',
    "yaml-int-over-4300-digits": "maxmemory: " + "1" * 4301,
    "prometheus-metric-not-an-object": _vector('{"metric": true, "values": []}'),
    "prometheus-values-not-a-list": _vector('{"metric": {}, "values": true}'),
}


@pytest.mark.parametrize("text", list(FORMER_CRASHES.values()), ids=list(FORMER_CRASHES))
def test_former_crashes(text: str) -> None:
    diagnose_text(text)


DEEP_JSON = {
    "lists": "[" * 10_000 + "]" * 10_000,
    "unclosed": "[" * 10_000,
    "objects": '{"a": ' * 10_000 + "1" + "}" * 10_000,
    "after-prose": "Logs from the incident:\n" + "[" * 10_000 + "]" * 10_000 + "\nlevel=error msg=boom",
    "after-describe": DESCRIBE_POD + "[" * 10_000 + "]" * 10_000,
}
DEEP_YAML = {
    "yaml-flow": "limits: " + "[" * 10_000 + "]" * 10_000,
    "k8s-yaml": "apiVersion: v1\nkind: Pod\nmetadata: " + "[" * 10_000 + "]" * 10_000,
    "yaml-block": "".join(f"{'  ' * depth}k{depth}:\n" for depth in range(2_000)) + "  " * 2_000 + "v: 1",
}


@pytest.mark.parametrize("text", list(DEEP_JSON.values()), ids=list(DEEP_JSON))
def test_deeply_nested_json_is_reported(text: str) -> None:
    source = diagnose_text(text)["sources"][0]
    assert source["status"] != "ok" or "skipped" in source["detail"], source


def test_facts_around_a_deeply_nested_block_are_kept() -> None:
    evidence = read_string(DEEP_JSON["after-describe"], "pasted.txt")
    assert any(f.value == "OOMKilled" for f in evidence.facts), evidence.sources


@pytest.mark.parametrize("text", list(DEEP_YAML.values()), ids=list(DEEP_YAML))
def test_deeply_nested_yaml_is_read_or_reported(text: str) -> None:
    diagnose_text(text)


# -- huge inputs -----------------------------------------------------------------------------

MB = 2**20
WORDS = "checkout request for session took too long while refreshing the cart "


class TooSlow(BaseException):
    """Not an `Exception`, so that `analyze()` cannot file it as one analyzer's error."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail a call that takes far too long (a quadratic regex) instead of hanging the run."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TooSlow(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


HUGE_LINES = {
    # more than 4 MiB: the bulk path of the scanner
    "letters-4.5mb": "a" * (9 * MB // 2),
    "logfmt-error-4.5mb": 'level=error msg="' + WORDS * (9 * MB // 2 // len(WORDS)) + '"',
    "error-words-4.5mb": "error " * (9 * MB // 2 // 6),
    "tabs-4.5mb": "\t" * (9 * MB // 2) + "x",
    "json-array-4.5mb": "[" + ",".join(["1"] * (9 * MB // 4)) + "]",
    # one long token in an error line: analyzers/app_config.py once took minutes on 100 kB of it
    "error-with-long-token-4.5mb": "level=error msg=" + "x" * (9 * MB // 2),
    # below the bulk threshold: every line reader sees the whole line
    "json-log-3mb": '{"level":"error","msg":"' + WORDS * (3 * MB // len(WORDS)) + '"}',
    "exposition-3mb": 'redis_memory_used_bytes{instance="' + "a" * (3 * MB) + '"} 1',
    "redis-reply-3mb": "$ redis-cli CONFIG GET maxmemory\n" + "q " * (3 * MB // 2),
    # a run of blanks in a redis-cli reply: `(.+?)\s*$` once rescanned it for every character
    "redis-reply-blanks-3mb": "$ redis-cli CONFIG GET maxmemory\n1) a" + " " * (3 * MB) + "b",
    "describe-key-1mb": "Name: " + "z " * (MB // 2),  # YAML-shaped: PyYAML reads ~0.5 MB/s
}


@pytest.mark.parametrize("text", list(HUGE_LINES.values()), ids=list(HUGE_LINES))
def test_a_huge_single_line(text: str) -> None:
    with time_limit(30):
        contract = diagnose_text(text)
    assert contract["sources"]


def test_a_missing_path_exits_2_with_one_line_on_stderr(tmp_path: Path) -> None:
    triage = REPO / ".venv" / "bin" / "triage"
    command = [str(triage)] if triage.exists() else [sys.executable, "-m", "bot.cli"]
    missing = tmp_path / "no-such-artifact.txt"
    done = subprocess.run(
        [*command, "diagnose", str(missing), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and str(missing) in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
