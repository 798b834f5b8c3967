"""``benchmark-db compare``: hardware side by side for a model, models side by side on a hardware, run against run.

The model and hardware views aggregate only the columns they show, straight from the facts with
the model resolved to its id first, so DuckDB scans two integer columns and one metric of the
performance table: that is what keeps the 10 M-row compare under 100 ms. Results are plain
``Table``s, pivoted in Python (they are a handful of rows), so the command never imports pandas.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import duckdb

from benchmark_pipeline.lib.normalize import canonical_hardware_type

from .filters import METRICS, RUN_METRICS, Filters, hardware_label_sql
from .table import Table


class CompareError(ValueError):
    """The model, hardware or run asked for does not exist (message names what does)."""


def resolve_model(conn: duckdb.DuckDBPyConnection, name: str) -> tuple[int, str]:
    row = conn.execute("SELECT model_id, model_name FROM models WHERE lower(model_name) = lower(?)", [name]).fetchone()
    if row:
        return int(row[0]), row[1]
    names = [r[0] for r in conn.execute("SELECT model_name FROM models ORDER BY model_name").fetchall()]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; {len(names)} models known"
    raise CompareError(f"no model named {name!r}{hint}")


def resolve_hardware(conn: duckdb.DuckDBPyConnection, name: str) -> list[int]:
    hw_type = canonical_hardware_type(name) or name.lower()
    ids = [r[0] for r in conn.execute(
        "SELECT hardware_id FROM hardware_platforms WHERE hardware_type = ? OR lower(device_name) = lower(?)",
        [hw_type, name]).fetchall()]
    if not ids:
        known = [r[0] for r in conn.execute(
            f"SELECT DISTINCT {hardware_label_sql()} FROM hardware_platforms h ORDER BY 1").fetchall()]
        raise CompareError(f"no hardware type or device named {name!r}; known: {', '.join(known) or 'none'}")
    return ids


def _where(filters: Filters, params: list[Any]) -> str:
    where = []
    if not filters.include_simulated:
        where.append("NOT p.is_simulated")
    if filters.since is not None:
        where.append("p.run_time >= ?")
        params.append(filters.since_utc())
    return "".join(f" AND {w}" for w in where)


def _metric_expr(metric: str) -> str:
    column = METRICS[metric][0]
    return "coalesce(p.latency_p50_ms, p.average_latency_ms)" if column == "latency_ms" else f"p.{column}"


def compare_model(conn: duckdb.DuckDBPyConnection, model: str, metric: str, filters: Filters = Filters()) -> Table:
    """Rows: batch size and precision; columns: one per hardware with the median of the metric."""
    model_id, _name = resolve_model(conn, model)
    params: list[Any] = [model_id]
    long = conn.execute(f"""
        WITH agg AS (
            SELECT p.hardware_id, p.batch_size, p.precision, median({_metric_expr(metric)}) AS value
            FROM performance_results p WHERE p.model_id = ?{_where(filters, params)}
            GROUP BY ALL)
        SELECT agg.batch_size, agg.precision, {hardware_label_sql()} AS hardware, median(agg.value) AS value
        FROM agg JOIN hardware_platforms h USING (hardware_id)
        GROUP BY ALL""", params).fetchall()
    return _side_by_side(long, ["batch_size", "precision"], metric)


def compare_hardware(conn: duckdb.DuckDBPyConnection, hardware: str, metric: str,
                     filters: Filters = Filters()) -> Table:
    """Rows: hardware, batch size and precision; columns: one per model with the median of the metric."""
    ids = resolve_hardware(conn, hardware)
    params: list[Any] = [ids]
    long = conn.execute(f"""
        WITH agg AS (
            SELECT p.model_id, p.hardware_id, p.batch_size, p.precision, median({_metric_expr(metric)}) AS value
            FROM performance_results p WHERE list_contains(?, p.hardware_id){_where(filters, params)}
            GROUP BY ALL)
        SELECT {hardware_label_sql()} AS hardware, agg.batch_size, agg.precision, m.model_name, median(agg.value) AS value
        FROM agg JOIN hardware_platforms h USING (hardware_id) JOIN models m USING (model_id)
        GROUP BY ALL""", params).fetchall()
    return _side_by_side(long, ["hardware", "batch_size", "precision"], metric)


def _side_by_side(long: list[tuple], index: list[str], metric: str) -> Table:
    """Long rows (*index, column, value) to one row per index and one column per distinct ``column``."""
    width = len(index)
    names = sorted({row[width] for row in long})
    cells: dict[tuple, dict[str, float]] = {}
    for row in long:
        key = tuple("" if v is None else v for v in row[:width])
        if row[width + 1] is not None:
            cells.setdefault(key, {})[row[width]] = row[width + 1]
    pick = max if METRICS[metric][2] else min
    rows = []
    for key in sorted(cells, key=lambda k: tuple((v is None, v) for v in k)):
        values = cells[key]
        best = pick(values, key=values.__getitem__)
        rows.append(key + tuple(values.get(n) for n in names) + (best,))
    return Table(index + names + ["best"], rows)


@dataclass(frozen=True)
class RunSide:
    label: str
    run_ids: list[int]


_COMMIT = re.compile(r"^[0-9a-fA-F]{4,40}$")


def resolve_run(conn: duckdb.DuckDBPyConnection, ref: str) -> RunSide:
    """A run id, else a git commit (prefix of at least 4 hex digits) naming every run of that commit."""
    if ref.isdigit():
        row = conn.execute("SELECT run_id FROM test_runs WHERE run_id = ?", [int(ref)]).fetchone()
        if row:
            return RunSide(f"run {ref}", [int(ref)])
    if _COMMIT.match(ref):
        rows = conn.execute("SELECT run_id, git_commit FROM test_runs WHERE starts_with(lower(git_commit), lower(?))",
                            [ref]).fetchall()
        commits = sorted({r[1] for r in rows})
        if len(commits) > 1:
            raise CompareError(f"commit prefix {ref!r} is ambiguous: {', '.join(c[:12] for c in commits[:5])}")
        if rows:
            return RunSide(f"commit {commits[0][:12]}", [int(r[0]) for r in rows])
    raise CompareError(f"no run id or git commit {ref!r} in the warehouse")


def compare_runs(conn: duckdb.DuckDBPyConnection, a: str, b: str, metric: str | None = None,
                 filters: Filters = Filters()) -> tuple[Table, RunSide, RunSide]:
    """Every series both sides measured, side by side with the % change from A to B and whether it is better."""
    side_a, side_b = resolve_run(conn, a), resolve_run(conn, b)
    metrics = {METRICS[metric][0].replace("latency_ms", "latency_p50_ms"): METRICS[metric][2]} if metric else RUN_METRICS
    unpivot = ", ".join(metrics)
    keys = "model_name, hardware, test_case, batch_size, sequence_length, precision"
    key_list = [k.strip() for k in keys.split(",")]
    join = " AND ".join(f"a.{k} IS NOT DISTINCT FROM b.{k}" for k in key_list + ["metric"])
    params: list[Any] = [side_a.run_ids, side_a.run_ids, side_b.run_ids]
    cursor = conn.execute(f"""
        WITH perf AS (
            SELECT CASE WHEN list_contains(?, p.run_id) THEN 'a' ELSE 'b' END AS side, m.model_name,
                   {hardware_label_sql()} AS hardware, p.test_case, p.batch_size, p.sequence_length,
                   p.precision, {", ".join(f"p.{c}" for c in metrics)}
            FROM performance_results p JOIN models m USING (model_id) JOIN hardware_platforms h USING (hardware_id)
            WHERE (list_contains(?, p.run_id) OR list_contains(?, p.run_id)){_where(filters, params)}),
        long AS (UNPIVOT perf ON {unpivot} INTO NAME metric VALUE value),
        agg AS (SELECT side, {keys}, metric, median(value) AS value FROM long GROUP BY ALL)
        SELECT {", ".join(f"a.{k}" for k in key_list)}, a.metric, a.value AS value_a, b.value AS value_b,
               100.0 * (b.value - a.value) / nullif(a.value, 0) AS change_pct
        FROM (SELECT * FROM agg WHERE side = 'a') a
        JOIN (SELECT * FROM agg WHERE side = 'b') b ON {join}
        ORDER BY ALL
        """, params)
    table = Table.from_cursor(cursor)
    bands = _noise_bands(conn, metrics, side_a.run_ids + side_b.run_ids, filters)
    rows = []
    metric_at = table.columns.index("metric")
    for row in table.rows:
        a_value, b_value = row[-3], row[-2]
        band = bands.get(row[:metric_at + 1])
        delta = b_value - a_value if a_value is not None and b_value is not None else None
        if delta is None:
            verdict = None
        elif abs(delta) <= (band or 0.0):
            verdict = "same"  # within what this series moves from run to run
        else:
            verdict = "better" if (delta > 0) == metrics[row[metric_at]] else "worse"
        rows.append(row + (band, verdict))
    return Table(table.columns + ["noise_band", "verdict"], rows), side_a, side_b


def _noise_bands(conn: duckdb.DuckDBPyConnection, metrics: dict[str, bool], run_ids: list[int],
                 filters: Filters) -> dict[tuple, float]:
    """Per series and metric, the change that counts as news: the user's metric threshold, else
    ``DEFAULT_COMPARE_NOISE`` times the run-to-run noise of the series' own history."""
    from benchmark_pipeline.lib.changepoint.noise import DEFAULT_COMPARE_NOISE, Threshold, floor_for, noise_scale

    params: list[Any] = [run_ids]
    columns = ", ".join(f"p.{c}" for c in metrics)
    history = conn.execute(f"""
        WITH perf AS (
            SELECT m.model_name, {hardware_label_sql()} AS hardware, p.test_case, p.batch_size, p.sequence_length,
                   p.precision, p.run_time, p.result_id, {columns}
            FROM performance_results p JOIN models m USING (model_id) JOIN hardware_platforms h USING (hardware_id)
            WHERE p.model_id IN (SELECT model_id FROM performance_results WHERE list_contains(?, run_id))
                  {_where(filters, params)}),
        long AS (UNPIVOT perf ON {", ".join(metrics)} INTO NAME metric VALUE value)
        SELECT model_name, hardware, test_case, batch_size, sequence_length, precision, metric,
               list(value ORDER BY run_time, result_id), median(value)
        FROM long GROUP BY ALL
        """, params).fetchall()
    thresholds = {}
    if conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'regression_thresholds'"
                    ).fetchall()[0][0]:
        thresholds = {metric: Threshold(kind, value) for metric, kind, value in conn.execute(
            "SELECT metric, kind, value FROM regression_thresholds WHERE series_id IS NULL").fetchall()}
    return {tuple(row[:7]): floor_for(thresholds.get(row[6]), DEFAULT_COMPARE_NOISE, row[8], noise_scale(row[7]))
            for row in history}
