"""Redis snippets several analyzer tests share: redis-cli output as it is pasted."""

from __future__ import annotations


def config_get(pod: str, **settings: str) -> str:
    """`redis-cli CONFIG GET` sessions, one per setting (`maxmemory_policy=` for maxmemory-policy)."""
    lines: list[str] = []
    for name, value in settings.items():
        directive = name.replace("_", "-")
        lines += [
            f"$ kubectl exec -n web {pod} -- redis-cli CONFIG GET {directive}",
            f'1) "{directive}"',
            f'2) "{value}"',
        ]
    return "\n".join(lines) + "\n"


def get_pods(pod: str, restarts: str) -> str:
    return (
        "$ kubectl get pods -n web\n"
        "NAME              READY   STATUS    RESTARTS       AGE\n"
        f"{pod:<17} 1/1     Running   {restarts:<14} 2d\n"
    )


def info(pod: str, *fields: str) -> str:
    """`redis-cli INFO` output with the given `name:value` lines."""
    return "\n".join([f"$ kubectl exec -n web {pod} -- redis-cli INFO", *fields]) + "\n"
