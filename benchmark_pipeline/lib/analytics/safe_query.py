"""Ad-hoc SQL that can read the warehouse and nothing else, within bounds of time, memory and disk.

Three layers, because each alone leaves a gap: the connection is read-only (no writes to the
warehouse), external access is disabled (no COPY TO, ATTACH, INSTALL/LOAD, read_csv or other file
functions; no network) and the configuration is locked (a ``SET`` cannot lift the memory limit
or re-enable access). Statements other than SELECT/EXPLAIN are refused before they run, so the
user reads "refused: COPY" rather than a permission error from deep inside DuckDB.

The bounds, all enforced here so that every caller (CLI, REST) gets them:

- time: one ``Deadline`` covers execution and fetching (and the caller's rendering, which is handed
  the same deadline); DuckDB is interrupted when it passes;
- memory: DuckDB's ``memory_limit``, and the rows brought into Python are fetched in chunks and cut
  at ``result_budget(memory_limit)`` estimated bytes as well as at ``max_rows``;
- disk: what DuckDB spills goes to a folder private to this process (``private_temp_dir``), bounded
  by ``max_temp_directory_size`` (the memory limit unless told otherwise) and removed afterwards;
  folders left by killed processes are removed by the next query.

DuckDB is imported inside the functions that need it, so the command line can read the limits for its
``--help`` without loading it.
"""

from __future__ import annotations

import fcntl
import math
import os
import re
import shutil
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from benchmark_pipeline.lib.warehouse.timeouts import DEFAULT_READ_TIMEOUT_S

from .table import Deadline, Table, Truncation

if TYPE_CHECKING:
    import duckdb

DEFAULT_TIMEOUT_S = 30.0
MAX_TIMEOUT_S = 3600.0  # an hour: ad-hoc SQL that needs longer belongs in an asset
DEFAULT_MEMORY_LIMIT = "1GB"
DEFAULT_MAX_ROWS = 100_000
MAX_ROWS_CAP = 1_000_000
RESULT_SHARE = 2  # the rows held in Python may take at most memory_limit / RESULT_SHARE (estimated)

# One fetchmany() brings about this much (estimated from the rows before it), and never more rows than this.
FETCH_CHUNK_BYTES = 1 << 20
FETCH_CHUNK_ROWS = 10_000


class QueryRefused(ValueError):
    """The statement would write, change settings or touch files."""


class QueryFailed(RuntimeError):
    """The statement was allowed but DuckDB could not run it (syntax, missing table, limit, timeout)."""


class QueryLimitError(QueryRefused):
    """A limit given for a query (timeout, row limit, memory or disk size) is not usable: refused before it runs."""


# --- limits -----------------------------------------------------------------------------------------

