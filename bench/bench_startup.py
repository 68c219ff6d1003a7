#!/usr/bin/env python3
"""Start-up time of each `triage` command: process start to exit, median of N runs.

Each command runs as the console script does (`python -m bot.cli ...`) in a fresh process, on
inputs that cost next to nothing (a one-line file, every live source turned off, `--help`), so
the figure is the interpreter plus the imports each command makes. Also printed: the modules it
imported that the bar says `diagnose` must not (server, Slack, remediation, matplotlib).

A measurement, not a test: it asserts nothing and exits 0.

    .venv/bin/python bench/bench_startup.py              # 5 runs each
    .venv/bin/python bench/bench_startup.py --repeat 11
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_kit import code_version  # noqa: E402

HEAVY = ("bot.server", "bot.slack", "bot.alerts", "bot.remediation", "slack_sdk", "slack_bolt", "matplotlib")
PROBE = (
    "import json, sys\n"
    "from bot.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "except SystemExit:\n"
    "    pass\n"
    "heavy = sorted({m.split('.')[0] if not m.startswith('bot.') else '.'.join(m.split('.')[:2])\n"
    f"         for m in sys.modules if any(m == h or m.startswith(h + '.') for h in {HEAVY!r})}})\n"
    "print(json.dumps(heavy), file=sys.stderr)\n"
)


def commands(folder: Path) -> dict[str, list[str]]:
    one_line = folder / "one.txt"
    one_line.write_text("hello world\n")
    return {
        "triage --version": ["--version"],
        "triage diagnose ONE-LINE-FILE": ["diagnose", str(one_line)],
        "triage diagnose ONE-LINE-FILE --json": ["diagnose", str(one_line), "--json"],
        "triage check svc --no-kubernetes --no-prometheus --no-redis": [
            "check",
            "svc",
            "--no-kubernetes",
            "--no-prometheus",
            "--no-redis",
        ],
        "triage audit --help": ["audit", "--help"],
        "triage audit (Redis refuses: port 1)": ["audit", "--redis-url", "redis://127.0.0.1:1/0"],
        "triage serve (settings missing: stops after loading the server)": ["serve"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    print(f"code: {code_version()}; Python {sys.version.split()[0]}; {options.repeat} runs each")
    environment = {"PATH": "/usr/bin:/bin", "HOME": tempfile.gettempdir(), "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as folder:
        print("| command | median | min | max | heavy modules imported |\n| --- | --- | --- | --- | --- |")
        for name, argv in commands(Path(folder)).items():
            took: list[float] = []
            heavy: list[str] = []
            for _ in range(options.repeat):
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=environment
                )
                took.append(time.perf_counter() - started)
                heavy = json.loads(done.stderr.strip().splitlines()[-1])
            print(
                f"| `{name}` | {statistics.median(took):.2f} s | {min(took):.2f} s | {max(took):.2f} s "
                f"| {', '.join(heavy) or 'none'} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
