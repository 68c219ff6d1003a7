#!/usr/bin/env python3
"""Reading speed and peak memory of a whole diagnosis on large inputs.

Generates, into a temporary folder (or `--keep DIR`):

* a container log of about `--log-mb` MB: mostly info lines in plain, JSON and
  logfmt form, some warnings and errors, a few Redis lines, a few
  `OOM command not allowed` and `fork: Cannot allocate memory` lines;
* a `kubectl get pods -o json` List of `--pods` pods (1-2 containers each,
  statuses, resources, some OOMKilled and CrashLoopBackOff).

Each input is then diagnosed `--repeat` times, each time in a fresh child
process pinned to one core: `read_paths` + `analyze` + `to_contract` +
`json.dumps`. The child measures its own wall time (imports excluded) and its
peak resident memory (`VmHWM` of /proc/self/status on Linux, else `ru_maxrss`),
so the generator's memory is not counted.

This is a measurement, not a test: it never fails on a slow figure, it only
prints them next to the bar (50 MB/s or better, peak memory under 1 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

MB = 2**20
BAR_MB_PER_S = 50.0
BAR_PEAK_BYTES = 2**30
BAR_RELATIVE = 0.6
SEED = 20250304
START = datetime(2025, 3, 4, 6, 0, 0, tzinfo=UTC)

# -- the container log --------------------------------------------------------------------------

_PATHS = ("/api/orders", "/api/cart", "/api/checkout", "/api/catalog/items", "/healthz", "/api/users/me")
_METHODS = ("GET", "GET", "GET", "POST", "PUT", "DELETE")
_LOGGERS = ("http", "cart", "orders", "payments", "catalog", "scheduler")
_THREADS = ("http-nio-8080-exec-3", "http-nio-8080-exec-7", "scheduling-1", "lettuce-nioEventLoop-4-1")


def _stamp(rng: random.Random, line: int) -> str:
    moment = START + timedelta(milliseconds=line * 7 + rng.randrange(7))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _redis_stamp(line: int) -> str:
    return (START + timedelta(milliseconds=line * 7)).strftime("%d %b %Y %H:%M:%S.%f")[:-3]


def _info_line(rng: random.Random, line: int) -> str:
    ts = _stamp(rng, line)
    style = rng.random()
    path = f"{rng.choice(_PATHS)}/{rng.randrange(100000)}"
    method = rng.choice(_METHODS)
    if style < 0.40:
        return json.dumps(
            {
                "ts": ts,
                "level": "info",
                "logger": rng.choice(_LOGGERS),
                "msg": "request completed",
                "method": method,
                "path": path,
                "status": rng.choice((200, 200, 200, 201, 204, 304)),
                "duration_ms": rng.randrange(1, 120),
                "trace_id": f"{rng.getrandbits(64):016x}",
            },
            separators=(",", ":"),
        )
    if style < 0.70:
        return (
            f'time="{ts}" level=info msg="cache hit" key=session:{rng.getrandbits(48):012x} '
            f"took_ms={rng.randrange(0, 4)} shard={rng.randrange(16)}"
        )
    if style < 0.95:
        return (
            f"{ts} INFO  [{rng.choice(_THREADS)}] c.e.shop.web.RequestLogger - {method} {path} "
            f"{rng.choice((200, 200, 201, 304))} {rng.randrange(1, 90)}ms"
        )
    return (
        f"{ts} DEBUG [scheduling-1] c.e.shop.jobs.CartSweeper - swept {rng.randrange(0, 40)} "
        f"abandoned carts in {rng.randrange(2, 30)}ms"
    )


def _warning_line(rng: random.Random, line: int) -> str:
    ts = _stamp(rng, line)
    return rng.choice(
        (
            f'time="{ts}" level=warning msg="redis call slow" latency_ms={rng.randrange(800, 4000)} '
            f"op=GET key=session:{rng.getrandbits(48):012x}",
            json.dumps(
                {
                    "ts": ts,
                    "level": "warn",
                    "logger": "payments",
                    "msg": "upstream retry",
                    "attempt": rng.randrange(2, 4),
                    "upstream": "payments-gateway:443",
                },
                separators=(",", ":"),
            ),
            f"{ts} WARN  [{rng.choice(_THREADS)}] c.z.hikari.pool.HikariPool - HikariPool-1 - "
            f"Thread starvation or clock leap detected (housekeeper delta={rng.randrange(30, 90)}s).",
        )
    )


def _error_line(rng: random.Random, line: int) -> str:
    ts = _stamp(rng, line)
    return rng.choice(
        (
            f'time="{ts}" level=error msg="dial tcp 10.0.31.7:6379: connect: connection refused" '
            "upstream=cart-redis:6379",
            json.dumps(
                {
                    "ts": ts,
                    "level": "error",
                    "logger": "orders",
                    "msg": "checkout failed",
                    "error": "context deadline exceeded",
                    "order_id": rng.randrange(10**6),
                },
                separators=(",", ":"),
            ),
            f"{ts} ERROR [{rng.choice(_THREADS)}] c.e.shop.cart.CartService - "
            "io.lettuce.core.RedisCommandTimeoutException: Command timed out after 2 second(s)",
            "Error: connect ECONNREFUSED 10.0.31.7:6379",
        )
    )


def _redis_line(rng: random.Random, line: int) -> str:
    stamp = _redis_stamp(line)
    return rng.choice(
        (
            f"1:M {stamp} * 100 changes in 300 seconds. Saving...",
            f"1:M {stamp} * Background saving started by pid {rng.randrange(20, 9000)}",
            f"{rng.randrange(20, 9000)}:C {stamp} * DB saved on disk",
            f"1:M {stamp} * Background saving terminated with success",
        )
    )


def _incident_line(rng: random.Random, line: int) -> str:
    ts = _stamp(rng, line)
    if rng.random() < 0.7:
        return (
            f'time="{ts}" level=error msg="redis write failed" '
            "error=\"OOM command not allowed when used memory > 'maxmemory'.\" op=SET"
        )
    return f"1:M {_redis_stamp(line)} # Can't save in background: fork: Cannot allocate memory"


def write_log(path: Path, target_bytes: int, seed: int = SEED) -> int:
    """A container log of about `target_bytes`; returns its size."""
    rng = random.Random(seed)
    written = 0
    line = 0
    # seven incident lines, at these shares of the file
    incidents = [int(target_bytes * share) for share in (0.95, 0.81, 0.80, 0.62, 0.48, 0.47, 0.31)]
    with path.open("w", encoding="utf-8", newline="\n") as out:
        chunk: list[str] = []
        while written < target_bytes:
            roll = rng.random()
            if incidents and written >= incidents[-1]:
                incidents.pop()
                text = _incident_line(rng, line)
            elif roll < 0.93:
                text = _info_line(rng, line)
            elif roll < 0.97:
                text = _warning_line(rng, line)
            elif roll < 0.99:
                text = _error_line(rng, line)
            else:
                text = _redis_line(rng, line)
            chunk.append(text)
            written += len(text) + 1
            line += 1
            if len(chunk) >= 10_000:
                out.write("\n".join(chunk) + "\n")
                chunk.clear()
        if chunk:
            out.write("\n".join(chunk) + "\n")
    return path.stat().st_size


# -- the pod list -------------------------------------------------------------------------------

_WORKLOADS = (
    ("orders-api", "registry.example.com/shop/orders-api:2.14.1", "java"),
    ("cart-api", "registry.example.com/shop/cart-api:1.9.0", "go"),
    ("catalog", "registry.example.com/shop/catalog:4.2.7", "node"),
    ("payments", "registry.example.com/shop/payments:3.0.2", "java"),
    ("search", "registry.example.com/shop/search:0.33.1", "go"),
    ("frontend", "registry.example.com/shop/frontend:7.1.0", "node"),
    ("notifications", "registry.example.com/shop/notifications:1.4.5", "python"),
    ("session-cache", "redis:7.2.4-alpine", "redis"),
)
_NAMESPACES = ("shop", "shop", "shop-staging", "payments", "search")
_ALNUM = "bcdfghjklmnpqrstvwxz2456789"


def _suffix(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(size))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _container(rng: random.Random, name: str, image: str, runtime: str) -> dict[str, Any]:
    memory = rng.choice(("128Mi", "256Mi", "512Mi", "1Gi", "2Gi"))
    container: dict[str, Any] = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 6379 if runtime == "redis" else 8080, "name": "main", "protocol": "TCP"}],
        "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "REDIS_URL", "value": "redis://session-cache:6379/0"},
            {
                "name": "DB_PASSWORD",
                "valueFrom": {"secretKeyRef": {"key": "password", "name": f"{name}-db"}},
            },
        ],
        "resources": {
            "limits": {"cpu": rng.choice(("500m", "1", "2")), "memory": memory},
            "requests": {"cpu": rng.choice(("100m", "250m", "500m")), "memory": memory},
        },
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [
            {
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "name": f"kube-api-access-{_suffix(rng, 5)}",
                "readOnly": True,
            }
        ],
    }
    if runtime == "java":
        container["env"].append({"name": "JAVA_OPTS", "value": "-Xms256m -Xmx768m -XX:+UseG1GC"})
    if runtime != "redis":
        container["livenessProbe"] = {
            "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "timeoutSeconds": 1,
            "failureThreshold": 3,
            "successThreshold": 1,
        }
        container["readinessProbe"] = {
            "httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"},
            "periodSeconds": 5,
            "timeoutSeconds": 1,
            "failureThreshold": 3,
            "successThreshold": 1,
        }
    return container


def _container_status(rng: random.Random, container: dict[str, Any], born: datetime) -> dict[str, Any]:
    roll = rng.random()
    started = born + timedelta(seconds=rng.randrange(5, 60))
    status: dict[str, Any] = {
        "containerID": f"containerd://{rng.getrandbits(128):032x}",
        "image": container["image"],
        "imageID": f"{container['image'].split(':')[0]}@sha256:{rng.getrandbits(256):064x}",
        "lastState": {},
        "name": container["name"],
        "ready": True,
        "restartCount": 0,
        "started": True,
        "state": {"running": {"startedAt": _iso(started)}},
    }
    if roll < 0.04:  # OOMKilled, now in CrashLoopBackOff
        finished = started + timedelta(minutes=rng.randrange(2, 90))
        status |= {
            "ready": False,
            "started": False,
            "restartCount": rng.randrange(3, 60),
            "state": {
                "waiting": {
                    "message": f"back-off 5m0s restarting failed container={container['name']}",
                    "reason": "CrashLoopBackOff",
                }
            },
            "lastState": {
                "terminated": {
                    "containerID": f"containerd://{rng.getrandbits(128):032x}",
                    "exitCode": 137,
                    "finishedAt": _iso(finished),
                    "reason": "OOMKilled",
                    "startedAt": _iso(started),
                }
            },
        }
    elif roll < 0.06:  # crashes on start with an error
        status |= {
            "ready": False,
            "started": False,
            "restartCount": rng.randrange(3, 40),
            "state": {"waiting": {"message": "back-off 2m40s", "reason": "CrashLoopBackOff"}},
            "lastState": {
                "terminated": {
                    "exitCode": 1,
                    "finishedAt": _iso(started + timedelta(seconds=4)),
                    "reason": "Error",
                    "startedAt": _iso(started),
                }
            },
        }
    elif roll < 0.12:  # restarted once after an OOM kill, running again
        status |= {
            "restartCount": 1,
            "lastState": {
                "terminated": {
                    "exitCode": 137,
                    "finishedAt": _iso(started - timedelta(seconds=2)),
                    "reason": "OOMKilled",
                    "startedAt": _iso(born),
                }
            },
        }
    return status


def _pod(rng: random.Random, index: int) -> dict[str, Any]:
    workload, image, runtime = _WORKLOADS[index % len(_WORKLOADS)]
    namespace = _NAMESPACES[(index // len(_WORKLOADS)) % len(_NAMESPACES)]
    template_hash = f"{rng.choice('5678')}{_suffix(rng, 9)}"
    if runtime == "redis":
        name, owner = f"{workload}-{index // len(_WORKLOADS)}", ("StatefulSet", workload)
    else:
        name, owner = (
            f"{workload}-{template_hash}-{_suffix(rng, 5)}",
            ("ReplicaSet", f"{workload}-{template_hash}"),
        )
    born = START - timedelta(hours=rng.randrange(1, 400))
    containers = [_container(rng, workload if runtime != "redis" else "redis", image, runtime)]
    if runtime == "redis" or rng.random() < 0.3:
        sidecar = (
            ("exporter", "oliver006/redis_exporter:v1.58.0")
            if runtime == "redis"
            else ("istio-proxy", "istio/proxyv2:1.21.0")
        )
        containers.append(_container(rng, sidecar[0], sidecar[1], "sidecar"))
    statuses = [_container_status(rng, c, born) for c in containers]
    ready = all(s["ready"] for s in statuses)
    node = f"ip-10-0-{rng.randrange(1, 60)}-{rng.randrange(2, 250)}.eu-west-1.compute.internal"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
            "creationTimestamp": _iso(born),
            "generateName": name.rsplit("-", 1)[0] + "-",
            "labels": {"app.kubernetes.io/name": workload, "pod-template-hash": template_hash},
            "name": name,
            "namespace": namespace,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "blockOwnerDeletion": True,
                    "controller": True,
                    "kind": owner[0],
                    "name": owner[1],
                    "uid": f"{rng.getrandbits(128):032x}",
                }
            ],
            "resourceVersion": str(rng.randrange(10**6, 10**8)),
            "uid": f"{rng.getrandbits(128):032x}",
        },
        "spec": {
            "containers": containers,
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": True,
            "nodeName": node,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {"runAsNonRoot": True, "fsGroup": 1000},
            "serviceAccountName": workload,
            "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists"},
                {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists"},
            ],
        },
        "status": {
            "conditions": [
                {"lastTransitionTime": _iso(born), "status": "True", "type": "Initialized"},
                {"lastTransitionTime": _iso(born), "status": str(ready), "type": "Ready"},
                {"lastTransitionTime": _iso(born), "status": str(ready), "type": "ContainersReady"},
                {"lastTransitionTime": _iso(born), "status": "True", "type": "PodScheduled"},
            ],
            "containerStatuses": statuses,
            "hostIP": f"10.0.{rng.randrange(1, 60)}.{rng.randrange(2, 250)}",
            "phase": "Running",
            "podIP": f"10.1.{rng.randrange(0, 255)}.{rng.randrange(2, 250)}",
            "qosClass": "Guaranteed",
            "startTime": _iso(born),
        },
    }


def write_pods(path: Path, count: int, seed: int = SEED) -> int:
    """`kubectl get pods -A -o json` with `count` pods; returns its size."""
    rng = random.Random(seed)
    document = {
        "apiVersion": "v1",
        "items": [_pod(rng, index) for index in range(count)],
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }
    with path.open("w", encoding="utf-8") as out:
        json.dump(document, out, indent=4)  # kubectl indents by 4
        out.write("\n")
    return path.stat().st_size


# -- one diagnosis in a child process -------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float
    loop_seconds: float  # a bare Python loop matching one regular expression per line of the same file
    peak_rss_bytes: int
    baseline_rss_bytes: int
    facts: int
    output_bytes: int
    findings: list[str]
    sources: list[str]


PEAK_MEASURE = "VmHWM" if Path("/proc/self/status").exists() else "ru_maxrss"


def _max_rss_bytes() -> int:
    """The peak resident set of this process.

    On Linux, `ru_maxrss` of a child also holds the parent's peak at the time of the
    fork (it survives `exec`), which would count the generator; `VmHWM` is the
    high-water mark of this process's own memory only.
    """
    if PEAK_MEASURE == "VmHWM":
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # Linux reports KiB


def child(path: str, profile: int, cpu: int | None) -> None:
    """Diagnose one file and print the figures as one JSON line (runs in the child)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0)) if cpu is None else cpu})  # one core
    from analyzers import analyze
    from bot.readers import read_paths

    baseline = _max_rss_bytes()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    evidence = read_paths([path])
    contract = analyze(evidence).to_contract()
    output = json.dumps(contract)
    seconds = time.perf_counter() - started
    if profiler is not None:
        import pstats

        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(profile)
        stats.sort_stats("cumulative").print_stats(r"bot/readers|analyzers", profile)
    sources = [f"{s.name}: {s.status}, {s.detail}" for s in evidence.sources]
    findings = [str(f["id"]) for f in contract["findings"]]
    peak = _max_rss_bytes()
    loop_seconds = bare_loop_seconds(Path(path))
    figures = Run(seconds, loop_seconds, peak, baseline, len(evidence.facts), len(output), findings, sources)
    print(json.dumps(figures.__dict__))


