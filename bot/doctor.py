"""`triage doctor`: checks, for one configuration, everything the bot talks to; one line each.

  slack         auth.test with SLACK_BOT_TOKEN (at SLACK_API_URL)
  redis         PING to the bot's Redis (TRIAGE_REDIS_URL), and whether it persists its state
  prometheus    the catalog's prometheus_url (or PROMETHEUS_URL) answers a query
  alertmanager  the catalog's alertmanager_url (or ALERTMANAGER_URL) answers /api/v2/status
  kubernetes    per namespace of the catalog, a SelfSubjectAccessReview for each permission the bot
                needs (what the Helm chart's Role grants), as the bot's own account

Each check is `ok`, `FAIL` (with the reason) or `skip` (not configured). Exit status 1 when any
check failed, else 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import redis
import requests  # type: ignore[import-untyped, unused-ignore]

from bot.kubernetes_api import KubeConfigError, load_api_client, one_line, status_message
from bot.settings import Catalog, CatalogError, load_catalog

Verdict = Literal["ok", "FAIL", "skip"]
DEFAULT_SLACK_API_URL = "https://slack.com/api/"

# (API group, resource, subresource, verb): what the collector reads and the remediation patches.
READS: tuple[tuple[str, str, str, str], ...] = (
    ("", "pods", "", "get"),
    ("", "pods", "", "list"),
    ("", "pods", "log", "get"),
    ("", "events", "", "list"),
    ("", "configmaps", "", "get"),
    ("", "configmaps", "", "list"),
    ("apps", "deployments", "", "get"),
    ("apps", "deployments", "", "list"),
    ("apps", "statefulsets", "", "get"),
    ("apps", "statefulsets", "", "list"),
    ("apps", "replicasets", "", "list"),
)
PATCHES: tuple[tuple[str, str, str, str], ...] = (
    ("apps", "deployments", "", "patch"),
    ("apps", "statefulsets", "", "patch"),
)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    verdict: Verdict
    detail: str

    def line(self) -> str:
        return f"{self.name:<13} {self.verdict:<4}  {self.detail}"


def run_doctor(args: argparse.Namespace) -> int:
    checks = diagnose_setup(args.config, os.environ, args.timeout)
    for check in checks:
        print(check.line())
    failed = [c.name for c in checks if c.verdict == "FAIL"]
    print(f"{len(failed)} failed: {', '.join(failed)}" if failed else "everything answers", file=sys.stderr)
    return 1 if failed else 0


def diagnose_setup(config: str | None, environ: Mapping[str, str], timeout: float = 5.0) -> list[Check]:
    """Every check, in order; never raises."""
    try:
        catalog: Catalog | None = load_catalog(config, environ)
        catalog_problem = ""
    except CatalogError as error:
        catalog, catalog_problem = None, str(error)
    checks = [
        _slack(environ, timeout),
        _redis(environ.get("TRIAGE_REDIS_URL"), timeout),
    ]
    if catalog is None:
        checks.append(Check("catalog", "FAIL", catalog_problem))
        return checks
    checks.append(
        _http("prometheus", catalog.prometheus_url, "/api/v1/query?query=1", timeout, "prometheus_url")
    )
    checks.append(
        _http("alertmanager", catalog.alertmanager_url, "/api/v2/status", timeout, "alertmanager_url")
    )
    checks.extend(_kubernetes(catalog, timeout))
    return checks


def _slack(environ: Mapping[str, str], timeout: float) -> Check:
    token = environ.get("SLACK_BOT_TOKEN")
    if not token:
        return Check("slack", "skip", "SLACK_BOT_TOKEN is not set")
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    url = environ.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    client = WebClient(
        token=token, base_url=url if url.endswith("/") else url + "/", timeout=int(max(timeout, 1))
    )
    try:
        answer = client.auth_test()
    except SlackApiError as error:
        return Check("slack", "FAIL", f"auth.test at {url}: {error.response.get('error')}")
    except Exception as error:  # connection refused, DNS, TLS: one line, whatever the cause
        return Check("slack", "FAIL", f"auth.test at {url}: {_reason(error)}")
    return Check(
        "slack",
        "ok",
        f"auth.test: bot {answer.get('user_id')} ({answer.get('user')}) in team {answer.get('team')}",
    )


def _redis(url: str | None, timeout: float) -> Check:
    if not url:
        return Check("redis", "skip", "TRIAGE_REDIS_URL is not set")
    shown = _without_password(url)
    try:
        with redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout) as client:
            client.ping()
            persistence = client.info("persistence")
            config = client.config_get("save")
    except redis.AuthenticationError as error:
        return Check(
            "redis", "FAIL", f"{shown}: {one_line(error)} (a password in the URL: redis://:PASSWORD@host)"
        )
    except redis.RedisError as error:
        return Check("redis", "FAIL", f"{shown}: {_reason(error)}")
    saves = bool(config.get("save")) or bool(persistence.get("aof_enabled"))
    note = (
        ""
        if saves
        else "; no persistence: a restart loses the bot's state (rebuilt from Alertmanager and Slack)"
    )
    return Check("redis", "ok", f"{shown} answers PING{note}")


def _http(name: str, base: str | None, path: str, timeout: float, key: str) -> Check:
    if not base:
        return Check(name, "skip", f"not configured ({key} in the catalog or {key.upper()})")
    url = f"{base.rstrip('/')}{path}"
    try:
        answer = requests.get(url, timeout=timeout)
    except requests.exceptions.RequestException as error:
        return Check(name, "FAIL", f"{base}: {_reason(error)}")
    if answer.status_code != 200:
        return Check(name, "FAIL", f"{url}: HTTP {answer.status_code} {one_line(answer.text)[:200]}")
    return Check(name, "ok", f"{base} answers {path.split('?')[0]}")


def _kubernetes(catalog: Catalog, timeout: float) -> list[Check]:
    namespaces = sorted(
        {
            *catalog.namespaces,
            *catalog.production_namespaces,
            *(s.namespace for s in catalog.services.values() if s.namespace),
        }
    )
    if not namespaces:
        return [
            Check("kubernetes", "skip", "no namespace in the catalog (namespaces or services.*.namespace)")
        ]
    try:
        api = load_api_client(catalog.kubeconfig, catalog.context)
    except KubeConfigError as error:
        return [Check("kubernetes", "FAIL", str(error))]
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    authorization = client.AuthorizationV1Api(api)
    wanted = READS + (PATCHES if catalog.remediation.enabled else ())
    checks = []
    for namespace in namespaces:
        denied: list[str] = []
        try:
            for group, resource, subresource, verb in wanted:
                allowed, reason = _allowed(
                    authorization, namespace, group, resource, subresource, verb, timeout
                )
                if not allowed:
                    what = f"{resource}/{subresource}" if subresource else resource
                    denied.append(
                        f"{verb} {what}{f' ({group})' if group else ''}{f': {reason}' if reason else ''}"
                    )
        except ApiException as error:
            checks.append(Check("kubernetes", "FAIL", f"{namespace}: {error.status} {status_message(error)}"))
            continue
        except Exception as error:  # unreachable API server, TLS, time-out
            checks.append(Check("kubernetes", "FAIL", f"{namespace}: {_reason(error)}"))
            break  # the next namespace would only say the same
        if denied:
            checks.append(Check("kubernetes", "FAIL", f"{namespace}: the bot cannot {'; '.join(denied)}"))
        else:
            checks.append(
                Check("kubernetes", "ok", f"{namespace}: all {len(wanted)} permissions the bot needs")
            )
    return checks


def _allowed(
    authorization: object,
    namespace: str,
    group: str,
    resource: str,
    subresource: str,
    verb: str,
    timeout: float,
) -> tuple[bool, str]:
    from kubernetes import client

    attributes = client.V1ResourceAttributes(
        namespace=namespace, group=group, resource=resource, subresource=subresource or None, verb=verb
    )
    review = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
    )
    create: Callable[..., object] = authorization.create_self_subject_access_review  # type: ignore[attr-defined]
    answer = create(review, _request_timeout=timeout)
    status = getattr(answer, "status", None)
    return bool(getattr(status, "allowed", False)), str(getattr(status, "reason", "") or "")


def _reason(error: BaseException) -> str:
    """The innermost cause of a connection failure, in one line (e.g. 'Connection refused')."""
    text = one_line(error)
    for known in ("Connection refused", "timed out", "Name or service not known", "No route to host"):
        if known.lower() in text.lower():
            return known if known != "timed out" else "timed out"
    return text[:300]


def _without_password(url: str) -> str:
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
