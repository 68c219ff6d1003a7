"""Each fix's parameters, typed: sizes in bytes, CPU in millicores, Redis settings as values.

A remediation rule builds the model `PARAMS[remediation_id]` names, and everything after it (the
bot's targets, the renderers) reads its fields: nothing parses a quantity back out of a string.
`as_params()` is the one place a model is spelled as the `triage.diagnosis/v1` contract spells it
(`"256Mi"`, `"600m"`, `"192mb"`); `from_params()` is its inverse, for parameters that
arrive as JSON. A value no fix can have (a negative size, a policy Redis does not know, an empty
container name, an unknown key) raises ValueError, in both directions; the checks and readers are
in `analyzers/param_values.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, Self

from analyzers.ids import RemediationId
from analyzers.param_values import (
    EvictionPolicy,
    ParamsJson,
    check_count,
    check_name,
    check_policy,
    check_whole_mib,
    only_keys,
    read_bytes,
    read_integer,
    read_matched,
    read_millicores,
    read_policy,
    read_text,
)
from analyzers.quantity import MI, format_mi, format_millicores, format_redis_mb


@dataclass(frozen=True, slots=True)
class NoParams:
    """A fix with nothing to choose (enable auth, grow the volume): done by hand as its detail says."""

    def as_params(self) -> dict[str, object]:
        return {}

    @classmethod
    def from_params(cls, params: ParamsJson) -> NoParams:
        only_keys(params, ())
        return cls()


@dataclass(frozen=True, slots=True)
class MemoryLimitRaise:
    """raise-memory-limit: the container's memory limit now and the one to write.

    `from_bytes` is the limit as read (None: not in the evidence). `to_bytes` is what is written,
    so a whole number of MiB (None: no new limit could be worked out).
    """

    container: str
    from_bytes: int | None
    to_bytes: int | None

    def __post_init__(self) -> None:
        check_name("container", self.container)
        if self.from_bytes is not None:
            check_count("from_bytes", self.from_bytes, minimum=0)
        if self.to_bytes is not None:
            check_whole_mib("to_bytes", self.to_bytes)

    @property
    def from_quantity(self) -> str:
        return "unknown" if self.from_bytes is None else format_mi(self.from_bytes)

    @property
    def to_quantity(self) -> str | None:
        """The new limit as a Kubernetes quantity (`256Mi`, `2Gi`): what the patch writes."""
        return None if self.to_bytes is None else format_mi(self.to_bytes)

    def as_params(self) -> dict[str, object]:
        params: dict[str, object] = {"container": self.container, "from": self.from_quantity}
        if self.to_quantity is not None:
            params["to"] = self.to_quantity
        return params

    @classmethod
    def from_params(cls, params: ParamsJson) -> MemoryLimitRaise:
        only_keys(params, ("container", "from", "to"))
        written = read_text(params, "from")
        from_bytes = None if written == "unknown" else read_bytes("from", written)
        to_bytes = read_bytes("to", read_text(params, "to")) if "to" in params else None
        return cls(read_text(params, "container"), from_bytes, to_bytes)


@dataclass(frozen=True, slots=True)
class CpuLimitRaise:
    """raise-cpu-limit: the container's CPU limit now and the one to write, in millicores (None: the
    current limit is not in the evidence, or no new one could be worked out; then the fix is manual)."""

    container: str
    from_millicores: int | None
    to_millicores: int | None

    def __post_init__(self) -> None:
        check_name("container", self.container)
        if self.from_millicores is not None:
            check_count("from_millicores", self.from_millicores, minimum=0)
        if self.to_millicores is not None:
            check_count("to_millicores", self.to_millicores)

    @property
    def from_quantity(self) -> str:
        return "unknown" if self.from_millicores is None else format_millicores(self.from_millicores)

    @property
    def to_quantity(self) -> str:
        """The new limit as a Kubernetes quantity (`600m`, `2`): what the patch writes."""
        if self.to_millicores is None:
            raise ValueError("raise-cpu-limit has no target: the current limit is unknown")
        return format_millicores(self.to_millicores)

    def as_params(self) -> dict[str, object]:
        params: dict[str, object] = {"container": self.container, "from": self.from_quantity}
        if self.to_millicores is not None:
            params["to"] = self.to_quantity
        return params

    @classmethod
    def from_params(cls, params: ParamsJson) -> CpuLimitRaise:
        only_keys(params, ("container", "from", "to"))
        written = read_text(params, "from")
        return cls(
            read_text(params, "container"),
            None if written == "unknown" else read_millicores("from", written),
            read_millicores("to", read_text(params, "to")) if "to" in params else None,
        )


_RAM_PERCENTAGE = re.compile(r"-XX:MaxRAMPercentage=(\d+)")
_XMX = re.compile(r"(\d+)m")


@dataclass(frozen=True, slots=True)
class JvmHeapSizing:
    """lower-jvm-heap: size the heap as a share of the container limit, and about what that comes to."""

    container: str
    max_ram_percentage: int
    xmx_bytes: int  # the heap that share gives under today's limit, a whole number of MiB

    def __post_init__(self) -> None:
        check_name("container", self.container)
        check_count("max_ram_percentage", self.max_ram_percentage)
        if self.max_ram_percentage > 100:
            raise ValueError(f"max_ram_percentage must be at most 100, not {self.max_ram_percentage}")
        check_whole_mib("xmx_bytes", self.xmx_bytes, minimum=0)

    @property
    def flag(self) -> str:
        return f"-XX:MaxRAMPercentage={self.max_ram_percentage}"

    def as_params(self) -> dict[str, object]:
        return {"container": self.container, "flag": self.flag, "xmx": f"{self.xmx_bytes // MI}m"}

    @classmethod
    def from_params(cls, params: ParamsJson) -> JvmHeapSizing:
        only_keys(params, ("container", "flag", "xmx"))
        flag = read_matched("flag", read_text(params, "flag"), _RAM_PERCENTAGE)
        xmx = read_matched("xmx", read_text(params, "xmx"), _XMX)
        return cls(read_text(params, "container"), int(flag), int(xmx) * MI)


@dataclass(frozen=True, slots=True)
class ProbeTuning:
    """tune-liveness-probe: the probe's timeout and failure threshold; whether it checks dependencies."""

    timeout_seconds: int
    failure_threshold: int
    check_dependencies: bool | None = None  # None: leave what it checks as it is

    def __post_init__(self) -> None:
        check_count("timeout_seconds", self.timeout_seconds)
        check_count("failure_threshold", self.failure_threshold)
        if self.check_dependencies is not None and not isinstance(self.check_dependencies, bool):
            raise ValueError(f"check_dependencies must be true or false, not {self.check_dependencies!r}")

    def as_params(self) -> dict[str, object]:
        params: dict[str, object] = {
            "timeoutSeconds": self.timeout_seconds,
            "failureThreshold": self.failure_threshold,
        }
        if self.check_dependencies is not None:
            params["check_dependencies"] = self.check_dependencies
        return params

    @classmethod
    def from_params(cls, params: ParamsJson) -> ProbeTuning:
        only_keys(params, ("timeoutSeconds", "failureThreshold", "check_dependencies"))
        check = params.get("check_dependencies")
        if check is not None and not isinstance(check, bool):
            raise ValueError(f"check_dependencies must be true or false, not {check!r}")
        return cls(
            read_integer(params, "timeoutSeconds"),
            read_integer(params, "failureThreshold"),
            check if isinstance(check, bool) else None,
        )


