"""`triage`: the command line.

Each sub-command is one entry of `COMMANDS`: its arguments are declared here with the standard
library only, and the module that runs it is imported when that command runs, so `triage
diagnose` never loads the server, Slack, remediation or matplotlib (a test keeps it so).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from bot.arguments import directory_to_write, existing_file, http_url, redis_url
from bot.durations import EXAMPLES, duration_argument
from bot.state.keys import DEFAULT_REDIS_URL, KEYS

if TYPE_CHECKING:
    pass

EXIT_BROKEN_PIPE = 141  # what a shell reports for a process that SIGPIPE ended

EXIT_STATUS_HELP = (
    "exit status: 0 every source asked for answered; 3 the diagnosis rests on partial data (a source "
    "failed, timed out or answered in part); 4 nothing could be read (empty input included); "
    "2 usage error (unknown option, malformed URL, duration or path, missing path); "
    "141 the output's reader left early (`| head`), ended quietly."
)


class Parser(argparse.ArgumentParser):
    """A usage error is one line naming what is wrong (and where to read more), then exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


@dataclass(frozen=True, slots=True)
class Command:
    """One sub-command: its arguments (standard library only) and `module:function` that runs it."""

    name: str
    help: str
    description: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: str  # "bot.check:run_check": imported only when this command runs
    epilog: str | None = EXIT_STATUS_HELP


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)  # --help, --version and usage errors exit here (status 0 or 2)
    command = next((c for c in COMMANDS if c.name == args.command), None)
    if command is None:
        parser.print_help()
        return 2
    module, function = command.run.split(":")
    run: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module), function)
    try:
        code = run(args)
        sys.stdout.flush()
    except BrokenPipeError:  # `triage ... | head`: the reader left; end quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python flushes stdout again at exit
        return EXIT_BROKEN_PIPE
    return code


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="triage",
        description="On-call triage from Kubernetes, Prometheus and Redis evidence.",
        epilog=EXIT_STATUS_HELP,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command")
    for command in COMMANDS:
        command.arguments(
            commands.add_parser(
                command.name, help=command.help, description=command.description, epilog=command.epilog
            )
        )
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("oncall-triage")
    except PackageNotFoundError:
        return "(not installed)"


# -- the commands' arguments ------------------------------------------------------------------
def diagnose_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="file, folder (read recursively) or -")
    parser.add_argument(
        "--service", help="the service to diagnose (default: the workload the evidence is most about)"
    )
    _output_options(parser)


def check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service", metavar="SERVICE")
    parser.add_argument("--namespace", "-n", help="namespace (default: from the catalog, else search)")
    parser.add_argument(
        "--since", default="1h", type=duration_argument, help=f"how far back to look ({EXAMPLES}; default 1h)"
    )
    parser.add_argument("--config", type=existing_file, help="service catalog YAML (default: $TRIAGE_CONFIG)")
    parser.add_argument(
        "--kubeconfig",
        type=existing_file,
        help="kubeconfig path (default: $KUBECONFIG, ~/.kube/config, in-cluster)",
    )
    parser.add_argument("--context", help="kubeconfig context")
    parser.add_argument(
        "--prometheus-url",
        type=http_url,
        help="Prometheus base URL (default: $PROMETHEUS_URL or the catalog)",
    )
    parser.add_argument("--redis-url", type=redis_url, help="redis://host:port/db of the service's Redis")
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=5.0,
        help="seconds each source may take, all its calls together (default 5)",
    )
    parser.add_argument(
        "--deadline", type=_seconds, help="seconds for all sources together (default: the --timeout)"
    )
    for source in ("kubernetes", "prometheus", "redis"):
        parser.add_argument(f"--no-{source}", action="store_true", help=f"do not query {source.capitalize()}")
    _output_options(parser)


def serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    parser.add_argument(
        "--socket-mode", action="store_true", help="talk to Slack over Socket Mode (needs SLACK_APP_TOKEN)"
    )
    parser.add_argument("--threads", type=int, default=16, help="HTTP worker threads (default 16)")


