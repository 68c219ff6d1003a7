"""redis-fork-failed: a background save or rewrite could not fork."""

from __future__ import annotations

from analyzer_kit import incident, only
from redis_snippets import info

from analyzers import redis_fork

LOGS = "$ kubectl logs session-store-0 -n web\n"
OVERCOMMIT = (
    "1:M 03 Nov 2024 01:02:00.001 # WARNING Memory overcommit must be enabled! Without it, a background save "
    "or replication may fail under low memory condition. To fix this issue add 'vm.overcommit_memory = 1' to "
    "/etc/sysctl.conf and then reboot or run the command 'sysctl vm.overcommit_memory=1' for this to take effect.\n"
)
SAVING = "1:M 03 Nov 2024 02:14:07.118 * 100 changes in 300 seconds. Saving...\n"
FORK_FAILED = "1:M 03 Nov 2024 02:14:07.119 # Can't save in background: fork: Cannot allocate memory\n"
FORK_FAILED_AGAIN = "1:M 03 Nov 2024 02:19:08.403 # Can't save in background: fork: Cannot allocate memory\n"
SAVED_LATER = (
    "1:M 03 Nov 2024 02:24:09.001 * Background saving started by pid 4412\n"
    "4412:C 03 Nov 2024 02:24:10.220 * DB saved on disk\n"
    "1:M 03 Nov 2024 02:24:10.310 * Background saving terminated with success\n"
)
SAVED_EARLIER = "1:M 03 Nov 2024 02:04:10.310 * Background saving terminated with success\n"


def test_fork_failures_without_a_later_successful_save() -> None:
    pasted = incident(LOGS + SAVED_EARLIER + SAVING + FORK_FAILED + FORK_FAILED_AGAIN)
    finding = only(pasted.run(redis_fork.analyze, "session-store"), "redis-fork-failed")
    assert finding.severity == "warning"
    assert finding.data["overcommit_warning"] is False
    assert [s.excerpt for s in finding.evidence] == [FORK_FAILED.strip(), FORK_FAILED_AGAIN.strip()]
    pasted.assert_cited(finding)


def test_the_overcommit_warning_is_cited_next_to_a_failed_fork() -> None:
    pasted = incident(LOGS + OVERCOMMIT + FORK_FAILED)
    finding = only(pasted.run(redis_fork.analyze, "session-store"), "redis-fork-failed")
    assert finding.data["overcommit_warning"] is True
    assert any("overcommit" in s.excerpt for s in finding.evidence)
    assert all(len(s.excerpt) <= 160 for s in finding.evidence)
    pasted.assert_cited(finding)


def test_last_bgsave_status_err_means_saves_are_failing_now() -> None:
    pasted = incident(info("session-store-0", "# Persistence", "rdb_last_bgsave_status:err"))
    finding = only(pasted.run(redis_fork.analyze, "session-store"), "redis-fork-failed")
    assert [s.excerpt for s in finding.evidence] == ["rdb_last_bgsave_status:err"]
    pasted.assert_cited(finding)


def test_a_fork_error_followed_later_by_a_successful_save_is_history() -> None:
    pasted = incident(LOGS + SAVING + FORK_FAILED + SAVED_LATER)
    assert len(pasted.read("log")) == 5
    assert pasted.run(redis_fork.analyze, "session-store") == []


def test_a_fork_error_with_last_bgsave_status_ok_is_history() -> None:
    pasted = incident(
        LOGS + FORK_FAILED, info("session-store-0", "# Persistence", "rdb_last_bgsave_status:ok")
    )
    assert len(pasted.read("log")) == 1 and len(pasted.read("redis.info", "rdb_last_bgsave_status")) == 1
    assert pasted.run(redis_fork.analyze, "session-store") == []


def test_the_overcommit_start_up_warning_alone_is_not_a_failed_fork() -> None:
    pasted = incident(LOGS + OVERCOMMIT + "1:M 03 Nov 2024 01:02:00.003 * Ready to accept connections tcp\n")
    assert any("overcommit" in f.source.excerpt for f in pasted.read("log"))
    assert pasted.run(redis_fork.analyze, "session-store") == []


def test_free_showing_less_available_than_redis_holds_is_named() -> None:
    pasted = incident(
        """
        $ kubectl logs redis-0 -n cache
        1:M 03 Nov 2024 02:11:08.001 # Can't save in background: fork: Cannot allocate memory
        """,
        """
        $ kubectl exec redis-0 -n cache -- redis-cli INFO memory
        used_memory:4252017623
        """,
        """
        $ free -m
                       total        used        free      shared  buff/cache   available
        Mem:           15896       15401         138          52         356         212
        """,
    )
    finding = only(pasted.run(redis_fork.analyze, "redis"), "redis-fork-failed")
    assert "`free` shows 212Mi available" in finding.detail
    pasted.assert_cited(finding)
