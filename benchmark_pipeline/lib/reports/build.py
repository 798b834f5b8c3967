"""What each report kind contains: warehouse queries turned into titled sections of tables and charts.

Building is separate from rendering so the Dagster assets can hold the warehouse only while
querying, and the three formats are guaranteed to show the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import duckdb
import pandas as pd
import plotly.graph_objects as go

from benchmark_pipeline.lib.analytics import queries as q
from benchmark_pipeline.lib.analytics.recommend import hardware_recommendations, with_costs

from . import charts

KINDS = ("summary", "performance", "compatibility", "regressions", "hardware", "model")
TITLES = {
    "summary": "Benchmark summary",
    "performance": "Performance comparison",
    "compatibility": "Hardware compatibility",
    "regressions": "Regressions and trends",
    "hardware": "Hardware comparison and recommendations",
    "model": "Model comparison",
}
MAX_PARETO_CHARTS = 6
FLAG_COLUMNS = ("run_time", "model_name", "hardware", "batch_size", "sequence_length", "precision", "test_case",
                "metric", "kind", "direction", "pct_change", "pvalue", "open", "run_id")


@dataclass
class Section:
    id: str
    title: str
    text: str | None = None
    table: pd.DataFrame | None = None
    figure: go.Figure | None = None
    chart_type: str | None = None  # heatmap, bar, line, scatter


@dataclass
class Report:
    kind: str
    title: str
    filters: dict[str, Any]
    sections: list[Section] = field(default_factory=list)
    generated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def add(self, *sections: Section) -> None:
        self.sections.extend(sections)


def build_report(conn: duckdb.DuckDBPyConnection, kind: str, filters: q.Filters = q.Filters()) -> Report:
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r}; choose one of {', '.join(KINDS)}")
    report = Report(kind, TITLES[kind], filters.describe())
    _BUILDERS[kind](conn, filters, report)
    return report


def _summary(conn, filters: q.Filters, report: Report) -> None:
    report.add(_statistics(conn, filters), _heatmap(conn, filters),
               _throughput_bars(q.hardware_comparison(conn, filters)),
               *_trends(conn, filters, ("throughput",)), _recent(conn, filters))


def _performance(conn, filters: q.Filters, report: Report) -> None:
    comparison = q.hardware_comparison(conn, filters)
    report.add(_statistics(conn, filters), _throughput_bars(comparison), _latency_bars(comparison),
               Section("hardware-comparison", "Hardware comparison (medians, latest, speedup over CPU)",
                       table=comparison),
               *_trends(conn, filters, ("throughput", "latency")), _recent(conn, filters))


def _compatibility(conn, filters: q.Filters, report: Report) -> None:
    matrix = q.compatibility_matrix(conn, filters)
    counts = matrix.groupby(["level", "status"]).size().rename("cells").reset_index()
    tested = matrix[matrix["status"] != "untested"].drop(columns=["model_family"])
    report.add(
        _heatmap(conn, filters, matrix),
        Section("coverage", "Coverage by status", table=counts),
        Section("tested-cells", "Tested cells", text="Score = share of compatible tests; errors by frequency.",
                table=tested),
    )


def _regressions(conn, filters: q.Filters, report: Report) -> None:
    flags = q.regression_flags(conn, filters)
    if flags is None:
        report.add(Section("flags", "Regression flags",
                           text="This warehouse has no regression_flags table yet; trends are drawn without marks."))
    else:
        shown = flags[[c for c in FLAG_COLUMNS if c in flags.columns]]
        open_count = int(flags["open"].sum()) if "open" in flags else 0
        report.add(Section("flags", "Regression flags", table=shown,
                           text=f"{len(flags)} flags, {open_count} open regressions (newest first)."))
    report.add(*_trends(conn, filters, ("throughput", "latency", "memory"), flags=flags))


def _hardware(conn, filters: q.Filters, report: Report) -> None:
    comparison = q.hardware_comparison(conn, filters)
    platforms = _platforms(comparison)
    speedups = comparison.dropna(subset=["speedup_vs_cpu"])
    speedups = speedups.assign(config=speedups["model_name"] + " · b" + speedups["batch_size"].astype(str))
    recs = hardware_recommendations(comparison)
    report.add(
        Section("platforms", "Hardware platforms", table=platforms,
                text="Cost per hour from the committed price table (lib/analytics/hardware_costs.csv); "
                     "blank where no price is known."),
        Section("speedup", "Speedup over the CPU baseline", chart_type="bar",
                figure=charts.grouped_bars(speedups, "config", "speedup_vs_cpu", "hardware",
                                           "Speedup over CPU (median)", "× CPU") if not speedups.empty else None,
                table=speedups[["config", "hardware", "speedup_vs_cpu", "speedup_basis"]]),
        Section("recommendations", "Recommended hardware (Pareto front and TOPSIS rank)", table=recs,
                text="TOPSIS weights: p99 latency 0.30, throughput 0.30, memory 0.15, cost 0.15, power 0.10; "
                     "a criterion unknown for any candidate is dropped and the weights renormalised."),
    )
    for (model, batch, precision), group in _pareto_groups(recs):
        title = f"{model} · batch {batch}" + (f" · {precision}" if isinstance(precision, str) else "")
        report.add(Section(f"pareto-{len(report.sections)}", f"Pareto: {title}", chart_type="scatter",
                           figure=charts.pareto_scatter(group, f"{title}: p99 latency vs throughput")))


def _model(conn, filters: q.Filters, report: Report) -> None:
    comparison = q.model_comparison(conn, filters)
    daily = q.daily_model_stats(conn, filters)
    bars = comparison.assign(config=comparison["hardware"] + " · b" + comparison["batch_size"].astype(str))
    daily_points = daily.rename(columns={"day": "run_time", "mean_throughput_items_per_second": "value"}) \
        .assign(series=daily["model_name"], run_id=None)
    report.add(
        Section("model-bars", "Throughput by hardware", chart_type="bar",
                figure=charts.grouped_bars(bars, "config", "median_throughput_items_per_second", "model_name",
                                           "Median throughput per hardware and batch size", "items/s")
                if not bars.empty else None),
        Section("model-comparison", "Models side by side per hardware", table=comparison),
        Section("daily-trend", "Daily mean throughput", chart_type="line",
                figure=charts.trend(daily_points, daily_points.iloc[0:0].assign(kind=[]), "Daily mean throughput",
                                    "items/s") if not daily.empty else None),
        Section("daily-stats", "Daily model statistics", table=daily),
    )


_BUILDERS = {"summary": _summary, "performance": _performance, "compatibility": _compatibility,
             "regressions": _regressions, "hardware": _hardware, "model": _model}


def _statistics(conn, filters: q.Filters) -> Section:
    return Section("statistics", "Summary statistics", table=q.summary_statistics(conn, filters))


def _heatmap(conn, filters: q.Filters, matrix: pd.DataFrame | None = None) -> Section:
    matrix = q.compatibility_matrix(conn, filters) if matrix is None else matrix
    if matrix.empty:
        return Section("compatibility", "Compatibility matrix", text="No models in the warehouse yet.")
    grid = matrix.assign(subject=matrix["subject"] + matrix["level"].map({"family": " (family)", "model": ""}))
    grid = grid.assign(cell=grid["status"].map(charts.STATUS_TEXT) + grid["score"].map(
        lambda s: "" if pd.isna(s) else f" {s:.0%}"))
    pivot = grid.pivot(index="subject", columns="hardware_type", values="cell") \
        .reindex(index=list(dict.fromkeys(grid["subject"]))).reset_index()
    pivot.columns.name = None
    return Section("compatibility", "Compatibility matrix", figure=charts.compatibility_heatmap(matrix),
                   chart_type="heatmap", table=pivot,
                   text="✓ compatible, ◐ partial, ✗ incompatible, – untested; % = share of compatible tests.")


def _throughput_bars(comparison: pd.DataFrame) -> Section:
    frame = comparison.dropna(subset=["median_throughput_items_per_second"])
    frame = frame.assign(config=frame["model_name"] + " · b" + frame["batch_size"].astype(str))
    return Section(
        "throughput-bars", "Median throughput by model and hardware", chart_type="bar",
        figure=charts.grouped_bars(frame, "config", "median_throughput_items_per_second", "hardware",
                                   "Median throughput", "items/s") if not frame.empty else None,
        table=frame[["model_name", "batch_size", "precision", "hardware", "median_throughput_items_per_second",
                     "speedup_vs_cpu", "results"]],
    )


def _latency_bars(comparison: pd.DataFrame) -> Section:
    frame = comparison.dropna(subset=["median_latency_p50_ms"])
    frame = frame.assign(config=frame["model_name"] + " · b" + frame["batch_size"].astype(str))
    return Section(
        "latency-bars", "Median p50 latency by model and hardware", chart_type="bar",
        figure=charts.grouped_bars(frame, "config", "median_latency_p50_ms", "hardware", "Median p50 latency", "ms")
        if not frame.empty else None,
    )


def _trends(conn, filters: q.Filters, metrics: tuple[str, ...], flags: pd.DataFrame | None | bool = False) -> list[Section]:
    if flags is False:
        flags = q.regression_flags(conn, filters)
    sections = []
    for metric in metrics:
        column, label, _higher = q.METRICS[metric]
        flag_column = "latency_p50_ms" if column == "latency_ms" else column
        points = q.trend_points(conn, column, filters)
        marks = q.mark_flags(points, flags, flag_column)
        note = ("Change points and outliers from regression_flags are marked." if flags is not None
                else "No regression_flags table yet: no marks.")
        sections.append(Section(
            f"trend-{metric}", f"Trend: {label}", chart_type="line", text=note,
            figure=charts.trend(points, marks, f"{label} over time", label) if not points.empty else None,
            table=marks[["run_time", "series", "kind", "pct_change", "value"]] if not marks.empty else None,
        ))
    return sections


def _recent(conn, filters: q.Filters) -> Section:
    return Section("recent", "Recent results", table=q.recent_results(conn, filters))


def _platforms(comparison: pd.DataFrame) -> pd.DataFrame:
    if comparison.empty:
        return pd.DataFrame(columns=["hardware", "models", "results", "last_run", "cost_per_hour_usd"])
    platforms = comparison.groupby(["hardware", "hardware_type", "device_name"], dropna=False).agg(
        models=("model_name", "nunique"), results=("results", "sum"), last_run=("last_run", "max")).reset_index()
    return with_costs(platforms).drop(columns=["hardware_type", "device_name"])


def _pareto_groups(recs: pd.DataFrame):
    """Per model, the batch size and precision compared on the most hardware (smallest batch on ties)."""
    usable = recs.dropna(subset=["latency_p99_ms", "throughput_items_per_second"])
    out = []
    for model, part in usable.groupby("model_name", sort=True):
        best = part.sort_values(["candidates", "batch_size"], ascending=[False, True]).iloc[0]
        group = part[(part["batch_size"] == best["batch_size"])
                     & (part["precision"].fillna("") == (best["precision"] if isinstance(best["precision"], str) else ""))]
        out.append(((model, best["batch_size"], best["precision"]), group))
        if len(out) >= MAX_PARETO_CHARTS:
            break
    return out