_SIZE = re.compile(r"^\s*((?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
_UNITS = {
    "": None, "b": 1, "byte": 1, "bytes": 1,
    "k": 10**3, "kb": 10**3, "kilobyte": 10**3, "kilobytes": 10**3,
    "m": 10**6, "mb": 10**6, "megabyte": 10**6, "megabytes": 10**6,
    "g": 10**9, "gb": 10**9, "gigabyte": 10**9, "gigabytes": 10**9,
    "t": 10**12, "tb": 10**12, "terabyte": 10**12, "terabytes": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}


def parse_size(text: str) -> int:
    """Bytes in a size as DuckDB reads one: ``100MB`` (1000-based), ``1.5GiB`` (1024-based), ``512 KB``.

    A unit is required, as DuckDB requires one (``100`` alone is refused).
    """
    match = _SIZE.match(str(text))
    unit = _UNITS.get(match.group(2).lower(), None) if match else None
    if unit is None:
        raise QueryLimitError(f"refused: not a size: {text!r} (a number and a unit: B, KB, MB, GB, TB or "
                              "KiB, MiB, GiB, TiB)")
    return int(float(match.group(1)) * unit)


def check_memory_limit(memory_limit: str) -> int:
    size = parse_size(memory_limit)
    if size <= 0:
        raise QueryLimitError(f"refused: the memory limit must be more than 0 bytes, not {memory_limit!r}")
    return size


def check_timeout(seconds: float) -> float:
    """A finite number of seconds, more than 0 and at most ``MAX_TIMEOUT_S``: NaN or inf would disable it."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        raise QueryLimitError(f"refused: the timeout must be a number of seconds, not {seconds!r}") from None
    if not math.isfinite(value) or value <= 0 or value > MAX_TIMEOUT_S:
        raise QueryLimitError(f"refused: the timeout must be more than 0 and at most {MAX_TIMEOUT_S:g} seconds, "
                              f"not {seconds}")
    return value


def check_max_rows(rows: int) -> int:
    """A whole number of rows from 1 to ``MAX_ROWS_CAP``."""
    if isinstance(rows, bool) or not isinstance(rows, int) or not 1 <= rows <= MAX_ROWS_CAP:
        raise QueryLimitError(f"refused: the row limit must be a whole number from 1 to {MAX_ROWS_CAP:,}, not {rows!r}")
    return rows


def result_budget(memory_limit: str) -> int:
    """How many bytes (estimated) the rows of one result may take in Python: a share of the memory limit."""
    return check_memory_limit(memory_limit) // RESULT_SHARE


# --- where DuckDB spills ------------------------------------------------------------------------------

TEMP_PREFIX = "query-"
OWNER_FILE = "owner.lock"
_TEMP_FOLDER = re.compile(rf"^{re.escape(TEMP_PREFIX)}(\d+)-[A-Za-z0-9_]+$")


def temp_root(db_path: Path) -> Path:
    """Where the sandboxes of ``db_path`` spill: ``<db>.tmp``, DuckDB's own default place, one folder each."""
    return db_path.with_name(db_path.name + ".tmp")


def fallback_temp_root() -> Path:
    """Used when the warehouse's folder is not writable (a read-only mount)."""
    return Path(tempfile.gettempdir()) / "benchmark-db-query-tmp"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temp_dirs(root: Path) -> list[Path]:
    """Remove the spill folders under ``root`` whose process is gone (killed mid-query); return them.

    A live owner holds an exclusive ``flock`` on the folder's ``owner.lock`` for as long as the folder is in
    use; the kernel drops it when the process dies, however it dies, so a lock that can be taken means
    the owner is gone (this holds across PID namespaces and after PID reuse, where the PID in the name
    would mislead). A folder without its lock file yet is judged by the PID in its name.
    """
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_FOLDER.match(entry.name)
        if not match or entry.is_symlink() or not entry.is_dir():
            continue
        try:
            fd = os.open(entry / OWNER_FILE, os.O_RDWR)
        except FileNotFoundError:
            if _pid_alive(int(match.group(1))):
                continue  # its owner is between creating the folder and locking it
            fd = None
        except OSError:
            continue  # cannot tell: leave it
        try:
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # in use
            shutil.rmtree(entry, ignore_errors=True)  # while holding the lock: see _claim_temp_dir
            removed.append(entry)
        finally:
            if fd is not None:
                os.close(fd)
    return removed


def _claim_temp_dir(root: Path) -> tuple[Path, int]:
    """A new ``query-<pid>-<random>`` folder under ``root`` and the fd holding its owner lock."""
    for _attempt in range(20):
        root.mkdir(parents=True, exist_ok=True)
        try:
            folder = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=root))
        except FileNotFoundError:
            continue  # another process removed the (empty) root in between
        lock_file = folder / OWNER_FILE
        try:
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # A sweeper that took the lock before us removed the folder before letting go of it.
            if os.stat(lock_file).st_ino == os.fstat(fd).st_ino:
                return folder, fd
        except (BlockingIOError, FileNotFoundError):
            pass
        os.close(fd)
    raise OSError(f"{root}: could not make a private folder for the query's temporary files")


@dataclass
class _Lease:
    root: Path  # where the folder is: temp_root(db), or fallback_temp_root() when that is not writable
    folder: Path
    fd: int
    pid: int
    users: int = 0


