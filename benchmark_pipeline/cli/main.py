"""``benchmark-db``: the command line over the same core the Dagster assets use.

Each sub-command lives in its own module under ``benchmark_pipeline.cli`` and exposes
``register(subparsers)``; modules import pandas, DuckDB or Dagster only inside their handlers so
``benchmark-db --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules in this package that contribute sub-commands, in help order.
COMMAND_MODULES = (
    "ingest",
    "snapshot",
    "regressions",
    "report",
    "query",
    "compare",
    "operations",
)

EXIT_OK = 0
EXIT_QUARANTINED = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A usage, IO or lock problem: printed on stderr, exit code 2, nothing written."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchmark-db",
        description="Benchmark results warehouse: ingest, inspect and analyse model x hardware results.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"benchmark_pipeline.cli.{name}").register(subparsers)
    return parser


def add_db_path_option(parser: argparse.ArgumentParser) -> None:
    """The shared ``--db-path`` option (else $BENCHMARK_DB_PATH, else ./data/warehouse/benchmarks.duckdb)."""
    parser.add_argument(
        "--db-path",
        default=None,
        help="DuckDB warehouse file (default: $BENCHMARK_DB_PATH or ./data/warehouse/benchmarks.duckdb)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"benchmark-db: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
