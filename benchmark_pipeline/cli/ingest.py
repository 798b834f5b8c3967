"""``ingest``, ``ledger`` and ``schema``: putting result files in and seeing what became of them."""

from __future__ import annotations

import argparse
import sys

from .main import EXIT_OK, EXIT_PROBLEMS, CliError, add_db_path_option
from .output import add_list_format_option, printable, render_listing

from benchmark_pipeline.lib.vocabulary import CATEGORIES as CATEGORY_CHOICES
from benchmark_pipeline.lib.vocabulary import LEDGER_STATUSES



def _worker_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def add_workers_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=_worker_count, default=None, metavar="N",
                        help="processes that parse and validate in parallel when there are more than ~32 MB of "
                             "files (default: one per core)")


def _number_over(lowest: float, inclusive: bool):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value > lowest or (inclusive and value == lowest)):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number {'>=' if inclusive else '>'} {lowest:g}")
        return value
    return parse


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    """``--max-file-mb`` and ``--lock-timeout``: override $BENCHMARK_MAX_FILE_MB and $BENCHMARK_LOCK_TIMEOUT_S."""
    parser.add_argument("--max-file-mb", type=_number_over(0, inclusive=False), default=None, metavar="MB",
                        help="skip, unread, files larger than this many MB (2^20 bytes); reading takes about ten "
                             "times a file's size in memory (default: $BENCHMARK_MAX_FILE_MB or 256)")
    parser.add_argument("--lock-timeout", type=_number_over(0, inclusive=True), default=None, metavar="SECONDS",
                        help="how long to wait for another writer's lock before giving up with exit 2 (default: "
                             "$BENCHMARK_LOCK_TIMEOUT_S or 600)")


def add_llm_options(parser: argparse.ArgumentParser) -> None:
    """What an LLM-serving result file may not say; each fills only what the file lacks (a file's own value wins),
    before a ``<file>.meta.json`` sidecar with the same keys."""
    group = parser.add_argument_group(
        "LLM-serving results", "LLM benchmark files (vLLM, SGLang, GenAI-Perf, AIPerf, llmperf, optimum-benchmark, "
                               "MLPerf loadgen) are recognised by content in any folder (.json, .jsonl, .txt). These "
                               "fill only what a file does not say; then a <file>.meta.json beside it (same keys). A "
                               "result naming no hardware is quarantined until one is given. See docs/llm_serving.md.")
    group.add_argument("--gpu", metavar="NAME", help="GPU the runs used (e.g. 'NVIDIA H100 80GB'), or hosted:<provider> "
                                                     "for a provider's API")
    group.add_argument("--gpu-count", type=_worker_count, metavar="N", help="GPUs the runs used")
    group.add_argument("--framework", metavar="NAME[==VERSION]", help="inference server, e.g. vllm==0.6.3")
    group.add_argument("--quantization", metavar="Q", help="quantization scheme of the served model (awq, gptq, fp8, "
                                                           "q4_k_m, ...)")
    group.add_argument("--cost-per-hour", type=_number_over(0, inclusive=True), metavar="USD",
                       help="price of the whole configuration (all its GPUs) per hour")
    group.add_argument("--model", metavar="NAME", help="model the runs served (files of vLLM's latency and throughput "
                                                       "scripts name none)")


