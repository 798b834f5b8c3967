"""What each report kind contains: warehouse queries turned into titled sections of tables and charts.

Building is separate from rendering so the Dagster assets can hold the warehouse only while
querying, and the three formats are guaranteed to show the same numbers.

Every report leads with what changed and what to do (a ``headline`` section: a few numbers and
the open regressions), then its charts, then short tables. A section keeps two tables: ``table``,
every row, which the JSON report carries, and ``shown``, the few rows and columns a reader needs,
which HTML and markdown print with numbers cut to four significant digits.

Comparisons, daily stats, the compatibility matrix and the recommendations are read from the derived
tables the warehouse keeps current (``queries.read_derived``), filters applied to the stored rows;
they are computed from the facts only when the table cannot answer (missing, older shape, or a
``since`` / ``--include-simulated`` that changes the aggregates themselves).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import duckdb
import pandas as pd
import plotly.graph_objects as go

from benchmark_pipeline.lib.analytics import queries as q
from benchmark_pipeline.lib.analytics import serving
from benchmark_pipeline.lib.analytics.table import is_missing
from benchmark_pipeline.lib.analytics.recommend import hardware_recommendations, with_costs
from benchmark_pipeline.lib.llm.metrics import LLM_METRICS
from benchmark_pipeline.lib.llm.metrics import VALUE as LLM_VALUE
from benchmark_pipeline.lib.llm.metrics import metric_columns as llm_metric_columns
from benchmark_pipeline.lib.warehouse.regressions import serving_label

from . import charts, flag_review, llm
from .tabular import short_number, signed_percent

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
MAX_FACETS = 6          # small charts per bar figure
MAX_TREND_SERIES = 6    # panels per trend figure
MAX_SHOWN_ROWS = 15     # rows of a table in HTML and markdown; the JSON report has them all
MAX_BULLETS = 5
TREND_POINTS = 200      # newest points per trend series
MAX_FLAG_PANELS = flag_review.MAX_PANELS  # flagged series drawn in the regressions report
LLM_TOP = 3             # configurations per use case in the LLM-serving section (fewer when the use cases are many)
FLAG_COLUMNS = ("run_time", "model_name", "hardware", "batch_size", "sequence_length", "precision", "test_case",
                "metric", "kind", "direction", "pct_change", "pvalue", "open", "run_id", "flag_id")
METRIC_NAMES = {
    "throughput_items_per_second": "throughput", "latency_p50_ms": "p50 latency", "latency_p90_ms": "p90 latency",
    "latency_p99_ms": "p99 latency", "average_latency_ms": "mean latency", "memory_peak_mb": "peak memory",
    "power_watts": "power", "items_per_joule": "efficiency", "latency_ms": "latency",
    # LLM-serving columns by the vocabulary's label and stat: "time to first token p90", "output throughput".
    **{column: (LLM_METRICS[metric].label if stat == LLM_VALUE else f"{LLM_METRICS[metric].label} {stat}")
       for column, (metric, stat) in llm_metric_columns().items()},
}
_SERIES_KEYS = ("model_name", "hardware_id", "batch_size", "sequence_length", "precision", "test_case")


@dataclass
class Section:
    id: str
    title: str
    text: str | None = None
    table: pd.DataFrame | None = None          # every row: the JSON report
    figure: go.Figure | None = None
    chart_type: str | None = None              # heatmap, bar, line, scatter
    shown: pd.DataFrame | None = None          # the short table of HTML and markdown (None: ``table``, capped)
    formats: dict[str, str] = field(default_factory=dict)  # shown column -> percent, time, flag, text, number
    stats: list[tuple[str, str]] = field(default_factory=list)  # headline numbers
    bullets: list[str] = field(default_factory=list)            # what changed, what to do
    table_in_html: bool = True                 # False: the chart says it all; the table is for markdown and JSON
    flag_review: list[dict[str, Any]] | None = None  # per flagged series: flag, band, points (JSON ``flag_review``)


@dataclass
class Report:
    kind: str
    title: str
    filters: dict[str, Any]
    sections: list[Section] = field(default_factory=list)
    generated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def add(self, *sections: Section | None) -> None:
        self.sections.extend(s for s in sections if s is not None)


def build_report(conn: duckdb.DuckDBPyConnection, kind: str, filters: q.Filters = q.Filters()) -> Report:
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r}; choose one of {', '.join(KINDS)}")
    report = Report(kind, TITLES[kind], filters.describe())
    _BUILDERS[kind](conn, filters, report)
    return report


# --- the six kinds ---------------------------------------------------------------------------------

def _summary(conn, filters: q.Filters, report: Report) -> None:
    flags = q.regression_flags(conn, filters)
    stats = q.summary_statistics(conn, filters)
    comparison, _ = _derived(conn, "hardware_comparison", filters)
    picked = _stats(stats, ("models benchmarked", "hardware platforms", "performance results", "latest result",
                            "benchmark success rate", "integration pass rate"))
    report.add(_headline(stats, picked, flags),
               _open_regressions_section(flags),
               _trend(conn, filters, "throughput", flags),
               _bars(comparison, "throughput-bars", "Median throughput by model and hardware",
                     "median_throughput_items_per_second", "items/s"),
               _heatmap(conn, filters),
               *_llm_serving(conn, filters),
               _recent(conn, filters))


def _performance(conn, filters: q.Filters, report: Report) -> None:
    flags = q.regression_flags(conn, filters)
    stats = q.summary_statistics(conn, filters)
    comparison, _ = _derived(conn, "hardware_comparison", filters)
    picked = _stats(stats, ("models benchmarked", "hardware platforms", "performance results", "latest result"))
    report.add(_headline(stats, picked, flags, metrics=("throughput_items_per_second", "latency_p50_ms")),
               _trend(conn, filters, "throughput", flags),
               _trend(conn, filters, "latency", flags),
               _bars(comparison, "throughput-bars", "Median throughput by model and hardware",
                     "median_throughput_items_per_second", "items/s"),
               _bars(comparison, "latency-bars", "Median p50 latency by model and hardware",
                     "median_latency_p50_ms", "ms"),
               _fastest_hardware(comparison),
               _recent(conn, filters))


def _compatibility(conn, filters: q.Filters, report: Report) -> None:
    matrix, _ = _derived(conn, "compatibility_matrix", filters)
    models = matrix[matrix["level"] == "model"]
    counts = matrix.groupby(["level", "status"]).size().rename("cells").reset_index()
    failing = matrix[matrix["status"].isin(["incompatible", "partial"])]
    failing = failing.sort_values(["score", "tests", "subject"], ascending=[True, False, True], na_position="first")
    by_status = models["status"].value_counts()
    head = Section("headline", "At a glance", table=counts, shown=counts.iloc[0:0], stats=[
        ("models", str(models["subject"].nunique())),
        ("hardware types", str(matrix["hardware_type"].nunique())),
        *[(status, str(int(by_status.get(status, 0)))) for status in ("compatible", "partial", "incompatible",
                                                                       "untested")],
    ])
    head.text = "Model × hardware-type cells by status (families are counted in the tables below)."
    for row in failing[failing["level"] == "model"].head(MAX_BULLETS).itertuples():
        head.bullets.append(f"{row.subject} on {row.hardware_type}: {row.status}, {row.compatible_tests} of "
                            f"{row.tests} tests pass" + (f" — {row.error_summary}" if isinstance(row.error_summary, str)
                                                         else ""))
    if not head.bullets:
        head.bullets.append("No incompatible or partial cell: nothing to fix.")
    tested = matrix[matrix["status"] != "untested"].drop(columns=["model_family"])
    report.add(
        head,
        _heatmap(conn, filters, matrix),
        Section("failing-cells", "Cells that fail (worst first)", table=tested,
                text="Score = share of compatible tests; the errors are the most frequent first.",
                shown=_pick(failing.assign(subject=failing["subject"] + failing["level"].map(
                    {"family": " (family)", "model": ""})), {"subject": "model / family", "hardware_type": "hardware", "status": "status",
                                      "score": "score", "tests": "tests", "error_summary": "errors"}),
                formats={"score": "score", "errors": "text"}),
        Section("coverage", "Coverage by status", table=counts),
    )


def _regressions(conn, filters: q.Filters, report: Report) -> None:
    flags = q.regression_flags(conn, filters)
    if flags is None:
        report.add(Section("headline", "At a glance",
                           text="This warehouse has no regression_flags table yet; trends are drawn without marks. "
                                "Run `benchmark-db regressions update` to detect change points."))
    else:
        open_count = int(flags["open"].sum()) if "open" in flags else 0
        kinds = flags["kind"].value_counts() if "kind" in flags else pd.Series(dtype="int64")
        head = _headline(None, [("flags", str(len(flags))), ("open regressions", str(open_count)),
                                ("regressions", str(int(kinds.get("regression", 0)))),
                                ("improvements", str(int(kinds.get("improvement", 0)))),
                                ("outliers", str(int(kinds.get("outlier", 0))))], flags, open_stat=False)
        head.text = f"{len(flags)} flags, {open_count} open regressions. " + (head.text or "")
        report.add(head)
        others = flags[~flags["open"].astype(bool)] if "open" in flags else flags
        report.add(_open_regressions_section(flags), _flag_review(conn, filters, flags), Section(
            "flags", "Other flags, newest first (closed regressions, improvements, outliers)",
            table=flags[[c for c in FLAG_COLUMNS if c in flags.columns]],
            shown=_pick(_with_config(others), {"run_time": "run time", "model_name": "model", "hardware": "hardware",
                                               "config": "config", "metric": "metric", "kind": "kind",
                                               "pct_change": "% change", "flag_id": "flag"}),
            formats={"% change": "percent", "run time": "time", "metric": "metric"}))
    report.add(*(_trend(conn, filters, metric, flags) for metric in ("throughput", "latency", "memory")))


def _hardware(conn, filters: q.Filters, report: Report) -> None:
    comparison, stored = _derived(conn, "hardware_comparison", filters)
    platforms = _platforms(comparison)
    # Stored recommendations rank the stored comparison: read them only when that is what this report shows.
    recs = q.read_derived(conn, "hardware_recommendations", filters) if stored else None
    recs = hardware_recommendations(comparison) if recs is None else recs
    groups = _pareto_groups(recs)
    best = recs[recs["topsis_rank"] == 1] if not recs.empty else recs
    head = Section("headline", "At a glance", stats=[
        ("hardware platforms", str(len(platforms))), ("models", str(comparison["model_name"].nunique())),
        ("comparison groups", str(len(recs.groupby(["model_name", "batch_size", "precision"], dropna=False)))
         if not recs.empty else "0")])
    for (model, batch, precision), group in groups[:MAX_BULLETS]:
        top = group.sort_values("topsis_rank", na_position="last").iloc[0]
        head.bullets.append(f"{model} ({_config(batch, precision)}): {top['hardware']} ranks first — "
                            f"{_num(top['throughput_items_per_second'])} items/s, p99 {_num(top['latency_p99_ms'])} ms"
                            + (", Pareto-optimal" if bool(top["pareto_optimal"]) else ""))
    if not head.bullets:
        head.bullets.append("No model has results on two hardware platforms yet: nothing to compare.")
    speedups = comparison.dropna(subset=["speedup_vs_cpu"])
    speedups = speedups[speedups["hardware_type"] != "cpu"]
    report.add(
        head,
        _bars(speedups, "speedup", "Speedup over the CPU baseline (median)", "speedup_vs_cpu", "× CPU",
              text="Same model, batch size and precision on the CPU = 1; by throughput, else by latency.",
              columns={"model_name": "model", "config": "config", "hardware": "hardware",
                       "speedup_vs_cpu": "× CPU", "speedup_basis": "basis"}, sort="speedup_vs_cpu"),
        Section("pareto", "Pareto front: p99 latency against throughput", chart_type="scatter",
                text="Per model, the batch size and precision compared on the most hardware. Filled = "
                     "Pareto-optimal (nothing is both faster and higher-throughput); hollow = dominated.",
                figure=charts.pareto_grid([(f"{m} · {_config(b, p)}", g) for (m, b, p), g in groups],
                                          "p99 latency (lower is better) against throughput (higher is better)")
                if groups else None),
        Section("recommendations", "Recommended hardware (TOPSIS rank 1 per model, batch size and precision)",
                table=recs,
                text="TOPSIS weights: p99 latency 0.30, throughput 0.30, memory 0.15, cost 0.15, power 0.10; "
                     "a criterion unknown for any candidate is dropped and the weights renormalised.",
                shown=_pick(_with_config(best), {"model_name": "model", "config": "config", "hardware": "hardware",
                                                 "throughput_items_per_second": "items/s",
                                                 "latency_p99_ms": "p99 ms", "memory_peak_mb": "memory MB",
                                                 "cost_per_hour_usd": "$/h", "topsis_score": "TOPSIS",
                                                 "candidates": "of"})),
        Section("platforms", "Hardware platforms", table=platforms,
                text="Cost per hour from the committed price table (lib/analytics/hardware_costs.csv); "
                     "blank where no price is known."),
    )


def _model(conn, filters: q.Filters, report: Report) -> None:
    flags = q.regression_flags(conn, filters)
    stats = q.summary_statistics(conn, filters)
    comparison, _ = _derived(conn, "model_comparison", filters)
    daily, _ = _derived(conn, "daily_model_stats", filters)
    best = comparison[comparison["throughput_rank"] == 1]
    head = _headline(stats, _stats(stats, ("models benchmarked", "hardware platforms", "performance results",
                                           "latest result")), flags)
    latest_day = daily.sort_values("day").groupby("model_name").tail(1) if not daily.empty else daily
    report.add(
        head,
        _bars(comparison, "model-bars", "Median throughput per model on each hardware",
              "median_throughput_items_per_second", "items/s", facet="hardware", color="model_name",
              columns={"hardware": "hardware", "config": "config", "model_name": "model",
                       "median_throughput_items_per_second": "items/s", "relative_throughput": "of best"}),
        _trend(conn, filters, "throughput", flags),
        Section("model-comparison", "Fastest model per hardware and configuration", table=comparison,
                text="Relative throughput = share of the best model's on the same hardware, batch size and precision.",
                shown=_pick(_with_config(best), {"hardware": "hardware", "config": "config", "model_name": "model",
                                                 "median_throughput_items_per_second": "items/s",
                                                 "median_latency_p99_ms": "p99 ms", "median_memory_peak_mb": "memory MB",
                                                 "results": "results"})),
        Section("daily-stats", "Latest day per model", table=daily,
                text="Mean over every hardware and configuration of that day: a level, not a comparison.",
                shown=_pick(latest_day, {"model_name": "model", "day": "day",
                                         "mean_throughput_items_per_second": "mean items/s",
                                         "p95_latency_ms": "p95 latency ms", "benchmarks": "benchmarks",
                                         "hardware_platforms": "platforms"}),
                formats={"day": "text"}),
    )


_BUILDERS = {"summary": _summary, "performance": _performance, "compatibility": _compatibility,
             "regressions": _regressions, "hardware": _hardware, "model": _model}


# --- shared sections -------------------------------------------------------------------------------

def _stats(stats: pd.DataFrame, names: tuple[str, ...]) -> list[tuple[str, str]]:
    values = dict(zip(stats["statistic"], stats["value"]))
    out = []
    for name in names:
        value = values.get(name, "")
        if name == "latest result" and value:
            value = value[:16].replace("T", " ")
        elif value.isdigit():
            value = f"{int(value):,}"
        out.append((name.replace("benchmarked", "").strip(), value or "–"))
    return out


def _headline(stats: pd.DataFrame | None, numbers: list[tuple[str, str]], flags: pd.DataFrame | None,
              metrics: tuple[str, ...] | None = None, open_stat: bool = True) -> Section:
    """What changed and what to do: the numbers, then one line per series with an open regression."""
    opened = _open(flags, metrics)
    section = Section("headline", "At a glance", table=stats, shown=stats.iloc[0:0] if stats is not None else None,
                      stats=list(numbers))
    if flags is None:
        section.text = "No regression_flags table yet: run `benchmark-db regressions update` to detect changes."
        return section
    if open_stat:
        section.stats.append(("open regressions", str(opened["series"].nunique() if not opened.empty else 0)
                              + " series"))
    if opened.empty:
        section.bullets.append("No open regression: every series is at or better than its previous level.")
        return section
    series = list(dict.fromkeys(opened["series"]))
    for name in series[:MAX_BULLETS]:
        part = opened[opened["series"] == name]
        changes = ", ".join(f"{METRIC_NAMES.get(r.metric, r.metric)} {_pct(r.pct_change)}"
                            for r in part.head(2).itertuples())
        since = pd.Timestamp(part["run_time"].min()).strftime("%Y-%m-%d")
        section.bullets.append(f"{name}: {changes} since {since}")
    if len(series) > MAX_BULLETS:
        section.bullets.append(f"… and {len(series) - MAX_BULLETS} more series with open regressions.")
    section.text = ("What to do: check what changed in the runs since that date (driver, code, machine); "
                    "when the change is expected, acknowledge it with "
                    "`benchmark-db regressions ack FLAG --note \"why\"` (flag ids in the table below or "
                    "`benchmark-db regressions list --open`).")
    return section


def _open(flags: pd.DataFrame | None, metrics: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The open regression flags, one row per flag, the biggest change first, with a series label."""
    if flags is None or flags.empty or "open" not in flags:
        return pd.DataFrame(columns=["series", "metric", "pct_change", "run_time"])
    opened = flags[flags["open"].astype(bool)]
    if metrics is not None and "metric" in opened:
        opened = opened[opened["metric"].isin(metrics)]
    opened = _with_config(opened)
    opened = opened.assign(series=opened["model_name"].astype(str) + " · " + opened["hardware"].astype(str)
                           + " · " + opened["config"],
                           _size=opened["pct_change"].abs(),
                           _order=opened["metric"].map({m: i for i, m in enumerate(METRIC_NAMES)}).fillna(99))
    worst = opened.groupby("series")["_size"].transform("max")
    return opened.assign(_worst=worst).sort_values(["_worst", "series", "_order"], ascending=[False, True, True])


