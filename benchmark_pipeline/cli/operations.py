"""``retract`` and ``quarantine list|replay``: taking a file back out, and giving rejected records a second chance."""

from __future__ import annotations

import argparse
import sys

from benchmark_pipeline.lib import vocabulary

from .main import EXIT_OK, EXIT_PROBLEMS, add_db_path_option, open_service
from .output import add_list_format_option, render_listing

QUARANTINE_STATUSES = (*vocabulary.QUARANTINE_STATUSES, "all")
QUARANTINE_COLUMNS = ["quarantine_id", "status", "source_path", "category", "record_index", "field", "value", "reason"]


def register(subparsers: argparse._SubParsersAction) -> None:
    retract = subparsers.add_parser(
        "retract", help="remove a file's rows from the warehouse (the ledger keeps its history)",
        description="Delete the facts of each file's active version; its ledger row becomes 'retracted' and its "
                    "history says what it was. Ingesting the same file again brings it back. Prints per file the "
                    "result rows deleted (what the ledger's rows_written counted) and the child rows that went "
                    "with them (batch results, power metrics, assertions). Exit 2 if a path has no active "
                    "ledger version (nothing is changed then; the closest ledgered paths are named).",
    )
    retract.add_argument("paths", nargs="+", metavar="PATH", help="path as ledgered (relative or absolute)")
    retract.add_argument("--reason", help="why, recorded in the ledger")
    add_db_path_option(retract)
    retract.set_defaults(func=run_retract)

    refresh = subparsers.add_parser(
        "refresh", help="recompute every derived table from the facts (ingest, retract and replay keep them current)",
        description="Rebuild compatibility_matrix, hardware_comparison, model_comparison, daily_model_stats and "
                    "hardware_recommendations whole, in one transaction. Every write already recomputes what it "
                    "touched; this is for a warehouse changed by other means, or to check. Regression flags: "
                    "`benchmark-db regressions update`.",
    )
    add_db_path_option(refresh)
    refresh.set_defaults(func=run_refresh)

    quarantine = subparsers.add_parser("quarantine", help="list or replay quarantined records")
    actions = quarantine.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", help="quarantine rows (default: open ones)",
        description="One row per quarantined record and field; a whole-file problem (empty, truncated, not JSON, "
                    "not UTF-8) has an empty record_index. Exit 2 when --file names a file the ledger never saw.",
    )
    listing.add_argument("--file", help="only this source file")
    listing.add_argument("--status", default="open", choices=QUARANTINE_STATUSES,
                         help="open (default), replayed, superseded, retracted, or all")
    add_list_format_option(listing)
    add_db_path_option(listing)
    listing.set_defaults(func=run_quarantine_list)
    replay = actions.add_parser(
        "replay", help="re-validate open quarantined records with the current code; land those that pass",
        description="Exit 0 when every replayed record landed, 1 when some still fail (listed on stderr), "
                    "2 when --file names a file the ledger never saw.",
    )
    replay.add_argument("--file", help="only this source file")
    add_db_path_option(replay)
    replay.set_defaults(func=run_quarantine_replay)


def run_retract(args: argparse.Namespace) -> int:
    service = open_service(args)
    db_path = service.db_path
    done = service.retract(args.paths, args.reason)
    print("status\tresult_rows\tchild_rows\tsource_path\tprevious_status")
    for r in done:
        print(f"retracted\t{r.result_rows}\t{r.child_rows}\t{r.source_path}\t{r.previous_status}")
        for dup in r.duplicates:
            print(f"note: {dup} is ledgered as a duplicate of {r.source_path} and has no rows of its own; "
                  "ingest it under its own path to keep that content", file=sys.stderr)
    results = sum(r.result_rows for r in done)
    children = sum(r.child_rows for r in done)
    runs = sum(r.run_rows for r in done)
    print(f"{len(done)} file{'s' if len(done) != 1 else ''} retracted: {results} result rows deleted, as counted in "
          f"the ledger's rows_written (+{children} child rows: batch results, power metrics, assertions; "
          f"+{runs} test run{'s' if runs != 1 else ''}); warehouse {db_path}", file=sys.stderr)
    return EXIT_OK


def run_refresh(args: argparse.Namespace) -> int:
    service = open_service(args)
    report = service.refresh()
    print(f"rebuilt {', '.join(report.rebuilt)}; warehouse {service.db_path}", file=sys.stderr)
    return EXIT_OK


def run_quarantine_list(args: argparse.Namespace) -> int:
    rows = open_service(args).quarantine(args.file, None if args.status == "all" else args.status)
    records = list(rows[QUARANTINE_COLUMNS].itertuples(index=False, name=None))
    sys.stdout.write(render_listing(QUARANTINE_COLUMNS, records, args.list_format))
    whole = int(rows["record_index"].isna().sum())
    print(f"{len(rows)} quarantine rows ({whole} whole-file problem{'s' if whole != 1 else ''})", file=sys.stderr)
    return EXIT_OK


def run_quarantine_replay(args: argparse.Namespace) -> int:
    service = open_service(args)
    db_path = service.db_path
    result = service.replay(args.file)
    for row in result.still_failing.itertuples(index=False):
        field = f", field {row.field!r}" if isinstance(row.field, str) else ""
        print(f"still quarantined {row.source_path}: record {int(row.record_index)}{field}: {row.reason}",
              file=sys.stderr)
    print("status\tlanded\tstill_quarantined\tsource_path")
    for row in result.per_file.itertuples(index=False):
        print(f"{row.status}\t{row.landed}\t{row.still_quarantined}\t{row.source_path}")
    print(f"{result.records_replayed} records re-validated, {result.records_landed} landed (run {result.run_id}); "
          f"{result.file_level_skipped} whole-file problems need the fixed file re-ingested; warehouse {db_path}",
          file=sys.stderr)
    return EXIT_PROBLEMS if result.records_landed < result.records_replayed else EXIT_OK