LOOP_PATTERN = re.compile(r"Cannot allocate memory")


def bare_loop_seconds(path: Path) -> float:
    """The floor to compare with: read the file's lines and match one regular expression on each."""
    started = time.perf_counter()
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            LOOP_PATTERN.search(line)
    return time.perf_counter() - started


def run_child(path: Path, profile: int = 0, cpu: int | None = None) -> Run:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(path)]
    if profile:
        command += ["--profile", str(profile)]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    repo = Path(__file__).resolve().parent.parent
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=environment)
    if profile:
        sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"diagnosis of {path} failed:\n{done.stderr}")
    return Run(**json.loads(done.stdout.strip().splitlines()[-1]))


# -- the report --------------------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    rank = share * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def report(name: str, path: Path, size: int, runs: list[Run], out: TextIO) -> bool:
    times = [r.seconds for r in runs]
    median = statistics.median(times)
    throughput = size / MB / median
    peak = max(r.peak_rss_bytes for r in runs)
    baseline = min(r.baseline_rss_bytes for r in runs)
    loop = statistics.median(r.loop_seconds for r in runs)
    relative = loop / median
    meets = throughput >= BAR_MB_PER_S and peak < BAR_PEAK_BYTES and relative >= BAR_RELATIVE
    print(f"\n{name}: {path.name}", file=out)
    print(f"  input size       {size / MB:10.1f} MB ({size:,} bytes)", file=out)
    print(
        f"  wall time / run  min {min(times):.2f} s   median {median:.2f} s   "
        f"p95 {_percentile(times, 0.95):.2f} s   ({len(runs)} runs, one core)",
        file=out,
    )
    print(
        f"  throughput       {throughput:10.2f} MB/s (median run; best {size / MB / min(times):.2f} MB/s)",
        file=out,
    )
    print(
        f"  bare loop        {loop:10.2f} s    (one regex per line, same file): the reader runs at "
        f"{relative:.2f}x its speed",
        file=out,
    )
    print(
        f"  peak memory      {peak / MB:10.0f} MB   (child's {PEAK_MEASURE}; {baseline / MB:.0f} MB of it is "
        "the interpreter and imports)",
        file=out,
    )
    print(
        f"  facts read       {runs[0].facts:10,}   (contract JSON: {runs[0].output_bytes:,} bytes)", file=out
    )
    print(f"  findings         {', '.join(runs[0].findings) or 'none'}", file=out)
    for source in runs[0].sources[:3]:
        print(f"  source           {source}", file=out)
    fast = "meets" if throughput >= BAR_MB_PER_S else "FALLS SHORT"
    small = "meets" if peak < BAR_PEAK_BYTES else "FALLS SHORT"
    close = "meets" if relative >= BAR_RELATIVE else "FALLS SHORT"
    print(f"  bar: vs loop     {close} ({relative:.2f}x against >= {BAR_RELATIVE}x the bare loop)", file=out)
    print(f"  bar: speed       {fast} ({throughput:.1f} MB/s against >= {BAR_MB_PER_S:.0f} MB/s)", file=out)
    print(
        f"  bar: memory      {small} ({peak / MB:.0f} MB against < {BAR_PEAK_BYTES / MB:.0f} MB)",
        file=out,
    )
    return meets


