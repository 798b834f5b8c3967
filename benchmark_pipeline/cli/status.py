"""``status``: where the warehouse is and what it holds, readable in ten seconds.

Read-only: the warehouse through the service's reader (never the writer lock). With ``--dagster-run`` it
also reads one run from the Dagster instance in ``$DAGSTER_HOME``: its outcome, failed steps and the
asset checks that failed. Dagster is imported only then, so the plain command stays quick.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import textwrap

from .main import EXIT_OK, CliError, add_db_path_option

WIDTH = 100
LABEL = 13


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "status", help="summary: warehouse path, rows per table, ledger, quarantine, regressions, outputs",
        description="Summarise the warehouse read-only: path and schema version, rows per table, files per ledger "
                    "status, open quarantine records, open regressions, the last ingest, and where reports and "
                    "snapshots are (the data folder: $BENCHMARK_DATA_DIR or ./data). Exit 2 when there is no "
                    "warehouse yet.",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--dagster-run", metavar="RUN",
        help="also report a run of the Dagster instance in $DAGSTER_HOME: its id, 'latest' (newest benchmark_job "
             "run) or KEY=VALUE (newest run with that tag): status, failed steps, failed asset checks",
    )
    add_db_path_option(parser)
    parser.set_defaults(func=run_status)


def run_status(args: argparse.Namespace) -> int:
    from benchmark_pipeline.config import Settings
    from benchmark_pipeline.lib.content.blockstore import BlockStore
    from benchmark_pipeline.lib.snapshots.store import SnapshotStore
    from benchmark_pipeline.lib.snapshots.summary import add_snapshot_summary
    from benchmark_pipeline.lib.warehouse.connection import WarehouseBusyError, WarehouseMissingError

    from benchmark_pipeline.service import BenchmarkService

    run = dagster_run_report(args.dagster_run) if args.dagster_run else None
    try:
        settings = Settings.from_env(db_path=args.db_path)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        status = BenchmarkService.from_settings(settings).status(settings.data_dir)
        add_snapshot_summary(status, SnapshotStore(settings.snapshots_dir, BlockStore(settings.blockstore_dir())))
    except (WarehouseMissingError, WarehouseBusyError) as exc:
        if run is not None:  # the run's outcome is still worth showing (a failed first run leaves no warehouse)
            print(json.dumps({"dagster_run": run}, indent=2) if args.format == "json" else "\n".join(run_lines(run)))
        raise CliError(str(exc)) from exc
    report = status.to_dict()
    report["next"] = next_commands(report, args.db_path)
    if run is not None:
        report["dagster_run"] = run
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(text_lines(report)))
    return EXIT_OK


# -- the Dagster run ------------------------------------------------------------------------------

def dagster_run_report(selector: str) -> dict:
    """One run of the instance in $DAGSTER_HOME: outcome, failed steps, asset checks (failed ones listed)."""
    if not os.environ.get("DAGSTER_HOME"):
        raise CliError("--dagster-run reads the Dagster instance in $DAGSTER_HOME, which is not set")
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        if selector == "latest":
            records = instance.get_run_records(filters=dg.RunsFilter(job_name="benchmark_job"), limit=1)
        elif "=" in selector:
            key, value = selector.split("=", 1)
            records = instance.get_run_records(filters=dg.RunsFilter(tags={key: value}), limit=1)
        else:
            record = instance.get_run_record_by_id(selector)
            records = [record] if record else []
        if not records:
            raise CliError(f"no Dagster run matches {selector!r} in {os.environ['DAGSTER_HOME']}")
        record = records[0]
        run = record.dagster_run
        events = instance.get_records_for_run(
            run.run_id,
            of_type={dg.DagsterEventType.ASSET_CHECK_EVALUATION, dg.DagsterEventType.STEP_FAILURE},
        ).records
    checks_total, failed_checks, failed_steps = 0, [], []
    for event in events:
        entry = event.event_log_entry
        evaluation = entry.asset_check_evaluation
        if evaluation is not None:
            checks_total += 1
            if not evaluation.passed:
                failed_checks.append({
                    "asset": evaluation.asset_key.to_user_string(),
                    "check": evaluation.check_name,
                    "severity": evaluation.severity.value,
                    "details": _plain_metadata(evaluation.metadata, dg.TextMetadataValue),
                })
        elif entry.dagster_event is not None and entry.dagster_event.step_key:
            error = getattr(entry.dagster_event.event_specific_data, "error", None)
            while error is not None and error.cause is not None:  # Dagster's wrapper -> the asset's own error
                error = error.cause
            message = (error.message if error is not None else entry.message).strip().splitlines()
            failed_steps.append({"step": entry.dagster_event.step_key, "error": message[0] if message else ""})
    seconds = (record.end_time - record.start_time) if record.start_time and record.end_time else None
    return {
        "run_id": run.run_id,
        "job": run.job_name,
        "status": run.status.value,
        "seconds": round(seconds, 1) if seconds is not None else None,
        "checks_evaluated": checks_total,
        "failed_checks": failed_checks,
        "failed_steps": failed_steps,
    }


def _plain_metadata(metadata, text_type: type) -> dict:
    """The numbers and short plain texts of a check result (markdown, SQL and JSON left out)."""
    plain = {}
    for key, entry in metadata.items():
        value = entry.value
        if isinstance(value, bool | int | float) or (isinstance(entry, text_type) and len(value) <= 80):
            plain[key] = value
    return plain


# -- rendering --------------------------------------------------------------------------------------

def _pairs(counts: dict[str, int]) -> list[str]:
    return [f"{name} {n:,}" for name, n in counts.items()]


def _items_row(label: str, items: list[str], lead: str = "") -> list[str]:
    """``items`` two spaces apart, wrapped between items only (a name stays with its count)."""
    lines: list[str] = []
    current, empty = f"{label:<{LABEL}}{lead}", True
    for item in items:
        if not empty and len(current) + 2 + len(item) > WIDTH:
            lines.append(current)
            current, empty = " " * LABEL, True
        current += item if empty else f"  {item}"
        empty = False
    return [*lines, current]


def _row(label: str, text: str, hang: int = 0, wrap: bool = True) -> list[str]:
    """``label`` in a column of its own, ``text`` wrapped beside it (continuation lines ``hang`` further in).

    Lines that start with a path are not wrapped: a path is easier to copy whole.
    """
    if not wrap:
        return [f"{label:<{LABEL}}{text}"]
    return textwrap.wrap(text, WIDTH, initial_indent=f"{label:<{LABEL}}", subsequent_indent=" " * (LABEL + hang),
                         break_on_hyphens=False, break_long_words=False) or [label]


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


def run_lines(run: dict) -> list[str]:
    took = f" in {run['seconds']:.0f} s" if run["seconds"] is not None else ""
    lines = _row("dagster run", f"{run['job']} {run['status']}{took} (run {run['run_id']})")
    for step in run["failed_steps"]:
        lines += _row("failed step", f"{step['step']}: {step['error']}", hang=4)
    failed = run["failed_checks"]
    if not failed:
        lines += _row("checks", f"{run['checks_evaluated']} evaluated, none failed")
        return lines
    lines += _row("checks", f"{run['checks_evaluated']} evaluated, {len(failed)} failed:")
    for check in failed:
        details = ", ".join(f"{k} {v}" for k, v in check["details"].items())
        lines += _row("", f"{check['check']} on {check['asset']} ({check['severity']})"
                          + (f": {details}" if details else ""), hang=4)
    return lines


def text_lines(report: dict) -> list[str]:
    lines = _row("warehouse", f"{report['warehouse']} (schema version {report['schema_version']}, "
                              f"{_size(report['size_bytes'])})", wrap=False)
    if report["last_ingest_at"]:
        lines += _row("last ingest", f"{report['last_ingest_at']} UTC, run {report['last_ingest_run']}")
    lines += _items_row("rows", _pairs(report["tables"])) if report["tables"] else _row("rows", "no tables")
    if report["derived"]:
        lines += _items_row("derived", _pairs(report["derived"]))
    ledger = report["ledger"]
    lines += (_items_row("files", _pairs(ledger), lead=f"{sum(ledger.values())} in the ledger: ") if ledger
              else _row("files", "none ledgered yet"))
    q = report["quarantine_open"]
    lines += _row("quarantine", f"{q} open record(s) from {report['quarantine_open_files']} file(s)" if q
                  else "no open records")
    if report["regressions_open"] is not None:
        lines += _row("regressions", f"{report['regressions_open']} open")
    reports = report["reports"]
    lines += _row("reports", f"{report['reports_dir']}/ ({len(reports)} file{'s' if len(reports) != 1 else ''}"
                             + (", open summary.html" if "summary.html" in reports else "") + ")"
                  if reports else f"none yet ({report['reports_dir']}/)", wrap=False)
    head = report["snapshot_head"] or ""
    lines += _row("snapshots", f"{report['snapshots_dir']}/ ({report['snapshots']}, latest {head[:12]}...; "
                               "benchmark-db snapshot list)" if report["snapshots"]
                  else f"none yet ({report['snapshots_dir']}/)", wrap=False)
    for note in report["notes"]:
        lines += _row("note", note)
    if "dagster_run" in report:
        lines += run_lines(report["dagster_run"])
    for i, command in enumerate(report["next"]):
        lines += _row("next" if i == 0 else "", command, wrap=False)
    return lines


def next_commands(report: dict, db_path: str | None) -> list[str]:
    """Up to three commands worth trying next, given what the warehouse holds."""
    suffix = f" --db-path {shlex.quote(db_path)}" if db_path else ""
    commands = []
    if report["regressions_open"]:
        commands.append(f"uv run benchmark-db regressions list --open{suffix}")
    if report["quarantine_open"]:
        commands.append(f"uv run benchmark-db quarantine list{suffix}")
    if report["top_model"]:
        commands.append(f"uv run benchmark-db compare --model {shlex.quote(report['top_model'])} "
                        f"--metric throughput{suffix}")
    commands.append("scripts/dagster dev -w workspace.yaml   # the same assets in the web UI")
    return commands[:3]

