"""Files and standard input read in bounded chunks: any input costs seconds and well under 1 GB.

Binary content is recognised from the first chunk and never read further (a 2 GB sparse file
costs one 1 MiB read). Past `MAX_TEXT_BYTES`, the head (`HEAD_BYTES`) and the newest part (the
rest of the allowance, the tail of a log being what an incident is about) are kept, and the
bytes in between are counted, never held. Paths that cannot be read say why: a symlink loop, a
broken symlink, no permission, not a regular file.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

CHUNK_BYTES = 2**20
SNIFF_BYTES = 8192  # a NUL in these makes the content binary
MAX_TEXT_BYTES = 128 * 2**20
HEAD_BYTES = 32 * 2**20
GAP_MARK = "\n[triage: {skipped} bytes skipped here]\n"


@dataclass(frozen=True, slots=True)
class Bounded:
    """What was kept of one input: its bytes (None when binary), and the bytes skipped in the middle."""

    data: bytes | None
    size: int
    skipped: int = 0

    @property
    def text(self) -> str | None:
        """The bytes kept, decoded (a huge log is read from its bytes and never decoded whole)."""
        return None if self.data is None else self.data.decode("utf-8", errors="replace")

    @property
    def note(self) -> str:
        """For `sources`: what was skipped and what it means for line numbers."""
        if not self.skipped:
            return ""
        return (
            f"{self.skipped} bytes in the middle skipped (past {MAX_TEXT_BYTES // 2**20} MiB, the first "
            f"{HEAD_BYTES // 2**20} MiB and the newest part are read; line numbers after the gap count "
            "from it)"
        )


class Unreadable(Exception):
    """A path that cannot be read; the message names why in a few words. `skipped`: left out on
    purpose (a FIFO in a folder), not an error."""

    def __init__(self, why: str, skipped: bool = False) -> None:
        super().__init__(why)
        self.skipped = skipped


def read_bounded(stream: BinaryIO) -> Bounded:
    """The text of a binary stream, read a chunk at a time and held within MAX_TEXT_BYTES."""
    return _keep(_chunks(stream))


def read_text_stream(stream: TextIO) -> Bounded:
    """The same for a text stream (a `sys.stdin` that has no byte buffer, e.g. in tests)."""

    def chunks() -> Iterator[bytes]:
        while piece := stream.read(CHUNK_BYTES):
            yield piece.encode("utf-8", errors="replace")

    return _keep(chunks())


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    while piece := stream.read(CHUNK_BYTES):
        yield piece


def _keep(chunks: Iterator[bytes]) -> Bounded:
    """The chunks as text: the head and the newest part past MAX_TEXT_BYTES. Chunks are kept as
    they came and joined once, so the bytes are copied once (a `bytearray` would copy them twice)."""
    head: list[bytes] = []
    head_size = 0
    tail: deque[bytes] = deque()
    tail_size = 0
    tail_limit = MAX_TEXT_BYTES - HEAD_BYTES
    size = skipped = 0
    for chunk in chunks:
        if size < SNIFF_BYTES and b"\x00" in chunk[: SNIFF_BYTES - size]:
            return Bounded(None, size + len(chunk))
        size += len(chunk)
        room = HEAD_BYTES - head_size
        if room > 0:
            piece = chunk if len(chunk) <= room else chunk[:room]
            head.append(piece)
            head_size += len(piece)
            chunk = chunk[len(piece) :]
            if not chunk:
                continue
        tail.append(chunk)
        tail_size += len(chunk)
        while tail_size - len(tail[0]) >= tail_limit:  # drop whole chunks that the limit leaves out
            dropped = tail.popleft()
            tail_size -= len(dropped)
            skipped += len(dropped)
    if not skipped:
        head.extend(tail)
        tail.clear()
        data = b"".join(head)
        head.clear()
        return Bounded(data, size)
    if tail_size > tail_limit:  # trim the oldest chunk to the limit
        excess = tail_size - tail_limit
        tail[0] = tail[0][excess:]
        skipped += excess
    first = tail[0]  # start the newest part at a line of its own
    newline = first.find(b"\n")
    if 0 <= newline < len(first) - 1:
        tail[0] = first[newline + 1 :]
        skipped += newline + 1
    start = b"".join(head)
    cut = start.rfind(b"\n") + 1 or len(start)  # and end the head at a line's end
    skipped += len(start) - cut
    tail.appendleft(GAP_MARK.format(skipped=skipped).encode())
    tail.appendleft(start[:cut])
    del start, head
    return Bounded(b"".join(tail), size, skipped)


def _whole(data: bytes) -> Bounded:
    """A regular file read at once (one that grew past the allowance meanwhile is bounded all the same)."""
    if b"\x00" in data[:SNIFF_BYTES]:
        return Bounded(None, len(data))
    return Bounded(data, len(data)) if len(data) <= MAX_TEXT_BYTES else _keep(iter([data]))


def read_path(path: Path, must_be_regular: bool) -> Bounded:
    """A file (or, given on the command line, a FIFO such as `<(kubectl ...)`), read bounded.

    Raises `Unreadable` naming why it could not be read.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise Unreadable(_why(path, error)) from None
    if stat.S_ISDIR(mode):
        raise Unreadable("a directory", skipped=True)
    if must_be_regular and not stat.S_ISREG(mode):
        raise Unreadable("not a regular file (a FIFO, socket or device), not read", skipped=True)
    try:
        with open(path, "rb", buffering=0) as stream:
            if stat.S_ISREG(mode) and os.fstat(stream.fileno()).st_size <= MAX_TEXT_BYTES:
                return _whole(stream.readall())  # one read into one buffer: nothing joined or copied
            return read_bounded(stream)
    except OSError as error:
        raise Unreadable(_why(path, error)) from None


def _why(path: Path, error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "a symlink loop, not read"
    if error.errno == errno.ENOENT and path.is_symlink():
        return f"a broken symlink (to {os.readlink(path)}), not read"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "unreadable: permission denied"
    return f"cannot read: {error.strerror or error}"


def is_loop(path: Path) -> bool:
    """A path that names a symlink loop (which `Path.exists()` reports as missing)."""
    try:
        os.stat(path)
    except OSError as error:
        return error.errno == errno.ELOOP
    return False
