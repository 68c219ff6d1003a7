"""What every collector is: a name, and `collect(target, timeout) -> Evidence` or a `CollectorError`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from analyzers.evidence import Evidence


@dataclass(frozen=True, slots=True)
class Target:
    """The service to look at and where each source finds it."""

    service: str
    namespace: str | None = None
    selector: str | None = None  # a label selector, e.g. "app=session-cache"
    namespaces: tuple[str, ...] = ()  # where to search when no namespace is known
    prometheus_matchers: dict[str, str] = field(default_factory=dict)  # e.g. {"namespace": "ecommerce"}
    prometheus_queries: dict[str, str] = field(default_factory=dict)  # extra name -> PromQL
    redis_url: str | None = None
    since_seconds: int = 3600
    log_tail_lines: int = 500


class CollectorError(Exception):
    """A source failed; the message is one line that says which call and why (e.g. RBAC)."""


class RefusedError(CollectorError):
    """403: the credentials lack an RBAC permission."""


class MissingError(CollectorError):
    """404: the object does not exist (any more)."""


class BadRequestError(CollectorError):
    """400: e.g. logs of a previous container that never ran."""


class Collector(Protocol):
    name: str

    def collect(self, target: Target, timeout: float) -> Evidence:
        """Evidence about the target, within `timeout` seconds; raises CollectorError on failure."""
        ...
