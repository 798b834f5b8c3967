"""``compare``: hardware side by side for a model, models side by side on a hardware, or run against run."""

from __future__ import annotations

import argparse
import sys

from .main import EXIT_OK, CliError, add_db_path_option, open_service
from .output import add_filter_options, emit
from .query import FORMATS

METRIC_CHOICES = ("throughput", "latency", "memory", "power", "efficiency")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare", help="compare hardware, models or two runs side by side",
        description="--model M: every hardware for that model; --hardware H (a type such as cuda, or a device "
                    "name): every model on it; --run A --run B (run ids or git commits): every series both "
                    "measured, with % change from A to B. Values are medians; simulated results are left out "
                    "unless --include-simulated.",
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--model")
    what.add_argument("--hardware")
    what.add_argument("--run", action="append", metavar="RUN_OR_COMMIT", help="give twice: A then B")
    parser.add_argument("--metric", choices=METRIC_CHOICES,
                        help="default: throughput (for --run: all metrics)")
    add_filter_options(parser, model=False, hardware=False)
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("--output", metavar="FILE")
    add_db_path_option(parser)
    parser.set_defaults(func=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    if args.run is not None and len(args.run) != 2:
        raise CliError("--run needs exactly two values: --run A --run B")
    from benchmark_pipeline.lib.analytics.filters import METRICS, Filters
    from benchmark_pipeline.lib.reports.tabular import render_table

    filters = Filters(since=args.since, include_simulated=args.include_simulated)
    table, sides = open_service(args).compare(model=args.model, hardware=args.hardware,
                                              runs=tuple(args.run) if args.run else None, metric=args.metric,
                                              filters=filters)
    if sides:
        side_a, side_b = sides
        verdicts = [row[-1] for row in table.rows]
        print(f"A = {side_a.label} ({len(side_a.run_ids)} runs), B = {side_b.label} "
              f"({len(side_b.run_ids)} runs); {len(table.rows)} shared series x metrics: "
              f"{verdicts.count('worse')} worse, {verdicts.count('better')} better, "
              f"{verdicts.count('same')} within noise (noise_band: the change a series' own run-to-run "
              "spread explains, or your threshold)", file=sys.stderr)
    else:
        print(f"median {METRICS[args.metric or 'throughput'][1]}", file=sys.stderr)
    emit(render_table(table, args.format, title="benchmark-db compare"), args.output)
    return EXIT_OK
