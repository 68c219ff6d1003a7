"""What every stand-in shares: a threaded HTTP server on a free local port, started and stopped."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Any, Self


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (timeout) and closed its socket is expected here


class LocalStandIn:
    """`with Stand-in(...) as it:` then talk to `it.url`; subclasses call `_serve` in __init__."""

    _stopping: threading.Event  # set when stopping: held-back answers stop waiting
    _server: QuietServer
    _thread: threading.Thread

    def _serve(self, server: QuietServer, name: str) -> None:
        self._server = server
        # A short poll interval: stopping waits for the next poll.
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name=name, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
