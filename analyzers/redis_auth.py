"""redis-auth-disabled: Redis accepts clients without a password."""

from __future__ import annotations

from analyzers.base import finding
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.redis_view import RedisView


def analyze(context: Context) -> list[Finding]:
    redis = RedisView(context)
    chart = [
        f
        for f in context.mine("helm.value")
        if f.key and f.key.endswith("auth.enabled") and f.value == "false"
    ]
    if chart and redis.present:
        detail = "The chart disables authentication: any pod that can reach the port can read and change every key."
        return [finding("redis-auth-disabled", "info", "Redis has no password", detail, 0.85, chart[:1])]
    protected = redis.declared.get("protected-mode")
    has_password = "requirepass" in redis.declared or "aclfile" in redis.declared or "user" in redis.declared
    if protected and protected.value == "no" and not has_password and len(redis.declared) >= 4:
        detail = (
            "protected-mode is off and the configuration sets no requirepass or ACL users: clients connect "
            "without a password."
        )
        return [
            finding("redis-auth-disabled", "info", "Redis has no password", detail, 0.7, [protected.fact])
        ]
    return []
