"""``benchmark-db maintenance validate | optimize | clean-json | backup | drill``: what the original promised.

Every sub-command goes through the service (``BenchmarkService``): validate and the drill read, optimize
and clean-json ``--apply`` hold the writer lock, backup takes a verified snapshot before it prunes. Exit
codes as for every command: 0 ok; 1 the command worked and found problems (validate: anything wrong;
drill: a restored copy that does not validate or a goal missed; backup: a snapshot that does not verify;
clean-json: a file that could not be removed); 2 usage, IO or lock error.
"""

from __future__ import annotations

import argparse
import json
import sys

from .main import EXIT_OK, EXIT_PROBLEMS, CliError, add_db_path_option, open_service
from .output import printable

# Spelled out here (not imported from the library) so that `benchmark-db --help` imports nothing heavy;
# a test checks they are the library's defaults.
DEFAULT_KEEP = {"last": 1, "hourly": 24, "daily": 30, "weekly": 0, "monthly": 0}
RTO_GOAL_HOURS = 4.0
RPO_GOAL_HOURS = 1.0


def _format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text (default: one line per check or file) or json")


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of days >= 0, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return value


def _hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of hours, got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    from .snapshot_history import _add_store_options

    parser = subparsers.add_parser(
        "maintenance", help="validate, optimize, clean-json, backup (with retention), restore drill",
        description="The maintenance the original system promised, done so that it cannot lose data: checks "
                    "that name what is wrong, an optimize that says what it freed, a JSON clean-up that only "
                    "touches files the ledger proves ingested, backups with a retention policy and a restore "
                    "drill that measures RTO and RPO.",
        epilog="exit codes: 0 ok; 1 the command worked and found problems; 2 usage, IO or lock error",
    )
    commands = parser.add_subparsers(dest="maintenance_command", metavar="SUBCOMMAND", required=True)

    p = commands.add_parser(
        "validate", help="check schema, invariants, orphans, ledger against facts, snapshot chain",
        description="One line per check: schema (version and documented tables and columns), invariants (unique "
                    "and foreign keys), orphans (child rows without their parent, ledger rows claiming rows that "
                    "are not there, facts of a file version without an active ledger row), ledger (rows_written "
                    "and test-run record counts against the rows stored) and snapshots (every manifest and every "
                    "block of the history re-hashed). Read-only. Exit 1 if anything is wrong, 0 if not.")
    add_db_path_option(p)
    _add_store_options(p)
    p.add_argument("--skip-snapshots", action="store_true", help="leave out the snapshot chain (it reads every block)")
    _format_option(p)
    p.set_defaults(func=run_validate)

    p = commands.add_parser(
        "optimize", help="ANALYZE and CHECKPOINT under the writer lock (--compact: rewrite the file); size before/after",
        description="Under the writer lock: ANALYZE (statistics for join orders) and FORCE CHECKPOINT (the "
                    "write-ahead log into the file, deleted rows vacuumed). DuckDB's VACUUM is a no-op, so it is "
                    "not run. --compact then rewrites the file with COPY FROM DATABASE, checks the copy (rows per "
                    "table, sequences, macros, constraints) and swaps it in: the only way DuckDB gives space "
                    "back to the disk. Needs free space for a copy.")
    add_db_path_option(p)
    p.add_argument("--compact", action="store_true", help="also rewrite the file compactly (needs room for a copy)")
    _format_option(p)
    p.set_defaults(func=run_optimize)

    p = commands.add_parser(
        "clean-json", help="remove or archive result files the ledger proves ingested (dry run by default)",
        description="Lists the *.json files under PATH and removes (or, with --archive, moves) only those whose "
                    "current bytes are an active ledger version with status ingested whose rows the warehouse "
                    "still holds (or a duplicate of such a version), modified more than --older-than days ago. "
                    "Every other file is kept, with why: never ingested, changed since ingest, quarantined, "
                    "partial (records still in quarantine), not a result, no longer in the warehouse "
                    "(superseded or retracted), rows missing, too new, or a link. Dry run unless --apply; "
                    "--apply holds the writer lock and checks each file and the ledger again just before it "
                    "is touched.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="result files or folders (e.g. data/incoming)")
    p.add_argument("--older-than", type=_days, required=True, metavar="DAYS",
                   help="only files last modified more than DAYS days ago")
    p.add_argument("--archive", metavar="DIR", help="move the files into DIR (keeping their path under PATH) "
                                                    "instead of removing them")
    p.add_argument("--apply", action="store_true", help="do it (default: say what would be done)")
    add_db_path_option(p)
    _format_option(p)
    p.set_defaults(func=run_clean_json)

    p = commands.add_parser(
        "backup", help="take a verified snapshot, then prune snapshots the retention policy does not keep",
        description="A snapshot of the warehouse (every block verified before it counts as taken; published when "
                    "$IPFS_API_URL is set), then retention: the newest --keep-last, and the newest snapshot of "
                    "each of the --keep-hourly / --keep-daily / --keep-weekly / --keep-monthly most recent "
                    "hours, days, ISO weeks and months (UTC) that have one. The rest lose their data blocks "
                    "(manifests stay in the history). Nothing is pruned unless the new snapshot was taken. "
                    "The Dagster schedule `backup_every_30_minutes` runs the same.")
    add_db_path_option(p)
    _add_store_options(p)
    for period, default in DEFAULT_KEEP.items():
        p.add_argument(f"--keep-{period}", type=_count, default=default, metavar="N",
                       help=f"default {default}" + (" (at least 1)" if period == "last" else ""))
    p.add_argument("--dry-run", action="store_true", help="take nothing, prune nothing: what the policy keeps now")
    _format_option(p)
    p.set_defaults(func=run_backup)

    p = commands.add_parser(
        "drill", help="restore the newest snapshot into a temporary file, validate it, measure RTO and RPO",
        description="Restores a snapshot (default HEAD) into a temporary file (the live warehouse is only read), "
                    "runs the warehouse checks of `validate` on it, and reports RTO (restore plus validation) and "
                    "RPO: 0 when the live ledger holds nothing newer than the snapshot (restoring it loses "
                    "nothing), else the snapshot's age (everything written since it was taken is at stake), "
                    f"against the goals (default RTO < {RTO_GOAL_HOURS:g} h, RPO < {RPO_GOAL_HOURS:g} h). Also "
                    "shown: the age of the newest data in the snapshot and in the live warehouse. Exit 1 if the "
                    "copy does not validate or a goal is missed.")
    add_db_path_option(p)
    _add_store_options(p)
    p.add_argument("--snapshot", default="HEAD", metavar="CID", help="the snapshot to restore (default HEAD)")
    p.add_argument("--workdir", metavar="DIR", help="where the temporary copy goes (default: the system's temp folder)")
    p.add_argument("--rto-goal-hours", type=_hours, default=RTO_GOAL_HOURS, metavar="H")
    p.add_argument("--rpo-goal-hours", type=_hours, default=RPO_GOAL_HOURS, metavar="H")
    _format_option(p)
    p.set_defaults(func=run_drill)


def _snapshot_store(args: argparse.Namespace):
    from .snapshot_history import _store

    return _store(args)


def _print_json(data: dict) -> None:
    print(json.dumps(data, indent=2, default=str))


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB ({n:,} bytes)"


# --- validate -----------------------------------------------------------------------------------------


def run_validate(args: argparse.Namespace) -> int:
    service = open_service(args)
    store = None if args.skip_snapshots else _snapshot_store(args)
    report = service.validate(store)
    if args.format == "json":
        _print_json(report.to_dict())
    else:
        for line in report.lines():
            print(printable(line))
        verdict = "ok" if report.ok else f"{report.problems} problem(s)"
        print(f"{report.target}: {verdict} ({report.seconds:.1f} s)", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_PROBLEMS


# --- optimize -----------------------------------------------------------------------------------------


def run_optimize(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.warehouse.maintenance import CompactionError

    service = open_service(args)
    try:
        report = service.optimize(compact=args.compact)
    except CompactionError as exc:
        print(f"benchmark-db: error: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    if args.format == "json":
        _print_json(report.to_dict())
        return EXIT_OK
    print(f"warehouse   {report.warehouse}")
    print(f"ran         {'; '.join(report.statements)}")
    print(f"before      {_size(report.bytes_before)}")
    if report.compacted:
        print(f"checkpoint  {_size(report.bytes_after_checkpoint)}")
    print(f"after       {_size(report.bytes_after)}")
    print(f"freed       {_size(report.bytes_freed)} in {report.seconds:.1f} s")
    for note in report.notes:
        print(f"benchmark-db: note: {note}", file=sys.stderr)
    return EXIT_OK


# --- clean-json ---------------------------------------------------------------------------------------


def run_clean_json(args: argparse.Namespace) -> int:
    service = open_service(args)
    try:
        report = service.clean_json(args.paths, args.older_than, archive=args.archive, apply=args.apply)
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from None
    if args.format == "json":
        _print_json(report.to_dict())
    else:
        done = {d.file.path for d, _ in report.done}
        labels = {"remove": "removed" if args.apply else "would remove",
                  "archive": "archived" if args.apply else "would archive", "keep": "keep"}
        for d in report.decisions:
            label = labels[d.action] if d.action == "keep" or not args.apply or d.file.path in done else "failed"
            why = d.detail if d.action != "keep" else f"{d.why}: {d.detail}"
            print(f"{label}\t{printable(d.file.path)}\t{printable(why)}")
        for path, why in report.failed:
            print(printable(f"benchmark-db: error: {path}: {why}"), file=sys.stderr)
        print(report.summary(), file=sys.stderr)
    return EXIT_PROBLEMS if report.failed else EXIT_OK


# --- backup -------------------------------------------------------------------------------------------


def run_backup(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.content.errors import ContentError
    from benchmark_pipeline.lib.snapshots.errors import NodeError
    from benchmark_pipeline.lib.snapshots.retention import RetentionPolicy
    from benchmark_pipeline.lib.warehouse.connection import WarehouseLockedError

    from .snapshot_history import _node, _node_failure, _settings

    try:
        policy = RetentionPolicy(**{f"keep_{period}": getattr(args, f"keep_{period}") for period in DEFAULT_KEEP})
    except ValueError as exc:
        raise CliError(str(exc).replace("keep_", "--keep-")) from None
    store = _snapshot_store(args)
    service = open_service(args, must_exist=False)
    if not args.dry_run and not service.db_path.is_file():
        raise CliError(f"{service.db_path}: no warehouse here to back up (run an ingest first, or give --db-path)")
    try:
        report = service.backup(store, policy, node=None if args.dry_run else _node(),
                                required=_settings().ipfs_required, dry_run=args.dry_run)
    except ContentError as exc:
        print(f"benchmark-db: error: backup not taken, nothing pruned: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except NodeError as exc:
        return _node_failure(exc)
    except (OSError, WarehouseLockedError) as exc:
        raise CliError(str(exc)) from None
    if args.format == "json":
        _print_json(report.to_dict())
        return EXIT_OK
    retention = report.retention
    if report.snapshot is not None:
        m = report.snapshot.manifest
        state = "taken and verified" if report.snapshot.created else "unchanged since this snapshot, nothing stored"
        print(f"snapshot\t{m.cid}\t{m.created_at}\t{state}")
        for note in report.snapshot.notes:
            print(f"benchmark-db: note: {note}", file=sys.stderr)
    if report.warning:
        print(f"benchmark-db: warning: {report.warning}", file=sys.stderr)
    for manifest, why in retention.kept:
        print(f"keep\t{manifest.cid}\t{manifest.created_at}\t{', '.join(why)}")
    verb = "would prune" if retention.dry_run else "pruned"
    for manifest in retention.pruned:
        print(f"{verb}\t{manifest.cid}\t{manifest.created_at}\tnot kept by the policy")
    for note in retention.notes:
        print(f"benchmark-db: note: {note}", file=sys.stderr)
    freed = "" if retention.dry_run else f" ({retention.blocks_removed} blocks, {retention.bytes_removed:,} bytes freed)"
    print(f"{retention.policy.describe()}: {len(retention.kept)} kept, {len(retention.pruned)} {verb}{freed}"
          + ("; dry run, nothing changed" if retention.dry_run else ""), file=sys.stderr)
    return EXIT_OK


# --- drill --------------------------------------------------------------------------------------------


def run_drill(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.content.errors import ContentError
    from benchmark_pipeline.lib.warehouse.connection import WarehouseLockedError

    from .snapshot_history import _node, _resolve

    store = _snapshot_store(args)
    service = open_service(args, must_exist=False)
    if store.head() is None:
        raise CliError(f"no snapshots in {store.root}: nothing to restore (take one with `benchmark-db "
                       "maintenance backup`)")
    try:
        manifest = _resolve(store, args.snapshot)  # an unknown CID is a usage error (exit 2)
    except ContentError as exc:
        print(f"benchmark-db: error: the drill failed: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    try:
        report = service.restore_drill(store, str(manifest.cid), workdir=args.workdir, node=_node(),
                                       rto_goal_s=args.rto_goal_hours * 3600, rpo_goal_s=args.rpo_goal_hours * 3600)
    except ContentError as exc:
        print(f"benchmark-db: error: the drill failed, snapshot {manifest.cid} does not restore: {exc}",
              file=sys.stderr)
        return EXIT_PROBLEMS
    except (OSError, WarehouseLockedError) as exc:
        raise CliError(str(exc)) from None
    if args.format == "json":
        _print_json(report.to_dict())
    else:
        for line in report.lines():
            print(printable(line))
        for note in report.notes:
            print(f"benchmark-db: note: {note}", file=sys.stderr)
        print("drill passed" if report.ok else "drill FAILED: see the lines above", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_PROBLEMS