def _open_regressions_section(flags: pd.DataFrame | None) -> Section | None:
    """One row per series with an open regression (its metrics in one cell); the JSON has one row per flag."""
    if flags is None:
        return None
    opened = _open(flags)
    rows = []
    for series, part in opened.groupby("series", sort=False):
        first = part.iloc[0]
        rows.append({"model": first["model_name"], "hardware": first["hardware"], "config": first["config"],
                     "change": ", ".join(f"{METRIC_NAMES.get(m, m)} {_pct(v)}"
                                         for m, v in zip(part["metric"], part["pct_change"])),
                     "since": part["run_time"].min(), "flag": first.get("flag_id")})
    shown = pd.DataFrame(rows, columns=["model", "hardware", "config", "change", "since", "flag"])
    return Section("open-regressions", "Open regressions", table=opened.drop(columns=["_size", "_order", "_worst"],
                                                                           errors="ignore"),
                   text=None if not opened.empty else "None: no series is below its previous level.",
                   shown=shown, formats={"since": "time", "change": "text"})


def _flag_review(conn, filters: q.Filters, flags: pd.DataFrame | None) -> Section | None:
    """One small chart per flagged series: its runs around the flag, the noise band, the levels, the change."""
    if flags is None or flags.empty:
        return None
    review = flag_review.build_review(conn, flags, filters, MAX_FLAG_PANELS)
    if not review.panels:
        return None
    drawn = [p for p in review.panels if not p.points.empty]
    section = Section(
        "flag-review", "Flagged series: runs, noise band and change", chart_type="line",
        table=flag_review.table(review), shown=flag_review.shown(review),
        formats={"metric": "metric", "flag": "text", "flagged run": "time", "change": "text", "band": "text",
                 "flag id": "text"},
        figure=charts.flag_grid(drawn, "Each flag against its series' noise") if drawn else None,
        flag_review=flag_review.panels_json(review))
    section.text = (
        "One chart per flagged series, open regressions first (confirmed, then suspected), then the other flags. "
        "Shaded: the noise band, the level before the change ± the floor detection judged the flag by "
        f"({flag_review.DEFAULT_CHANGE_NOISE:g}× the series' run-to-run noise for a change point, "
        f"{flag_review.DEFAULT_OUTLIER_NOISE:g}× for an outlier or a suspected last run, or the threshold set for "
        "the series or its metric). Dashed: the level before; dotted: the level after. A hollow mark is a "
        "suspected flag, which the next run confirms or dismisses. Runs outside the band moved more than noise.")
    more = review.total_series - len(review.panels)
    if more:
        section.text += (f" {len(review.panels)} of {review.total_series} flagged series are drawn; {more} more"
                         + (f" ({review.hidden_open} with an open regression)" if review.hidden_open else "")
                         + " are in the tables “Open regressions” and “Other flags” and in the JSON report.")
    return section


