"""Each fix's typed parameters: how the contract spells them, reading that back, and what they refuse."""

from __future__ import annotations

from typing import Any

import pytest

from analyzers.diagnosis import Remediation
from analyzers.ids import RemediationId
from analyzers.param_values import EvictionPolicy, whole_mib
from analyzers.quantity import GI, MI
from analyzers.remediation_params import (
    PARAMS,
    AppConfigFix,
    ConnectionPoolBound,
    CpuLimitRaise,
    EvictionPolicyChange,
    ImageRollback,
    JvmHeapSizing,
    MaxclientsRaise,
    MaxmemorySetting,
    MemoryLimitRaise,
    NoParams,
    Params,
    ProbeTuning,
    params_from,
)
from bot.remediation.targets.silence import AlertSilence

# (model, how the contract spells it): today's `triage diagnose --json` strings, unchanged.
SPELLED: list[tuple[Params, dict[str, object]]] = [
    (
        MemoryLimitRaise("session-cache", from_bytes=64 * MI, to_bytes=256 * MI),
        {"container": "session-cache", "from": "64Mi", "to": "256Mi"},
    ),
    (
        MemoryLimitRaise("redis", from_bytes=2 * GI, to_bytes=2816 * MI),
        {"container": "redis", "from": "2Gi", "to": "2816Mi"},
    ),
    (MemoryLimitRaise("app", from_bytes=None, to_bytes=None), {"container": "app", "from": "unknown"}),
    (
        MemoryLimitRaise("app", from_bytes=None, to_bytes=GI),
        {"container": "app", "from": "unknown", "to": "1Gi"},
    ),
    (CpuLimitRaise("search-api", 300, 600), {"container": "search-api", "from": "300m", "to": "600m"}),
    (CpuLimitRaise("gw", 1000, 2000), {"container": "gw", "from": "1", "to": "2"}),
    (
        JvmHeapSizing("billing-svc", max_ram_percentage=75, xmx_bytes=768 * MI),
        {"container": "billing-svc", "flag": "-XX:MaxRAMPercentage=75", "xmx": "768m"},
    ),
    (ProbeTuning(5, 6), {"timeoutSeconds": 5, "failureThreshold": 6}),
    (
        ProbeTuning(5, 6, check_dependencies=False),
        {"timeoutSeconds": 5, "failureThreshold": 6, "check_dependencies": False},
    ),
    (ImageRollback("registry.local/orders-api:4.1.0"), {"to": "registry.local/orders-api:4.1.0"}),
    (
        AppConfigFix(variable="SMTP_PASSWORD", source="secret notifier"),
        {"variable": "SMTP_PASSWORD", "source": "secret notifier"},
    ),
    (AppConfigFix(what="job retention"), {"what": "job retention"}),
    (AppConfigFix(), {}),
    (ConnectionPoolBound(50), {"pool_size": 50}),
    (ConnectionPoolBound(), {}),
    (
        MaxmemorySetting(192 * MI, EvictionPolicy.ALLKEYS_LRU, "75% of the 256Mi limit"),
        {
            "maxmemory": "192mb",
            "policy": "allkeys-lru",
            "bytes": 201326592,
            "rests_on": "75% of the 256Mi limit",
        },
    ),
    (EvictionPolicyChange(EvictionPolicy.VOLATILE_LRU), {"policy": "volatile-lru"}),
    (MaxclientsRaise(20000), {"to": 20000}),
    (NoParams(), {}),
    (AlertSilence(7200), {"duration": "2h"}),
    (AlertSilence(5400), {"duration": "1h30m"}),
]


@pytest.mark.parametrize(("model", "spelled"), SPELLED, ids=[type(m).__name__ for m, _ in SPELLED])
def test_the_contract_spelling_is_written_in_one_place_and_reads_back(
    model: Params, spelled: dict[str, object]
) -> None:
    assert model.as_params() == spelled
    assert list(model.as_params()) == list(spelled)  # the key order of the JSON, too
    assert type(model).from_params(spelled) == model
    assert type(model).from_params(model.as_params()).as_params() == spelled


