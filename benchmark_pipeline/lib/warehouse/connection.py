"""Opening the warehouse: one writer at a time (an OS file lock beside the DuckDB file), readers read-only.

DuckDB itself refuses a second writing process with "Could not set lock on file"; the lock file
turns that into an orderly wait with a bounded timeout and an error naming the file, for every
writer alike: the CLI, Dagster steps in any executor, and concurrent runs without instance pools.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from .schema import migrate

DEFAULT_LOCK_TIMEOUT_S = 600.0


class WarehouseLockedError(RuntimeError):
    """Another writer held the warehouse for longer than the timeout."""


class WarehouseMissingError(FileNotFoundError):
    """A reader asked for a warehouse that does not exist yet."""


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
def open_writer(db_path: Path, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """The single writer: lock, connect read-write, migrate to the latest schema."""
    with writer_lock(db_path, timeout_s):
        conn = duckdb.connect(str(db_path))
        try:
            migrate(conn)
            yield conn
        finally:
            conn.close()


@contextmanager
def open_reader(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection; never migrates (only writers do)."""
    if not db_path.exists():
        raise WarehouseMissingError(f"{db_path}: no warehouse here yet (run an ingest first)")
    conn = duckdb.connect(str(db_path), read_only=True)
    try:
        yield conn
    finally:
        conn.close()