def _trend(conn, filters: q.Filters, metric: str, flags: pd.DataFrame | None) -> Section:
    """Panels of the series that matter: open regressions of this metric first, then the biggest recent change."""
    column, label, _higher = q.METRICS[metric]
    flag_column = "latency_p50_ms" if column == "latency_ms" else column
    changes = q.series_changes(conn, column, filters)
    section = Section(f"trend-{metric}", f"Trend: {label}", chart_type="line")
    if changes.empty:
        section.text = "No results with this metric."
        return section
    opened = _open(flags, (flag_column,))
    open_pct = {}
    for row in opened.itertuples():
        open_pct.setdefault(_series_key(row), row.pct_change)
    changes = changes.assign(open_regression=[_series_key(r) in open_pct for r in changes.itertuples()])
    changes = changes.assign(_score=[abs(open_pct.get(_series_key(r), r.pct_change))
                                     if not is_missing(open_pct.get(_series_key(r), r.pct_change)) else -1.0
                                     for r in changes.itertuples()])
    changes = changes.sort_values(["open_regression", "_score", "series"], ascending=[False, False, True])
    chosen = changes.head(MAX_TREND_SERIES)
    points = q.series_points(conn, column, chosen["series_key"].tolist(), filters, max_points=TREND_POINTS)
    marks = q.mark_flags(points, flags, flag_column)
    section.figure = charts.trend_grid(points, marks, chosen["series"].tolist(), f"{label} over time", label)
    open_n = int(changes["open_regression"].sum())
    section.text = (f"{len(chosen)} of {len(changes)} series: "
                    + (f"the {min(open_n, len(chosen))} with an open regression, then " if open_n else "")
                    + "the largest change of the newest quarter of runs against the runs before. "
                    + ("Flagged runs are marked (▼ regression, ▲ improvement, × outlier)." if flags is not None
                       else "No regression_flags table yet: no marks."))
    section.table = changes.drop(columns=["_score", "series_key"])
    section.shown = chosen.rename(columns={"series": "series", "baseline": "before", "recent": "newest quarter",
                                           "pct_change": "% change", "open_regression": "open regression",
                                           "points": "runs"})[["series", "runs", "before", "newest quarter",
                                                               "% change", "open regression"]]
    section.formats = {"% change": "percent", "open regression": "flag"}
    return section


