"""One process, many request threads, one DuckDB file: who may hold a connection at the same time.

DuckDB shares one database instance per file within a process and refuses a second connection whose
configuration differs ("Can't open a connection to same database file with a different configuration"):
a read-write connection (a POST) next to a read-only one, or the query sandbox next to a plain reader.
The gate lets any number of connections of one *mode* be open at once and makes other modes wait; a
writer's mode admits one holder at a time. Waiters enter in arrival order, mode by mode, so a stream
of reads cannot starve a write (nor the reverse). Every wait is bounded: past it ``GateTimeout``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Iterator
from contextlib import contextmanager


class GateTimeout(TimeoutError):
    """The warehouse stayed busy with other requests for longer than the bound."""


class ConnectionGate:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._mode: Hashable | None = None
        self._exclusive = False
        self._holders = 0
        self._queue: list[tuple[object, Hashable, bool]] = []  # (ticket, mode, exclusive), arrival order
        self._local = threading.local()

    @contextmanager
    def hold(self, mode: Hashable, exclusive: bool = False, timeout_s: float | None = None) -> Iterator[None]:
        """Hold the gate in ``mode`` (alone when ``exclusive``) for the ``with`` block.

        A thread that already holds the gate in the same non-exclusive mode re-enters at once; asking
        for another mode while holding one would deadlock, so it is refused (a bug, not a wait).
        """
        held = getattr(self._local, "held", None)
        if held is not None:
            if held[0] == mode and not held[1] and not exclusive:
                held[2] += 1
                try:
                    yield
                finally:
                    held[2] -= 1
                return
            raise RuntimeError(f"this thread holds the warehouse gate as {held[0]!r} and asked for {mode!r}")
        self._enter(mode, exclusive, timeout_s)
        self._local.held = [mode, exclusive, 1]
        try:
            yield
        finally:
            self._local.held = None
            self._leave()

    def _enter(self, mode: Hashable, exclusive: bool, timeout_s: float | None) -> None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        ticket = object()
        with self._cond:
            self._queue.append((ticket, mode, exclusive))
            try:
                while not self._may_enter(ticket, mode, exclusive):
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise GateTimeout(f"the warehouse was busy with other requests for more than {timeout_s:g} s")
                    self._cond.wait(remaining)
            except BaseException:
                self._queue = [entry for entry in self._queue if entry[0] is not ticket]
                self._cond.notify_all()  # those queued behind this one may enter now
                raise
            self._queue = [entry for entry in self._queue if entry[0] is not ticket]
            self._mode, self._exclusive = mode, exclusive
            self._holders += 1

    def _may_enter(self, ticket: object, mode: Hashable, exclusive: bool) -> bool:
        if self._holders and (self._exclusive or exclusive or self._mode != mode):
            return False
        for queued, queued_mode, queued_exclusive in self._queue:
            if queued is ticket:
                return True
            if queued_mode != mode or queued_exclusive or exclusive:
                return False  # someone of another mode came first: their turn before ours
        return False

    def _leave(self) -> None:
        with self._cond:
            self._holders -= 1
            if self._holders == 0:
                self._mode, self._exclusive = None, False
            self._cond.notify_all()

    def state(self) -> tuple[Hashable | None, int, int]:
        """(mode held, holders, waiters): for tests and diagnostics."""
        with self._cond:
            return self._mode, self._holders, len(self._queue)
