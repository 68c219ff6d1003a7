"""`triage`: the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analyzers import analyze
from bot.readers import MissingPathError, read_paths


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "diagnose":
        return _diagnose(args)
    parser.print_help()
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="triage", description="On-call triage from Kubernetes, Prometheus and Redis evidence."
    )
    commands = parser.add_subparsers(dest="command")
    diagnose = commands.add_parser(
        "diagnose",
        help="diagnose pasted artifacts (files, folders or - for standard input)",
        description="Read artifacts (kubectl output, metrics, Helm values, redis-cli output, logs; any mix) "
        "and print what the system is, what is broken and why, and what to do first.",
    )
    diagnose.add_argument("paths", nargs="+", metavar="PATH", help="file, folder (read recursively) or -")
    diagnose.add_argument(
        "--service", help="the service to diagnose (default: the workload the evidence is most about)"
    )
    output = diagnose.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the triage.diagnosis/v1 JSON")
    output.add_argument("--format", choices=("terminal", "slack", "markdown"), default="terminal")
    diagnose.add_argument("--charts", metavar="DIR", type=Path, help="write memory charts (PNG) into DIR")
    return parser


def _diagnose(args: argparse.Namespace) -> int:
    try:
        evidence = read_paths(args.paths)
    except MissingPathError as error:
        print(f"triage: no such file or directory: {error}", file=sys.stderr)
        return 2
    diagnosis = analyze(evidence, args.service)
    if args.charts:
        from bot.render.charts import write_memory_charts

        args.charts.mkdir(parents=True, exist_ok=True)
        written = write_memory_charts(evidence, args.charts, diagnosis.service)
        for path in written:
            print(f"chart: {path}", file=sys.stderr)
    if args.json:
        json.dump(diagnosis.to_contract(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.format == "slack":
        from bot.render.slack import render_slack_blocks, render_slack_text

        message = {"text": render_slack_text(diagnosis), "blocks": render_slack_blocks(diagnosis)}
        json.dump(message, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.format == "markdown":
        from bot.render.markdown import render_markdown

        sys.stdout.write(render_markdown(diagnosis))
    else:
        from rich.console import Console

        from bot.render.terminal import render_terminal

        render_terminal(diagnosis, Console())
    return 0


if __name__ == "__main__":
    sys.exit(main())
