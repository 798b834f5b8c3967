"""``query``: read-only SQL over the warehouse, bounded in memory, disk and time.

The bounds themselves live in the service (``BenchmarkService.query``) so every caller has them; here
they are read from the command line (refused with exit 2 when unusable), and the one deadline that
the query ran under goes on to cover rendering and writing the result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Iterable

# Limits and their checks only: safe_query imports DuckDB inside its functions, so --help stays fast.
from benchmark_pipeline.lib.analytics import safe_query as limits

from .main import EXIT_OK, CliError, add_db_path_option, open_service

FORMATS = ("table", "csv", "json", "markdown", "html")


def _limit_type(name: str, convert: Callable[[str], object]) -> Callable[[str], object]:
    """An argparse type from a check of ``safe_query``: its ``QueryLimitError`` becomes a usage error (exit 2)."""
    def parse(text: str):
        try:
            return convert(text)
        except limits.QueryLimitError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix("refused: ")) from None

    parse.__name__ = name  # argparse says "invalid <name> value" for other errors
    return parse


def _row_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise limits.QueryLimitError(f"not a whole number: {text!r}") from None
    return limits.check_max_rows(value)


def _checked(check: Callable[[str], object]) -> Callable[[str], str]:
    def convert(text: str) -> str:
        check(text)
        return text  # handed on as written; the service reads it again

    return convert


seconds = _limit_type("seconds", limits.check_timeout)
row_limit = _limit_type("row limit", _row_limit)
memory_size = _limit_type("memory limit", _checked(limits.check_memory_limit))
disk_size = _limit_type("size", _checked(limits.parse_size))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "query", help="run one read-only SQL query",
        description="Run one SELECT (or EXPLAIN) on a read-only connection with file, network and extension "
                    "access disabled; writes, COPY, ATTACH, INSTALL/LOAD, SET and file functions are refused "
                    "(exit 2). Tables: see `benchmark-db schema`. The result is cut (said on stderr) at "
                    "--max-rows rows or when the rows take half the --memory-limit in memory; --timeout "
                    "covers running the query, fetching, formatting and writing the result.",
    )
    parser.add_argument("--sql", required=True, help="the query")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("--output", metavar="FILE")
    parser.add_argument("--timeout", type=seconds, default=limits.DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help=f"stop the whole command after this (default {limits.DEFAULT_TIMEOUT_S:g}, at most "
                             f"{limits.MAX_TIMEOUT_S:g})")
    parser.add_argument("--memory-limit", type=memory_size, default=limits.DEFAULT_MEMORY_LIMIT,
                        help=f"DuckDB memory limit, e.g. 500MB or 2GiB (default {limits.DEFAULT_MEMORY_LIMIT}); the "
                             "rows kept for the output may take half as much again")
    parser.add_argument("--max-temp-size", type=disk_size, default=None, metavar="SIZE",
                        help="disk space the query may spill to (default: the memory limit; 0B: none)")
    parser.add_argument("--max-rows", type=row_limit, default=limits.DEFAULT_MAX_ROWS,
                        help=f"return at most this many rows (default {limits.DEFAULT_MAX_ROWS:,}, at most "
                             f"{limits.MAX_ROWS_CAP:,})")
    add_db_path_option(parser)
    parser.set_defaults(func=run_query_command)


def run_query_command(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.analytics.table import Deadline, DeadlineExceeded
    from benchmark_pipeline.lib.reports.tabular import iter_render_table

    deadline = Deadline(args.timeout)
    table, truncated = open_service(args).query(args.sql, args.timeout, args.max_rows, args.memory_limit,
                                                max_temp_size=args.max_temp_size, deadline=deadline)
    try:
        # Rendered whole before anything is written: a timeout while formatting leaves no partial output.
        chunks = list(iter_render_table(table, args.format, title="benchmark-db query", deadline=deadline))
        if truncated and table.truncation is not None:
            cut = table.truncation
            hint = "--max-rows" if cut.reason == "max_rows" else "--memory-limit"
            print(f"benchmark-db: showing the first {cut.rows:,} rows: {cut.describe()}; see {hint}", file=sys.stderr)
        _write(chunks, args.output, deadline)
    except DeadlineExceeded as exc:
        raise CliError(str(exc)) from None
    return EXIT_OK


def _write(chunks: Iterable[str], output: str | None, deadline) -> None:
    """Like ``output.emit`` but piece by piece (no second copy of the whole text), checking the deadline."""
    if not output:
        for chunk in chunks:
            deadline.check("writing the result (the output is incomplete)")
            sys.stdout.write(chunk)
        sys.stdout.flush()
        return
    path = Path(output)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as handle:
            for chunk in chunks:
                deadline.check(f"writing {path} (nothing was written)")
                handle.write(chunk)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CliError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    print(f"wrote {path}", file=sys.stderr)