@dataclass(frozen=True, slots=True)
class ImageRollback:
    """rollback-image: the image to go back to."""

    image: str

    def __post_init__(self) -> None:
        check_name("image", self.image)

    def as_params(self) -> dict[str, object]:
        return {"to": self.image}

    @classmethod
    def from_params(cls, params: ParamsJson) -> ImageRollback:
        only_keys(params, ("to",))
        return cls(read_text(params, "to"))


@dataclass(frozen=True, slots=True)
class AppConfigFix:
    """fix-app-config: the variable that is missing, where it should come from, or what to bound."""

    variable: str | None = None
    source: str | None = None
    what: str | None = None

    def __post_init__(self) -> None:
        for name in ("variable", "source", "what"):
            value = getattr(self, name)
            if value is not None:
                check_name(name, value)

    def as_params(self) -> dict[str, object]:
        named = (("variable", self.variable), ("source", self.source), ("what", self.what))
        return {name: value for name, value in named if value is not None}

    @classmethod
    def from_params(cls, params: ParamsJson) -> AppConfigFix:
        only_keys(params, ("variable", "source", "what"))
        variable, source, what = (
            read_text(params, k) if k in params else None for k in ("variable", "source", "what")
        )
        return cls(variable, source, what)


@dataclass(frozen=True, slots=True)
class ConnectionPoolBound:
    """fix-connection-leak: the per-pod pool size to bound the clients to, when it could be worked out."""

    pool_size: int | None = None

    def __post_init__(self) -> None:
        if self.pool_size is not None:
            check_count("pool_size", self.pool_size)

    def as_params(self) -> dict[str, object]:
        return {} if self.pool_size is None else {"pool_size": self.pool_size}

    @classmethod
    def from_params(cls, params: ParamsJson) -> ConnectionPoolBound:
        only_keys(params, ("pool_size",))
        return cls(read_integer(params, "pool_size") if "pool_size" in params else None)


