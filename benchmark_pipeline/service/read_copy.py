"""Reads from a private copy of the warehouse, so a long-lived reader never meets a writer.

DuckDB will not let a process read a file another process writes, nor write one another process reads.
A server answering many reads a second cannot wait out every ingest and Dagster step (seconds to
minutes), and cannot hold the file open either (writers would wait for it). So it reads a copy:

- The copy is taken under the writer lock (``writer_lock``, a non-blocking try), so it is always a
  committed state: writers hold that lock from before they connect until they have closed the file.
- Each copy is opened read-only once, and each read gets a cursor on it: no connect per request.
- Before a read, the live file's signature (inode, size, mtime of the file and its WAL) is compared with
  the copy's. Unchanged: the copy is current. Changed and no writer holds the lock: a write has
  finished, so the read waits for a fresh copy (one copy for all the readers that noticed). Changed and
  a writer holds the lock: the read is answered from the copy, i.e. from the state before that write.
  A read therefore never sees a state older than the last write that had finished when it began.
- A replaced copy is closed and deleted when its last read is done.

The copies live in a private folder of this process under ``<db>.read-copies/`` (removed on ``close()``;
the folders of processes that died are removed by the next one to start), as the query sandbox's spills do.
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from benchmark_pipeline.lib.analytics.safe_query import DEFAULT_MEMORY_LIMIT, connect_read_only, private_temp_dir
from benchmark_pipeline.lib.warehouse.connection import (WarehouseBusyError, WarehouseLockedError, WarehouseMissingError,
                                                         lock_holder, writer_lock)

Signature = tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]


def copies_root(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".read-copies")


def _wal(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".wal")


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def signature(db_path: Path) -> Signature:
    """What changes whenever a writer commits (the WAL grows, or a checkpoint rewrites the file) or a restore
    replaces the file (a new inode)."""
    return _stat(db_path), _stat(_wal(db_path))


@dataclass(eq=False)
class _Copy:
    number: int  # copies of one process are numbered in the order they are taken
    path: Path
    conn: duckdb.DuckDBPyConnection
    source: Signature
    taken_at: datetime
    users: int = 0
    retired: bool = False

    def drop(self) -> None:
        self.conn.close()
        for path in (self.path, _wal(self.path)):
            path.unlink(missing_ok=True)


@dataclass
class CopyState:
    """Which committed state reads are answered from: when it was copied, and whether it is still the newest."""

    taken_at: datetime | None
    current: bool
    stale_for_s: float  # 0 while current; else how long since the copy was taken (an upper bound)


@dataclass
class ReadCopies:
    """The copies of one warehouse file for one process; thread-safe."""

    db_path: Path
    wait_s: float = 15.0  # how long a read waits for a fresh copy (then it is answered from the one before)
    # How a copy is opened, given the copy and this process's private folder (e.g. for DuckDB's spills).
    open_copy: Callable[[Path, Path], duckdb.DuckDBPyConnection] = field(
        default=lambda path, _folder: duckdb.connect(str(path), read_only=True))
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _refreshed: threading.Condition = field(init=False)
    _copying: bool = field(default=False, init=False)
    _current: _Copy | None = field(default=None, init=False)
    _folder: Path | None = field(default=None, init=False)
    _lease: ExitStack = field(default_factory=ExitStack, init=False)
    _names: Iterator[int] = field(default_factory=itertools.count, init=False)

    def __post_init__(self) -> None:
        self.db_path = Path(self.db_path)
        self._refreshed = threading.Condition(self._lock)

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only cursor on the newest committed state this process can have without waiting for a writer.

        ``WarehouseMissingError`` when there is no warehouse; ``WarehouseBusyError`` only when there has never
        been a copy and a writer kept the file for longer than ``wait_s``.
        """
        copy = self._acquire()
        try:
            cursor = copy.conn.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
        finally:
            self._release(copy)

    def generation(self) -> int:
        """The number of the copy a read starting now is answered from (taking a fresh one first, as a read
        would): answers computed from one copy stay right for as long as it is the one reads get."""
        copy = self._acquire()
        self._release(copy)
        return copy.number

    def settled_generation(self) -> int | None:
        """``generation()`` when it can be told without taking a copy (a few system calls: safe on an event loop);
        None when a read starting now would take a fresh copy first."""
        live = signature(self.db_path)
        with self._lock:
            copy = self._current
            if copy is None or self._copying:
                return None
            if copy.source == live or self._writer_active():
                return copy.number
        return None

    def state(self) -> CopyState:
        with self._lock:
            copy = self._current
        if copy is None:
            return CopyState(None, False, 0.0)
        current = copy.source == signature(self.db_path)
        stale = 0.0 if current else (datetime.now(timezone.utc) - copy.taken_at).total_seconds()
        return CopyState(copy.taken_at, current, stale)

    def close(self) -> None:
        """Close every copy not in use and remove the folder (copies still being read are dropped by their last
        reader)."""
        with self._lock:
            copy, self._current = self._current, None
            if copy is not None:
                copy.retired = True
                if copy.users == 0:
                    copy.drop()
            self._folder = None
            self._lease.close()

    # -- internals ---------------------------------------------------------------------------------------

    def _acquire(self) -> _Copy:
        if not self.db_path.exists():
            raise WarehouseMissingError(f"{self.db_path}: no warehouse here yet (run an ingest first)")
        deadline = time.monotonic() + self.wait_s
        while True:
            live = signature(self.db_path)
            with self._lock:
                copy = self._current
                if copy is not None and copy.source == live:
                    copy.users += 1
                    return copy
                if self._copying:  # another reader is copying: wait for its copy rather than make a second one
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 and copy is not None:
                        copy.users += 1
                        return copy
                    self._refreshed.wait(max(remaining, 0.01))
                    continue
                if copy is not None and self._writer_active():
                    copy.users += 1  # a write is under way: answer from the state before it
                    return copy
                self._copying = True
                break
        try:
            fresh = self._take(deadline)
        finally:
            with self._lock:
                self._copying = False
                self._refreshed.notify_all()
        with self._lock:
            if fresh is not None:
                old, self._current = self._current, fresh
                if old is not None:
                    old.retired = True
                    if old.users == 0:
                        old.drop()
            copy = self._current
            if copy is None:  # never copied, and a writer kept the file past the wait
                raise WarehouseBusyError(
                    f"{self.db_path}: a writer kept the warehouse busy for longer than {self.wait_s:g} s before this "
                    "server had read it once; try again when the write is done")
            copy.users += 1
            return copy

    def _release(self, copy: _Copy) -> None:
        with self._lock:
            copy.users -= 1
            if copy.users == 0 and copy.retired:
                copy.drop()

    def _writer_active(self) -> bool:
        return lock_holder(self.db_path) is not None

    def _take(self, deadline: float) -> _Copy | None:
        """Copy the live file under the writer lock and open the copy; None when a writer holds the lock and a
        copy exists to answer from (or the wait ran out)."""
        folder = self._ensure_folder()
        number = next(self._names)
        target = folder / f"{number}.duckdb"
        while True:
            try:
                with writer_lock(self.db_path, timeout_s=0):
                    source = signature(self.db_path)
                    if source[0] is None:
                        raise WarehouseMissingError(f"{self.db_path}: no warehouse here yet (run an ingest first)")
                    shutil.copyfile(self.db_path, target)
                    if source[1] is not None:
                        shutil.copyfile(_wal(self.db_path), _wal(target))
                    taken_at = datetime.now(timezone.utc)
                break
            except WarehouseLockedError:
                if self._current is not None or time.monotonic() >= deadline:
                    return None
                time.sleep(0.05)
        try:
            conn = self.open_copy(target, folder)
        except BaseException:
            for path in (target, _wal(target)):
                path.unlink(missing_ok=True)
            raise
        return _Copy(number, target, conn, source, taken_at)

    def _ensure_folder(self) -> Path:
        if self._folder is None:
            self._folder = self._lease.enter_context(private_temp_dir(copies_root(self.db_path)))
        return self._folder


def open_sandboxed(copy: Path, folder: Path) -> duckdb.DuckDBPyConnection:
    """Open a copy as the query sandbox: no file, network or extension access, its configuration locked, the
    sandbox's memory limit, spilling into the copies' private folder. A server answers every read, SQL from a
    request included, through one DuckDB instance per copy (DuckDB holds one configuration per file and
    process, so the sandbox cannot be a second connection beside a plain one)."""
    return connect_read_only(copy, DEFAULT_MEMORY_LIMIT, wait_s=0, temp_directory=folder)
