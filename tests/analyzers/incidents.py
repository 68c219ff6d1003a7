"""Incident snippets several analyzer tests share, as they are pasted (each is dedented when read).

Names ending in `_SIDECAR` or `_CONDITIONS` are fragments of a `kubectl describe pod`: they are added to
the end of a pod's snippet, never read on their own.
"""

from __future__ import annotations

# session-store (Redis, namespace web): OOMKilled at a 64Mi limit, crash looping.
SESSION_STORE_OOM_64MI = """
    $ kubectl describe pod session-store-0 -n web
    Name:             session-store-0
    Namespace:        web
    Controlled By:    StatefulSet/session-store
    Containers:
      redis:
        Image:          redis:7.2.4
        State:          Waiting
          Reason:       CrashLoopBackOff
        Last State:     Terminated
          Reason:       OOMKilled
          Exit Code:    137
        Ready:          False
        Restart Count:  23
        Limits:
          cpu:     250m
          memory:  64Mi
        Requests:
          cpu:     100m
          memory:  64Mi
"""

# search-api (namespace catalog): a healthy pod with a 300m CPU limit.
SEARCH_API_CPU_LIMIT_300M = """
    $ kubectl describe pod search-api-5f6d7c8b9a-p2q3r -n catalog
    Name:             search-api-5f6d7c8b9a-p2q3r
    Namespace:        catalog
    Containers:
      search-api:
        Image:          registry.local/search-api:3.0.2
        State:          Running
        Ready:          True
        Restart Count:  0
        Limits:
          cpu:     300m
          memory:  512Mi
"""

# A fluent-bit logging sidecar OOMKilled at its 32Mi limit: the end of a pod's `Containers:`.
FLUENT_BIT_OOM_32MI_SIDECAR = """\
      fluent-bit:
        Image:          fluent/fluent-bit:2.2
        State:          Running
        Last State:     Terminated
          Reason:       OOMKilled
          Exit Code:    137
        Ready:          True
        Restart Count:  4
        Limits:
          memory:  32Mi
"""

# orders-api (namespace shop): a healthy pod, no restarts, no limits shown.
ORDERS_API_RUNNING = """
    $ kubectl describe pod orders-api-7c9f8d6b5-m4k2p -n shop
    Name:             orders-api-7c9f8d6b5-m4k2p
    Namespace:        shop
    Containers:
      orders-api:
        Image:          registry.local/orders-api:4.1.0
        State:          Running
        Ready:          True
        Restart Count:  0
"""


def orders_api_liveness_killed(last_reason: str) -> str:
    """orders-api killed with exit 137 after failing a liveness probe that checks the database."""
    return f"""
        $ kubectl describe pod orders-api-7c9f8d6b5-m4k2p -n shop
        Name:             orders-api-7c9f8d6b5-m4k2p
        Namespace:        shop
        Controlled By:    ReplicaSet/orders-api-7c9f8d6b5
        Containers:
          orders-api:
            Image:          registry.local/orders-api:4.1.0
            State:          Running
            Last State:     Terminated
              Reason:       {last_reason}
              Exit Code:    137
            Ready:          False
            Restart Count:  9
            Limits:
              cpu:     500m
              memory:  512Mi
            Liveness:   http-get http://:8080/healthz delay=10s timeout=1s period=10s #success=1 #failure=3
            Environment:
              HEALTHCHECK_DB:  true
        Events:
          Type     Reason     Age                From     Message
          ----     ------     ----               ----     -------
          Warning  Unhealthy  2m (x12 over 25m)  kubelet  Liveness probe failed: Get "http://10.4.2.17:8080/healthz": context deadline exceeded
          Normal   Killing    2m (x4 over 25m)   kubelet  Container orders-api failed liveness probe, will be restarted
    """


# billing-svc (namespace finance, a JVM): a running pod with no restarts; its limits and environment follow.
BILLING_SVC_RUNNING = """
    $ kubectl describe pod billing-svc-6d7f8b9c5d-k3j4h -n finance
    Name:             billing-svc-6d7f8b9c5d-k3j4h
    Namespace:        finance
    Containers:
      billing-svc:
        Image:          registry.local/billing-svc:2.8.0
        State:          Running
        Ready:          True
        Restart Count:  0
"""
