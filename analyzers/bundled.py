"""A dependency the chart bundles, dialled although the values switch it off.

Charts ship their database or cache as a subchart (`postgresql.enabled`, `redis.enabled`) and take an
external one instead (`externalDatabase.host`). When the service (or its wait-for init container) still
dials the bundled one's service name, the name never resolves or answers: a configuration error, not an
outage of the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analyzers.base import narrow
from analyzers.context import Context
from analyzers.dependency import Failure, service_failures
from analyzers.evidence import Fact

_OFF = ("false", "no", "off", "0")
# The subcharts a chart bundles as its datastore; `auth.enabled: false` is a feature switch, not one of these.
_DATASTORES = {
    "postgresql",
    "postgres",
    "mysql",
    "mariadb",
    "redis",
    "mongodb",
    "rabbitmq",
    "memcached",
    "elasticsearch",
    "kafka",
    "zookeeper",
    "cassandra",
    "valkey",
    "minio",
}
_EXTERNAL_HOST = re.compile(r"external.*\.(?:host|hostname|url|uri|address)$", re.IGNORECASE)


@dataclass(frozen=True)
class DisabledBundle:
    failure: Failure
    switched_off: Fact  # `postgresql.enabled: false`
    external: Fact | None  # `databaseExternal.host: db.example.com`

    @property
    def component(self) -> str:
        return _component(self.switched_off)


def _component(switch: Fact) -> str:
    """The subchart a `<path>.<component>.enabled` value switches: `postgresql`."""
    return str(switch.key).rsplit(".", 1)[0].rsplit(".", 1)[-1]


def disabled_bundle_dialled(context: Context) -> DisabledBundle | None:
    switched_off = [
        f
        for f in context.evidence.of("helm.value")
        if (f.key or "").endswith(".enabled")
        and str(f.value).lower() in _OFF
        and _component(f).lower() in _DATASTORES
    ]
    if not switched_off:
        return None
    externals = [
        str(f.value).lower() for f in context.evidence.of("helm.value") if _EXTERNAL_HOST.search(f.key or "")
    ]
    for failure in service_failures(context):
        # A name that never resolves or never answers; a refusal means something is there.
        if not failure.host or failure.what not in ("dns", "timeout"):
            continue
        if any(
            value and (value in failure.host.lower() or failure.host.lower() in value) for value in externals
        ):
            continue  # it dials the external host the values name: not the bundled one
        words = failure.host.split(".", 1)[0].lower().split("-")
        for fact in switched_off:
            if _names_the_bundled(words, _component(fact).lower()):
                external = next(
                    (f for f in context.evidence.of("helm.value") if _EXTERNAL_HOST.search(f.key or "")), None
                )
                return DisabledBundle(failure, fact, external)
    return None


def disabled_bundle_told(context: Context) -> tuple[str, str, float, list[Fact], dict[str, object]] | None:
    """(title, detail, confidence, cited, data) of an app-config-error cause, when it applies."""
    found = disabled_bundle_dialled(context)
    if found is None:
        return None
    off, external = found.switched_off, found.external
    detail = (
        f"The service waits for {found.failure.name}, the {found.component} this chart bundles, but the values "
        f"switch it off (`{off.key}: {off.value}`)"
        + (f" and name an external one (`{external.key}: {external.value}`)" if external else "")
        + ": that service does not exist, so the wait never ends. Point the service (and its wait-for init "
        "container) at the external host, or turn the bundled one back on."
    )
    cited = [narrow(found.failure.fact, found.failure.needle), off, *([external] if external else [])]
    title = f"Waits for the bundled {found.component}, which the values switch off"
    return title, detail, 0.8, cited, {"dials": found.failure.name}


# What charts put after the subchart's name in its Service: `rel-redis-master`, `rel-postgresql-hl`.
_SERVICE_SUFFIXES = {"master", "primary", "headless", "hl", "replicas", "replica", "read", "svc"}


def _names_the_bundled(words: list[str], component: str) -> bool:
    """`flagsmith-flagsmith-postgresql` names the bundled postgresql; `minio-gateway` is another service."""
    if component not in words:
        return False
    after = words[len(words) - 1 - words[::-1].index(component) + 1 :]
    return all(word in _SERVICE_SUFFIXES or word.isdigit() for word in after)
