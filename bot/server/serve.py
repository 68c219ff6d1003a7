"""`triage serve`: start the bot over HTTP, or over Socket Mode (no public URL needed)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from waitress.server import create_server

from bot.check import SourceChoice, diagnose_live
from bot.server.app import TriageBot
from bot.server.settings import SettingsError, load_serve_settings
from bot.settings import CatalogError, load_catalog

log = logging.getLogger("triage")


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    parser.add_argument(
        "--socket-mode", action="store_true", help="talk to Slack over Socket Mode (needs SLACK_APP_TOKEN)"
    )
    parser.add_argument("--threads", type=int, default=16, help="HTTP worker threads (default 16)")


def run_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_serve_settings(socket_mode=args.socket_mode)
        catalog = load_catalog(settings.config_path)
    except (SettingsError, CatalogError) as error:
        print(f"triage serve: {error}", file=sys.stderr)
        return 2
    bot = TriageBot(
        settings,
        catalog,
        diagnose=lambda service, namespace: diagnose_live(
            service, catalog, SourceChoice(namespace=namespace)
        ),
    )
    server = create_server(bot.wsgi, host=args.host, port=args.port, threads=args.threads)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    bot.start_workers()
    log.info("listening on %s:%s (%s)", args.host, args.port, "socket mode" if args.socket_mode else "HTTP")
    try:
        if args.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            threading.Thread(target=server.run, name="http", daemon=True).start()
            SocketModeHandler(bot.app, settings.slack_app_token).start()  # type: ignore[no-untyped-call]
        else:
            server.run()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        server.close()
        bot.stop()
        log.info("stopped")
    return 0