_COMPUTED = {"hardware_comparison": q.hardware_comparison, "model_comparison": q.model_comparison,
             "daily_model_stats": q.daily_model_stats, "compatibility_matrix": q.compatibility_matrix}


def _derived(conn, table: str, filters: q.Filters) -> tuple[pd.DataFrame, bool]:
    """(rows, True) read from the derived table the warehouse keeps current; (rows, False) computed from the
    facts when the table cannot answer these filters or does not exist (``queries.read_derived``)."""
    stored = q.read_derived(conn, table, filters)
    if stored is not None:
        return stored, True
    return _COMPUTED[table](conn, filters), False


def _bars(frame: pd.DataFrame, section_id: str, title: str, value: str, unit: str, facet: str = "model_name",
          color: str = "hardware", text: str | None = None, columns: dict[str, str] | None = None,
          sort: str | None = None) -> Section:
    """Bars in small multiples: a panel per ``facet`` value, batch size and precision across, ``color`` side by side.

    Each bar is the median of one (facet, batch size, precision, color) group: nothing is stacked or summed.
    """
    data = _with_config(frame.dropna(subset=[value]))
    section = Section(section_id, title, chart_type="bar", text=text, table=frame)
    if data.empty:
        section.text = (text + " " if text else "") + "No results with this metric."
        return section
    facets = data.groupby(facet)["results"].sum().sort_values(ascending=False) if "results" in data \
        else data[facet].value_counts()
    kept = sorted(facets.index[:MAX_FACETS], key=str)
    if len(facets) > MAX_FACETS:
        section.text = ((section.text + " ") if section.text else "") + \
            f"The {MAX_FACETS} of {len(facets)} {facet.replace('_', ' ')}s with the most results are drawn; " \
            "every row is in the JSON report."
    plotted = data[data[facet].isin(kept)].sort_values([facet, "batch_size", "precision", color], na_position="first")
    section.figure = charts.faceted_bars(plotted, facet, "config", value, color, title, unit)
    columns = columns or {"model_name": "model", "config": "config", "hardware": "hardware", value: unit,
                          "speedup_vs_cpu": "× CPU", "results": "results"}
    ranked = data.sort_values(sort or value, ascending=value.startswith("median_latency"))
    section.shown = _pick(ranked, columns)
    section.table_in_html = False
    return section


