"""``benchmark-db regressions``: change points and outliers in benchmark series.

``detect`` works on a raw series file and needs no warehouse; ``update``, ``list``, ``ack`` and
``check`` work on the warehouse's regression_flags. NumPy/SciPy/DuckDB load only inside handlers,
so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

from benchmark_pipeline.cli.main import EXIT_OK, EXIT_PROBLEMS, CliError, add_db_path_option, open_service

EXIT_OPEN_REGRESSIONS = EXIT_PROBLEMS
MODES = ("robust", "otava")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "regressions",
        help="find regressions (change points) and outliers in benchmark series",
        description="Change-point detection equal to Apache Otava 0.8.0, plus a robust mode.",
    )
    commands = parser.add_subparsers(dest="regressions_command", metavar="SUBCOMMAND", required=True)
    _register_detect(commands)
    _register_warehouse_commands(commands)


def _register_detect(commands: argparse._SubParsersAction) -> None:
    detect = commands.add_parser(
        "detect",
        help="change points and outliers of one raw series (CSV or JSON)",
        description=(
            "Analyse one series from a CSV (one column per metric, Otava's layout; '#' lines and the "
            "header skipped; empty cells forward-filled) or a JSON list. Indexes are 0-based over data "
            "rows; a change point is the first index of the new regime."
        ),
    )
    detect.add_argument("--input", required=True, metavar="FILE", help="CSV or JSON file")
    detect.add_argument("--column", metavar="NAME", help="metric column (required when several are numeric)")
    detect.add_argument("--mode", choices=MODES, default="robust",
                        help="otava: exactly Otava 0.8.0; robust (default): GESD outliers left out, "
                             "changes must persist")
    detect.add_argument("--window", type=int, default=None, metavar="N", help="window length (default 50)")
    detect.add_argument("--max-pvalue", type=float, default=None, metavar="P",
                        help="significance (default 0.001 in otava mode, 0.0001 in robust mode)")
    detect.add_argument("--min-magnitude", type=float, default=None, metavar="M",
                        help="minimum relative change, e.g. 0.05 for 5%% (default 0)")
    detect.add_argument("--min-run", type=int, default=None, metavar="K",
                        help="robust mode: runs the new level must hold (default 2)")
    detect.add_argument("--direction", choices=("auto", "higher-is-better", "lower-is-better"), default="auto",
                        help="which way is a regression; auto reads the column name (latency/memory/power: "
                             "up is worse; throughput/efficiency: down is worse; unknown: down is worse, as Otava)")
    detect.add_argument("--format", choices=("json", "table"), default="json")
    detect.set_defaults(func=run_detect)


def _params(args: argparse.Namespace) -> dict:
    from benchmark_pipeline.lib.changepoint import otava, robust

    window = otava.DEFAULT_WINDOW_LEN if args.window is None else args.window
    pvalue = robust.default_max_pvalue(args.mode) if args.max_pvalue is None else args.max_pvalue
    magnitude = otava.DEFAULT_MIN_MAGNITUDE if args.min_magnitude is None else args.min_magnitude
    if window < 2:
        raise CliError("--window must be at least 2")
    if not 0.0 < pvalue <= 1.0:
        raise CliError("--max-pvalue must be in (0, 1]")
    if magnitude < 0 or not math.isfinite(magnitude):
        raise CliError("--min-magnitude must be >= 0")
    params = {"mode": args.mode, "window_len": window, "max_pvalue": pvalue, "min_magnitude": magnitude}
    if args.mode == "robust":
        min_run = robust.DEFAULT_MIN_RUN if args.min_run is None else args.min_run
        if min_run < 1:
            raise CliError("--min-run must be at least 1")
        params.update(
            min_run=min_run,
            max_outliers=robust.DEFAULT_MAX_OUTLIERS,
            outlier_alpha=robust.DEFAULT_OUTLIER_ALPHA,
            outlier_basis=robust.DEFAULT_OUTLIER_BASIS,
            residual_width=robust.DEFAULT_RESIDUAL_WIDTH,
        )
    elif args.min_run is not None:
        raise CliError("--min-run only applies to --mode robust")
    return params


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def run_detect(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.changepoint.direction import higher_is_better, kind_for
    from benchmark_pipeline.lib.changepoint.robust import detect
    from benchmark_pipeline.lib.changepoint.series_io import SeriesInputError, read_series

    params = _params(args)
    try:
        series = read_series(args.input, args.column)
    except SeriesInputError as exc:
        raise CliError(str(exc)) from exc
    name = series.name or ""
    if args.direction == "auto":
        better_up = higher_is_better(name)
        better_up = True if better_up is None else better_up
    else:
        better_up = args.direction == "higher-is-better"
    options = {k: v for k, v in params.items() if k != "mode"}
    found = detect(series.values, mode=params["mode"], **options)
    print(
        f"benchmark-db: {len(series.values)} points of {name or 'the series'} ({series.filled} empty cells filled), "
        f"{len(found.change_points)} change point(s), {len(found.outliers)} outlier(s)",
        file=sys.stderr,
    )
    details = [
        {
            "index": cp.index,
            "pvalue": _finite(cp.stats.pvalue),
            "mean_before": _finite(cp.stats.mean_before),
            "mean_after": _finite(cp.stats.mean_after),
            "pct_change": _finite(cp.stats.pct_change),
            "direction": kind_for(cp.stats.rel_change, better_up),
        }
        for cp in found.change_points
    ]
    report = {
        "change_points": found.change_indexes,
        "outliers": list(found.outliers),
        "details": details,
        "params": {**params, "column": series.name, "n_points": len(series.values), "higher_is_better": better_up},
    }
    if args.format == "json":
        print(json.dumps(report, allow_nan=False))
    else:
        _print_table(report)
    return EXIT_OK


def _print_table(report: dict) -> None:
    params = report["params"]
    print(f"{params['n_points']} points, mode {params['mode']}, window {params['window_len']}, "
          f"max p-value {params['max_pvalue']:g}, min magnitude {params['min_magnitude']:g}")
    if not report["details"]:
        print("no change points")
    else:
        header = ("index", "direction", "change %", "mean before", "mean after", "p-value")
        rows = [
            (str(d["index"]), d["direction"], f"{d['pct_change']:+.2f}", f"{d['mean_before']:.6g}",
             f"{d['mean_after']:.6g}", f"{d['pvalue']:.3g}")
            for d in report["details"]
        ]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
        for row in rows:
            print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    if params["mode"] == "robust":
        print("outliers: " + (", ".join(map(str, report["outliers"])) or "none"))


# --- warehouse sub-commands: flags written by the regression_flags asset (or `update`) -------------


def _register_warehouse_commands(commands: argparse._SubParsersAction) -> None:
    update = commands.add_parser(
        "update",
        help="re-detect the warehouse series whose results changed (what the regression_flags asset runs)",
        description="Robust-mode detection over every performance and LLM-serving series; unchanged series are "
                    "skipped.",
    )
    add_db_path_option(update)
    update.add_argument("--include-simulated", action="store_true", help="also analyse simulated results")
    update.add_argument("--workers", type=int, default=1, metavar="N", help="processes for detection")
    update.set_defaults(func=run_update)

    listing = commands.add_parser(
        "list",
        help="regression, improvement and outlier flags with their status",
        description="Flags newest first. A regression is open while it is the latest change of its series, "
                    "not recovered and not acknowledged or muted.",
    )
    add_db_path_option(listing)
    listing.add_argument("--model", metavar="M", help="model name")
    listing.add_argument("--hardware", metavar="H",
                         help="hardware type (cuda, cpu ...), device name, fingerprint or hardware id")
    listing.add_argument("--since", metavar="DATE", help="first bad run on or after DATE (ISO date or time, UTC)")
    listing.add_argument("--kind", choices=("regression", "improvement", "outlier"), help="only this kind")
    listing.add_argument("--open", action="store_true", help="only open regressions (suspected ones included)")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.set_defaults(func=run_list)

    ack = commands.add_parser(
        "ack",
        help="acknowledge a flag (or mute its series), with who and when",
        description="Acknowledging closes one flag; --mute closes every flag of its series, later ones too.",
    )
    add_db_path_option(ack)
    ack.add_argument("flag_id", metavar="ID", help="flag id, or a unique prefix of it (see `regressions list`)")
    ack.add_argument("--note", required=True, metavar="TEXT", help="why (kept with the ack)")
    ack.add_argument("--mute", action="store_true", help="mute the whole series instead of this flag")
    ack.add_argument("--by", metavar="NAME", help="who acknowledges (default: $USER)")
    ack.set_defaults(func=run_ack)

    check = commands.add_parser(
        "check",
        help="CI gate: exit 1 while open regressions exist",
        description="Prints the open regressions on stdout; exit 1 when there are any, 0 otherwise, "
                    "2 when the warehouse has no detection results to judge.",
    )
    add_db_path_option(check)
    check.add_argument("--since", metavar="DATE", help="only regressions whose first bad run is on or after DATE")
    check.add_argument("--fail-on", choices=("regression",), default="regression",
                       help="what fails the gate (only open regressions, for now)")
    check.add_argument("--confirmed-only", action="store_true",
                       help="gate only on confirmed regressions (a suspected last run waits for the next run)")
    check.set_defaults(func=run_check)

    threshold = commands.add_parser(
        "threshold",
        help="how large a change must be, per metric or per series (set, list, remove)",
        description="A threshold replaces robust mode's noise floors (changes 3 x noise, outliers 5 x noise) for "
                    "a metric's series or one series, and the noise band of `compare --run`. Kinds: relative "
                    "(0.05 = 5 %%), absolute (metric unit) or noise (multiple of the series' noise). The next "
                    "`regressions update` re-analyses the series it covers.",
    )
    actions = threshold.add_subparsers(dest="threshold_command", metavar="ACTION", required=True)
    tset = actions.add_parser("set", help="set or replace a threshold")
    add_db_path_option(tset)
    _scope_options(tset)
    tset.add_argument("--relative", type=float, metavar="F", help="fraction of the level, e.g. 0.05")
    tset.add_argument("--absolute", type=float, metavar="X", help="in the metric's unit")
    tset.add_argument("--noise", type=float, metavar="K", help="multiple of the series' noise")
    tset.add_argument("--note", metavar="TEXT", help="why")
    tset.add_argument("--by", metavar="NAME", help="who (default: $USER)")
    tset.set_defaults(func=run_threshold_set)
    tlist = actions.add_parser("list", help="thresholds in force")
    add_db_path_option(tlist)
    tlist.add_argument("--metric", metavar="M")
    tlist.add_argument("--format", choices=("table", "json"), default="table")
    tlist.set_defaults(func=run_threshold_list)
    tremove = actions.add_parser("remove", help="remove a threshold (defaults apply again)")
    add_db_path_option(tremove)
    _scope_options(tremove)
    tremove.set_defaults(func=run_threshold_remove)


def _scope_options(parser: argparse.ArgumentParser) -> None:
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument("--metric", metavar="M", help="every series of this metric (e.g. latency_p50_ms)")
    scope.add_argument("--series", metavar="SERIES_ID", help="one series (series_id from `regressions list --format json`)")


def _since(text: str | None):
    if text is None:
        return None
    from datetime import datetime, timezone

    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"--since {text!r}: expected an ISO date like 2025-11-14 or 2025-11-14T02:00") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _warn_if_stale(listing) -> None:
    if listing.stale_series:
        print(f"benchmark-db: warning: {listing.stale_series} series changed since the last detection; "
              "run `benchmark-db regressions update` for current flags", file=sys.stderr)


def run_update(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise CliError("--workers must be at least 1")
    report = open_service(args).update_regressions(include_simulated=args.include_simulated, workers=args.workers)
    print(f"benchmark-db: {report.series_analysed} of {report.series_total} series re-analysed, "
          f"{report.series_removed} removed; {report.flags_total} flags", file=sys.stderr)
    return EXIT_OK


def _json_records(frame) -> list[dict]:
    import pandas as pd

    records = []
    for row in frame.to_dict(orient="records"):
        out = {}
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                value = value.tz_convert("UTC").isoformat() if value.tzinfo else value.isoformat()
            elif (value is None or (isinstance(value, float) and not math.isfinite(value)) or value is pd.NaT
                  or value is pd.NA):
                value = None
            elif hasattr(value, "item"):
                value = value.item()
            out[key] = value
        records.append(out)
    return records


def _print_frame(frame) -> None:
    if frame.empty:
        return
    cells = frame.astype(str)
    widths = [max(len(col), *(len(v) for v in cells[col])) for col in cells.columns]
    print("  ".join(col.ljust(w) for col, w in zip(cells.columns, widths)).rstrip())
    for row in cells.itertuples(index=False):
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


_JSON_COLUMNS = (
    "flag_id", "kind", "status", "model_name", "hardware_id", "hardware_fingerprint", "hardware_type",
    "device_name", "batch_size", "sequence_length", "precision", "test_case", "metric", "direction",
    "change_index", "run_id", "result_id", "run_time", "mean_before", "stdev_before", "mean_after",
    "stdev_after", "pct_change", "pvalue", "mode", "detected_at", "series_id", "confirmation", "noise", "noise_floor", "ack_kind", "ack_note", "acknowledged_by",
    "acknowledged_at", "metric_direction", "fact_table",
)


def run_list(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.changepoint.series import LLM_FLAG_COLUMNS
    from benchmark_pipeline.lib.warehouse.regressions import summary_frame

    listing = open_service(args).regression_flags(model=args.model, hardware=args.hardware,
                                                  since=_since(args.since), only_open=args.open, kind=args.kind)
    _warn_if_stale(listing)
    flags = listing.flags
    if args.format == "json":
        # Columns a warehouse not yet upgraded lacks are null, so a script reads one shape everywhere.
        columns = [*_JSON_COLUMNS, *LLM_FLAG_COLUMNS]
        print(json.dumps(_json_records(flags.reindex(columns=columns)), allow_nan=False))
    else:
        _print_frame(summary_frame(flags))
    opened = flags[flags["status"] == "open"] if not flags.empty else flags
    suspected = int((opened["confirmation"] == "suspected").sum()) if not opened.empty else 0
    print(f"benchmark-db: {len(flags)} flag(s), {len(opened)} open regression(s) "
          f"({len(opened) - suspected} confirmed, {suspected} suspected)", file=sys.stderr)
    return EXIT_OK


def run_ack(args: argparse.Namespace) -> int:
    import getpass

    note = args.note.strip()
    if not note:
        raise CliError("--note must say why")
    by = args.by or os.environ.get("USER") or getpass.getuser()
    row = open_service(args).acknowledge_regression(args.flag_id, note, by, mute=args.mute)
    what = "muted the series of" if args.mute else "acknowledged"
    print(f"{row['ack_kind']}\t{row['flag_id']}\t{by}\t{row['acknowledged_at'].isoformat()}")
    print(f"benchmark-db: {what} {row['kind']} flag {row['flag_id']}", file=sys.stderr)
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.warehouse.regressions import summary_frame

    listing = open_service(args).open_regressions(since=_since(args.since))
    _warn_if_stale(listing)
    found = listing.flags
    suspected = int((found["confirmation"] == "suspected").sum()) if not found.empty else 0
    if args.confirmed_only and suspected:
        print(f"benchmark-db: {suspected} suspected regression(s) not gated (--confirmed-only); "
              "the next run confirms or clears them", file=sys.stderr)
        found = found[found["confirmation"] != "suspected"]
    if found.empty:
        print("benchmark-db: no open regressions", file=sys.stderr)
        return EXIT_OK
    _print_frame(summary_frame(found).drop(columns=["kind"]))
    pairs = found.groupby(["model_name", "hardware_fingerprint"]).ngroups
    counts = found["confirmation"].value_counts()
    print(f"benchmark-db: {len(found)} open regression(s) ({int(counts.get('confirmed', 0))} confirmed, "
          f"{int(counts.get('suspected', 0))} suspected) on {pairs} model x hardware pair(s); "
          "acknowledge with `benchmark-db regressions ack ID --note TEXT`", file=sys.stderr)
    return EXIT_OPEN_REGRESSIONS


def _threshold_kind(args: argparse.Namespace) -> tuple[str, float]:
    given = [(k, getattr(args, k)) for k in ("relative", "absolute", "noise") if getattr(args, k) is not None]
    if len(given) != 1:
        raise CliError("give exactly one of --relative, --absolute, --noise")
    return given[0]


def run_threshold_set(args: argparse.Namespace) -> int:
    import getpass

    kind, value = _threshold_kind(args)
    by = args.by or os.environ.get("USER") or getpass.getuser()
    row = open_service(args).set_regression_threshold(kind, value, metric=args.metric, series_id=args.series,
                                                      note=args.note, by=by)
    print(f"{row['scope']}\t{row['kind']}\t{row['value']:g}")
    print("benchmark-db: threshold set; run `benchmark-db regressions update` to re-analyse its series",
          file=sys.stderr)
    return EXIT_OK


def run_threshold_list(args: argparse.Namespace) -> int:
    found = open_service(args).regression_thresholds(metric=args.metric)
    if args.format == "json":
        print(json.dumps(_json_records(found), allow_nan=False))
    else:
        _print_frame(found)
    print(f"benchmark-db: {len(found)} threshold(s); series without one use 3 x noise (changes), "
          "5 x noise (outliers)", file=sys.stderr)
    return EXIT_OK


def run_threshold_remove(args: argparse.Namespace) -> int:
    if not open_service(args).remove_regression_threshold(metric=args.metric, series_id=args.series):
        raise CliError("no threshold set there (see `benchmark-db regressions threshold list`)")
    print("benchmark-db: threshold removed; run `benchmark-db regressions update`", file=sys.stderr)
    return EXIT_OK