_LEASES: dict[Path, _Lease] = {}
_LEASES_LOCK = threading.Lock()


def _open_lease(root: Path) -> _Lease:
    try:
        remove_stale_temp_dirs(root)
        folder, fd = _claim_temp_dir(root)
    except OSError:  # the warehouse's folder is read-only (or full of folders we could not claim)
        root = fallback_temp_root()
        remove_stale_temp_dirs(root)
        folder, fd = _claim_temp_dir(root)
    return _Lease(root, folder, fd, os.getpid())


def _close_lease(lease: _Lease) -> None:
    shutil.rmtree(lease.folder, ignore_errors=True)
    os.close(lease.fd)
    try:
        lease.root.rmdir()  # only if empty: other processes' folders or DuckDB's own files keep it
    except OSError:
        pass


@contextmanager
def private_temp_dir(root: Path) -> Iterator[Path]:
    """A spill folder for this process under ``root`` (``temp_root(db)``), removed when the last user is done.

    Per query in the command line. Connections of one process to one file share one DuckDB instance, and
    so one temporary directory (DuckDB refuses a second connection with another configuration): the
    threads of a server share the folder and the last one out removes it. Entering also removes the
    folders of dead processes. Close the connection before leaving, so DuckDB has let go of its files.
    """
    key = Path(root)
    with _LEASES_LOCK:
        lease = _LEASES.get(key)
        if lease is None or lease.pid != os.getpid():  # (a forked child makes its own)
            lease = _LEASES[key] = _open_lease(key)
        lease.users += 1
    try:
        yield lease.folder
    finally:
        with _LEASES_LOCK:
            lease.users -= 1
            if lease.users == 0:
                if _LEASES.get(key) is lease:
                    del _LEASES[key]
                _close_lease(lease)


# --- the connection -----------------------------------------------------------------------------------

_CONFIGURE_LOCK = threading.Lock()


