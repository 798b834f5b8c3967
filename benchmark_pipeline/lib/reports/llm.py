"""What a report says about LLM serving: per use case the configurations TOPSIS ranks first, the cheapest load
point meeting the use case's SLA (and how many points could not be judged), and the Pareto front.

These are the service's answers (``benchmark-db llm``, ``GET /llm/...``), computed by the same functions of
``analytics.serving`` over the connection the report is given, so a report and the API cannot disagree. The
report's filters narrow them the way the service's parameters do: ``since`` and ``include_simulated`` choose
the results (as ``results_frame`` does for the service's ``since``), ``model`` the load points (as the
service's ``Workload(model=...)``). A ranking is made over every configuration in the window and then narrowed
to the filters' rows, so a rank printed is the rank the service gives, not a rank among the few shown. The
hardware filter names platforms the way every other report section reads it (``compare.resolve_hardware``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from benchmark_pipeline.lib.analytics import serving, serving_tables
from benchmark_pipeline.lib.analytics.compare import CompareError, resolve_hardware
from benchmark_pipeline.lib.analytics.filters import Filters
from benchmark_pipeline.lib.analytics.table import is_missing

from .charts import short_hardware


@dataclass
class UseCaseView:
    case: serving.UseCase
    ranked: pd.DataFrame  # the service's ranking, narrowed to the rows the filters keep (ranks unchanged)
    candidates: int  # configurations ranked, before narrowing
    dropped: list[str]  # weighted criteria no candidate could be scored on
    sla: dict[str, Any]  # serving.sla_answer over the use case's workload


@dataclass
class LlmView:
    points: pd.DataFrame  # latest result of each load point the filters keep
    use_cases: list[UseCaseView]
    pareto: pd.DataFrame  # points with both Pareto axes, ``on_front`` marked
    pareto_left_out: int


def llm_view(conn: duckdb.DuckDBPyConnection, filters: Filters) -> LlmView | None:
    """The answers for the report, or None when there is nothing to say (no LLM tables, no results kept)."""
    if not serving_tables.has_llm_tables(conn):
        return None
    results = serving_tables.results_frame(conn, since=filters.since_utc(),
                                           include_simulated=filters.include_simulated)
    if results.empty:
        return None
    everything = serving.latest_points(results)
    points = serving.select(everything, serving.Workload(model=filters.model))
    if filters.hardware:
        points = _on_hardware(conn, points, filters.hardware)
    if points.empty:
        return None
    views = []
    for case in serving_tables.use_cases(conn):
        ranked, dropped, _unranked = serving.rank_use_case(everything, case)
        mine = ranked[ranked["result_id"].isin(points["result_id"])]
        answer = serving.sla_answer(serving.select(points, case.workload()), case.sla, limit=1)
        views.append(UseCaseView(case, mine, int(len(ranked)), dropped, answer))
    front, left_out = serving.pareto_points(points)
    return LlmView(points, views, front, left_out)


def _on_hardware(conn: duckdb.DuckDBPyConnection, points: pd.DataFrame, hardware: str) -> pd.DataFrame:
    try:
        ids = resolve_hardware(conn, hardware)
    except CompareError:  # a known hardware type with no platform: nothing ran on it
        return points.iloc[0:0]
    platforms = set(conn.execute("SELECT hardware_type, coalesce(device_name, '') FROM hardware_platforms "
                                 "WHERE list_contains(?, hardware_id)", [ids]).fetchall())
    keep = [(kind, gpu if isinstance(gpu, str) else "") in platforms
            for kind, gpu in zip(points["hardware_type"], points["gpu"])]
    return points[keep]


# -- labels for people ---------------------------------------------------------------------------------


def configuration(row: dict[str, Any]) -> str:
    """'acme/llm-8b awq · 2× A100-SXM4-80GB · vllm 0.6.3': what was served, on what, by what."""
    model = str(row.get("model_name") or "?")
    if isinstance(row.get("quantization"), str) and row["quantization"]:
        model += f" {row['quantization']}"
    count = row.get("gpu_count")
    hardware = f"{int(count)}× {device(row)}" if not is_missing(count) else device(row)
    framework = " ".join(str(row[k]) for k in ("framework", "framework_version")
                         if isinstance(row.get(k), str) and row[k])
    return " · ".join(part for part in (model, hardware, framework) if part)


def device(row: dict[str, Any]) -> str:
    """'A100-SXM4-80GB': the accelerator without its vendor; the provider for a hosted API, whose is unknown."""
    gpu = row.get("gpu")
    if isinstance(gpu, str) and gpu:
        return short_hardware(f"{row.get('hardware_type') or 'gpu'}: {gpu}")
    return str(row.get("provider") or row.get("hardware_type") or "?")


def load(row: dict[str, Any]) -> str:
    """How hard the configuration was driven: 'c32' (32 requests in flight), '4 req/s', 'batch 64'."""
    if not is_missing(row.get("concurrency")):
        return f"c{int(row['concurrency'])}"
    if not is_missing(row.get("request_rate")):
        return f"{row['request_rate']:g} req/s"
    if not is_missing(row.get("batch_size")):
        return f"batch {int(row['batch_size'])}"
    return "unbounded"


def sla_text(case: serving.UseCase) -> str:
    """'TTFT p90 ≤ 300 ms, output tokens/s per user ≥ 20 tokens/s'; 'none' for a use case without an SLA."""
    terms = []
    for condition in case.sla:
        criterion = serving.CRITERIA[condition.column]
        terms.append(f"{criterion.label} {'≤' if condition.op == '<=' else '≥'} {condition.limit:g} {criterion.unit}")
    return ", ".join(terms) or "none"


def left_out_text(answer: dict[str, Any]) -> str:
    """'1 (no ttft_ms_p90)': how many points the SLA could not judge, and what they lacked."""
    if not answer["left_out"]:
        return "0"
    lacking = ", ".join(f"{n} without {column}" for column, n in answer["left_out_missing"].items())
    return f"{answer['left_out']} ({lacking})"
