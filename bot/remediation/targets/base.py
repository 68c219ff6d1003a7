"""The interface every kind of remediation target implements, and what they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.remediation.kubernetes_change import KubernetesChanger
from bot.remediation.proposals import (
    AlertTarget,
    Applied,
    Basis,
    Change,
    Proposal,
    RedisTarget,
    WorkloadTarget,
)
from bot.remediation.redis_change import RedisChanger
from bot.remediation.results import Preview
from bot.remediation.silences import AlertmanagerSilences
from bot.settings import Catalog, ServiceConfig

Target = WorkloadTarget | RedisTarget | AlertTarget
RecordPrevious = Callable[[Change], None]


class Environment(Protocol):
    """What the target kinds reach the live systems with: the flow itself (read at each use, so a
    changer swapped on the flow is the one used)."""

    catalog: Catalog
    redis_changer: RedisChanger
    silences: AlertmanagerSilences | None
    now: Callable[[], float]
    sleep: Callable[[float], None]

    def kube(self, context: str | None) -> KubernetesChanger:
        """The Kubernetes changer of a kubeconfig context."""
        ...

    def redis_url(self, service: str) -> str:
        """The service's Redis URL from the catalog; CannotPropose when it has none."""
        ...


@dataclass(frozen=True, slots=True)
class Asked:
    """Who asked for proposals about what, and where."""

    service: str
    service_config: ServiceConfig | None
    namespace: str | None
    channel: str
    thread_ts: str
    requested_by: str


@dataclass(frozen=True, slots=True)
class Draft:
    """A proposal before it is stored: what to change, on what, against which state."""

    remediation: str
    title: str
    target: Target
    change: Change
    basis: Basis
    bounds: str = ""  # why a second approver is needed, when the change is beyond the catalog's bounds


@dataclass(frozen=True, slots=True)
class Restore:
    """The change a roll back makes, and what it was computed against."""

    change: Change
    basis: Basis
    namespace: str | None
    restored: str  # for the title: "restore <restored>"
    bounds: str = ""


class TargetKind(Protocol):
    """One kind of target. Raises CannotPropose, Stale or the kind's own errors (flow.EXPECTED)."""

    def preview(self, proposal: Proposal, blocked: str) -> Preview:
        """The diff against the live system, what is sent, how to persist it, the dry run's verdict."""
        ...

    def apply(
        self, proposal: Proposal, user: str, record_previous: RecordPrevious
    ) -> tuple[Applied, Change | None, list[str]]:
        """Makes the change; returns what was applied, the change that restores it, the lines to show.
        `record_previous` is called with the values about to be replaced before anything is written."""
        ...

    def watch(
        self, proposal: Proposal, applied: Applied, timeout: float, interval: float
    ) -> tuple[bool, list[str]]:
        """Whether the applied change holds (watched up to `timeout`), with the lines that say so."""
        ...

    def restore(self, original: Proposal, partial: bool) -> Restore:
        """The roll back of an applied (or, `partial`, failed) proposal; RemediationRefused when
        the values it wrote were changed since."""
        ...
