"""argparse `type=` checks: a malformed URL or path is a usage error (exit 2, one line naming the option).

Only the standard library here: every command's parser is built from these before anything heavy loads.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

REDIS_SCHEMES = ("redis", "rediss", "unix")
HTTP_SCHEMES = ("http", "https")


def url_argument(schemes: tuple[str, ...], example: str) -> Callable[[str], str]:
    """A URL with one of `schemes` and (but for unix://) a host; its port, if any, a number."""

    def check(text: str) -> str:
        try:
            parts = urlsplit(text.strip())
            port = parts.port  # raises ValueError for a port that is no number or out of range
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"{text!r} is not a URL ({error}); e.g. {example}") from None
        if parts.scheme not in schemes:
            raise argparse.ArgumentTypeError(
                f"{text!r} has no {' or '.join(s + '://' for s in schemes)} scheme; e.g. {example}"
            )
        if parts.scheme != "unix" and not parts.hostname:
            raise argparse.ArgumentTypeError(f"{text!r} names no host; e.g. {example}")
        if parts.scheme == "unix" and not parts.path:
            raise argparse.ArgumentTypeError(f"{text!r} names no socket path; e.g. unix:///run/redis.sock")
        del port
        return text.strip()

    return check


redis_url = url_argument(REDIS_SCHEMES, "redis://localhost:6379/0")
http_url = url_argument(HTTP_SCHEMES, "http://prometheus.monitoring:9090")


def existing_file(text: str) -> str:
    """A path that exists and is a file (a catalog, a kubeconfig)."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: not a file")
    return text


def directory_to_write(text: str) -> Path:
    """A directory that exists or can be made (charts): never an existing file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: exists and is not a directory")
    return path
