"""`triage check SERVICE`: the live sources, through the same analyzers as pasted text."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from analyzers import analyze
from analyzers.diagnosis import Diagnosis
from analyzers.evidence import Evidence
from bot.collect import DEFAULT_SOURCE_TIMEOUT, Skipped, collect
from bot.collectors.base import Collector, Target
from bot.durations import parse_duration
from bot.settings import Catalog, CatalogError, ServiceConfig, load_catalog

Renderer = Callable[[Diagnosis, Evidence, argparse.Namespace], None]


@dataclass(frozen=True, slots=True)
class SourceChoice:
    """Which live sources to ask and where, over what the catalog says."""

    namespace: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    prometheus_url: str | None = None
    redis_url: str | None = None
    kubernetes: bool = True
    prometheus: bool = True
    redis: bool = True
    since_seconds: int = 3600

    @classmethod
    def from_args(cls, args: argparse.Namespace, since_seconds: int) -> SourceChoice:
        return cls(
            namespace=args.namespace,
            kubeconfig=args.kubeconfig,
            context=args.context,
            prometheus_url=args.prometheus_url,
            redis_url=args.redis_url,
            kubernetes=not args.no_kubernetes,
            prometheus=not args.no_prometheus,
            redis=not args.no_redis,
            since_seconds=since_seconds,
        )


def diagnose_live(
    service: str,
    catalog: Catalog,
    choice: SourceChoice = SourceChoice(),
    source_timeout: float = DEFAULT_SOURCE_TIMEOUT,
    deadline: float | None = None,
) -> tuple[Diagnosis, Evidence]:
    """Collect from every configured source in parallel and run the analyzers on what came back.

    `deadline` (all sources together) defaults to `source_timeout`: the sources are asked side by side.
    """
    target = build_target(service, choice, catalog, catalog.service(service) or ServiceConfig())
    collectors, skipped = build_collectors(choice, catalog, target)
    evidence = collect(target, collectors, skipped, source_timeout=source_timeout, deadline=deadline)
    diagnosis = analyze(evidence, service)
    kube_context = choice.context or catalog.context
    if kube_context:  # the checks must reach the cluster this diagnosis read
        diagnosis.checks = [with_kube_context(command, kube_context) for command in diagnosis.checks]
    return diagnosis, evidence


def with_kube_context(command: str, kube_context: str) -> str:
    """Every `kubectl` of a check pointed at the kubeconfig context the collection used."""
    return re.sub(
        r"(?<![\w-])kubectl (?!--context)", f"kubectl --context {shlex.quote(kube_context)} ", command
    )


def run_check(args: argparse.Namespace, render: Renderer | None = None) -> int:
    if render is None:
        from bot.render.output import render as render_output

        render = render_output
    try:
        catalog = load_catalog(args.config)
    except CatalogError as error:
        print(f"triage: {error}", file=sys.stderr)
        return 2
    config = catalog.service(args.service)
    if config is None and catalog.services:
        hint = ", ".join(catalog.suggestions(args.service)) or "none close"
        print(
            f"triage: {args.service} is not in the catalog (closest: {hint}); looking for it by its labels",
            file=sys.stderr,
        )
    since = args.since if isinstance(args.since, int) else parse_duration(args.since)
    choice = SourceChoice.from_args(args, since)
    deadline = args.deadline if args.deadline is not None else args.timeout
    diagnosis, evidence = diagnose_live(args.service, catalog, choice, args.timeout, deadline)
    render(diagnosis, evidence, args)
    return diagnosis.coverage.exit_code


def build_target(service: str, choice: SourceChoice, catalog: Catalog, config: ServiceConfig) -> Target:
    return Target(
        service=service,
        namespace=choice.namespace or config.namespace,
        selector=config.selector,
        namespaces=tuple(catalog.namespaces),
        prometheus_matchers=dict(config.prometheus.matchers),
        prometheus_queries=dict(config.prometheus.queries),
        redis_url=choice.redis_url or config.redis_url,
        since_seconds=choice.since_seconds,
    )


def build_collectors(
    choice: SourceChoice, catalog: Catalog, target: Target
) -> tuple[list[Collector], list[Skipped]]:
    collectors: list[Collector] = []
    skipped: list[Skipped] = []
    kubeconfig = choice.kubeconfig or catalog.kubeconfig
    if not choice.kubernetes:
        skipped.append(Skipped("kubernetes", "turned off (--no-kubernetes)"))
    elif not (kubeconfig or _default_kubeconfig() or os.environ.get("KUBERNETES_SERVICE_HOST")):
        skipped.append(
            Skipped("kubernetes", "not configured (no --kubeconfig, $KUBECONFIG or in-cluster account)")
        )
    else:
        from bot.collectors.kubernetes_collector import KubernetesCollector

        collectors.append(
            KubernetesCollector(kubeconfig=kubeconfig, context=choice.context or catalog.context)
        )
    prometheus_url = choice.prometheus_url or catalog.prometheus_url
    if not choice.prometheus:
        skipped.append(Skipped("prometheus", "turned off (--no-prometheus)"))
    elif not prometheus_url:
        skipped.append(
            Skipped("prometheus", "not configured (no --prometheus-url, $PROMETHEUS_URL or catalog)")
        )
    else:
        from bot.collectors.prometheus_collector import PrometheusCollector

        collectors.append(PrometheusCollector(prometheus_url))
    if not choice.redis:
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
