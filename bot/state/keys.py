"""Every Redis key the bot uses: one prefix, one method per key shape, the only place they are spelled.

`docs/operating.md` lists the same shapes (`tests/test_state_keys.py` compares them with `Keys.shapes()`).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

DEFAULT_REDIS_URL = "redis://localhost:6379/0"  # the bot's Redis when nothing names one

PREFIX = "triage:"


@dataclass(frozen=True, slots=True)
class Keys:
    """The key shapes under one prefix (tests use their own prefix to keep apart)."""

    prefix: str = PREFIX

    # Alert notifications.
    def alerts(self) -> str:
        """Stream of accepted Alertmanager notifications (consumer group `triage`)."""
        return f"{self.prefix}alerts"

    def alerts_dead(self) -> str:
        """Stream of notifications given up on, with the reason."""
        return f"{self.prefix}alerts:dead"

    def marker(self) -> str:
        """Set while this Redis keeps its data; gone means it restarted empty."""
        return f"{self.prefix}marker"

    def state_since(self) -> str:
        """When this Redis's alert state began (older groups may be missing from it)."""
        return f"{self.prefix}state-since"

    # Alert groups.
    def group(self, group_id: str) -> str:
        """A group's record: channel, parent message, alerts seen (JSON)."""
        return f"{self.prefix}group:{group_id}"

    def group_lock(self, group_id: str) -> str:
        """Serialises the deliveries of one group across replicas."""
        return f"{self.prefix}lock:group:{group_id}"

    def intent(self, group_id: str) -> str:
        """When a post of the group's parent was attempted (looked for before posting again)."""
        return f"{self.prefix}intent:{group_id}"

    def announce(self) -> str:
        """Sorted set: group id -> when its batched new alerts are due in its thread."""
        return f"{self.prefix}announce"

    def diagnosed(self, group_id: str) -> str:
        """Set once the group's diagnosis is posted."""
        return f"{self.prefix}diagnosed:{group_id}"

    def diagnoses(self) -> str:
        """Stream of queued alert diagnoses (consumer group `triage`)."""
        return f"{self.prefix}diagnoses"

    # Storms.
    def storm(self, channel: str) -> str:
        """Sorted set of the groups new in the channel within the storm window."""
        return f"{self.prefix}storm:{channel}"

    def digest(self, channel: str) -> str:
        """The channel's open storm digest (its message ts)."""
        return f"{self.prefix}digest:{channel}"

    def digest_lock(self, channel: str) -> str:
        """Serialises opening a digest in the channel."""
        return f"{self.prefix}lock:digest:{channel}"

    def digest_threads(self, channel: str, digest_ts: str) -> str:
        """How many groups of a digest got a diagnosis in its thread."""
        return f"{self.prefix}digest-threads:{channel}:{digest_ts}"

    def digest_entries(self, channel: str, digest_ts: str) -> str:
        """Hash: group id -> its line in the digest."""
        return f"{self.prefix}digest-entries:{channel}:{digest_ts}"

    def digests_dirty(self) -> str:
        """Set of `channel|ts` digests whose message is to be redrawn."""
        return f"{self.prefix}digests:dirty"

    def digest_render_lock(self, channel: str, digest_ts: str) -> str:
        """Serialises redrawing one digest message."""
        return f"{self.prefix}lock:digest-render:{channel}|{digest_ts}"

    # Slack.
    def pace(self, channel: str) -> str:
        """Token bucket of posts to the channel, shared by all replicas."""
        return f"{self.prefix}pace:{channel}"

    def pace_edits(self, channel: str) -> str:
        """Token bucket of edits in the channel."""
        return f"{self.prefix}pace-edits:{channel}"

    def click(self, user: str, action_id: str, action_ts: str) -> str:
        """A button click already handled (Slack retries; several replicas)."""
        return f"{self.prefix}click:{user}:{action_id}:{action_ts}"

    # Remediation.
    def proposal(self, proposal_id: str) -> str:
        """A remediation proposal (JSON)."""
        return f"{self.prefix}proposal:{proposal_id}"

    def proposal_lock(self, proposal_id: str) -> str:
        """Held while one process applies the proposal."""
        return f"{self.prefix}lock:{proposal_id}"

    def audit(self) -> str:
        """Stream of every remediation step (`triage audit`)."""
        return f"{self.prefix}audit"

    def verify(self, token: str) -> str:
        """Written and deleted in the *service's* Redis after a CONFIG SET, to prove writes work."""
        return f"{self.prefix}verify:{token}"

    def shapes(self) -> dict[str, str]:
        """Every key shape, its arguments shown as `*`: method name -> shape."""
        shapes: dict[str, str] = {}
        for name, method in inspect.getmembers(self, inspect.ismethod):
            if name.startswith("_") or name == "shapes":
                continue
            arguments = len(inspect.signature(method).parameters)
            shapes[name] = method(*["*"] * arguments)
        return shapes


KEYS = Keys()