def connect_read_only(db_path: Path, memory_limit: str | None = DEFAULT_MEMORY_LIMIT, threads: int | None = None,
                      wait_s: float | None = None, temp_directory: Path | None = None,
                      max_temp_size: str | None = None):
    """``memory_limit=None`` keeps DuckDB's default (80 % of RAM): reports' medians over millions of rows need it.

    ``wait_s`` bounds the wait for writers to let go of the file (the shell passes its read timeout).
    ``temp_directory`` is where DuckDB spills (give it a ``private_temp_dir``); ``max_temp_size`` bounds what
    it may spill there, by default as much as the memory limit (DuckDB's own default is 90 % of the free
    disk). A connection that joins an instance this process already has open (same file, same
    configuration) shares that instance's settings, which are already locked.
    """
    from benchmark_pipeline.lib.warehouse.connection import connect_with_retry

    config: dict[str, Any] = {
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if memory_limit:
        config["memory_limit"] = f"{check_memory_limit(memory_limit)}B"
    if threads:
        config["threads"] = threads
    if temp_directory is not None:
        config["temp_directory"] = str(temp_directory)
    spill = max_temp_size if max_temp_size is not None else memory_limit
    spill_bytes = parse_size(spill) if spill else None
    wait = DEFAULT_READ_TIMEOUT_S if wait_s is None else wait_s
    conn = connect_with_retry(db_path, read_only=True, timeout_s=wait, config=config)
    try:
        with _CONFIGURE_LOCK:  # threads joining one instance: the first one configures and locks it
            if not conn.execute("SELECT current_setting('lock_configuration')").fetchone()[0]:
                # Set after connecting, not in the connect config: DuckDB 2.0 reports a max_temp_directory_size
                # given there but does not enforce it. lock_configuration has to come after it.
                if spill_bytes is not None:
                    conn.execute(f"SET max_temp_directory_size = '{spill_bytes}B'")
                conn.execute("SET lock_configuration = true")
    except BaseException:
        conn.close()
        raise
    return conn


def _allowed_kinds() -> set:
    import duckdb

    return {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


def check_statement(conn: duckdb.DuckDBPyConnection, sql: str) -> None:
    import duckdb

    try:
        statements = conn.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryFailed(str(exc).strip()) from exc
    if len(statements) != 1:
        raise QueryRefused(f"refused: expected exactly one statement, got {len(statements)}")
    kind = statements[0].type
    if kind not in _allowed_kinds():
        name = str(kind).rsplit(".", 1)[-1]
        name = "INSTALL/LOAD" if name == "LOAD" else name
        raise QueryRefused(
            f"refused: {name} statements are not allowed; query is read-only (SELECT, WITH ... SELECT, "
            "EXPLAIN) with no file, network or extension access"
        )


# --- running and fetching -----------------------------------------------------------------------------

_CONTAINERS = (list, tuple, dict, set, frozenset)


def _value_bytes(value: Any) -> int:
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(_value_bytes(k) + _value_bytes(v) for k, v in value.items())
    elif isinstance(value, _CONTAINERS):
        size += sum(_value_bytes(v) for v in value)
    return size


def _fixed_sizes() -> dict[str, int]:
    """What one value of a fixed-size DuckDB type takes in Python at most (its largest value where size varies)."""
    import datetime as dt
    import uuid
    from decimal import Decimal

    size = sys.getsizeof
    ints = {"TINYINT": 2**7, "SMALLINT": 2**15, "INTEGER": 2**31, "BIGINT": 2**63, "HUGEINT": 2**127,
            "UTINYINT": 2**8, "USMALLINT": 2**16, "UINTEGER": 2**32, "UBIGINT": 2**64, "UHUGEINT": 2**128}
    moment = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    sizes = {name: size(-top) for name, top in ints.items()}
    sizes.update({
        "BOOLEAN": size(True), "FLOAT": size(1.0), "DOUBLE": size(1.0),
        "DATE": size(moment.date()), "TIME": size(moment.time()), "TIME WITH TIME ZONE": size(moment.timetz()),
        "TIMESTAMP": size(moment), "TIMESTAMP WITH TIME ZONE": size(moment), "TIMESTAMP_S": size(moment),
        "TIMESTAMP_MS": size(moment), "TIMESTAMP_NS": size(moment), "INTERVAL": size(dt.timedelta(days=1)),
        "UUID": size(uuid.UUID(int=2**128 - 1)) + size(2**128 - 1),  # the object and the int it holds
        "DECIMAL": size(Decimal("9" * 38)),
    })
    return sizes


_FIXED_SIZES: dict[str, int] = {}


class RowSizer:
    """What fetched rows take in Python (estimated), from the result's column types.

    Values of fixed-size types (numbers, times, UUIDs) count as their largest Python object, without
    looking at them; text, blobs and nested values are measured one by one (``sys.getsizeof``, nested
    values recursively). Every row adds its tuple and its slot in the list of rows. Close for text (within
    the allocator's rounding), an overestimate for numbers (small ints and ``None`` are shared objects).
    """

    def __init__(self, column_types: list[str]):
        if not _FIXED_SIZES:
            _FIXED_SIZES.update(_fixed_sizes())
        self.fixed = sys.getsizeof((None,) * len(column_types)) + 8
        self.measured: list[int] = []
        self.nested: list[int] = []
        for i, kind in enumerate(str(t).upper() for t in column_types):
            known = _FIXED_SIZES.get(kind.split("(", 1)[0])
            if known is not None:
                self.fixed += known
            elif "[" in kind or kind.startswith(("STRUCT", "MAP", "UNION")):
                self.nested.append(i)
            else:
                self.measured.append(i)
                self.fixed += 8  # the allocator rounds each object up to a multiple of 8 (16 for large ones)

    def row(self, row: tuple) -> int:
        return (self.fixed + sum(sys.getsizeof(row[i]) for i in self.measured)
                + sum(_value_bytes(row[i]) for i in self.nested))

    def rows(self, batch: list[tuple]) -> int:
        if not batch or (not self.measured and not self.nested):
            return self.fixed * len(batch)
        columns = list(zip(*batch))
        return (self.fixed * len(batch) + sum(sum(map(sys.getsizeof, columns[i])) for i in self.measured)
                + sum(sum(map(_value_bytes, columns[i])) for i in self.nested))


def _fetch_bounded(result, max_rows: int, max_bytes: int | None, deadline: Deadline,
                   timed_out: str) -> tuple[list[tuple], Truncation | None]:
    """Rows in chunks of about ``FETCH_CHUNK_BYTES``, stopping at ``max_rows`` or at ``max_bytes`` (estimated)."""
    sizer = RowSizer([d[1] for d in result.description or []])
    rows: list[tuple] = []
    held = 0
    chunk = 1  # the first row tells how big rows are
    while True:
        if deadline.expired():
            raise QueryFailed(timed_out)
        want = min(chunk, max_rows + 1 - len(rows))
        batch = result.fetchmany(want)
        size = sizer.rows(batch)
        if len(rows) + len(batch) <= max_rows and (max_bytes is None or held + size <= max_bytes):
            rows.extend(batch)
            held += size
        else:  # this chunk crosses a limit: find the row where
            for row in batch:
                if len(rows) == max_rows:
                    return rows, Truncation("max_rows", len(rows), max_rows, held)
                size = sizer.row(row)
                if max_bytes is not None and held + size > max_bytes:
                    return rows, Truncation("memory", len(rows), max_bytes, held)
                rows.append(row)
                held += size
        if len(batch) < want:
            return rows, None
        average = max(1, held // max(1, len(rows)))
        chunk = max(1, min(FETCH_CHUNK_ROWS, FETCH_CHUNK_BYTES // average))
        if max_bytes is not None:
            chunk = max(1, min(chunk, (max_bytes - held) // average + 1))


def run_query(conn: duckdb.DuckDBPyConnection, sql: str, timeout_s: float = DEFAULT_TIMEOUT_S,
              max_rows: int = DEFAULT_MAX_ROWS, max_bytes: int | None = None,
              deadline: Deadline | None = None) -> tuple[Table, Truncation | None]:
    """The result and why it was cut (``None`` when whole), also kept as ``table.truncation``.

    At most ``max_rows`` rows and, when ``max_bytes`` is given, rows taking at most that many bytes in
    Python (estimated; give ``result_budget(memory_limit)``). ``deadline`` (default: ``timeout_s`` from
    now) bounds execution and fetching; pass the caller's own to make it cover its rendering too.
    """
    import duckdb

    timeout_s = check_timeout(timeout_s)
    max_rows = check_max_rows(max_rows)
    deadline = deadline or Deadline(timeout_s)
    timed_out_message = f"query exceeded the {deadline.seconds:g} s timeout and was stopped"
    check_statement(conn, sql)
    if deadline.expired():
        raise QueryFailed(timed_out_message)
    timed_out = threading.Event()

    def interrupt() -> None:
        timed_out.set()
        conn.interrupt()

    timer = threading.Timer(deadline.remaining(), interrupt)
    timer.start()
    try:
        result = conn.execute(sql)
        columns = [d[0] for d in result.description or []]
        rows, truncation = _fetch_bounded(result, max_rows, max_bytes, deadline, timed_out_message)
    except duckdb.PermissionException as exc:
        raise QueryRefused(f"refused: file and network access are disabled for queries ({_first_line(exc)})") from exc
    except duckdb.InterruptException as exc:
        raise QueryFailed(timed_out_message) from exc
    except duckdb.Error as exc:
        if timed_out.is_set():
            raise QueryFailed(timed_out_message) from exc
        message = _first_line(exc)
        if "max_temp_directory_size" in str(exc):
            message += (" The query used all the disk space it may spill to (max_temp_size, by default as much as "
                        "the memory limit).")
        raise QueryFailed(message) from exc
    finally:
        timer.cancel()
    return Table(columns, rows, truncation), truncation


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