def llm_defaults(args: argparse.Namespace):
    """The LLM options as ``LlmDefaults``, or None when none was given; a bad value is a usage error."""
    from benchmark_pipeline.lib.llm.defaults import LlmDefaults

    given = {key: getattr(args, key, None) for key in ("model", "gpu", "gpu_count", "framework", "quantization",
                                                       "cost_per_hour")}
    if all(value is None for value in given.values()):
        return None
    try:
        return LlmDefaults.from_options(**given)
    except ValueError as exc:
        raise CliError(f"LLM options: {exc}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    ingest = subparsers.add_parser(
        "ingest", help="validate result files and load them into the warehouse",
        description="Validate result files (files or directories, any depth) and load them: *.json files, and the "
                    "*.json, *.jsonl and *.txt files of LLM-serving benchmark tools, recognised by content. Only regular "
                    "files are read, and only inside the given paths: a symbolic link that leads out of them is "
                    "skipped, never followed. A file is ledgered under its real path (absolute, links followed), "
                    "the same from any working directory. Files over --max-file-mb are skipped unread. "
                    "Exit codes: 0 = everything stored, unchanged or not a result; "
                    "1 = something was quarantined, or a file could not be read (skipped with the reason); "
                    "2 = usage, IO or lock error (nothing written).",
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument("--type", choices=CATEGORY_CHOICES, dest="category",
                        help="category of every file that is not an LLM tool's (default: from a performance/, "
                             "compatibility/ or integration/ directory in the path)")
    add_db_path_option(ingest)
    ingest.add_argument("--dry-run", "--no-db-store", action="store_true", dest="dry_run",
                        help="validate and report, write nothing")
    add_workers_option(ingest)
    add_limit_options(ingest)
    add_llm_options(ingest)
    ingest.set_defaults(func=run_ingest)

    convert = subparsers.add_parser(
        "convert", help="convert the original system's result files (shape detected from content) and load them",
        description="Detect each JSON file's shape from its content, convert results to records, then validate, "
                    "quarantine, ledger and load them exactly like `ingest`. Same exit codes as `ingest`.",
    )
    convert.add_argument("paths", nargs="+", metavar="DIR")
    add_db_path_option(convert)
    convert.add_argument("--dry-run", "--no-db-store", action="store_true", dest="dry_run",
                         help="convert and validate, write nothing")
    convert.add_argument("--summary", action="store_true", help="print per-shape counts instead of per-file lines")
    add_workers_option(convert)
    add_limit_options(convert)
    convert.set_defaults(func=run_ingest, category="legacy")

    ledger = subparsers.add_parser("ledger", help="list the ingestion ledger (one row per file version)",
                                   description="rows_written counts result rows (one per stored record); the "
                                               "batch results, power metrics and assertions of those records "
                                               "are not in it.")
    ledger.add_argument("--status", choices=LEDGER_STATUSES)
    add_list_format_option(ledger)
    add_db_path_option(ledger)
    ledger.set_defaults(func=run_ledger)

    schema = subparsers.add_parser(
        "schema", help="print the warehouse column dictionary with units",
        description="Every table: the fact, dimension and bookkeeping tables the migrations create, then the "
                    "derived tables every write keeps current (compatibility_matrix, hardware_comparison, ...; "
                    "present after the first ingest). Exit 2 for an unknown --table.",
    )
    schema.add_argument("--table", help="only this table")
    schema.set_defaults(func=run_schema)


def _progress_printer():
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total < 200:
            return
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
        sys.stderr.flush()

    return show


# How the shell sets the writer's wait; named when it waits and when it gives up.
LOCK_TIMEOUT_HINT = "--lock-timeout / BENCHMARK_LOCK_TIMEOUT_S"


def _say_waiting(holder: str | None, timeout_s: float) -> None:
    """The line an ingest prints when it starts waiting for another writer's lock."""
    print(f"benchmark-db: waiting for the writer lock held by {printable(holder or 'another process')} "
          f"(up to {timeout_s:g} s; {LOCK_TIMEOUT_HINT})", file=sys.stderr, flush=True)


def run_ingest(args: argparse.Namespace) -> int:
    import dataclasses

    import pandas as pd

    from benchmark_pipeline.config import Settings
    from benchmark_pipeline.lib.ingest.batch import TOO_LARGE, DiscoveryError, refused
    from benchmark_pipeline.lib.warehouse.load import SKIPPED
    from benchmark_pipeline.lib.warehouse.connection import (WarehouseBusyError, WarehouseDiskFullError,
                                                             WarehouseLockedError)
    from benchmark_pipeline.service import BenchmarkService

    try:
        settings = Settings.from_env(db_path=args.db_path)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    llm = llm_defaults(args)
    overrides = {"max_file_mb": args.max_file_mb, "lock_timeout_s": args.lock_timeout}
    settings = dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    service = BenchmarkService.from_settings(settings)
    db_path = service.db_path
    try:
        report = service.ingest_paths(args.paths, args.category, args.dry_run, progress=_progress_printer(),
                                      workers=args.workers, on_lock_wait=_say_waiting, llm=llm)
    except DiscoveryError as exc:
        raise CliError(printable(str(exc))) from exc
    except WarehouseDiskFullError as exc:
        raise CliError(str(exc)) from exc
    except WarehouseBusyError as exc:  # a dry run's reader: the message says what to do
        raise CliError(str(exc)) from exc
    except WarehouseLockedError as exc:
        raise CliError(f"{exc}; wait for it to finish, or wait longer with --lock-timeout SECONDS / "
                       "BENCHMARK_LOCK_TIMEOUT_S") from exc
    except OSError as exc:
        # Say which file failed: the warehouse's own (its directory, its lock) or any other.
        where = printable(str(exc.filename)) if exc.filename else db_path
        raise CliError(f"{where}: {exc.strerror or exc}") from exc
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    outcomes = report.result.outcomes
    unread = outcomes[outcomes["status"] == SKIPPED]
    skipped = list(report.skipped) + list(zip(unread["source_path"], unread["reason"]))
    for path, why in skipped:
        print(f"skipped {printable(path)}: {printable(why)}", file=sys.stderr)
    if any(why.startswith(TOO_LARGE) or why.startswith(f"cannot read: {TOO_LARGE}") for _, why in skipped):
        print(f"note: files over {settings.max_file_mb:g} MB are not read (about ten times a file's size in memory "
              "while it is read); raise --max-file-mb (or BENCHMARK_MAX_FILE_MB) to ingest them", file=sys.stderr)
    for row in report.result.quarantine.itertuples(index=False):
        where = "whole file" if pd.isna(row.record_index) else f"record {int(row.record_index)}"
        field = f", field {row.field!r}" if isinstance(row.field, str) else ""
        value = f" (value {_shown_value(row.value)})" if isinstance(row.value, str) else ""
        print(f"quarantined {printable(row.source_path)}: {where}{field}: {printable(row.reason)}{value}",
              file=sys.stderr)
    if getattr(args, "summary", False):
        print(shape_summary(report).to_csv(sep="\t", index=False), end="")
    else:
        for row in outcomes.itertuples(index=False):
            detail = row.reason if isinstance(row.reason, str) else ""
            print(f"{row.status}\t{row.rows_written}\t{printable(row.source_path)}\t{printable(detail)}")
    counts = outcomes["status"].value_counts().to_dict()
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    verb = "would write" if report.dry_run else "wrote"
    refreshed = f"; derived tables refreshed in {report.refresh.seconds:.1f} s" if report.refresh else ""
    print(f"{len(outcomes)} files ({summary or 'none'}); {verb} {int(outcomes['rows_written'].sum())} rows; "
          f"warehouse {db_path}" + (" (dry run: nothing written)" if report.dry_run else refreshed), file=sys.stderr)
    not_read = any(refused(why) for _, why in report.skipped) or not unread.empty
    return EXIT_PROBLEMS if report.has_quarantine or not_read else EXIT_OK


def _shown_value(value: str, limit: int = 120) -> str:
    """A quarantined value as a quoted Python literal (control characters escaped), cut short when long."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value)} characters)"


def shape_summary(report):
    """Per detected shape: files, rows written, failures, quarantined records and files by status."""
    import pandas as pd

    outcomes = report.result.outcomes
    failures = report.failures_by_path
    frame = outcomes.assign(
        failures=outcomes["source_path"].map(failures).fillna(0).astype(int),
        not_a_result=(outcomes["status"] == "not a result").astype(int),
        duplicate=(outcomes["status"] == "duplicate").astype(int),
        quarantined_files=(outcomes["status"] == "quarantined").astype(int),
    )
    summary = frame.groupby("detected_type", dropna=False).agg(
        files=("source_path", "size"), rows=("rows_written", "sum"), failures=("failures", "sum"),
        quarantined_records=("records_quarantined", "sum"), quarantined_files=("quarantined_files", "sum"),
        not_a_result=("not_a_result", "sum"), duplicate=("duplicate", "sum"),
    ).reset_index().rename(columns={"detected_type": "shape"})
    total = pd.DataFrame([{"shape": "TOTAL", **summary.drop(columns="shape").sum().to_dict()}])
    return pd.concat([summary, total], ignore_index=True)


def run_ledger(args: argparse.Namespace) -> int:
    from benchmark_pipeline.config import Settings
    from benchmark_pipeline.lib.warehouse.connection import WarehouseLockedError, WarehouseMissingError
    from benchmark_pipeline.service import BenchmarkService

    try:
        columns, rows = BenchmarkService.from_settings(Settings.from_env(db_path=args.db_path)).ledger(args.status)
    except (WarehouseMissingError, WarehouseLockedError) as exc:
        raise CliError(str(exc)) from exc
    sys.stdout.write(render_listing(columns, rows, args.list_format))
    print(f"{len(rows)} ledger rows", file=sys.stderr)
    return EXIT_OK


def run_schema(args: argparse.Namespace) -> int:
    import duckdb

    from benchmark_pipeline.lib.names import suggestion
    from benchmark_pipeline.lib.analytics.live_types import live_types
    from benchmark_pipeline.lib.warehouse.dictionary import DERIVED_TABLES, dictionary
    from benchmark_pipeline.lib.warehouse.schema import SCHEMA_VERSION, migrate

    columns = dictionary()
    if args.table and args.table not in columns:
        raise CliError(f"no table {args.table!r}; {suggestion(args.table, list(columns), 'benchmark-db schema')}")
    conn = duckdb.connect()
    migrate(conn)
    types = live_types(conn)
    tables = [args.table] if args.table else list(columns)
    print(f"# warehouse schema version {SCHEMA_VERSION}")
    for table in tables:
        derived = " (derived: recomputed by every write)" if table in DERIVED_TABLES else ""
        print(f"\n## {table}{derived}")
        print("column\ttype\tunit\tdescription")
        for column, (unit, description) in columns[table].items():
            print(f"{column}\t{types.get((table, column), '?')}\t{unit}\t{description}")
    return EXIT_OK
