"""redis-memory-fragmentation: resident memory far above the data Redis holds."""

from __future__ import annotations

from analyzer_kit import incident, only
from redis_snippets import info

from analyzers import redis_fragmentation


def memory_info(used: int, ratio: str) -> str:
    return info("session-store-0", "# Memory", f"used_memory:{used}", f"mem_fragmentation_ratio:{ratio}")


def test_a_ratio_of_1_9_on_800mb_of_data_is_fragmentation() -> None:
    pasted = incident(memory_info(838860800, "1.90"))
    finding = only(pasted.run(redis_fragmentation.analyze, "session-store"), "redis-memory-fragmentation")
    assert finding.severity == "warning"
    assert "1.90" in finding.title
    assert "1.90x" in finding.detail
    assert [s.excerpt for s in finding.evidence] == ["mem_fragmentation_ratio:1.90", "used_memory:838860800"]
    pasted.assert_cited(finding)


def test_a_ratio_of_1_8_on_a_10mb_dataset_is_allocator_overhead() -> None:
    pasted = incident(memory_info(10485760, "1.80"))
    assert len(pasted.read("redis.info")) == 2
    assert pasted.run(redis_fragmentation.analyze, "session-store") == []


def test_a_ratio_of_1_2_on_800mb_is_normal() -> None:
    pasted = incident(memory_info(838860800, "1.20"))
    assert pasted.run(redis_fragmentation.analyze, "session-store") == []


def test_a_ratio_without_the_data_size_gives_no_verdict() -> None:
    pasted = incident(info("session-store-0", "# Memory", "mem_fragmentation_ratio:2.40"))
    assert pasted.run(redis_fragmentation.analyze, "session-store") == []
