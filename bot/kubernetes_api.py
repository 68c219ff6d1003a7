"""What the collector and the remediation share about talking to the Kubernetes API."""

from __future__ import annotations

import json
import os

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.util.retry import Retry


class KubeConfigError(Exception):
    """No usable kubeconfig or in-cluster account; the message is one line."""


def load_api_client(
    kubeconfig: str | None, context: str | None, retries: Retry | None = None
) -> client.ApiClient:
    """A client from the kubeconfig (when one is named, or outside a cluster) or the in-cluster config.

    `retries` replaces urllib3's default (three more tries of a GET that timed out), for callers
    whose time-out must bound the whole call.
    """
    configuration = client.Configuration()
    if retries is not None:
        configuration.retries = retries
    try:
        if uses_kubeconfig(kubeconfig, context):
            loaded: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, context=context, client_configuration=configuration
            )
            return loaded
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return client.ApiClient(configuration)
    except (config.ConfigException, OSError, ValueError) as error:
        raise KubeConfigError(f"cannot load the Kubernetes configuration: {one_line(error)}") from None


def uses_kubeconfig(kubeconfig: str | None, context: str | None) -> bool:
    return bool(kubeconfig or context or not os.environ.get("KUBERNETES_SERVICE_HOST"))


def status_message(error: ApiException) -> str:
    """The `message` of the `Status` body the API server sends with an error."""
    try:
        status = json.loads(error.body or "")
    except ValueError:
        status = None
    if isinstance(status, dict) and status.get("message"):
        return one_line(status["message"])
    return one_line(error.reason or "no message")


def one_line(text: object) -> str:
    return " ".join(str(text).split())
