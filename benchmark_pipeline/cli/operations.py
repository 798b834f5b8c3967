"""``retract`` and ``quarantine list|replay``: taking a file back out, and giving rejected records a second chance."""

from __future__ import annotations

import argparse
import sys

from .main import EXIT_OK, EXIT_QUARANTINED, CliError, add_db_path_option


def register(subparsers: argparse._SubParsersAction) -> None:
    retract = subparsers.add_parser(
        "retract", help="remove a file's rows from the warehouse (the ledger keeps its history)",
        description="Delete the facts of each file's active version; its ledger row becomes 'retracted' and its "
                    "history says what it was. Ingesting the same file again brings it back. Exit 2 if a path "
                    "has no active ledger version (nothing is changed then).",
    )
    retract.add_argument("paths", nargs="+", metavar="PATH", help="path as ledgered (relative or absolute)")
    retract.add_argument("--reason", help="why, recorded in the ledger")
    add_db_path_option(retract)
    retract.set_defaults(func=run_retract)

    quarantine = subparsers.add_parser("quarantine", help="list or replay quarantined records")
    actions = quarantine.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="quarantine rows (default: open ones)")
    listing.add_argument("--file", help="only this source file")
    listing.add_argument("--status", default="open", help="open (default), replayed, superseded, retracted, or all")
    add_db_path_option(listing)
    listing.set_defaults(func=run_quarantine_list)
    replay = actions.add_parser(
        "replay", help="re-validate open quarantined records with the current code; land those that pass",
        description="Exit 0 when every replayed record landed, 1 when some still fail (listed on stderr).",
    )
    replay.add_argument("--file", help="only this source file")
    add_db_path_option(replay)
    replay.set_defaults(func=run_quarantine_replay)


def run_retract(args: argparse.Namespace) -> int:
    from benchmark_pipeline.config import resolve_db_path
    from benchmark_pipeline.lib.warehouse.connection import WarehouseLockedError
    from benchmark_pipeline.lib.warehouse.retract import NotInLedgerError, retract_paths

    db_path = resolve_db_path(args.db_path)
    if not db_path.exists():
        raise CliError(f"{db_path}: no warehouse here yet")
    try:
        done = retract_paths(db_path, args.paths, args.reason)
    except (NotInLedgerError, WarehouseLockedError) as exc:
        raise CliError(str(exc)) from exc
    for r in done:
        print(f"retracted\t{r.rows_deleted}\t{r.source_path}\twas {r.previous_status}")
        for dup in r.duplicates:
            print(f"note: {dup} is ledgered as a duplicate of {r.source_path} and has no rows of its own; "
                  "ingest it under its own path to keep that content", file=sys.stderr)
    print(f"{len(done)} files retracted, {sum(r.rows_deleted for r in done)} rows deleted; warehouse {db_path}",
          file=sys.stderr)
    return EXIT_OK


def run_quarantine_list(args: argparse.Namespace) -> int:
    from benchmark_pipeline.config import resolve_db_path
    from benchmark_pipeline.lib.ingest.replay import list_quarantine
    from benchmark_pipeline.lib.warehouse.connection import WarehouseLockedError, WarehouseMissingError, open_reader

    db_path = resolve_db_path(args.db_path)
    try:
        with open_reader(db_path) as conn:
            rows = list_quarantine(conn, args.file, None if args.status == "all" else args.status)
    except (WarehouseMissingError, WarehouseLockedError) as exc:
        raise CliError(str(exc)) from exc
    print("quarantine_id\tstatus\tsource_path\tcategory\trecord_index\tfield\tvalue\treason")
    for row in rows.itertuples(index=False):
        print("\t".join("" if v is None or v != v else str(int(v)) if isinstance(v, float) else str(v) for v in row))
    print(f"{len(rows)} quarantine rows", file=sys.stderr)
    return EXIT_OK


def run_quarantine_replay(args: argparse.Namespace) -> int:
    from benchmark_pipeline.config import resolve_db_path
    from benchmark_pipeline.lib.ingest.replay import replay
    from benchmark_pipeline.lib.warehouse.connection import WarehouseLockedError, open_writer

    db_path = resolve_db_path(args.db_path)
    if not db_path.exists():
        raise CliError(f"{db_path}: no warehouse here yet")
    try:
        with open_writer(db_path) as conn:
            result = replay(conn, args.file)
    except WarehouseLockedError as exc:
        raise CliError(str(exc)) from exc
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
    return EXIT_QUARANTINED if result.records_landed < result.records_replayed else EXIT_OK
