"""``llm``: what the LLM-serving results answer: SLA fits, costs, the Pareto front, rankings per use case."""

from __future__ import annotations

import argparse
import json
import sys

from .main import EXIT_OK, EXIT_PROBLEMS, CliError, add_db_path_option, open_service
from .output import emit, since_date
from .query import FORMATS

# The columns a person reads first; --format json gives every field.
POINT_COLUMNS = ["model_name", "quantization", "gpu", "gpu_count", "framework", "framework_version", "concurrency",
                 "request_rate", "input_tokens", "output_tokens", "ttft_ms_p90", "tpot_ms_p90", "user_tokens_per_s",
                 "output_tokens_per_s_per_gpu", "cost_per_hour_usd", "usd_per_million_output_tokens",
                 "output_tokens_per_joule"]
SLA_EXAMPLE = "ttft_ms_p90<=300,user_tokens_per_s>=20"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "llm", help="LLM serving: cheapest configuration under an SLA, costs, Pareto front, rankings per use case",
        description="Answers over the LLM-serving results: each configuration (model version x GPUs x framework) "
                    "at each load it was measured at, judged by its latest result. Criteria: "
                    "ttft_ms_p50/p90/p99, tpot_ms_p50/p90/p99, itl_ms_p90, e2el_ms_p90/p99 (ms), user_tokens_per_s "
                    "(what one user sees: the tool's per-user speed, else 1000 / mean TPOT), output_tokens_per_s, "
                    "output_tokens_per_s_per_gpu, requests_per_s, usd_per_million_output_tokens (price per hour / "
                    "(output tokens/s x 3600) x 1e6) and output_tokens_per_joule.",
    )
    commands = parser.add_subparsers(dest="llm_command", metavar="COMMAND", required=True)

    p = commands.add_parser("sla", help="the cheapest configuration that meets an SLA",
                            description="Load points meeting every term, cheapest per million output tokens first. "
                                        "A point lacking a value a term needs is left out, and the answer says how "
                                        "many. Exit 1 when no point meets the SLA.")
    p.add_argument("sla", metavar="SLA", help=f"terms COLUMN<=LIMIT or COLUMN>=LIMIT, comma-separated, e.g. "
                                              f"'{SLA_EXAMPLE}'")
    _workload_options(p)
    p.add_argument("--limit", type=int, default=10, help="points to list (default 10)")
    _output_options(p)
    p.set_defaults(func=run_sla)

    p = commands.add_parser("costs", help="$ per million output tokens and tokens per joule of every load point")
    _workload_options(p)
    _output_options(p)
    p.set_defaults(func=run_costs)

    p = commands.add_parser("pareto", help="output tokens/s per GPU against tokens/s per user: the front")
    _workload_options(p)
    p.add_argument("--front-only", action="store_true", help="only the points on the front")
    _output_options(p)
    p.set_defaults(func=run_pareto)

    p = commands.add_parser("rank", help="TOPSIS ranking of configurations for a use case",
                            description="Each configuration's best load point within the use case's workload that "
                                        "meets its SLA, ranked with the use case's default weights. Answered from "
                                        "the stored ranking while it is fresh, else computed afresh (said on stderr).")
    p.add_argument("use_case", metavar="USE_CASE", help="see `benchmark-db llm use-cases`")
    p.add_argument("--limit", type=int, default=20)
    _output_options(p)
    p.set_defaults(func=run_rank)

    p = commands.add_parser("use-cases", help="the use-case taxonomy: workload, SLA and weights of each")
    _output_options(p)
    p.set_defaults(func=run_use_cases)

    p = commands.add_parser("suitability", help="per model and use case: share of configurations meeting its SLA")
    p.add_argument("--model")
    _output_options(p)
    p.set_defaults(func=run_suitability)

    p = commands.add_parser("daily", help="per model and day: results, TTFT/TPOT medians, best throughput and cost")
    p.add_argument("--model")
    _output_options(p)
    p.set_defaults(func=run_daily)

    p = commands.add_parser("refresh", help="recompute the stored answers if their inputs changed or they expired")
    p.add_argument("--force", action="store_true", help="recompute even if they are fresh")
    add_db_path_option(p)
    p.set_defaults(func=run_refresh)


def _workload_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="only this model (exact name, any case)")
    parser.add_argument("--workload-type", choices=("online", "offline"))
    parser.add_argument("--dataset", help="only results on this dataset (sharegpt, random, ...)")
    parser.add_argument("--input-tokens", type=float, metavar="N", help="prompt length, matched within 10%%")
    parser.add_argument("--output-tokens", type=float, metavar="N", help="output length, matched within 10%%")
    parser.add_argument("--since", type=since_date, metavar="DATE", help="only results from this date (UTC) on")
    parser.add_argument("--until", type=since_date, metavar="DATE", help="only results before this date (UTC)")


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("--output", metavar="FILE")
    add_db_path_option(parser)


def _workload(args: argparse.Namespace):
    from benchmark_pipeline.lib.analytics.serving import Workload

    return Workload(model=args.model, workload_type=args.workload_type, dataset=args.dataset,
                    input_tokens=args.input_tokens, output_tokens=args.output_tokens)


def _window(args: argparse.Namespace) -> dict:
    from benchmark_pipeline.lib.analytics.filters import Filters

    since = Filters(since=args.since).since_utc() if args.since else None
    until = Filters(since=args.until).since_utc() if args.until else None
    if since is not None and until is not None and since >= until:
        raise CliError(f"--since {args.since} is not before --until {args.until}")
    return {"since": since, "until": until}


