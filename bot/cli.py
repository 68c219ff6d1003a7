"""`triage`: the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analyzers import analyze
from analyzers.diagnosis import Diagnosis
from analyzers.evidence import Evidence
from bot.readers import MissingPathError, read_paths


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "diagnose":
        return _diagnose(args)
    if args.command == "check":
        from bot.check import run_check

        return run_check(args, _render)
    if args.command == "serve":
        from bot.server.serve import run_serve

        return run_serve(args)
    if args.command == "audit":
        from bot.remediation.audit_cli import run_audit

        return run_audit(args)
    if args.command == "doctor":
        from bot.doctor import run_doctor

        return run_doctor(args)
    if args.command == "demo":
        from bot.demo.run import run_demo  # only when asked: the demo is not part of the bot

        return run_demo(args)
    parser.print_help()
    return 2


EXIT_STATUS_HELP = (
    "exit status: 0 every source asked for answered; 3 the diagnosis rests on partial data (a source "
    "failed, timed out or answered in part); 4 nothing could be read (empty input included); "
    "2 usage error (unknown option, missing path)."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="triage",
        description="On-call triage from Kubernetes, Prometheus and Redis evidence.",
        epilog=EXIT_STATUS_HELP,
    )
    commands = parser.add_subparsers(dest="command")
    diagnose = commands.add_parser(
        "diagnose",
        help="diagnose pasted artifacts (files, folders or - for standard input)",
        description="Read artifacts (kubectl output, metrics, Helm values, redis-cli output, logs; any mix) "
        "and print what the system is, what is broken and why, and what to do first.",
        epilog=EXIT_STATUS_HELP,
    )
    diagnose.add_argument("paths", nargs="+", metavar="PATH", help="file, folder (read recursively) or -")
    diagnose.add_argument(
        "--service", help="the service to diagnose (default: the workload the evidence is most about)"
    )
    _output_options(diagnose)
    check = commands.add_parser(
        "check",
        help="diagnose a service from the live sources (Kubernetes, Prometheus, Redis)",
        description="Collect pod status, events and logs, Prometheus series and Redis's own view of the "
        "service in parallel, then print the same diagnosis as `triage diagnose`.",
        epilog=EXIT_STATUS_HELP,
    )
    check.add_argument("service", metavar="SERVICE")
    check.add_argument("--namespace", "-n", help="namespace (default: from the catalog, else search)")
    check.add_argument("--since", default="1h", help="how far back to look, e.g. 30m, 1h, 2d (default 1h)")
    check.add_argument("--config", help="service catalog YAML (default: $TRIAGE_CONFIG)")
    check.add_argument(
        "--kubeconfig", help="kubeconfig path (default: $KUBECONFIG, ~/.kube/config, in-cluster)"
    )
    check.add_argument("--context", help="kubeconfig context")
    check.add_argument(
        "--prometheus-url", help="Prometheus base URL (default: $PROMETHEUS_URL or the catalog)"
    )
    check.add_argument("--redis-url", help="redis://host:port/db of the service's Redis")
    check.add_argument("--timeout", type=float, default=5.0, help="seconds each source may take (default 5)")
    check.add_argument("--deadline", type=float, default=15.0, help="seconds for all sources together")
    for source in ("kubernetes", "prometheus", "redis"):
        check.add_argument(f"--no-{source}", action="store_true", help=f"do not query {source.capitalize()}")
    _output_options(check)
    from bot.remediation.audit_cli import add_audit_arguments
    from bot.server.serve import add_serve_arguments

    add_serve_arguments(
        commands.add_parser(
            "serve",
            help="run the Slack bot (slash commands, Alertmanager webhook, health and metrics)",
            description="Serve /slack/events, /alertmanager, /healthz, /readyz and /metrics on one port. "
            "Settings come from the environment: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN "
            "with --socket-mode), TRIAGE_REDIS_URL, ALERTMANAGER_TOKEN, TRIAGE_ALERT_CHANNEL, TRIAGE_CONFIG.",
        )
    )
    add_audit_arguments(
        commands.add_parser(
            "audit",
            help="print the remediation audit trail (proposals, approvals, applies, roll backs)",
            description="Read the audit stream in the bot's Redis ($TRIAGE_REDIS_URL): who did what, when, "
            "the diff and the result.",
        )
    )
    doctor = commands.add_parser(
        "doctor",
        help="check the Slack token, the bot's Redis, Prometheus, Alertmanager and the RBAC the catalog needs",
        description="One line per check (ok, FAIL with the reason, skip when not configured), for the "
        "configuration `triage serve` would use: SLACK_BOT_TOKEN, SLACK_API_URL, TRIAGE_REDIS_URL and the "
        "catalog (TRIAGE_CONFIG, PROMETHEUS_URL, ALERTMANAGER_URL, KUBECONFIG). Exits 1 when a check fails.",
        epilog="example: TRIAGE_CONFIG=config/catalog.example.yaml triage doctor",
    )
    doctor.add_argument("--config", help="service catalog YAML (default: $TRIAGE_CONFIG)")
    doctor.add_argument("--timeout", type=float, default=5.0, help="seconds each check may take (default 5)")
    demo = commands.add_parser(
        "demo",
        help="run the whole bot on this machine and use it from a browser (simulated cluster and Slack)",
        description="Start triage serve, its Redis, the seed's session-cache Redis, Prometheus with the "
        "incident's history, Alertmanager, a simulated Kubernetes API and a local Slack workspace page, "
        "all on 127.0.0.1 in a temporary folder; Ctrl-C stops everything.",
        epilog="example: triage demo --port 8080",
    )
    demo.add_argument("--port", type=int, default=8080, help="port of the workspace page (default 8080)")
    demo.add_argument("--no-browser", action="store_true", help="do not open a browser on the page")
    return parser


def _output_options(parser: argparse.ArgumentParser) -> None:
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the triage.diagnosis/v1 JSON")
    output.add_argument("--format", choices=("terminal", "slack", "markdown"), default="terminal")
    parser.add_argument("--charts", metavar="DIR", type=Path, help="write memory charts (PNG) into DIR")


def _diagnose(args: argparse.Namespace) -> int:
    try:
        evidence = read_paths(args.paths)
    except MissingPathError as error:
        print(f"triage: no such file or directory: {error}", file=sys.stderr)
        return 2
    diagnosis = analyze(evidence, args.service)
    _render(diagnosis, evidence, args)
    return diagnosis.coverage.exit_code


def _render(diagnosis: Diagnosis, evidence: Evidence, args: argparse.Namespace) -> None:
    if args.charts:
        from bot.render.charts import write_memory_charts

        written = write_memory_charts(evidence, args.charts, diagnosis.service)
        for path in written:
            print(f"chart: {path}", file=sys.stderr)
        if not written:
            print(
                f"charts: nothing to plot, so nothing written to {args.charts} (no memory series with "
                "at least two timestamped points for this service)",
                file=sys.stderr,
            )
    if args.json:
        json.dump(diagnosis.to_contract(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.format == "slack":
        from bot.render.slack import render_slack_blocks, render_slack_text, render_slack_thread_blocks

        message = {
            "text": render_slack_text(diagnosis),
            "blocks": render_slack_blocks(diagnosis),
            "thread": render_slack_thread_blocks(diagnosis),
        }
        json.dump(message, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.format == "markdown":
        from bot.render.markdown import render_markdown

        sys.stdout.write(render_markdown(diagnosis))
    else:
        from rich.console import Console

        from bot.render.terminal import render_terminal

        render_terminal(diagnosis, Console())


if __name__ == "__main__":
    sys.exit(main())
