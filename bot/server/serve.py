"""`triage serve`: start the bot over HTTP, or over Socket Mode (no public URL needed)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from bot.check import SourceChoice, diagnose_live
from bot.server.app import MAX_WEBHOOK_BYTES, StartResponse, TriageBot
from bot.server.settings import SettingsError, load_serve_settings
from bot.settings import CatalogError, load_catalog

log = logging.getLogger("triage")

__all__ = ["make_http_server", "run_serve"]


# Waitress reads a request completely before a worker thread sees it, so slow clients hold
# connections, not threads: enough connections (polled, not select()ed: no 1024-descriptor
# ceiling) keep /healthz answering while many trickle in, and idle ones are closed.
CONNECTION_LIMIT = 2000
CHANNEL_TIMEOUT_SECONDS = 30
MAX_HEADER_BYTES = 64 * 1024


def make_http_server(
    app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]], host: str, port: int, threads: int
) -> BaseWSGIServer | MultiSocketServer:
    """The waitress server `triage serve` runs: bodies over the largest route's limit are refused
    (413) before they are read; idle connections closed after CHANNEL_TIMEOUT_SECONDS."""
    return create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=CHANNEL_TIMEOUT_SECONDS,
        cleanup_interval=5,
        max_request_body_size=MAX_WEBHOOK_BYTES,
        max_request_header_size=MAX_HEADER_BYTES,
        asyncore_use_poll=True,
        backlog=1024,
        ident="triage",
    )


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
    server = make_http_server(bot.wsgi, args.host, args.port, args.threads)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    bot.start_workers()
    log.info("listening on %s:%s (%s)", args.host, args.port, "socket mode" if args.socket_mode else "HTTP")
    socket_mode: Any = None
    try:
        if args.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            threading.Thread(target=server.run, name="http", daemon=True).start()
            socket_mode = SocketModeHandler(bot.app, settings.slack_app_token)
            socket_mode.start()
        else:
            server.run()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        if socket_mode is not None:
            socket_mode.close()  # its threads would otherwise keep the process alive
        server.close()
        bot.stop()
        log.info("stopped")
    return 0
