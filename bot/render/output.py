"""A diagnosis written out as `triage diagnose` and `triage check` were asked to: JSON, Slack, Markdown or the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzers.diagnosis import Diagnosis
    from analyzers.evidence import Evidence


def render(diagnosis: Diagnosis, evidence: Evidence, args: argparse.Namespace) -> None:
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