def _fastest_hardware(comparison: pd.DataFrame) -> Section:
    best = _with_config(comparison[comparison["throughput_rank"] == 1]) if not comparison.empty else comparison
    return Section("hardware-comparison", "Fastest hardware per model and configuration", table=comparison,
                   text="Median throughput of the fastest hardware, its p50 latency and its speedup over the CPU "
                        "(same model, batch size and precision).",
                   shown=_pick(best, {"model_name": "model", "config": "config", "hardware": "hardware",
                                      "median_throughput_items_per_second": "items/s",
                                      "median_latency_p50_ms": "p50 ms", "speedup_vs_cpu": "× CPU",
                                      "results": "results"}))


def _heatmap(conn, filters: q.Filters, matrix: pd.DataFrame | None = None) -> Section:
    matrix = _derived(conn, "compatibility_matrix", filters)[0] if matrix is None else matrix
    if matrix.empty:
        return Section("compatibility", "Compatibility matrix", text="No models in the warehouse yet.")
    grid = matrix.assign(subject=matrix["subject"] + matrix["level"].map({"family": " (family)", "model": ""}))
    grid = grid.assign(cell=grid["status"].map(charts.STATUS_TEXT) + grid["score"].map(
        lambda s: "" if pd.isna(s) else f" {s:.0%}"))
    pivot = grid.pivot(index="subject", columns="hardware_type", values="cell") \
        .reindex(index=list(dict.fromkeys(grid["subject"]))).reset_index()
    pivot.columns.name = None
    return Section("compatibility", "Compatibility matrix", figure=charts.compatibility_heatmap(matrix),
                   chart_type="heatmap", table=pivot, shown=pivot, table_in_html=False,
                   formats={c: "text" for c in pivot.columns},
                   text="✓ compatible, ◐ partial, ✗ incompatible, – untested; % = share of compatible tests.")


