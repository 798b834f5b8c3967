"""``query``: read-only SQL over the warehouse, bounded in memory and time."""

from __future__ import annotations

import argparse
import sys

from .main import EXIT_OK, CliError, add_db_path_option, open_service
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


def run_query_command(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.reports.tabular import render_table

    if args.timeout <= 0 or args.max_rows <= 0:
        raise CliError("--timeout and --max-rows must be positive")
    table, truncated = open_service(args).query(args.sql, args.timeout, args.max_rows, args.memory_limit)
    if truncated:
        print(f"benchmark-db: showing the first {args.max_rows} rows (--max-rows)", file=sys.stderr)
    emit(render_table(table, args.format, title="benchmark-db query"), args.output)
    return EXIT_OK