@dataclass(frozen=True, slots=True)
class MaxmemorySetting:
    """set-redis-maxmemory: the bound in bytes (a whole number of MiB), the policy set with it, and
    what the size rests on (a share of which limit, or the peak used memory)."""

    bytes: int
    policy: EvictionPolicy
    rests_on: str

    def __post_init__(self) -> None:
        check_whole_mib("bytes", self.bytes)
        check_policy(self.policy)
        check_name("rests_on", self.rests_on)

    @property
    def maxmemory(self) -> str:
        """The bound as Redis is told it: `192mb`."""
        return format_redis_mb(self.bytes)

    def redis_config(self) -> dict[str, str]:
        """The CONFIG SET values."""
        return {"maxmemory": self.maxmemory, "maxmemory-policy": self.policy.value}

    def as_params(self) -> dict[str, object]:
        return {
            "maxmemory": self.maxmemory,
            "policy": self.policy.value,
            "bytes": self.bytes,
            "rests_on": self.rests_on,
        }

    @classmethod
    def from_params(cls, params: ParamsJson) -> MaxmemorySetting:
        only_keys(params, ("maxmemory", "policy", "bytes", "rests_on"))
        size = read_integer(params, "bytes")
        if read_text(params, "maxmemory") != format_redis_mb(size):
            raise ValueError(f"maxmemory {params['maxmemory']} is not the {size} bytes given")
        return cls(size, read_policy(params), read_text(params, "rests_on"))


@dataclass(frozen=True, slots=True)
class EvictionPolicyChange:
    """set-redis-eviction-policy: the policy to switch to."""

    policy: EvictionPolicy

    def __post_init__(self) -> None:
        check_policy(self.policy)

    def redis_config(self) -> dict[str, str]:
        return {"maxmemory-policy": self.policy.value}

    def as_params(self) -> dict[str, object]:
        return {"policy": self.policy.value}

    @classmethod
    def from_params(cls, params: ParamsJson) -> EvictionPolicyChange:
        only_keys(params, ("policy",))
        return cls(read_policy(params))


@dataclass(frozen=True, slots=True)
class MaxclientsRaise:
    """raise-redis-maxclients: the new maxclients; None when the current one is not in the evidence (a
    manual fix that says to read it first)."""

    to: int | None = None

    def __post_init__(self) -> None:
        if self.to is not None:
            check_count("to", self.to)

    def redis_config(self) -> dict[str, str]:
        if self.to is None:
            raise ValueError("raise-redis-maxclients has no target: the current maxclients is unknown")
        return {"maxclients": str(self.to)}

    def as_params(self) -> dict[str, object]:
        return {} if self.to is None else {"to": self.to}

    @classmethod
    def from_params(cls, params: ParamsJson) -> MaxclientsRaise:
        only_keys(params, ("to",))
        return cls(read_integer(params, "to") if "to" in params else None)


class Params(Protocol):
    """What every fix's parameters do: spell themselves as the contract does, and read that back."""

    def as_params(self) -> dict[str, object]: ...

    @classmethod
    def from_params(cls, params: ParamsJson) -> Self: ...


RedisConfigChange = MaxmemorySetting | EvictionPolicyChange | MaxclientsRaise
ResourcesChange = MemoryLimitRaise | CpuLimitRaise

# The parameters of each fix the analyzers propose: which model a remediation id carries.
PARAMS: dict[RemediationId, type[Params]] = {
    RemediationId.RAISE_MEMORY_LIMIT: MemoryLimitRaise,
    RemediationId.SET_REDIS_MAXMEMORY: MaxmemorySetting,
    RemediationId.SET_REDIS_EVICTION_POLICY: EvictionPolicyChange,
    RemediationId.FIX_REDIS_CONFIG_MOUNT: NoParams,
    RemediationId.DISABLE_REDIS_BACKGROUND_SAVE: NoParams,
    RemediationId.SET_VM_OVERCOMMIT: NoParams,
    RemediationId.ADD_SESSION_TTL: NoParams,
    RemediationId.ENABLE_REDIS_AUTH: NoParams,
    RemediationId.RAISE_REDIS_MAXCLIENTS: MaxclientsRaise,
    RemediationId.FIX_CONNECTION_LEAK: ConnectionPoolBound,
    RemediationId.RAISE_CPU_LIMIT: CpuLimitRaise,
    RemediationId.LOWER_JVM_HEAP: JvmHeapSizing,
    RemediationId.TUNE_LIVENESS_PROBE: ProbeTuning,
    RemediationId.ROLLBACK_IMAGE: ImageRollback,
    RemediationId.FIX_APP_CONFIG: AppConfigFix,
    RemediationId.EXPAND_VOLUME: NoParams,
    RemediationId.RESTART_WORKLOAD: NoParams,
    # silence-alert: the bot's own fix (never an analyzer's), its `AlertSilence` is declared with
    # the silence target (bot/remediation/targets/silence.py), spelled by bot/durations.py.
}


def params_type(remediation_id: str) -> type[Params] | None:
    """The model `remediation_id` carries; None for an id outside `PARAMS` (the project's own, or the
    bot's silence-alert): those take any params."""
    try:
        return PARAMS.get(RemediationId(remediation_id))
    except ValueError:
        return None


def params_from(remediation_id: str, params: ParamsJson) -> Params:
    """The typed parameters of `remediation_id` read back from their contract spelling."""
    model = params_type(remediation_id)
    if model is None:
        if params:
            raise ValueError(f"{remediation_id} has no params model in analyzers: its params cannot be read")
        return NoParams()
    return model.from_params(params)
