"""What other tools print beside kubectl: `free`, `ps`/`top`, `ls -l`, `redis-cli --stat`.

Each is recognised by its own header or by the content of its rows, never by the command alone
(people paste output without the command that produced it).
"""

from __future__ import annotations

import re

from analyzers.quantity import GI, MI, parse_human_bytes

FREE_HEADER = re.compile(r"^total\s+used\s+free\s+shared\s+(?:buff/cache|buffers)\b")
_FREE_ROW = re.compile(r"^(Mem|Swap):\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+(\S+)\s+(\S+)\s+(\S+))?\s*$")
REDIS_STAT_HEADER = re.compile(r"^keys\s+mem\s+clients\s+blocked\s+requests\s+connections\b")
REDIS_STAT_BANNER = re.compile(r"^-{3,} data -{3,}")
_REDIS_STAT_ROW = re.compile(r"^(\d+)\s+(\d+(?:\.\d+)?[KMGT]?B?)\s+(\d+)\s+(\d+)\s+\d+\s+\(\+\d+\)\s+\d+\s*$")
_LS_ROW = re.compile(
    r"^[-dlcbps][rwxsStT-]{9}[.+@]?\s+\d+\s+\S+\s+\S+\s+(?P<size>\d+(?:[.,]\d+)?[KMGTP]?)\s+"
    r"\w{3}\s+\d{1,2}\s+(?:\d{1,2}:\d\d|\d{4})\s+(?P<name>\S.*)$"
)
_PS_MEMORY = ("RSS", "RES")


def free_unit(command: str) -> float:
    """The unit `free` printed its numbers in, from its flags (KiB when none is given)."""
    flags = set(re.findall(r"\s-{1,2}(\w+)", " " + command))
    for flag, unit in (("b", 1.0), ("bytes", 1.0), ("m", MI), ("mega", MI), ("g", GI), ("giga", GI)):
        if flag in flags:
            return unit
    return 1024.0


def free_row(stripped: str, unit: float) -> tuple[str, dict[str, float]] | None:
    """("Mem" or "Swap", {"total", "used", "available"} in bytes) of a `free` row."""
    match = _FREE_ROW.match(stripped)
    if match is None:
        return None
    names = ("total", "used", "free", "shared", "cache", "available")
    values: dict[str, float] = {}
    for name, cell in zip(names, match.groups()[1:], strict=True):
        if cell is None:
            continue
        amount = _amount(cell, unit)
        if amount is None:
            return None
        values[name] = amount
    return match.group(1), values


def ls_row(stripped: str) -> tuple[str, float] | None:
    """(file name, size in bytes) of an `ls -l` / `ls -lh` row of a regular file."""
    match = _LS_ROW.match(stripped)
    if match is None or not stripped.startswith("-"):
        return None
    size = _amount(match["size"].replace(",", "."), 1.0)
    return (match["name"].strip(), size) if size is not None else None


def ps_columns(stripped: str) -> list[str] | None:
    """The columns of a `ps aux` or `top` process table header."""
    columns = stripped.split()
    if "PID" in columns and "COMMAND" in columns and any(c in columns for c in _PS_MEMORY):
        return columns
    return None


def ps_row(stripped: str, columns: list[str]) -> tuple[str, float] | None:
    """(command, resident memory in bytes) of a process row; the command is the last column."""
    cells = stripped.split(None, len(columns) - 1)
    if len(cells) != len(columns) or not cells[columns.index("PID")].isdigit():
        return None
    memory = next(cells[columns.index(c)] for c in _PS_MEMORY if c in columns)
    # ps prints RSS in KiB; top prints RES in KiB unless it adds a unit (`1.2g`, `512m`).
    amount = _amount(memory, 1024.0)
    return (cells[-1], amount) if amount is not None else None


def redis_stat_row(stripped: str) -> dict[str, str] | None:
    """INFO-like fields of a `redis-cli --stat` row: keys, used memory, connected and blocked clients."""
    match = _REDIS_STAT_ROW.match(stripped)
    if match is None:
        return None
    memory = parse_human_bytes(match.group(2))
    if memory is None:
        return None
    return {
        "keys": match.group(1),
        "used_memory": str(int(memory)),
        "connected_clients": match.group(3),
        "blocked_clients": match.group(4),
    }


def _amount(cell: str, unit: float) -> float | None:
    """A number in `unit`, or a quantity with its own suffix (`15Gi`, `6.9G`, `512m`)."""
    if re.fullmatch(r"\d+", cell):
        return float(cell) * unit
    return parse_human_bytes(cell.rstrip("i").upper() if cell[-1:] in "kmgtKMGT" else cell)
