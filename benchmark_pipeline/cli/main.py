"""``benchmark-db``: the command line over the same core the Dagster assets use.

Each sub-command lives in its own module under ``benchmark_pipeline.cli`` and exposes
``register(subparsers)``; modules import pandas, DuckDB or Dagster only inside their handlers so
``benchmark-db --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# Modules in this package that contribute sub-commands, in help order.
COMMAND_MODULES = (
    "ingest",
    "snapshot",
    "regressions",
    "report",
    "query",
    "compare",
    "llm",
    "operations",
    "maintenance",
    "status",
    "serve",
    "tokens",
)

# One meaning per exit code, for every command (the epilog of `benchmark-db --help` says the same).
EXIT_OK = 0  # done, nothing to report
EXIT_PROBLEMS = 1  # the command worked and found problems: records quarantined, open regressions, bad content
EXIT_USAGE = 2  # usage, IO or lock error (unknown names included); nothing was written
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_QUARANTINED = EXIT_PROBLEMS

DEBUG_ENV = "BENCHMARK_DEBUG"

EXIT_CODES_EPILOG = """\
exit codes (every command):
  0    ok
  1    the command worked and found problems: records quarantined, open
       regressions, a corrupt or incomplete snapshot, CAR or block
  2    usage, IO or lock error (an unknown model, hardware, table, path or
       snapshot name too; the message names the closest known ones), or an
       unexpected failure
  130  interrupted
Set BENCHMARK_DEBUG=1 to see the traceback of an unexpected error."""


class CliError(Exception):
    """A usage, IO or lock problem: printed on stderr, exit code 2, nothing written."""


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("benchmark_pipeline")
    except PackageNotFoundError:
        return "unknown (not installed)"


class _VersionAction(argparse.Action):
    """``--version``: reads the installed package's metadata only when asked (keeps --help fast)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog} {package_version()}")
        parser.exit(EXIT_OK)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchmark-db",
        description="Benchmark results warehouse: ingest, inspect and analyse model x hardware results.",
        epilog=EXIT_CODES_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction, help="print the package version and exit")
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


def open_service(args: argparse.Namespace, must_exist: bool = True):
    """The service for ``--db-path`` (else $BENCHMARK_DB_PATH ...): every handler's one way to the warehouse.

    ``must_exist``: commands that only read or judge refuse to create an empty warehouse.
    """
    from benchmark_pipeline.config import Settings
    from benchmark_pipeline.service import BenchmarkService

    try:
        settings = Settings.from_env(db_path=args.db_path)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if must_exist and not settings.db_path.exists():
        raise CliError(f"{settings.db_path}: no warehouse here yet (run an ingest first)")
    return BenchmarkService.from_settings(settings)


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors whose message is written for the user of a command: shown as is, exit 2, no traceback."""
    from benchmark_pipeline.lib.analytics.compare import CompareError
    from benchmark_pipeline.lib.analytics.safe_query import QueryFailed, QueryRefused
    from benchmark_pipeline.lib.analytics.serving import SlaError
    from benchmark_pipeline.lib.names import UnknownNameError
    from benchmark_pipeline.lib.warehouse.connection import WarehouseLockedError, WarehouseMissingError
    from benchmark_pipeline.lib.warehouse.regressions import FlagLookupError, NoFlagsError, ThresholdError
    from benchmark_pipeline.lib.warehouse.retract import NotInLedgerError
    from benchmark_pipeline.service.serving import LlmAnswersUnavailable

    return (WarehouseLockedError, WarehouseMissingError, UnknownNameError, CompareError, QueryFailed, QueryRefused,
            NoFlagsError, FlagLookupError, ThresholdError, NotInLedgerError, SlaError, LlmAnswersUnavailable)


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


def _route_warnings_to_logging() -> None:
    """Library warnings (pandas, pandera, DuckDB ...) go to the ``py.warnings`` logger, not the terminal.

    They are for whoever maintains the code, not for the user of a command; with BENCHMARK_DEBUG=1
    they are shown on stderr through logging.
    """
    logging.captureWarnings(True)
    logger = logging.getLogger("py.warnings")
    logger.propagate = False
    for handler in list(logger.handlers):
        if getattr(handler, "_benchmark_db", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr) if _debug() else logging.NullHandler()
    handler._benchmark_db = True
    logger.addHandler(handler)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _route_warnings_to_logging()
    code = EXIT_OK
    try:
        code = int(args.func(args) or 0)
        # Flush here, not at interpreter exit: a reader that stopped early (`| head -1`) then raises
        # BrokenPipeError below instead of an "Exception ignored" message and exit code 120.
        sys.stdout.flush()
        return code
    except CliError as exc:
        print(f"benchmark-db: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("benchmark-db: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed early (`benchmark-db ledger | head`): not an error; keep Python quiet at exit
        # (what is still buffered goes to /devnull). The command's own exit code stands if it had one.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return code
    except Exception as exc:
        if _debug():
            raise
        if isinstance(exc, _user_errors()):  # a refusal written for the user, whole
            print(f"benchmark-db: error: {str(exc).strip() or repr(exc)}", file=sys.stderr)
        elif isinstance(exc, OSError):  # an IO problem some handler did not wrap: its first line
            lines = str(exc).strip().splitlines()
            print(f"benchmark-db: error: {lines[0] if lines else repr(exc)}", file=sys.stderr)
        else:
            print(f"benchmark-db: error: unexpected {_one_line(exc)} (set {DEBUG_ENV}=1 for the traceback)",
                  file=sys.stderr)
        return EXIT_USAGE
    finally:
        logging.captureWarnings(False)