def _emit_records(records: list[dict], columns: list[str], args: argparse.Namespace, title: str,
                  whole: object = None) -> None:
    if args.format == "json":
        emit(json.dumps(whole if whole is not None else records, indent=1, default=str) + "\n", args.output)
        return
    from benchmark_pipeline.lib.analytics.table import Table
    from benchmark_pipeline.lib.reports.tabular import render_table

    shown = [c for c in columns if any(r.get(c) is not None for r in records)] or columns
    emit(render_table(Table(shown, [tuple(r.get(c) for c in shown) for r in records]), args.format, title=title),
         args.output)


def _emit_frame(frame, args: argparse.Namespace, title: str) -> None:
    from benchmark_pipeline.lib.reports.tabular import render_frame

    if args.format == "json":
        emit(frame.to_json(orient="records", date_format="iso", indent=1) + "\n", args.output)
        return
    emit(render_frame(frame, args.format, title=title), args.output)


def run_sla(args: argparse.Namespace) -> int:
    answer = open_service(args).llm_sla(args.sla, _workload(args), limit=args.limit, **_window(args))
    missing = ", ".join(f"{n} lack {c}" for c, n in answer["left_out_missing"].items())
    print(f"{answer['meeting']} of {answer['judged']} load points meet {', '.join(answer['sla'])}"
          + (f"; {answer['left_out']} of {answer['considered']} left out ({missing})" if answer["left_out"] else "")
          + (f"; {answer['meeting_unpriced']} of those meeting have no price" if answer["meeting_unpriced"] else ""),
          file=sys.stderr)
    cheapest = answer["cheapest"]
    if cheapest:
        print(f"cheapest: {cheapest['model_name']} on {cheapest['gpu_count'] or '?'}x {cheapest['gpu']} "
              f"at concurrency {cheapest['concurrency']}: ${cheapest['usd_per_million_output_tokens']:.3f} per "
              f"million output tokens (${cheapest['cost_per_hour_usd']:.2f}/h)", file=sys.stderr)
    _emit_records(answer["points"], POINT_COLUMNS, args, "benchmark-db llm sla", whole=answer)
    return EXIT_OK if answer["meeting"] else EXIT_PROBLEMS


def run_costs(args: argparse.Namespace) -> int:
    costs = open_service(args).llm_costs(_workload(args), **_window(args))
    print(f"{len(costs)} load points, cheapest per million output tokens first (unpriced last)", file=sys.stderr)
    _emit_frame(costs, args, "benchmark-db llm costs")
    return EXIT_OK


def run_pareto(args: argparse.Namespace) -> int:
    answer = open_service(args).llm_pareto(_workload(args), **_window(args))
    points = [p for p in answer["points"] if p["on_front"] or not args.front_only]
    on_front = sum(1 for p in answer["points"] if p["on_front"])
    print(f"{on_front} of {len(answer['points'])} load points on the front of output tokens/s per GPU against "
          f"tokens/s per user" + (f"; {answer['left_out']} left out (no GPU count or no per-user speed)"
                                  if answer["left_out"] else ""), file=sys.stderr)
    _emit_records(points, ["on_front", *POINT_COLUMNS], args, "benchmark-db llm pareto",
                  whole={**answer, "points": points})
    return EXIT_OK


def run_rank(args: argparse.Namespace) -> int:
    answer = open_service(args).llm_rankings(args.use_case, limit=args.limit)
    where = (f"stored ranking, computed {answer['calculated_at']}, valid until {answer['expires_at']}"
             if answer["cached"] else f"computed now ({answer['reason']} stored ranking)")
    dropped = f"; not scored on {', '.join(answer['criteria_dropped'])} (most candidates lack it)" \
        if answer["criteria_dropped"] else ""
    unranked = "".join(f"\nnot ranked: {u['model_name']} on {u['gpu_count'] or '?'}x {u['gpu']} at concurrency "
                       f"{u['concurrency']} (no {', '.join(u['lacks'])})" for u in answer["unranked"])
    print(f"{answer['use_case']}: {answer['candidates']} configurations meet its SLA and are ranked; "
          f"{where}{dropped}{unranked}", file=sys.stderr)
    _emit_records(answer["rankings"], ["rank_position", "composite_score", *POINT_COLUMNS], args,
                  f"benchmark-db llm rank {args.use_case}", whole=answer)
    return EXIT_OK


def run_use_cases(args: argparse.Namespace) -> int:
    rows = open_service(args).llm_use_cases()
    records = [{**r, **{k: json.dumps(r[k]) for k in ("characteristics", "sla", "default_weights")}} for r in rows] \
        if args.format != "json" else rows
    _emit_records(records, ["use_case", "category", "subcategory", "pipeline_tag", "characteristics", "sla",
                            "default_weights", "ranking_ttl_s"], args, "benchmark-db llm use-cases", whole=rows)
    return EXIT_OK


def run_suitability(args: argparse.Namespace) -> int:
    _emit_frame(open_service(args).llm_suitability(args.model), args, "benchmark-db llm suitability")
    return EXIT_OK


def run_daily(args: argparse.Namespace) -> int:
    _emit_frame(open_service(args).llm_daily_stats(args.model), args, "benchmark-db llm daily")
    return EXIT_OK


def run_refresh(args: argparse.Namespace) -> int:
    done = open_service(args).refresh_llm_answers(force=args.force)
    if done.recomputed:
        print(f"recomputed ({done.reason}): {done.rankings} ranked configurations, {done.suitability} model x use "
              f"case rows, {done.daily} model x day rows")
    else:
        print("the stored LLM answers are fresh: nothing to do (--force recomputes anyway)")
    return EXIT_OK