def test_a_limit_read_in_another_unit_is_spelled_in_mi_as_before() -> None:
    read = MemoryLimitRaise("app", from_bytes=10**9, to_bytes=GI)  # `1G`, as the pod spec said it
    assert read.as_params() == {"container": "app", "from": "954Mi", "to": "1Gi"}
    assert MemoryLimitRaise.from_params(read.as_params()).as_params() == read.as_params()


def test_every_remediation_id_names_the_model_it_carries() -> None:
    declared_by_the_bot = {RemediationId.SILENCE_ALERT}
    assert set(PARAMS) | declared_by_the_bot == set(RemediationId)
    assert params_from("raise-redis-maxclients", {"to": 200}) == MaxclientsRaise(200)
    assert params_from("expand-volume", {}) == NoParams()


def test_the_bot_reads_typed_values_for_the_changes_it_applies() -> None:
    maxmemory = MaxmemorySetting(192 * MI, EvictionPolicy.NOEVICTION, "a share of the limit")
    assert maxmemory.redis_config() == {"maxmemory": "192mb", "maxmemory-policy": "noeviction"}
    assert EvictionPolicyChange(EvictionPolicy.ALLKEYS_LFU).redis_config() == {
        "maxmemory-policy": "allkeys-lfu"
    }
    assert MaxclientsRaise(20000).redis_config() == {"maxclients": "20000"}
    assert MemoryLimitRaise("app", 64 * MI, 256 * MI).to_quantity == "256Mi"
    assert CpuLimitRaise("app", 300, 1200).to_quantity == "1200m"
    assert whole_mib(255.5 * MI) == 256 * MI


