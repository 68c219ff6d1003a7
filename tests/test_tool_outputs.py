"""Readers for what other tools print beside kubectl: free, ps/top, ls -l, redis-cli --stat, docker logs."""

from __future__ import annotations

import pytest

from analyzers.quantity import GI, MI
from bot.readers import read_string
from bot.readers.commands import parse_command


def _facts(text: str, kind: str) -> dict[str | None, object]:
    return {f.key: f.value for f in read_string(text, "paste.txt").of(kind)}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("command", "row", "available"),
    [
        (
            "$ free -m",
            "Mem:           15896       15401         138          52         356         212",
            212 * MI,
        ),
        (
            "$ free -g",
            "Mem:              15          15           0           0           0           0",
            0.0,
        ),
        (
            "$ free -h",
            "Mem:            15Gi        15Gi       138Mi        52Mi       356Mi       212Mi",
            212 * MI,
        ),
        (
            "$ free",
            "Mem:        16277448    15770988      141864       53444      364596      217348",
            217348 * 1024,
        ),
    ],
)
def test_free_rows_in_their_units(command: str, row: str, available: float) -> None:
    header = "               total        used        free      shared  buff/cache   available"
    memory = _facts(
        f"{command}\n{header}\n{row}\nSwap:             0           0           0\n", "host.memory"
    )
    assert memory["available"] == pytest.approx(available)
    assert memory["swap_total"] == 0.0


def test_a_yaml_key_named_mem_is_not_free() -> None:
    assert not _facts("resources:\n  Mem: 512Mi\n", "host.memory")


def test_ps_and_top_give_resident_memory_per_command() -> None:
    ps = _facts(
        "USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n"
        "redis        1  2.1 61.3 9871232 9823104 ?    Ssl  Mar02  41:12 redis-server *:6379\n",
        "process.rss",
    )
    assert ps == {"redis-server *:6379": 9823104 * 1024}
    top = _facts(
        "    PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND\n"
        "      1 redis     20   0   10.2g   9.4g   1936 S   2.0  61.3  41:12.07 redis-server\n",
        "process.rss",
    )
    assert top == {"redis-server": pytest.approx(9.4 * GI)}


def test_ls_rows_give_file_sizes_and_directories_are_skipped() -> None:
    listed = _facts(
        "$ ls -lh /data\ntotal 19G\n"
        "-rw-r--r-- 1 redis redis  12G Mar  3 11:02 appendonly.aof\n"
        "drwxr-xr-x 2 redis redis 4.0K Mar  3 10:00 backups\n",
        "file.size",
    )
    assert listed == {"appendonly.aof": 12 * GI}


def test_redis_cli_stat_rows_are_info_fields() -> None:
    stat = (
        "$ redis-cli --stat\n"
        "------- data ------ --------------------- load -------------------- - child -\n"
        "keys       mem      clients blocked requests            connections\n"
        "2097152    3.96G    10001   0       118239 (+0)         20012\n"
    )
    info = _facts(stat, "redis.info")
    assert info["used_memory"] == str(int(3.96 * GI))
    assert info["connected_clients"] == "10001"
    assert info["dbsize"] == "2097152"


def test_docker_logs_names_the_container() -> None:
    assert parse_command("docker logs -f --tail 100 redis-cache").subject.container == "redis-cache"
    assert parse_command("docker compose logs redis").verb == "logs"
