"""The seed incident's history lives in bot/demo/history.py (the demo backfills Prometheus with it)."""

from bot.demo.history import (
    CONTAINER,
    IMAGE,
    LAST_RESTART_AGO,
    LAST_RUN_SECONDS,
    NAMESPACE,
    NODE,
    POD,
    POD_UID,
    SERVICE,
    default_end,
    write,
)

__all__ = [
    "CONTAINER",
    "IMAGE",
    "LAST_RESTART_AGO",
    "LAST_RUN_SECONDS",
    "NAMESPACE",
    "NODE",
    "POD",
    "POD_UID",
    "SERVICE",
    "default_end",
    "write",
]
