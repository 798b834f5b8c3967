"""``report``: summary, performance, compatibility, regressions, hardware and model reports."""

from __future__ import annotations

import argparse
import sys

from .main import EXIT_OK, CliError, add_db_path_option
from .output import add_filter_options, emit

KINDS = ("summary", "performance", "compatibility", "regressions", "hardware", "model")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="write a markdown, HTML or JSON report",
        description="Build a report from the warehouse. Markdown and JSON go to stdout unless --output is given; "
                    "HTML is one self-contained file (plotly embedded, works offline) and needs --output.",
    )
    parser.add_argument("kind", choices=KINDS)
    add_filter_options(parser)
    parser.add_argument("--format", choices=("markdown", "html", "json"), default="markdown")
    parser.add_argument("--output", metavar="FILE", help="write here instead of stdout (required for html)")
    add_db_path_option(parser)
    parser.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    if args.format == "html" and not args.output:
        raise CliError("--format html needs --output FILE (the page embeds plotly.js, ~5 MB)")
    from benchmark_pipeline.config import resolve_db_path
    from benchmark_pipeline.lib.analytics.filters import Filters
    from benchmark_pipeline.lib.reports.build import build_report
    from benchmark_pipeline.lib.reports.render import render

    from .query import open_warehouse

    filters = Filters(args.model, args.hardware, args.since, args.include_simulated)
    with open_warehouse(resolve_db_path(args.db_path), memory_limit=None) as conn:
        report = build_report(conn, args.kind, filters)
    emit(render(report, args.format), args.output)
    if args.output:
        print(f"{args.kind} report: {len(report.sections)} sections", file=sys.stderr)
    return EXIT_OK