def _recent(conn, filters: q.Filters) -> Section:
    recent = q.recent_results(conn, filters)
    return Section("recent", "Latest results", table=recent,
                   shown=_pick(_with_config(recent.head(10)), {
                       "run_time": "run time", "model_name": "model", "hardware": "hardware", "config": "config",
                       "throughput_items_per_second": "items/s", "latency_p50_ms": "p50 ms",
                       "latency_p99_ms": "p99 ms", "memory_peak_mb": "memory MB"}),
                   formats={"run time": "time"})


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


# --- LLM serving ---------------------------------------------------------------------------------

def _llm_serving(conn, filters: q.Filters) -> list[Section]:
    """Per use case the top configurations and the cheapest meeting its SLA, then the Pareto front; nothing at
    all when the filters keep no LLM-serving result, so a report of a warehouse without any reads as before."""
    view = llm.llm_view(conn, filters)
    if view is None:
        return []
    return [_llm_use_cases(view), _llm_top(view), _llm_pareto(view)]


def _llm_use_cases(view: llm.LlmView) -> Section:
    rows = []
    for uc in view.use_cases:
        best = uc.ranked.iloc[0].to_dict() if len(uc.ranked) else None
        cheapest = uc.sla["cheapest"]
        rows.append({
            "use_case": uc.case.name, "sla": llm.sla_text(uc.case),
            "sla_terms": ",".join(str(c) for c in uc.case.sla) or None,  # as GET /llm/sla?sla= takes it
            "candidates": uc.candidates,
            "best_configuration": llm.configuration(best) if best else None,
            "best_load": llm.load(best) if best else None,
            "best_rank": int(best["rank_position"]) if best else None,
            "best_score": best["composite_score"] if best else None,
            "best_result_id": int(best["result_id"]) if best else None,
            "cheapest_configuration": llm.configuration(cheapest) if cheapest else None,
            "cheapest_load": llm.load(cheapest) if cheapest else None,
            "cheapest_usd_per_million_output_tokens": cheapest["usd_per_million_output_tokens"] if cheapest else None,
            "cheapest_result_id": cheapest["result_id"] if cheapest else None,
            "considered": uc.sla["considered"], "left_out": uc.sla["left_out"],
            "left_out_missing": ", ".join(f"{k}: {v}" for k, v in uc.sla["left_out_missing"].items()) or None,
            "meeting": uc.sla["meeting"], "meeting_unpriced": uc.sla["meeting_unpriced"],
            "criteria_dropped": ", ".join(uc.dropped) or None,
        })
    table = pd.DataFrame(rows).astype({"best_rank": "Int64", "best_result_id": "Int64", "cheapest_result_id": "Int64"})
    shown = pd.DataFrame({
        "use case": table["use_case"], "SLA": table["sla"],
        "best (TOPSIS)": [None if c is None else f"{c} · {load}" + ("" if rank == 1 else f" (#{rank})")
                          for c, load, rank in zip(table["best_configuration"], table["best_load"],
                                                   table["best_rank"])],
        "score": table["best_score"],
        "cheapest meeting SLA": [None if c is None else f"{c} · {load}" for c, load in
                                 zip(table["cheapest_configuration"], table["cheapest_load"])],
        "$/1M out": table["cheapest_usd_per_million_output_tokens"],
        "meeting": [f"{uc.sla['meeting']} of {uc.sla['judged']} judged" for uc in view.use_cases],
        "left out": [llm.left_out_text(uc.sla) for uc in view.use_cases],
    })
    section = Section("llm-serving", "LLM serving by use case", table=table, shown=shown,
                      formats={"SLA": "text", "best (TOPSIS)": "text", "cheapest meeting SLA": "text",
                               "meeting": "text", "left out": "text"})
    section.text = (
        f"{len(view.points)} load points (the latest result of each configuration at each load). Best: the "
        "configuration TOPSIS ranks first with the use case's default weights, each configuration by its best load "
        "point in the use case's workload that meets its SLA. Cheapest: the load point in the workload meeting the "
        "SLA at the lowest $ per million output tokens. Left out: points lacking a value the SLA needs, which "
        "cannot be judged. The same answers as `benchmark-db llm` and `GET /llm/rankings`, `/llm/sla`.")
    return section


