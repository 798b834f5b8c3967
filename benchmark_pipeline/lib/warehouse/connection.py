"""Opening the warehouse: one writer at a time (an OS file lock beside the DuckDB file), readers read-only.

DuckDB itself refuses a second writing process with "Could not set lock on file"; the lock file
turns that into an orderly wait with a bounded timeout and an error naming the file, for every
writer alike: the CLI, Dagster steps in any executor, and concurrent runs without instance pools.

DuckDB also refuses a read-only connection while another process writes, and a writer while any
process reads. Writers hold the file only for their load (parsing and validation happen before
``open_writer``), so both sides simply retry the connect within a bound: a reader waits out a write
instead of failing, and a reader never sees a half-written state because it cannot open the file
until the writer's transaction is committed and its connection closed.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, ContextManager, Iterator

import duckdb

from .schema import migrate
from .timeouts import DEFAULT_LOCK_TIMEOUT_S, DEFAULT_READ_TIMEOUT_S


class WarehouseLockedError(RuntimeError):
    """Another writer held the warehouse for longer than the timeout."""


class WarehouseMissingError(FileNotFoundError):
    """A reader asked for a warehouse that does not exist yet."""


class WarehouseBusyError(WarehouseLockedError):
    """A reader could not open the warehouse within its bound because writers kept it."""


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def connect_with_retry(db_path: Path, read_only: bool, timeout_s: float,
                       config: dict | None = None) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` that waits out another process's conflicting lock, up to ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while True:
        try:
            return duckdb.connect(str(db_path), read_only=read_only, config=config or {})
        except duckdb.Error as exc:
            if not _is_lock_conflict(exc):
                raise
            if time.monotonic() + delay > deadline:
                kind = "read" if read_only else "write"
                error = WarehouseBusyError if read_only else WarehouseLockedError
                raise error(f"{db_path}: could not open the warehouse to {kind} within {timeout_s:.0f} s: {exc}") \
                    from None
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


@contextmanager
def writer_lock(db_path: Path, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> Iterator[None]:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(db_path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseLockedError(
                        f"{db_path}: another writer held the warehouse lock for more than {timeout_s:.0f} s"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the flock


@contextmanager
def _read_write(db_path: Path, timeout_s: float) -> Iterator[duckdb.DuckDBPyConnection]:
    conn = connect_with_retry(db_path, read_only=False, timeout_s=timeout_s)
    try:
        yield conn
    finally:
        conn.close()


WriterConnect = Callable[[Path, float], ContextManager[duckdb.DuckDBPyConnection]]


@contextmanager
def open_writer(db_path: Path, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
                connect: WriterConnect | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The single writer: lock, connect read-write, migrate to the latest schema.

    ``connect(db_path, timeout_s)`` opens the read-write connection once the lock is held; Dagster
    passes dagster-duckdb's, everyone else gets a plain ``duckdb.connect`` that waits out readers.
    """
    with writer_lock(db_path, timeout_s), (connect or _read_write)(db_path, timeout_s) as conn:
        migrate(conn)
        yield conn


@contextmanager
def open_reader(db_path: Path, timeout_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection that waits (bounded) while a writer holds the file; never migrates.

    ``timeout_s`` is how long to wait for writers; ``None`` means ``DEFAULT_READ_TIMEOUT_S``. The shell
    passes the configured value (``Settings.read_timeout_s``).
    """
    if not db_path.exists():
        raise WarehouseMissingError(f"{db_path}: no warehouse here yet (run an ingest first)")
    conn = connect_with_retry(db_path, read_only=True,
                              timeout_s=DEFAULT_READ_TIMEOUT_S if timeout_s is None else timeout_s)
    try:
        yield conn
    finally:
        conn.close()
