"""Describe times keep their zone: `14:38:47 +0200` is 12:38:47 UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.readers.timestamps import parse_describe_time, parse_log_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thu, 12 Sep 2024 14:38:47 +0200", datetime(2024, 9, 12, 12, 38, 47, tzinfo=UTC)),
        ("Start Time:   Thu, 12 Sep 2024 14:38:47 -0500", datetime(2024, 9, 12, 19, 38, 47, tzinfo=UTC)),
        ("Thu, 12 Sep 2024 14:38:47 +0000", datetime(2024, 9, 12, 14, 38, 47, tzinfo=UTC)),
        ("12 Sep 2024 14:38:47 GMT", datetime(2024, 9, 12, 14, 38, 47, tzinfo=UTC)),
        ("12 Sep 2024 14:38:47", datetime(2024, 9, 12, 14, 38, 47, tzinfo=UTC)),  # no zone: UTC
    ],
)
def test_describe_times_keep_their_zone(text: str, expected: datetime) -> None:
    assert parse_describe_time(text) == expected


@pytest.mark.parametrize("text", ["31 Feb 2024 10:00:00 +0000", "12 Foo 2024 10:00:00", "no time here"])
def test_what_is_no_date_is_none(text: str) -> None:
    assert parse_describe_time(text) is None


def test_redis_log_prefixes_still_read() -> None:
    line = "1:M 07 Dec 2026 10:01:02.123 # WARNING overcommit_memory is set to 0!"
    assert parse_log_time(line) == datetime(2026, 12, 7, 10, 1, 2, tzinfo=UTC)
