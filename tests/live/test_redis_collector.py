"""RedisCollector against real redis-server processes: the same facts and findings as pasted output."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
import redis

from analyzers import analyze
from analyzers.evidence import Evidence, Fact
from bot.collectors.base import CollectorError, Target
from bot.collectors.redis_collector import RedisCollector
from bot.readers import read_string

if TYPE_CHECKING:
    from conftest import RedisServer

StartRedis = Callable[..., "RedisServer"]
TIMEOUT = 10.0


def collect(url: str, service: str = "session-cache") -> Evidence:
    return RedisCollector(url).collect(Target(service, namespace="web"), TIMEOUT)


def finding_ids(evidence: Evidence, service: str = "session-cache") -> set[str]:
    return {finding.id for finding in analyze(evidence, service).findings}


def only(evidence: Evidence, kind: str, key: str) -> Fact:
    facts = [fact for fact in evidence.facts if fact.kind == kind and fact.key == key]
    assert len(facts) == 1, facts
    return facts[0]


def test_an_unbounded_server_is_reported_with_provenance(start_redis: StartRedis) -> None:
    server = start_redis()
    evidence = collect(server.url)

    maxmemory = only(evidence, "redis.config", "maxmemory")
    assert maxmemory.value == "0"
    assert maxmemory.source.kind == "redis-live"
    assert maxmemory.source.ref == f"redis://{server.address} CONFIG GET maxmemory"
    assert maxmemory.source.excerpt == '1) "maxmemory"\n2) "0"'
    assert maxmemory.subject.workload == "session-cache"
    assert maxmemory.subject.namespace == "web"
    assert maxmemory.subject.instance == server.address
    version = only(evidence, "redis.info", "redis_version")
    assert version.source.ref == f"redis://{server.address} INFO"
    assert version.source.excerpt == f"redis_version:{version.value}"
    assert {fact.kind for fact in evidence.facts} == {"redis.info", "redis.config"}
    assert only(evidence, "redis.config", "save").value == ""
    assert "redis-maxmemory-unset" in finding_ids(evidence)
    [report] = evidence.sources
    assert (report.name, report.kind, report.status) == ("redis", "redis", "ok")
    assert report.detail.endswith("CONFIG GET (5 settings)")


def test_live_and_pasted_output_give_the_same_findings(
    start_redis: StartRedis, redis_cli: Callable[..., str]
) -> None:
    server = start_redis()
    server.client().set("session:42", "cart")

    pasted = "$ redis-cli INFO\n" + redis_cli(server, "INFO")
    for setting in ("maxmemory", "maxmemory-policy", "save", "appendonly", "maxclients"):
        pasted += f"$ redis-cli CONFIG GET {setting}\n" + redis_cli(server, "CONFIG", "GET", setting)
    pasted += "$ redis-cli ACL LIST\n" + redis_cli(server, "ACL", "LIST")

    live = finding_ids(collect(server.url))
    assert live == finding_ids(read_string(pasted, "incident.txt"))
    assert {"redis-maxmemory-unset", "redis-noeviction-policy"} <= live


def test_noeviction_on_a_session_store(start_redis: StartRedis) -> None:
    server = start_redis()
    server.client().config_set("maxmemory-policy", "noeviction")

    evidence = collect(server.url)

    assert only(evidence, "redis.config", "maxmemory-policy").value == "noeviction"
    diagnosis = analyze(evidence, "session-cache")
    noeviction = diagnosis.finding("redis-noeviction-policy")
    assert noeviction is not None and noeviction.data["usage"] == "session"
    cited = {source.ref for source in noeviction.evidence}
    assert f"redis://{server.address} CONFIG GET maxmemory-policy" in cited


def test_a_full_server_that_refuses_writes(start_redis: StartRedis) -> None:
    server = start_redis()
    client = server.client()
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", used + 512 * 1024)
    client.config_set("maxmemory-policy", "noeviction")

    refusal = fill_until_refused(client)

    # redis-py drops the `OOM` code of the `-OOM command not allowed when used memory > ...` reply.
    assert isinstance(refusal, redis.exceptions.OutOfMemoryError)
    assert str(refusal).startswith("command not allowed when used memory")
    evidence = collect(server.url)
    assert str(only(evidence, "redis.info", "errorstat_OOM").value).startswith("count=")
    assert "redis-maxmemory-reached" in finding_ids(evidence)


def fill_until_refused(client: redis.Redis) -> redis.ResponseError:
    value = "x" * 64 * 1024
    for number in range(200):
        try:
            client.set(f"session:{number}", value)
        except redis.ResponseError as error:
            return error
    pytest.fail("Redis accepted 12 MiB of writes past a 512 KiB margin")


def test_a_renamed_config_command_gives_info_and_a_note(start_redis: StartRedis) -> None:
    server = start_redis("--rename-command", "CONFIG", "")

    evidence = collect(server.url)

    [report] = evidence.sources
    assert report.status == "partial"
    assert report.detail.startswith("CONFIG GET refused: unknown command 'CONFIG'")
    assert not list(evidence.of("redis.config"))
    [note] = evidence.of("text.note")
    assert "CONFIG GET is refused" in str(note.value)
    assert only(evidence, "redis.info", "maxmemory").value == "0"
    assert "redis-maxmemory-unset" in finding_ids(evidence)


def test_a_user_denied_config_gives_info_and_no_password_anywhere(start_redis: StartRedis) -> None:
    server = start_redis()
    server.client().acl_setuser(
        "triage", enabled=True, passwords=["+pa55word"], commands=["+@all", "-config"], keys=["*"]
    )

    evidence = collect(f"redis://triage:pa55word@{server.address}")

    [report] = evidence.sources
    assert report.status == "partial" and "no permissions" in report.detail
    assert list(evidence.of("redis.info"))
    assert all("pa55word" not in fact.source.ref for fact in evidence.facts)


@pytest.mark.parametrize(
    ("credentials", "reason"),
    [("", "authentication required"), (":wrong@", "authentication failed")],
)
def test_authentication_failures(start_redis: StartRedis, credentials: str, reason: str) -> None:
    server = start_redis("--requirepass", "s3cret")

    with pytest.raises(CollectorError) as raised:
        collect(f"redis://{credentials}{server.address}")

    assert str(raised.value) == f"redis://{server.address}: {reason}"


def test_a_closed_port_is_a_one_line_error(closed_port: int) -> None:
    with pytest.raises(CollectorError) as raised:
        collect(f"redis://127.0.0.1:{closed_port}")

    assert str(raised.value) == f"redis://127.0.0.1:{closed_port}: connection refused"


def test_a_server_that_never_answers_times_out(silent_port: int) -> None:
    target = Target("session-cache", redis_url=f"redis://127.0.0.1:{silent_port}")

    with pytest.raises(CollectorError) as raised:
        RedisCollector().collect(target, timeout=0.5)

    assert str(raised.value) == f"redis://127.0.0.1:{silent_port}: timed out after 0.5s"


def test_the_target_url_wins_over_the_configured_one(start_redis: StartRedis, closed_port: int) -> None:
    server = start_redis()
    collector = RedisCollector(f"redis://127.0.0.1:{closed_port}")

    evidence = collector.collect(Target("session-cache", redis_url=server.url), TIMEOUT)

    assert evidence.sources[0].status == "ok"


def test_without_any_url_there_is_nothing_to_collect() -> None:
    with pytest.raises(CollectorError, match=r"^no Redis URL configured$"):
        RedisCollector().collect(Target("session-cache"), TIMEOUT)
