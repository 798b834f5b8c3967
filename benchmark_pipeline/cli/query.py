"""``query``: read-only SQL over the warehouse, bounded in memory and time."""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path

from .main import EXIT_OK, CliError, add_db_path_option
from .output import emit

FORMATS = ("table", "csv", "json", "markdown", "html")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "query", help="run one read-only SQL query",
        description="Run one SELECT (or EXPLAIN) on a read-only connection with file, network and extension "
                    "access disabled; writes, COPY, ATTACH, INSTALL/LOAD, SET and file functions are refused "
                    "(exit 2). Tables: see `benchmark-db schema`.",
    )
    parser.add_argument("--sql", required=True, help="the query")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("--output", metavar="FILE")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS", help="stop the query after this")
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit (default 1GB)")
    parser.add_argument("--max-rows", type=int, default=100_000, help="return at most this many rows")
    add_db_path_option(parser)
    parser.set_defaults(func=run_query_command)


@contextmanager
def open_warehouse(db_path: Path, memory_limit: str | None = "1GB"):
    """The locked-down read-only connection every analytics command reads through."""
    import duckdb

    from benchmark_pipeline.config import Settings
    from benchmark_pipeline.lib.analytics.safe_query import connect_read_only

    if not db_path.exists():
        raise CliError(f"{db_path}: no warehouse here yet (run an ingest first)")
    try:
        wait_s = Settings.from_env().read_timeout_s
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        conn = connect_read_only(db_path, memory_limit, wait_s=wait_s)
    except duckdb.Error as exc:
        raise CliError(f"{db_path}: cannot open the warehouse read-only: {str(exc).strip().splitlines()[0]}") from exc
    try:
        yield conn
    finally:
        conn.close()


def check_names(conn, model: str | None = None, hardware: str | None = None, known_types_ok: bool = False,
                fingerprints_ok: bool = False) -> tuple[str | None, str | None]:
    """The --model / --hardware values as the warehouse knows them; an unknown one is a usage error (exit 2)
    whose message names the closest known names and how to list them all."""
    from benchmark_pipeline.lib.names import UnknownNameError, check_hardware_name, resolve_model_name

    try:
        if model is not None:
            model = resolve_model_name(conn, model)
        if hardware is not None:
            hardware = check_hardware_name(conn, hardware, known_types_ok=known_types_ok,
                                           fingerprints_ok=fingerprints_ok)
    except UnknownNameError as exc:
        raise CliError(str(exc)) from None
    return model, hardware


def check_filter_names(db_path: Path, model: str | None, hardware: str | None, **options) -> None:
    """``check_names`` on its own short read-only connection (for commands that open the warehouse later)."""
    if model is None and hardware is None:
        return
    with open_warehouse(db_path) as conn:
        check_names(conn, model, hardware, **options)


def run_query_command(args: argparse.Namespace) -> int:
    from benchmark_pipeline.config import resolve_db_path
    from benchmark_pipeline.lib.analytics.safe_query import QueryFailed, QueryRefused, run_query
    from benchmark_pipeline.lib.reports.tabular import render_table

    if args.timeout <= 0 or args.max_rows <= 0:
        raise CliError("--timeout and --max-rows must be positive")
    with open_warehouse(resolve_db_path(args.db_path), args.memory_limit) as conn:
        try:
            table, truncated = run_query(conn, args.sql, args.timeout, args.max_rows)
        except (QueryRefused, QueryFailed) as exc:
            raise CliError(str(exc)) from exc
    if truncated:
        print(f"benchmark-db: showing the first {args.max_rows} rows (--max-rows)", file=sys.stderr)
    emit(render_table(table, args.format, title="benchmark-db query"), args.output)
    return EXIT_OK
