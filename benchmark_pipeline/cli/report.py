"""``report``: summary, performance, compatibility, regressions, hardware and model reports."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .main import EXIT_OK, CliError, add_db_path_option, open_service
from .output import add_filter_options, emit

KINDS = ("summary", "performance", "compatibility", "regressions", "hardware", "model")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="write a markdown, HTML or JSON report",
        description="Build a report from the warehouse. Markdown and JSON go to stdout unless --output is given; "
                    "HTML goes to --output, else to <data dir>/reports/<kind>.html, with plotly.min.js written "
                    "beside it (shared by every report in that folder; the page works offline).",
    )
    parser.add_argument("kind", choices=KINDS)
    add_filter_options(parser)
    parser.add_argument("--format", choices=("markdown", "html", "json"), default="markdown")
    parser.add_argument("--output", metavar="FILE",
                        help="write here instead of stdout (html: default <data dir>/reports/<kind>.html)")
    add_db_path_option(parser)
    parser.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    from benchmark_pipeline.lib.analytics.filters import Filters
    from benchmark_pipeline.lib.reports.render import render

    # An unknown --model / --hardware is exit 2 naming the closest known ones, never an empty report.
    filters = Filters(args.model, args.hardware, args.since, args.include_simulated)
    report = open_service(args).report(args.kind, filters)
    output = args.output
    if args.format == "html" and not output:
        from benchmark_pipeline.config import data_dir

        output = str(data_dir() / "reports" / f"{args.kind}.html")
    emit(render(report, args.format), output)
    if args.format == "html":
        from benchmark_pipeline.lib.reports.render import ensure_plotly_js

        try:
            ensure_plotly_js(Path(output).parent)
        except OSError as exc:
            raise CliError(f"{Path(output).parent}: cannot write plotly.min.js: {exc.strerror or exc}") from exc
    if output:
        print(f"{args.kind} report: {len(report.sections)} sections", file=sys.stderr)
    return EXIT_OK
