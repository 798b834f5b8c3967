"""Ad-hoc SQL that can read the warehouse and nothing else.

Three layers, because each alone leaves a gap: the connection is read-only (no writes to the
warehouse), external access is disabled (no COPY TO, ATTACH, INSTALL/LOAD, read_csv or other file
functions; no network) and the configuration is locked (a ``SET`` cannot lift the memory limit
or re-enable access). Statements other than SELECT/EXPLAIN are refused before they run, so the
user reads "refused: COPY" rather than a permission error from deep inside DuckDB.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb

from benchmark_pipeline.lib.warehouse.connection import connect_with_retry
from benchmark_pipeline.lib.warehouse.timeouts import DEFAULT_READ_TIMEOUT_S

from .table import Table

ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MEMORY_LIMIT = "1GB"
DEFAULT_MAX_ROWS = 100_000


class QueryRefused(ValueError):
    """The statement would write, change settings or touch files."""


class QueryFailed(RuntimeError):
    """The statement was allowed but DuckDB could not run it (syntax, missing table, limit, timeout)."""


def connect_read_only(db_path: Path, memory_limit: str | None = DEFAULT_MEMORY_LIMIT, threads: int | None = None,
                      wait_s: float = DEFAULT_READ_TIMEOUT_S):
    """``memory_limit=None`` keeps DuckDB's default (80 % of RAM): reports' medians over millions of rows need it.

    ``wait_s`` bounds the wait for writers to let go of the file (the shell passes its read timeout).
    """
    config = {
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "lock_configuration": True,
    }
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    return connect_with_retry(db_path, read_only=True, timeout_s=wait_s, config=config)


def check_statement(conn: duckdb.DuckDBPyConnection, sql: str) -> None:
    try:
        statements = conn.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryFailed(str(exc).strip()) from exc
    if len(statements) != 1:
        raise QueryRefused(f"refused: expected exactly one statement, got {len(statements)}")
    kind = statements[0].type
    if kind not in ALLOWED:
        name = str(kind).rsplit(".", 1)[-1]
        name = "INSTALL/LOAD" if name == "LOAD" else name
        raise QueryRefused(
            f"refused: {name} statements are not allowed; query is read-only (SELECT, WITH ... SELECT, "
            "EXPLAIN) with no file, network or extension access"
        )


def run_query(conn: duckdb.DuckDBPyConnection, sql: str, timeout_s: float = DEFAULT_TIMEOUT_S,
              max_rows: int = DEFAULT_MAX_ROWS) -> tuple[Table, bool]:
    """The result (at most ``max_rows`` rows) and whether it was cut there."""
    check_statement(conn, sql)
    timed_out = threading.Event()

    def interrupt() -> None:
        timed_out.set()
        conn.interrupt()

    timer = threading.Timer(timeout_s, interrupt)
    timer.start()
    try:
        result = conn.execute(sql)
        rows = result.fetchmany(max_rows + 1)
        columns = [d[0] for d in result.description or []]
    except duckdb.PermissionException as exc:
        raise QueryRefused(f"refused: file and network access are disabled for queries ({_first_line(exc)})") from exc
    except duckdb.InterruptException as exc:
        raise QueryFailed(f"query exceeded the {timeout_s:g} s timeout and was stopped") from exc
    except duckdb.Error as exc:
        if timed_out.is_set():
            raise QueryFailed(f"query exceeded the {timeout_s:g} s timeout and was stopped") from exc
        raise QueryFailed(_first_line(exc)) from exc
    finally:
        timer.cancel()
    truncated = len(rows) > max_rows
    return Table(columns, rows[:max_rows]), truncated


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