@pytest.mark.parametrize(
    "build",
    [
        lambda: MemoryLimitRaise("", 64 * MI, 256 * MI),  # no container
        lambda: MemoryLimitRaise("app", -1, 256 * MI),
        lambda: MemoryLimitRaise("app", 64 * MI, 0),
        lambda: MemoryLimitRaise("app", 64 * MI, 256 * MI + 1),  # what is written is whole MiB
        lambda: MemoryLimitRaise("app", 64 * MI, "256Mi"),  # a string where bytes belong
        lambda: MemoryLimitRaise("app", 64 * MI, True),
        lambda: CpuLimitRaise("app", 300, 0),
        lambda: CpuLimitRaise("app", 300, 0.6),
        lambda: JvmHeapSizing("app", 0, 768 * MI),
        lambda: JvmHeapSizing("app", 101, 768 * MI),
        lambda: ProbeTuning(0, 6),
        lambda: ProbeTuning(5, 6, check_dependencies="no"),
        lambda: ImageRollback(" "),
        lambda: AppConfigFix(variable=""),
        lambda: ConnectionPoolBound(0),
        lambda: MaxmemorySetting(0, EvictionPolicy.NOEVICTION, "x"),  # maxmemory 0 is no bound at all
        lambda: MaxmemorySetting(192 * MI, "allkeys-lru", "x"),  # a policy from the closed set only
        lambda: MaxmemorySetting(192 * MI, EvictionPolicy.NOEVICTION, ""),
        lambda: EvictionPolicyChange("lru"),
        lambda: MaxclientsRaise(-5),
        lambda: AlertSilence(0),
    ],
)
def test_a_value_no_fix_can_have_is_refused(build: Any) -> None:
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize(
    ("model", "params"),
    [
        (MemoryLimitRaise, {"container": "app", "from": "64Mi", "to": "lots"}),
        (MemoryLimitRaise, {"container": "app", "from": "64Mi", "to": "256Mi", "memory_limit": "1Gi"}),
        (MemoryLimitRaise, {"container": "app", "to": "256Mi"}),  # from is always there (or "unknown")
        (MemoryLimitRaise, {"container": "app", "from": "64Mi", "to": "0.5"}),  # half a byte
        (CpuLimitRaise, {"container": "app", "from": "300m", "to": "0.0005"}),  # half a millicore
        (JvmHeapSizing, {"container": "app", "flag": "-Xmx768m", "xmx": "768m"}),
        (ProbeTuning, {"timeoutSeconds": "5", "failureThreshold": 6}),
        (ProbeTuning, {"timeoutSeconds": 5, "failureThreshold": 6, "check_dependencies": "false"}),
        (MaxmemorySetting, {"maxmemory": "192mb", "policy": "allkeys-lru", "bytes": 1, "rests_on": "x"}),
        (MaxmemorySetting, {"maxmemory": "192mb", "policy": "most-lru", "bytes": 201326592, "rests_on": "x"}),
        (EvictionPolicyChange, {"policy": "Allkeys-LRU"}),
        (MaxclientsRaise, {"to": True}),
        (MaxclientsRaise, {"to": 2.5}),
        (NoParams, {"anything": 1}),
        (AlertSilence, {"duration": "forever"}),
    ],
)
def test_params_that_do_not_spell_a_valid_fix_are_refused(
    model: type[Params], params: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        model.from_params(params)


def test_a_remediation_takes_only_the_params_of_its_id() -> None:
    with pytest.raises(TypeError):
        Remediation(RemediationId.RAISE_MEMORY_LIMIT, "Raise", "low", True, MaxclientsRaise(200))
    with pytest.raises(TypeError):
        Remediation(RemediationId.ROLLBACK_IMAGE, "Roll back", "low", True)  # NoParams: no image
    Remediation("profile-heap", "An id of the project's own", "medium", False)
    silence = Remediation(RemediationId.SILENCE_ALERT, "Silence it", "low", True, AlertSilence(3600))
    assert silence.contract_params() == {"duration": "1h"}


def test_ordering_is_spelled_among_the_params_and_a_remediation_reads_back_whole() -> None:
    after = Remediation(
        RemediationId.SET_REDIS_MAXMEMORY,
        "Then set maxmemory 480mb",
        "low",
        True,
        MaxmemorySetting(480 * MI, EvictionPolicy.ALLKEYS_LRU, "75% of the new 640Mi limit"),
        "CONFIG SET maxmemory 480mb.",
        after=RemediationId.RAISE_MEMORY_LIMIT,
    )
    entry = after.to_contract()
    assert entry["params"] == {
        "maxmemory": "480mb",
        "policy": "allkeys-lru",
        "bytes": 480 * MI,
        "rests_on": "75% of the new 640Mi limit",
        "after": "raise-memory-limit",
    }
    back = Remediation.from_contract(entry)
    assert (back, back.params, back.after, back.alternative) == (after, after.params, after.after, False)
    assert back.to_contract() == entry

    alternative = Remediation(
        RemediationId.SET_REDIS_MAXMEMORY, "Or", "high", True, after.params, alternative=True
    ).to_contract()
    assert alternative["params"]["alternative"] is True
    assert Remediation.from_contract(alternative).alternative is True


def test_a_contract_entry_with_bad_params_does_not_read_back() -> None:
    entry = {"id": "raise-cpu-limit", "title": "t", "risk": "low", "automated": True, "params": {"to": "2"}}
    with pytest.raises(ValueError):
        Remediation.from_contract(entry)
    with pytest.raises(ValueError):
        Remediation.from_contract(
            {**entry, "params": {"container": "a", "from": "1", "to": "2", "after": "soon"}}
        )


def test_a_cpu_raise_with_the_current_limit_unknown_is_spelled_and_read_back() -> None:
    from analyzers.remediation_params import CpuLimitRaise

    unknown = CpuLimitRaise("gc", from_millicores=None, to_millicores=None)
    assert unknown.as_params() == {"container": "gc", "from": "unknown"}
    assert CpuLimitRaise.from_params(unknown.as_params()) == unknown
