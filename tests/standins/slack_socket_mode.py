"""A STAND-IN for Slack's Socket Mode WebSocket endpoint, for tests: NOT Slack.

What `apps.connections.open` hands out (the Web API stand-in's `socket_mode_url`):
`ws://127.0.0.1:<port>/link/?ticket=<n>&app_id=A0TRIAGEAPP`. A client that connects gets the
WebSocket handshake (RFC 6455: `101 Switching Protocols` with `Sec-WebSocket-Accept`), then
Slack's `hello` message. The test sends envelopes as Slack does (`{"envelope_id", "type",
"payload", "accepts_response_payload", "retry_attempt", "retry_reason"}` with type
`slash_commands`, `interactive` or `events_api`); the app acknowledges each by sending back
`{"envelope_id": ..., "payload": {...}?}`. Pings are answered with pongs. `drop()` closes the
current connection as Slack's servers do when they go away; the app then opens a new one.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import socket
import struct
import threading
import uuid
from typing import Any, Self

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
APP_ID = "A0TRIAGEAPP"


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.send_lock = threading.Lock()
        self.closed = threading.Event()

    def send_text(self, text: str) -> None:
        self.send_frame(0x1, text.encode("utf-8"))

    def send_frame(self, opcode: int, data: bytes) -> None:
        length = len(data)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, length)
        elif length < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, length)
        with self.send_lock:
            self.sock.sendall(header + data)  # a server's frames are not masked

    def read_frame(self) -> tuple[int, bytes]:
        first, second = self._exactly(2)
        opcode, masked, length = first & 0x0F, second & 0x80, second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._exactly(8))
        mask = self._exactly(4) if masked else b"\0\0\0\0"
        data = bytes(byte ^ mask[index % 4] for index, byte in enumerate(self._exactly(length)))
        return opcode, data

    def _exactly(self, count: int) -> bytes:
        chunks = b""
        while len(chunks) < count:
            chunk = self.sock.recv(count - len(chunks))
            if not chunk:
                raise ConnectionError("closed")
            chunks += chunk
        return chunks


class SocketModeStandIn:
    """`with SocketModeStandIn() as socket_mode:`; give `socket_mode.new_url` to the Web API stand-in."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.1)
        self._stop = threading.Event()
        self._tickets = itertools.count(1)
        self._lock = threading.Condition()
        self.connections: list[_Connection] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.pings = 0
        self._thread = threading.Thread(target=self._accept, name="socket-mode-standin", daemon=True)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def new_url(self) -> str:
        """A new WebSocket URL, as apps.connections.open answers it."""
        return f"ws://127.0.0.1:{self.port}/link/?ticket={next(self._tickets)}&app_id={APP_ID}"

    # -- what the test does -------------------------------------------------------------------------
    def wait_connected(self, count: int = 1, timeout: float = 20.0) -> None:
        """Until `count` connections were made and the newest is open."""
        with self._lock:
            done = self._lock.wait_for(
                lambda: len(self.connections) >= count and not self.connections[-1].closed.is_set(), timeout
            )
        assert done, f"{len(self.connections)} Socket Mode connections, wanted {count}"

    def send(self, kind: str, payload: dict[str, Any], accepts_response_payload: bool = False) -> str:
        """Sends an envelope over the newest connection; returns its envelope_id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        with self._lock:
            connection = self.connections[-1]
        connection.send_text(json.dumps(envelope))
        return envelope_id

    def ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The app's acknowledgement of an envelope (waits for it)."""
        with self._lock:
            done = self._lock.wait_for(lambda: envelope_id in self.acks, timeout)
            assert done, f"no acknowledgement of envelope {envelope_id} within {timeout:g}s"
            return self.acks[envelope_id]

    def drop(self) -> None:
        """Drops the newest connection as Slack's servers do when they go away: a close frame
        (1001, going away), then the TCP connection closed."""
        with self._lock:
            connection = self.connections[-1]
        connection.closed.set()
        with contextlib.suppress(OSError):
            connection.send_frame(0x8, struct.pack("!H", 1001) + b"going away")
            connection.sock.shutdown(socket.SHUT_RDWR)
        connection.sock.close()

    # -- serving --------------------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            for connection in self.connections:
                connection.closed.set()
                connection.sock.close()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = sock.recv(4096)
            if not chunk:
                sock.close()
                return
            request += chunk
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (
                line.partition(":") for line in request.decode("latin-1").split("\r\n")[1:]
            )
            if name
        }
        key = headers.get("sec-websocket-key", "")
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        connection = _Connection(sock)
        hello = {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {
                "host": "applink-standin",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": APP_ID},
        }
        connection.send_text(json.dumps(hello))
        with self._lock:
            self.connections.append(connection)
            self._lock.notify_all()
        try:
            while not connection.closed.is_set():
                opcode, data = connection.read_frame()
                if opcode == 0x9:  # ping
                    connection.send_frame(0xA, data)
                    with self._lock:
                        self.pings += 1
                elif opcode == 0x8:  # close
                    connection.send_frame(0x8, data[:2])
                    break
                elif opcode == 0x1:
                    message = json.loads(data)
                    if isinstance(message, dict) and "envelope_id" in message:
                        with self._lock:
                            self.acks[str(message["envelope_id"])] = message
                            self._lock.notify_all()
        except (ConnectionError, OSError, ValueError):
            pass
        finally:
            connection.closed.set()
            with self._lock:
                self._lock.notify_all()
