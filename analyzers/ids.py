"""The ids of the `triage.diagnosis/v1` contract: the only place they are spelled.

A finding id names a fact about the system; a remediation id names a change. Both are
`StrEnum`s, so they compare and serialise as the plain strings the contract fixes.
"""

from __future__ import annotations

from enum import StrEnum


class FindingId(StrEnum):
    CONTAINER_OOM_KILLED = "container-oom-killed"
    CRASH_LOOP = "crash-loop"
    MEMORY_LIMIT_TOO_LOW = "memory-limit-too-low"
    MEMORY_GROWTH_UNBOUNDED = "memory-growth-unbounded"
    JVM_HEAP_EXCEEDS_LIMIT = "jvm-heap-exceeds-limit"
    CPU_THROTTLING = "cpu-throttling"
    LIVENESS_PROBE_FAILING = "liveness-probe-failing"
    READINESS_PROBE_FAILING = "readiness-probe-failing"
    IMAGE_PULL_FAILED = "image-pull-failed"
    APP_CONFIG_ERROR = "app-config-error"
    NODE_MEMORY_PRESSURE = "node-memory-pressure"
    DISK_FULL = "disk-full"
    DEPENDENCY_UNAVAILABLE = "dependency-unavailable"
    REDIS_MAXMEMORY_UNSET = "redis-maxmemory-unset"
    REDIS_NOEVICTION_POLICY = "redis-noeviction-policy"
    REDIS_MAXMEMORY_REACHED = "redis-maxmemory-reached"
    REDIS_FORK_FAILED = "redis-fork-failed"
    REDIS_CONFIG_NOT_APPLIED = "redis-config-not-applied"
    REDIS_PERSISTENCE_DISABLED = "redis-persistence-disabled"
    REDIS_AUTH_DISABLED = "redis-auth-disabled"
    REDIS_KEYS_WITHOUT_TTL = "redis-keys-without-ttl"
    REDIS_MAXCLIENTS_REACHED = "redis-maxclients-reached"
    REDIS_MEMORY_FRAGMENTATION = "redis-memory-fragmentation"
    DOWNSTREAM_LATENCY = "downstream-latency"
    DATA_LOSS_ON_RESTART = "data-loss-on-restart"


class RemediationId(StrEnum):
    RAISE_MEMORY_LIMIT = "raise-memory-limit"
    SET_REDIS_MAXMEMORY = "set-redis-maxmemory"
    SET_REDIS_EVICTION_POLICY = "set-redis-eviction-policy"
    FIX_REDIS_CONFIG_MOUNT = "fix-redis-config-mount"
    DISABLE_REDIS_BACKGROUND_SAVE = "disable-redis-background-save"
    SET_VM_OVERCOMMIT = "set-vm-overcommit"
    ADD_SESSION_TTL = "add-session-ttl"
    ENABLE_REDIS_AUTH = "enable-redis-auth"
    RAISE_REDIS_MAXCLIENTS = "raise-redis-maxclients"
    FIX_CONNECTION_LEAK = "fix-connection-leak"
    RAISE_CPU_LIMIT = "raise-cpu-limit"
    LOWER_JVM_HEAP = "lower-jvm-heap"
    TUNE_LIVENESS_PROBE = "tune-liveness-probe"
    ROLLBACK_IMAGE = "rollback-image"
    FIX_APP_CONFIG = "fix-app-config"
    EXPAND_VOLUME = "expand-volume"
    RESTART_WORKLOAD = "restart-workload"
    SILENCE_ALERT = "silence-alert"
