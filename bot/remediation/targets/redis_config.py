"""Redis configuration: CONFIG SET of maxmemory, the eviction policy, maxclients."""

from __future__ import annotations

from analyzers.diagnosis import Remediation
from analyzers.ids import RemediationId
from analyzers.quantity import parse_redis_size
from analyzers.remediation_params import RedisConfigChange
from bot.remediation.proposals import Applied, Basis, Change, Proposal, RedisTarget
from bot.remediation.redis_change import RedisChangeError, commands, persist_hint
from bot.remediation.results import CannotPropose, Preview, RemediationRefused, Stale
from bot.remediation.targets.base import Asked, Draft, Environment, RecordPrevious, Restore

REMEDIATIONS = (
    RemediationId.SET_REDIS_MAXMEMORY,
    RemediationId.SET_REDIS_EVICTION_POLICY,
    RemediationId.RAISE_REDIS_MAXCLIENTS,
)


class RedisConfiguration:
    def __init__(self, env: Environment) -> None:
        self.env = env

    def propose(self, remediation: Remediation, asked: Asked) -> Draft:
        url = asked.service_config.redis_url if asked.service_config else None
        if not url:
            raise CannotPropose(f"no redis_url for {asked.service} in the catalog")
        if not isinstance(remediation.params, RedisConfigChange):
            raise CannotPropose(f"{remediation.id} does not change Redis's configuration")
        values = remediation.params.redis_config()
        basis = self.env.redis_changer.read(url, values)
        if all(same_value(name, basis.get(name), value) for name, value in values.items()):
            raise CannotPropose(
                "Redis runs with " + ", ".join(f"{k} {v}" for k, v in values.items()) + " already"
            )
        title = (
            f"Redis of {asked.service}: "
            + ", ".join(f"{k} {v}" for k, v in values.items())
            + f" ({remediation.title})"
        )
        target = RedisTarget(service=asked.service)
        return Draft(remediation.id, title, target, Change(redis_config=values), Basis(redis_config=basis))

    def preview(self, proposal: Proposal, blocked: str) -> Preview:
        url = self.env.redis_url(_service(proposal))
        values = proposal.change.redis_config
        current = self.env.redis_changer.read(url, values)
        moved = [n for n in values if current.get(n) != proposal.basis.redis_config.get(n)]
        reason = blocked or (f"stale: Redis changed since the proposal ({', '.join(moved)})" if moved else "")
        diff = [f"-{name} {current.get(name, '')}\n+{name} {value}" for name, value in values.items()]
        return Preview(
            proposal,
            not reason,
            reason,
            diff=[line for pair in diff for line in pair.split("\n")],
            commands=commands(values),
            persist=persist_hint(values),
            dry_run="Redis has no dry run: CONFIG SET checks the values when it is applied",
            approvers=proposal.approvers,
        )

    def apply(
        self, proposal: Proposal, user: str, record_previous: RecordPrevious
    ) -> tuple[Applied, Change | None, list[str]]:
        values = proposal.change.redis_config
        try:
            before, after = self.env.redis_changer.apply(
                self.env.redis_url(_service(proposal)),
                values,
                proposal.basis.redis_config,
                before_write=lambda before: record_previous(Change(redis_config=before)),
            )
        except RedisChangeError as error:
            if error.code == "stale":
                raise Stale(str(error)) from None
            raise
        lines = [f"{name}: {before.get(name, '')} -> {value}" for name, value in values.items()]
        applied = Applied(by=user, at=self.env.now(), redis_config=after)
        return applied, Change(redis_config=before), [*commands(values), *lines]

    def watch(
        self, proposal: Proposal, applied: Applied, timeout: float, interval: float
    ) -> tuple[bool, list[str]]:
        url = self.env.redis_url(_service(proposal))
        current = self.env.redis_changer.read(url, applied.redis_config)
        moved = [
            f"{n} is {current.get(n)}, not {v}"
            for n, v in applied.redis_config.items()
            if current.get(n) != v
        ]
        if moved:
            return False, [*moved, "a restart or another CONFIG SET changed it: persist it in the chart"]
        runs = [f"Redis runs with {n} {v}" for n, v in applied.redis_config.items()]
        if proposal.rollback_of:  # putting old values back: that they hold is the whole effect
            return True, runs
        held, effect = self.env.redis_changer.effect(url, applied.redis_config)
        return held, [*runs, *effect]

    def restore(self, original: Proposal, partial: bool) -> Restore:
        assert original.previous is not None
        values = {
            n: v for n, v in original.previous.redis_config.items() if n in original.change.redis_config
        }
        change = Change(redis_config=values)
        url = self.env.redis_url(_service(original))
        basis = Basis(redis_config=self.env.redis_changer.read(url, values))
        applied_values = original.applied.redis_config if original.applied else {}
        if partial:  # only the values it did set: the others are still what they were
            written = original.change.redis_config
            values = {n: v for n, v in values.items() if same_value(n, basis.redis_config.get(n), written[n])}
            if not values:
                raise RemediationRefused("stale", "the failed change is not in place: nothing to roll back")
            change = Change(redis_config=values)
            basis = Basis(redis_config={n: basis.redis_config[n] for n in values})
            applied_values = dict(basis.redis_config)
        moved = [f"{n} is {v}" for n, v in basis.redis_config.items() if applied_values.get(n) != v]
        if moved:
            raise RemediationRefused(
                "stale", f"changed since it was applied ({', '.join(moved)}): not rolling that back"
            )
        config = self.env.catalog.service(original.service)
        namespace = config.namespace if config else None
        return Restore(change, basis, namespace, ", ".join(f"{k} {v}" for k, v in values.items()))


def same_value(name: str, current: str | None, wanted: str) -> bool:
    if current is None:
        return False
    if name == "maxmemory":
        return parse_redis_size(current) == parse_redis_size(wanted)
    return current == wanted


def _service(proposal: Proposal) -> str:
    assert isinstance(proposal.target, RedisTarget)
    return proposal.target.service