def _llm_top(view: llm.LlmView) -> Section:
    ranked = [uc for uc in view.use_cases if len(uc.ranked)]
    per_case = min(LLM_TOP, max(1, MAX_SHOWN_ROWS // max(1, len(ranked))))
    every = pd.concat([uc.ranked.assign(use_case=uc.case.name, candidates=uc.candidates) for uc in ranked],
                      ignore_index=True) if ranked else pd.DataFrame()
    columns = ["use_case", "rank_position", "composite_score", "candidates", "model_name", "quantization", "gpu",
               "gpu_count", "framework", "framework_version", "concurrency", "request_rate", "batch_size",
               "input_tokens", "output_tokens", "result_id", *serving.CRITERIA]
    table = every[[c for c in columns if c in every.columns]] if len(every) else pd.DataFrame(columns=columns)
    rows = []
    for uc in ranked:
        for record in uc.ranked.head(per_case).to_dict("records"):
            rows.append({"use case": uc.case.name, "#": int(record["rank_position"]),
                         "configuration": llm.configuration(record), "load": llm.load(record),
                         "TTFT p90 ms": record["ttft_ms_p90"], "tokens/s per user": record["user_tokens_per_s"],
                         "tokens/s per GPU": record["output_tokens_per_s_per_gpu"],
                         "$/1M out": record["usd_per_million_output_tokens"], "score": record["composite_score"]})
    shown = pd.DataFrame(rows, columns=["use case", "#", "configuration", "load", "TTFT p90 ms", "tokens/s per user",
                                        "tokens/s per GPU", "$/1M out", "score"])
    section = Section("llm-rankings", "LLM serving: top configurations per use case (TOPSIS)", table=table,
                      shown=shown, formats={"configuration": "text", "load": "text"})
    section.text = (f"The {per_case} best-ranked configurations of each use case with candidates ({len(ranked)} of "
                    f"{len(view.use_cases)}); # is the rank among all configurations meeting the use case's SLA, "
                    "score the TOPSIS closeness (0 to 1, higher is better).")
    dropped = sorted({c for uc in ranked for c in uc.dropped})
    if dropped:
        section.text += (f" Left out of the scores because a candidate lacks them: {', '.join(dropped)} (the "
                         "other weights renormalised).")
    if not ranked:
        section.text = "No configuration meets the SLA of any use case."
    return section


def _llm_pareto(view: llm.LlmView) -> Section:
    points = view.pareto
    section = Section("llm-pareto", "LLM serving: Pareto front of tokens/s per GPU against tokens/s per user",
                      chart_type="scatter")
    left = view.pareto_left_out
    note = (f" Left out: {left} load point{'s' if left != 1 else ''} without a GPU count (a hosted API) or a "
            "per-user speed." if left else "")
    if points.empty:
        section.text = "No load point has both tokens/s per user and tokens/s per GPU." + note
        return section
    records = points.to_dict("records")
    section.figure = charts.serving_pareto(
        points, [f"{llm.configuration(r)} · {llm.load(r)}" for r in records],
        [f"{llm.device(r)} {llm.load(r)}" for r in records],
        "Output tokens/s per GPU against per user (filled: on the front)")
    columns = ["on_front", "model_name", "quantization", "gpu", "gpu_count", "framework", "framework_version",
               "concurrency", "request_rate", "input_tokens", "output_tokens", "result_id", "user_tokens_per_s",
               "output_tokens_per_s_per_gpu", "usd_per_million_output_tokens", "ttft_ms_p90"]
    section.table = points[[c for c in columns if c in points.columns]]
    front = [r for r in records if r["on_front"]]
    section.shown = pd.DataFrame(
        [{"configuration": llm.configuration(r), "load": llm.load(r), "tokens/s per user": r["user_tokens_per_s"],
          "tokens/s per GPU": r["output_tokens_per_s_per_gpu"], "$/1M out": r["usd_per_million_output_tokens"],
          "TTFT p90 ms": r["ttft_ms_p90"]} for r in front],
        columns=["configuration", "load", "tokens/s per user", "tokens/s per GPU", "$/1M out", "TTFT p90 ms"])
    section.formats = {"configuration": "text", "load": "text"}
    section.text = (f"{len(front)} of {len(points)} load points are on the front (filled, joined, listed below): no "
                    "other point beats them on both. Along it, more concurrency earns a GPU more tokens and gives "
                    "each user fewer." + note)
    return section


# --- small helpers -------------------------------------------------------------------------------

def _config(batch: Any, precision: Any, sequence_length: Any = None) -> str:
    parts = [f"b{int(batch)}" if not is_missing(batch) else "b?"]
    if isinstance(precision, str) and precision:
        parts.append(precision)
    if not is_missing(sequence_length):
        parts.append(f"s{int(sequence_length)}")
    return " · ".join(parts)


def _with_config(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with a ``config`` column: batch size, precision and (where the frame has it) sequence length;
    for a flag of an LLM serving series, its serving configuration (framework, version, load, tokens)."""
    if "batch_size" not in frame:
        return frame
    seq = frame["sequence_length"] if "sequence_length" in frame else [None] * len(frame)
    precision = frame["precision"] if "precision" in frame else [None] * len(frame)
    config = [_config(b, p, s) for b, p, s in zip(frame["batch_size"], precision, seq)]
    if "fact_table" in frame:
        config = [serving_label(row) if row.fact_table == "llm_serving_results" else plain
                  for row, plain in zip(frame.itertuples(index=False), config)]
    return frame.assign(config=config)


def _pick(frame: pd.DataFrame, columns: dict[str, str], limit: int | None = None) -> pd.DataFrame:
    """The first rows of ``frame`` with the columns renamed for people; absent columns are skipped."""
    present = {k: v for k, v in columns.items() if k in frame.columns}
    return frame[list(present)].rename(columns=present).head(limit or len(frame)).reset_index(drop=True)


def _series_key(row: Any) -> tuple:
    return tuple("" if is_missing(v := getattr(row, k, None)) else str(int(v) if isinstance(v, float) else v)
                 for k in _SERIES_KEYS)


def _num(value: Any) -> str:
    return short_number(value)


def _pct(value: Any) -> str:
    return signed_percent(value)
