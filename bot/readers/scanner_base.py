"""The scanner's shared parts: the state the lines above leave for the next, and how a fact is made."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from analyzers.evidence import (
    Fact,
    FactKind,
    FactValue,
    Source,
    Subject,
)
from bot.readers.commands import Command
from bot.readers.tables import Table


@dataclass
class ScanState:
    """What the lines above tell about the line being read."""

    ref: str
    command: Command | None = None
    subject: Subject = field(default_factory=Subject)
    describe_section: str = ""
    describe_kind: str = ""
    container: str | None = None
    state_block: str = ""  # "state" or "last" (kubectl describe)
    resource_block: str = ""  # "limits" or "requests"
    in_environment: bool = False
    table: Table | None = None
    pipe_columns: list[str] | None = None  # the header of the pipe table being read
    tool: str = ""  # "free", "ps" or "redis-stat": whose output the lines below a header are
    tool_columns: list[str] = field(default_factory=list)  # a ps/top header
    in_info: bool = False
    redis_replies: list[tuple[str, int, str]] = field(default_factory=list)
    yaml_parents: list[tuple[int, str]] = field(default_factory=list)
    last_yaml_leaf: bool = False
    recent: list[str] = field(default_factory=list)
    logs_aggregated: int = 0
    logs_skipped: int = 0
    kinds: Counter[str] = field(default_factory=Counter)


Claim = list[Fact] | None  # what a line reader makes of a line: None when it does not claim it


class ScannerBase:
    """What every line reader of the scanner reads and writes (set up by `text._Scanner`)."""

    text: str
    lines: list[str]
    about: Subject
    state: ScanState
    unread: int
    claimed: bool
    problems: list[str]

    def _fact(
        self,
        kind: FactKind,
        value: FactValue,
        excerpt: str,
        number: int,
        source_kind: str,
        key: str | None = None,
        subject: Subject | None = None,
        at: Any = None,
    ) -> Fact:
        source = Source(source_kind, self.state.ref, excerpt, number)
        return Fact(kind, subject or self._subject(), value, source, key=key, at=at)

    def _subject(self) -> Subject:
        subject = self.state.subject
        if self.state.container and self.state.container != subject.container:
            return replace(subject, container=self.state.container)
        return subject
