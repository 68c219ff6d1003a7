"""`triage check SERVICE`: the live sources, through the same analyzers as pasted text."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from analyzers import analyze
from analyzers.diagnosis import Diagnosis
from analyzers.evidence import Evidence
from bot.collect import Skipped, collect
from bot.collectors.base import Collector, Target
from bot.settings import Catalog, CatalogError, ServiceConfig, load_catalog

Renderer = Callable[[Diagnosis, Evidence, argparse.Namespace], None]


def run_check(args: argparse.Namespace, render: Renderer) -> int:
    try:
        catalog = load_catalog(args.config)
        since = parse_duration(args.since)
    except (CatalogError, ValueError) as error:
        print(f"triage: {error}", file=sys.stderr)
        return 2
    config = catalog.service(args.service)
    if config is None and catalog.services:
        hint = ", ".join(catalog.suggestions(args.service)) or "none close"
        print(
            f"triage: {args.service} is not in the catalog (closest: {hint}); looking for it by its labels",
            file=sys.stderr,
        )
    target = build_target(args, catalog, config or ServiceConfig(), since)
    collectors, skipped = build_collectors(args, catalog, target)
    evidence = collect(target, collectors, skipped, source_timeout=args.timeout, deadline=args.deadline)
    render(analyze(evidence, args.service), evidence, args)
    return 0


def parse_duration(text: str) -> int:
    """`90s`, `30m`, `1h`, `2d` as seconds."""
    found = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not found:
        raise ValueError(f"--since {text!r}: use a number and s, m, h or d (e.g. 30m, 1h)")
    return int(found.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[found.group(2)]


def build_target(args: argparse.Namespace, catalog: Catalog, config: ServiceConfig, since: int) -> Target:
    return Target(
        service=args.service,
        namespace=args.namespace or config.namespace,
        selector=config.selector,
        namespaces=tuple(catalog.namespaces),
        prometheus_matchers=dict(config.prometheus.matchers),
        prometheus_queries=dict(config.prometheus.queries),
        redis_url=args.redis_url or config.redis_url,
        since_seconds=since,
    )


def build_collectors(
    args: argparse.Namespace, catalog: Catalog, target: Target
) -> tuple[list[Collector], list[Skipped]]:
    collectors: list[Collector] = []
    skipped: list[Skipped] = []
    kubeconfig = args.kubeconfig or catalog.kubeconfig
    if args.no_kubernetes:
        skipped.append(Skipped("kubernetes", "turned off (--no-kubernetes)"))
    elif not (kubeconfig or _default_kubeconfig() or os.environ.get("KUBERNETES_SERVICE_HOST")):
        skipped.append(
            Skipped("kubernetes", "not configured (no --kubeconfig, $KUBECONFIG or in-cluster account)")
        )
    else:
        from bot.collectors.kubernetes_collector import KubernetesCollector

        collectors.append(KubernetesCollector(kubeconfig=kubeconfig, context=args.context or catalog.context))
    prometheus_url = args.prometheus_url or catalog.prometheus_url
    if args.no_prometheus:
        skipped.append(Skipped("prometheus", "turned off (--no-prometheus)"))
    elif not prometheus_url:
        skipped.append(
            Skipped("prometheus", "not configured (no --prometheus-url, $PROMETHEUS_URL or catalog)")
        )
    else:
        from bot.collectors.prometheus_collector import PrometheusCollector

        collectors.append(PrometheusCollector(prometheus_url))
    if args.no_redis:
        skipped.append(Skipped("redis", "turned off (--no-redis)"))
    elif not target.redis_url:
        skipped.append(Skipped("redis", "not configured (no --redis-url or redis_url in the catalog)"))
    else:
        from bot.collectors.redis_collector import RedisCollector

        collectors.append(RedisCollector(target.redis_url))
    return collectors, skipped


def _default_kubeconfig() -> str | None:
    path = Path.home() / ".kube" / "config"
    return str(path) if path.is_file() else None
