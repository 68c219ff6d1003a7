"""Background work that gives way to requests being answered.

Python threads have no priorities and share one interpreter lock: a diagnosis drawing a chart or
rendering Block Kit slows every acknowledgement it runs beside. Slack wants its answer within
3 seconds; a diagnosis posted 50 ms later loses nothing. So background steps wait (briefly, never
starving) while requests are in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

LONGEST_WAIT = 1.0  # background work is never held back longer than this per step


class Foreground:
    def __init__(self) -> None:
        self._in_flight = 0
        self._idle = threading.Condition()

    @contextmanager
    def request(self) -> Iterator[None]:
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.notify_all()

    def wait_until_idle(self, longest: float = LONGEST_WAIT) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=longest)
