"""redis-auth-disabled: Redis accepts clients without a password."""

from __future__ import annotations

from analyzers.base import finding
from analyzers.context import Context
from analyzers.diagnosis import Finding
from analyzers.ids import FindingId, RemediationId
from analyzers.redis_view import redis_view
from analyzers.spec import FindingSpec


def analyze(context: Context) -> list[Finding]:
    redis = redis_view(context)
    chart = [
        f
        for f in context.mine("helm.value")
        if f.key and f.key.endswith("auth.enabled") and f.value == "false"
    ]
    if chart and redis.present:
        detail = "The chart disables authentication: any pod that can reach the port can read and change every key."
        return [
            finding(FindingId.REDIS_AUTH_DISABLED, "info", "Redis has no password", detail, 0.85, chart[:1])
        ]
    default_user = redis.info.get("acl_default_user")
    if default_user and " on " in f" {default_user.value} " and "nopass" in default_user.value.split():
        detail = "The default user is enabled without a password (`nopass`): any client that reaches the port is in."
        return [
            finding(
                FindingId.REDIS_AUTH_DISABLED,
                "info",
                "Redis has no password",
                detail,
                0.95,
                [default_user.fact],
            )
        ]
    password = redis.setting("requirepass")
    if password is not None and password.value.strip('"') == "" and not default_user:
        detail = "requirepass is empty: clients connect without a password."
        return [
            finding(
                FindingId.REDIS_AUTH_DISABLED, "info", "Redis has no password", detail, 0.85, [password.fact]
            )
        ]
    protected = redis.declared.get("protected-mode")
    has_password = "requirepass" in redis.declared or "aclfile" in redis.declared or "user" in redis.declared
    if protected and protected.value == "no" and not has_password and len(redis.declared) >= 4:
        detail = (
            "protected-mode is off and the configuration sets no requirepass or ACL users: clients connect "
            "without a password."
        )
        return [
            finding(
                FindingId.REDIS_AUTH_DISABLED, "info", "Redis has no password", detail, 0.7, [protected.fact]
            )
        ]
    return []


SPEC = FindingSpec(
    FindingId.REDIS_AUTH_DISABLED,
    analyze,
    "context",
    90,
    checks=("{cli} ACL WHOAMI",),
    fixed_by=(RemediationId.ENABLE_REDIS_AUTH,),
)
