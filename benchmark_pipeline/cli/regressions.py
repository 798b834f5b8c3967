"""``benchmark-db regressions``: change points and outliers in benchmark series.

``detect`` works on a raw series file and needs no warehouse; the warehouse sub-commands (list,
ack, check) join the same group. NumPy/SciPy load only inside handlers.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from benchmark_pipeline.cli.main import CliError

MODES = ("robust", "otava")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "regressions",
        help="find regressions (change points) and outliers in benchmark series",
        description="Change-point detection equal to Apache Otava 0.8.0, plus a robust mode.",
    )
    commands = parser.add_subparsers(dest="regressions_command", metavar="SUBCOMMAND", required=True)
    _register_detect(commands)


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
    return 0


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