def audit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since", default="24h", type=duration_argument, help=f"how far back ({EXAMPLES}; default 24h)"
    )
    parser.add_argument("--service", help="only this service's entries")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--redis-url",
        type=redis_url,
        default=os.environ.get("TRIAGE_REDIS_URL"),
        help=f"the bot's Redis (default $TRIAGE_REDIS_URL, else {DEFAULT_REDIS_URL})",
    )
    parser.add_argument(
        "--stream", default=KEYS.audit(), help=f"the audit stream key (default {KEYS.audit()})"
    )


def doctor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="service catalog YAML (default: $TRIAGE_CONFIG)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds each check may take (default 5)")


def demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8080, help="port of the workspace page (default 8080)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser on the page")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above zero")
    return value


def _output_options(parser: argparse.ArgumentParser) -> None:
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the triage.diagnosis/v1 JSON")
    output.add_argument("--format", choices=("terminal", "slack", "markdown"), default="terminal")
    parser.add_argument(
        "--charts", metavar="DIR", type=directory_to_write, help="write memory charts (PNG) into DIR"
    )


def run_diagnose(args: argparse.Namespace) -> int:
    from analyzers import analyze
    from bot.readers import MissingPathError, read_paths

    try:
        evidence = read_paths(args.paths)
    except MissingPathError as error:
        print(f"triage: no such file or directory: {error}", file=sys.stderr)
        return 2
    diagnosis = analyze(evidence, args.service)
    from bot.render.output import render

    render(diagnosis, evidence, args)
    return diagnosis.coverage.exit_code


COMMANDS: tuple[Command, ...] = (
    Command(
        "diagnose",
        "diagnose pasted artifacts (files, folders or - for standard input)",
        "Read artifacts (kubectl output, metrics, Helm values, redis-cli output, logs; any mix) "
        "and print what the system is, what is broken and why, and what to do first.",
        diagnose_arguments,
        "bot.cli:run_diagnose",
    ),
    Command(
        "check",
        "diagnose a service from the live sources (Kubernetes, Prometheus, Redis)",
        "Collect pod status, events and logs, Prometheus series and Redis's own view of the "
        "service in parallel, then print the same diagnosis as `triage diagnose`.",
        check_arguments,
        "bot.check:run_check",
    ),
    Command(
        "serve",
        "run the Slack bot (slash commands, Alertmanager webhook, health and metrics)",
        "Serve /slack/events, /alertmanager, /healthz, /readyz and /metrics on one port. "
        "Settings come from the environment: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN "
        "with --socket-mode), TRIAGE_REDIS_URL, ALERTMANAGER_TOKEN, TRIAGE_ALERT_CHANNEL, TRIAGE_CONFIG.",
        serve_arguments,
        "bot.server.serve:run_serve",
        epilog=None,
    ),
    Command(
        "audit",
        "print the remediation audit trail (proposals, approvals, applies, roll backs)",
        "Read the audit stream in the bot's Redis ($TRIAGE_REDIS_URL): who did what, when, "
        "the diff and the result.",
        audit_arguments,
        "bot.remediation.audit_cli:run_audit",
        epilog=None,
    ),
    Command(
        "doctor",
        "check the Slack token, the bot's Redis, Prometheus, Alertmanager and the RBAC the catalog needs",
        "One line per check (ok, FAIL with the reason, skip when not configured), for the configuration "
        "`triage serve` would use: SLACK_BOT_TOKEN, SLACK_API_URL, TRIAGE_REDIS_URL and the catalog "
        "(TRIAGE_CONFIG, PROMETHEUS_URL, ALERTMANAGER_URL, KUBECONFIG). Exits 1 when a check fails.",
        doctor_arguments,
        "bot.doctor:run_doctor",
        epilog="example: TRIAGE_CONFIG=config/catalog.example.yaml triage doctor",
    ),
    Command(
        "demo",
        "run the whole bot on this machine and use it from a browser (simulated cluster and Slack)",
        "Start triage serve, its Redis, the seed's session-cache Redis, Prometheus with the incident's "
        "history, Alertmanager, a simulated Kubernetes API and a local Slack workspace page, all on "
        "127.0.0.1 in a temporary folder; Ctrl-C stops everything.",
        demo_arguments,
        "bot.demo.run:run_demo",  # only when asked: the demo is not part of the bot
        epilog="example: triage demo --port 8080",
    ),
)


if __name__ == "__main__":
    sys.exit(main())
