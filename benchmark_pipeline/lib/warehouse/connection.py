"""Opening the warehouse: one writer at a time (an OS file lock beside the DuckDB file), readers read-only.

DuckDB itself refuses a second writing process with "Could not set lock on file"; the lock file
turns that into an orderly wait with a bounded timeout and an error naming the file, for every
writer alike: the CLI, Dagster steps in any executor, and concurrent runs without instance pools.
Whoever holds the lock writes who it is into the lock file (pid, host, command, since when), so a
writer or reader that has to wait can say for whom.

DuckDB also refuses a read-only connection while another process writes, and a writer while any
process reads. Writers hold the file only for their load (parsing and validation happen before
``open_writer``), so both sides retry the connect within a bound: a reader waits out a write instead
of failing, and a reader never sees a half-written state because it cannot open the file until the
writer's transaction is committed and its connection closed.

Readers give way to writers. Left to race for the file, readers reconnecting in a loop always had one
of them holding it, and a writer waiting for a moment without readers could wait past its timeout.
So the writer lock doubles as the writer's intent: before each connect a reader tests it (a shared,
non-blocking lock on the lock file, dropped at once; a reader never creates the file) and waits while
a writer holds it. A writer takes the lock just before it connects and keeps it until it has closed,
so the reads in progress finish, no new one starts, and the writer gets in after the longest of them.
Readers wait the same bounded time as before; snapshot backups and restores, which take the same lock
to copy or replace the file, are waited out too.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, ContextManager, Iterator

import duckdb

from .schema import migrate
from .timeouts import DEFAULT_LOCK_TIMEOUT_S, DEFAULT_READ_TIMEOUT_S

# The shell's name for a reader's wait (``config.READ_TIMEOUT_ENV``), for the message of a reader that gave up.
READ_TIMEOUT_VARIABLE = "BENCHMARK_READ_TIMEOUT_S"


class WarehouseLockedError(RuntimeError):
    """Another writer held the warehouse for longer than the timeout."""


class WarehouseMissingError(FileNotFoundError):
    """A reader asked for a warehouse that does not exist yet."""


class WarehouseBusyError(WarehouseLockedError):
    """A reader could not open the warehouse within its bound because writers kept it."""


class WarehouseDiskFullError(OSError):
    """The device holding the warehouse ran out of space while a writer wrote; the message says where to free it."""

    def __str__(self) -> str:
        return self.strerror


# The errors a full device (or an exhausted quota) gives: as errno values, and in DuckDB's text (strerror).
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_FULL_TEXTS = tuple(os.strerror(code) for code in _FULL_ERRNOS)


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc``, or an error it was raised from or while handling, says the device is full.

    DuckDB reports it in its message ("Could not write file ...: No space left on device"), as an
    ``IOException`` mid-write or a ``FatalException`` from the checkpoint at commit; Python as an ``OSError``.
    A rollback that fails after it keeps the first error as its context, so the chain is followed.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        if isinstance(exc, duckdb.Error) and any(text in str(exc) for text in _FULL_TEXTS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def disk_full_error(db_path: Path, what: str = "ingest") -> WarehouseDiskFullError:
    """The error for a write that ran out of space: where the space is missing, how much is left, what to do."""
    directory = db_path.parent
    existing = next((p for p in (directory, *directory.parents) if p.exists()), directory)
    try:
        left = f"{shutil.disk_usage(existing).free / (1 << 20):.1f} MB free now"
    except OSError:
        left = "free space unknown"
    return WarehouseDiskFullError(
        errno.ENOSPC,
        f"{db_path}: no space left on the device holding {directory} ({left}): free space there, then run the "
        f"same {what} again (files it already stored are reported unchanged, nothing is stored twice)",
    )


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


# DuckDB names the process holding the file: 'Conflicting lock is held in /usr/bin/python3 (PID 1234)'.
_DUCKDB_HOLDER = re.compile(r"held in (.+?) \(PID (\d+)\)")


def _duckdb_holder(exc: duckdb.Error | None) -> str | None:
    match = _DUCKDB_HOLDER.search(str(exc)) if exc is not None else None
    return f"PID {match.group(2)}, {os.path.basename(match.group(1))}" if match else None


def connect_with_retry(db_path: Path, read_only: bool, timeout_s: float,
                       config: dict | None = None) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` that waits out another process's conflicting lock, up to ``timeout_s``.

    A reader does not even try while a writer holds the writer lock (see the module's docstring).
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while True:
        writer = lock_holder(db_path) if read_only else None
        conflict = None
        if writer is None:
            try:
                return duckdb.connect(str(db_path), read_only=read_only, config=config or {})
            except duckdb.Error as exc:
                if not _is_lock_conflict(exc):
                    raise
                conflict = exc
        if time.monotonic() + delay > deadline:
            raise _gave_up(db_path, read_only, timeout_s, writer or _duckdb_holder(conflict)) from None
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def _gave_up(db_path: Path, read_only: bool, timeout_s: float, holder: str | None) -> WarehouseLockedError:
    if read_only:
        writer = f"a writer ({holder})" if holder else "a writer"
        return WarehouseBusyError(
            f"{db_path}: {writer} kept the warehouse busy for longer than the read timeout ({timeout_s:g} s); "
            f"wait for the write to finish and run this again, or give readers longer with "
            f"{READ_TIMEOUT_VARIABLE}=SECONDS")
    other = f"another process ({holder})" if holder else "another process"
    return WarehouseLockedError(f"{db_path}: {other} kept the warehouse open for more than {timeout_s:g} s, "
                                "so it could not be opened to write")


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def lock_holder(db_path: Path) -> str | None:
    """Who holds the writer lock (as the holder wrote it into the lock file); None when nobody does.

    Only reads: the lock file is never created here, and the shared lock used to test it is dropped at once.
    """
    try:
        fd = os.open(lock_path(db_path), os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None  # no writer ever ran here, or the file cannot be read: nothing to wait for
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder_text(fd) or "a process that has not said who it is"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _holder_text(fd: int) -> str | None:
    try:
        text = os.pread(fd, 512, 0).decode("utf-8", "replace").strip()
    except OSError:
        return None
    return text or None


def _this_process() -> str:
    """How a waiting process names this one: pid, host, command (``benchmark-db ingest``), since when."""
    argv = sys.argv or [""]
    words = [os.path.basename(argv[0]) if argv[0] not in ("", "-c") else "python"]
    if len(argv) > 1 and re.fullmatch(r"[A-Za-z][\w.-]*", argv[1]):
        words.append(argv[1])  # a sub-command, not a path or an option
    since = time.strftime("%H:%M:%S UTC", time.gmtime())
    return f"pid {os.getpid()} on {socket.gethostname()} ({' '.join(words)[:80]}), since {since}"


def _announce(fd: int) -> None:
    """Write who holds the lock into the lock file; best effort (a full disk must not stop the writer here)."""
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, (_this_process() + "\n").encode("utf-8", "replace"), 0)
    except OSError:
        pass


LockWait = Callable[[str | None, float], None]


@contextmanager
def writer_lock(db_path: Path, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
                on_wait: LockWait | None = None) -> Iterator[None]:
    """The single-writer lock, waited for up to ``timeout_s``.

    ``on_wait(holder, timeout_s)`` is called once when the lock is taken and the wait begins, with who holds
    it (as ``lock_holder`` says) so the shell can tell its user; a free lock is taken without a call.
    """
    db_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(db_path), os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        told, attempts = False, 0
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                attempts += 1
                holder = _holder_text(fd)
                # A holder that has only just taken the lock may not have written its name yet: give it a moment.
                if not told and on_wait is not None and (holder is not None or attempts > 3):
                    on_wait(holder, timeout_s)
                    told = True
                if time.monotonic() >= deadline:
                    holder = _holder_text(fd)
                    raise WarehouseLockedError(
                        f"{db_path}: another writer{f' ({holder})' if holder else ''} held the warehouse lock "
                        f"for more than {timeout_s:g} s"
                    ) from None
                time.sleep(0.05)
        _announce(fd)
        try:
            yield
        finally:
            try:
                os.ftruncate(fd, 0)  # nobody holds it now: waiters must not name a writer that is gone
            except OSError:
                pass
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
def open_writer(db_path: Path, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S, connect: WriterConnect | None = None,
                on_wait: LockWait | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The single writer: lock, connect read-write, migrate to the latest schema.

    ``connect(db_path, timeout_s)`` opens the read-write connection once the lock is held; Dagster
    passes dagster-duckdb's, everyone else gets a plain ``duckdb.connect`` that waits out readers.
    ``on_wait``: see ``writer_lock``.
    """
    with writer_lock(db_path, timeout_s, on_wait), (connect or _read_write)(db_path, timeout_s) as conn:
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
