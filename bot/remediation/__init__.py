"""One-click remediation with approval: what the Slack handlers call.

A button carries only a proposal id; everything else lives in Redis. Build one flow per bot
process (any number of processes may share the Redis)::

    flow = RemediationFlow(
        catalog,                      # bot.settings.Catalog
        redis_client,                 # the bot's Redis (proposals, locks, audit stream)
        groups_of=slack_groups_of,    # user id -> ids of the Slack user groups it belongs to
        # optional: kubernetes=KubernetesChanger(api_client) or a factory context -> changer
        #           (default: catalog.kubeconfig / in-cluster, one client per context),
        #           redis_changer=RedisChanger(), silences=AlertmanagerSilences(url),
        #           now=time.time, sleep=time.sleep, keys=Keys(prefix) (bot.state.keys)
    )

Calls (every one writes to the audit stream):

``flow.propose(diagnosis, evidence, service, service_config, channel, thread_ts, requested_by,
alert=None) -> Proposals``
    Stores one `Proposal` per automated remediation it can apply (raise-memory-limit,
    raise-cpu-limit, set-redis-maxmemory, set-redis-eviction-policy, raise-redis-maxclients, and
    a silence when `alert` labels are given and Alertmanager is configured), each worked out
    against the live workload / Redis. `Proposals` is a list; `.by_index()` maps an index of
    `diagnosis.remediations` to its proposal id (the button value); `.skipped` says why an
    automated fix got no proposal.
``flow.preview(proposal_id, user, channel) -> Preview``
    `.diff` (before/after lines), `.commands` (the patch / CONFIG SET / silence sent),
    `.persist` (Helm values / ConfigMap change so it survives a deploy or restart), `.dry_run`,
    `.notes`, `.approvers`; `.can_approve` False (with `.reason`) when the dry run is refused,
    the proposal is stale, expired, decided, or of another channel: then show no Approve button.
``flow.approve(proposal_id, user, channel) -> Outcome``
    policy -> expiry -> channel -> state -> approval recorded (compare-and-set) -> apply lock ->
    stale check -> dry run -> apply. `.status`: "applied" (`.lines` is the diff), "waiting"
    (a second, different approver is needed), "refused" (`.reason`: not_allowed, expired, stale,
    unknown, wrong_channel, replay, bounds; nothing changed) or "failed" (the API server / Redis /
    Alertmanager refused; nothing changed). `.message` is one line for the thread.
``flow.reject(proposal_id, user, channel, why="") -> Outcome``
    An approver or the requester turns it down ("rejected"), else "refused".
``flow.verify(proposal_id, timeout=None, interval=5.0) -> Outcome``
    "verified" or "verify_failed", `.lines` the checks: rollout done (kubectl's rule: observed
    generation, replicas == updated == available, a StatefulSet's currentRevision ==
    updateRevision), restarts of the container in the pods of the new revision since the change,
    their memory peak since the change vs the new limit (with `catalog.prometheus_url`); Redis
    still running with the values; the silence active. A workload is watched for the whole
    `timeout` (default `remediation.verify_seconds`), failing at the first restart of a new pod;
    it blocks, so run it in a worker.
``flow.rollback(proposal_id, user, channel) -> Proposal``
    A new proposal (`rollback_of` set) putting back the recorded previous values, approved like
    any other; when applied, the original becomes "rolled_back". Asked for by an approver or the
    requester, from the proposal's channel. Raises `RemediationRefused` (`.reason`: unknown,
    not_allowed, wrong_channel, replay, stale; message) when it may not or there is nothing to
    roll back. A failed apply that wrote part of its change can be rolled back too.
``flow.get(proposal_id) -> Proposal | None``

`triage audit`: arguments in `bot.cli.audit_arguments`, run by `bot.remediation.audit_cli.run_audit(args) -> int`.

Modules: `proposals` (the model and `ProposalStore`), `policy` (approvers, two-person rule,
bounds), `kubernetes_change`, `redis_change`, `silences`, `audit`, `audit_cli`, `flow`.
"""

from bot.remediation.flow import Outcome, Preview, Proposals, RemediationFlow, RemediationRefused, Skipped
from bot.remediation.proposals import Proposal

__all__ = ["Outcome", "Preview", "Proposal", "Proposals", "RemediationFlow", "RemediationRefused", "Skipped"]