def write_redis_saves(path: Path, target_bytes: int) -> int:
    """A Redis log of routine background saves, one cycle a minute, and one fork failure at its end."""
    written = 0
    cycle = 0
    with path.open("w", encoding="utf-8") as out:
        while written < target_bytes:
            stamp = (START + timedelta(minutes=cycle)).strftime("%d %b %Y %H:%M:%S.%f")[:-3]
            pid = 1000 + cycle % 60000
            block = (
                f"1:M {stamp} * 100 changes in 300 seconds. Saving...\n"
                f"1:M {stamp} * Background saving started by pid {pid}\n"
                f"{pid}:C {stamp} * DB saved on disk\n"
                f"{pid}:C {stamp} * Fork CoW for RDB: current 1 MB, peak 1 MB, average 1 MB\n"
                f"1:M {stamp} * Background saving terminated with success\n"
            )
            out.write(block)
            written += len(block)
            cycle += 1
        stamp = (START + timedelta(minutes=cycle)).strftime("%d %b %Y %H:%M:%S.%f")[:-3]
        last = f"1:M {stamp} # Can't save in background: fork: Cannot allocate memory\n"
        out.write(last)
        written += len(last)
    return written


def _inputs(folder: Path, log_mb: float, pods: int) -> Iterator[tuple[str, Path, int]]:
    if log_mb > 0:
        saves = folder / "redis.log"
        started = time.perf_counter()
        size = write_redis_saves(saves, int(log_mb * MB))
        print(f"generated {saves} ({size / MB:.1f} MB) in {time.perf_counter() - started:.1f} s", flush=True)
        yield "Redis log of background saves, one fork failure at its end", saves, size
    if log_mb > 0:
        log = folder / "container.log"
        started = time.perf_counter()
        size = write_log(log, int(log_mb * MB))
        print(f"generated {log} ({size / MB:.1f} MB) in {time.perf_counter() - started:.1f} s", flush=True)
        yield "container log", log, size
    if pods > 0:
        pods_path = folder / "pods.json"
        started = time.perf_counter()
        size = write_pods(pods_path, pods)
        print(
            f"generated {pods_path} ({pods} pods, {size / MB:.1f} MB) in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        yield f"kubectl get pods -o json ({pods} pods)", pods_path, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--log-mb", type=float, default=100.0, help="size of the container log (0: skip)")
    parser.add_argument("--pods", type=int, default=5000, help="pods in the kubectl List (0: skip)")
    parser.add_argument("--repeat", type=int, default=3, help="diagnoses of each input (default 3)")
    parser.add_argument("--keep", metavar="DIR", type=Path, help="write the inputs into DIR and keep them")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="after timing, profile one run; print the top N"
    )
    parser.add_argument("--cpu", type=int, help="the core to pin each run to (default: the lowest allowed)")
    parser.add_argument("--child", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.profile, args.cpu)
        return 0
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} cores; each run in a child pinned to one core"
        )
        all_meet = True
        for name, path, size in _inputs(folder, args.log_mb, args.pods):
            runs = [run_child(path, cpu=args.cpu) for _ in range(max(1, args.repeat))]
            all_meet &= report(name, path, size, runs, sys.stdout)
            sys.stdout.flush()
            if args.profile:
                print(f"\nprofile of one run on {path.name} (on stderr)", file=sys.stdout)
                run_child(path, args.profile, args.cpu)
        print(f"\n{'all inputs meet the bar' if all_meet else 'at least one figure falls short of the bar'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
