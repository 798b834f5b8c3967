"""SQL over the warehouse facts: the derived tables, the report sections and the compare views.

Every ``*_sql`` query is computed from the fact tables, never from the derived tables, so the
command line gives current answers on a warehouse whose analytics assets have not run. Filters
become SQL predicates (not ``$x IS NULL OR ...``), which keeps DuckDB's filter pushdown for the
10 M-row compare target. Simulated rows are left out unless a caller asks for them: they would
otherwise win every ranking they appear in.

``read_derived`` is the other way round: the rows a derived table already holds, filtered, for the
reports; it answers None when the table cannot give what the fact query would, and the caller
computes instead.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable

import duckdb
import pandas as pd

from benchmark_pipeline.lib import vocabulary
from benchmark_pipeline.lib.llm.hardware import HOSTED
from benchmark_pipeline.lib.normalize import KNOWN_HARDWARE_TYPES, canonical_hardware_type

from .filters import METRICS, RUN_METRICS, Filters, hardware_label_sql
from .table import is_missing
from .recommend import OUTPUT_COLUMNS as RECOMMENDATION_COLUMNS
from benchmark_pipeline.lib.scope import Scope

# METRICS, RUN_METRICS and Filters are imported from here by the reports as well.
_REEXPORTED = (METRICS, RUN_METRICS)


_UTC_DAY = "CAST(timezone('UTC', {time}) AS DATE)"  # the day a result counts for in daily_model_stats


def _perf_cte(filters: Filters, params: dict[str, Any], name: str = "perf", hardware: bool = True,
              scope: Scope | None = None, within: str | None = None) -> str:
    # ``within``: one more condition on p (the result), m (its model) and h (its platform).
    where = ["true"] if within is None else [within]
    if scope is not None and scope.models is not None:
        where.append("m.model_name IN (SELECT unnest($scope_models::VARCHAR[]))")
        params["scope_models"] = sorted(scope.models)
    if hardware and scope is not None and scope.platforms is not None:
        where.append("(h.hardware_type, coalesce(h.device_name, '')) IN "
                     "(SELECT (t, d) FROM (SELECT unnest($scope_types::VARCHAR[]) AS t, unnest($scope_devices::VARCHAR[]) AS d))")
        pairs = sorted(scope.platforms, key=lambda p: (p[0], p[1] or ""))
        params["scope_types"] = [t for t, _ in pairs]
        params["scope_devices"] = [d or "" for _, d in pairs]
    if not filters.include_simulated:
        where.append("NOT p.is_simulated")
    if filters.model:
        where.append("lower(m.model_name) = lower($model)")
        params["model"] = filters.model
    if filters.since is not None:
        where.append("p.run_time >= $since")
        params["since"] = filters.since_utc()
    if hardware and filters.hardware:
        where.append("(h.hardware_type = $hw_type OR lower(h.device_name) = lower($hw))")
        params["hw"] = filters.hardware
        params["hw_type"] = canonical_hardware_type(filters.hardware) or filters.hardware.lower()
    return f"""{name} AS (
        SELECT p.*, coalesce(p.latency_p50_ms, p.average_latency_ms) AS latency_ms,
               m.model_name, m.model_family, h.hardware_type, h.device_name, {hardware_label_sql()} AS hardware
        FROM performance_results p
        JOIN models m USING (model_id)
        JOIN hardware_platforms h USING (hardware_id)
        WHERE {' AND '.join(where)})"""


def _medians_cte(source: str, name: str = "agg") -> str:
    return f"""{name} AS (
        SELECT model_name, any_value(model_family) AS model_family, batch_size, precision,
               hardware_type, device_name, any_value(hardware) AS hardware,
               count(*) AS results, max(run_time) AS last_run,
               median(latency_p50_ms) AS median_latency_p50_ms, arg_max(latency_p50_ms, run_time) AS latest_latency_p50_ms,
               median(latency_p90_ms) AS median_latency_p90_ms, arg_max(latency_p90_ms, run_time) AS latest_latency_p90_ms,
               median(latency_p99_ms) AS median_latency_p99_ms, arg_max(latency_p99_ms, run_time) AS latest_latency_p99_ms,
               median(throughput_items_per_second) AS median_throughput_items_per_second,
               arg_max(throughput_items_per_second, run_time) AS latest_throughput_items_per_second,
               median(memory_peak_mb) AS median_memory_peak_mb, arg_max(memory_peak_mb, run_time) AS latest_memory_peak_mb,
               median(power_watts) AS median_power_watts, arg_max(power_watts, run_time) AS latest_power_watts,
               median(items_per_joule) AS median_items_per_joule, arg_max(items_per_joule, run_time) AS latest_items_per_joule,
               median(latency_ms) AS median_latency_ms
        FROM {source}
        GROUP BY model_name, batch_size, precision, hardware_type, device_name)"""


def _cpu_cte(source: str, name: str = "cpu") -> str:
    """The CPU baseline of each model, batch size and precision: medians over every CPU device's results."""
    return f"""{name} AS (
        SELECT model_name, batch_size, precision,
               median(throughput_items_per_second) AS cpu_median_throughput_items_per_second,
               median(latency_ms) AS cpu_median_latency_ms
        FROM {source} WHERE hardware_type = 'cpu' GROUP BY ALL)"""


# The columns of hardware_comparison that rank or compare a group with the rest of its cell (model, batch size,
# precision); the others are the group's own medians, which a scoped refresh keeps for the groups it did not touch.
_HARDWARE_CELL_COLUMNS = ("cpu_median_throughput_items_per_second", "cpu_median_latency_ms", "speedup_vs_cpu",
                          "speedup_basis", "throughput_rank")


def _hardware_ranked() -> str:
    """hardware_comparison's rows from ``agg`` (medians per group) and ``cpu`` (each cell's CPU baseline)."""
    throughput = "cpu.cpu_median_throughput_items_per_second > 0 AND a.median_throughput_items_per_second IS NOT NULL"
    latency = "a.median_latency_ms > 0 AND cpu.cpu_median_latency_ms IS NOT NULL"
    return f"""
    SELECT *, {_HARDWARE_RANK} AS throughput_rank FROM (
        SELECT a.*, cpu.cpu_median_throughput_items_per_second, cpu.cpu_median_latency_ms,
               CASE WHEN {throughput} THEN a.median_throughput_items_per_second / cpu.cpu_median_throughput_items_per_second
                    WHEN {latency} THEN cpu.cpu_median_latency_ms / a.median_latency_ms END AS speedup_vs_cpu,
               CASE WHEN {throughput} THEN 'throughput' WHEN {latency} THEN 'latency' END AS speedup_basis
        FROM agg a
        LEFT JOIN cpu ON cpu.model_name = a.model_name AND cpu.batch_size = a.batch_size
                     AND cpu.precision IS NOT DISTINCT FROM a.precision)
    ORDER BY model_name, batch_size, precision, throughput_rank, hardware
    """


def _model_ranked() -> str:
    """model_comparison's rows from ``agg`` (medians per model and platform group)."""
    return f"""
    SELECT hardware_type, device_name, hardware, batch_size, precision, model_name, model_family, results, last_run,
           median_latency_p50_ms, median_latency_p99_ms, median_throughput_items_per_second, median_memory_peak_mb,
           median_power_watts, median_items_per_joule,
           {_MODEL_RERANK["relative_throughput"]} AS relative_throughput,
           {_MODEL_RERANK["throughput_rank"]} AS throughput_rank
    FROM agg
    ORDER BY hardware, batch_size, precision, throughput_rank, model_name
    """


def hardware_comparison_sql(filters: Filters = Filters(), scope: Scope | None = None) -> tuple[str, dict[str, Any]]:
    """Per model, batch size and precision: every hardware's latest and median metrics and its speedup over CPU.

    The CPU baseline ignores the hardware filter: comparing CUDA alone still needs CPU rows. A ``scope``
    limits the rows to its models (its platforms are ignored: a model's rows rank all its hardware).
    """
    params: dict[str, Any] = {}
    by_model = None if scope is None else Scope(models=scope.models)
    sql = f"""
    WITH {_perf_cte(filters, params, scope=by_model)},
    {_perf_cte(Filters(filters.model, None, filters.since, filters.include_simulated), params, "perf_all", False,
               by_model)},
    {_cpu_cte("perf_all")},
    {_medians_cte("perf")}
    {_hardware_ranked()}"""
    return sql, params


def model_comparison_sql(filters: Filters = Filters(), scope: Scope | None = None) -> tuple[str, dict[str, Any]]:
    """Per hardware, batch size and precision: every model's medians, ranked, relative to the best model there.

    A ``scope`` limits the rows to its platforms (its models are ignored: a platform's rows rank all its models).
    """
    params: dict[str, Any] = {}
    by_platform = None if scope is None else Scope(platforms=scope.platforms)
    sql = f"""
    WITH {_perf_cte(filters, params, scope=by_platform)}, {_medians_cte("perf")}
    {_model_ranked()}"""
    return sql, params


# --- the same rows, recomputed for the groups a change added results to -----------------------------
#
# A group is one model on one platform (hardware type, device) at one batch size and precision: the rows one
# median is taken over. An addition changes the medians of its groups only; what ranks or compares a group
# (its cell's CPU baseline, ranks, relative throughput) is then recomputed over the cell from the stored medians
# of its other groups. So a drop reads the results of the groups it touched, not every result of the models it
# names. ``GROUPS`` and ``DAYS`` are relations the caller provides (model_name, batch_size, precision,
# hardware_type, device_name; model_name, day).

GROUPS, DAYS = "refresh_groups", "refresh_days"
GROUP_COLUMNS = ("model_name", "batch_size", "precision", "hardware_type", "device_name")
_SAME_CELL = "{a}.model_name = {b}.model_name AND {a}.batch_size = {b}.batch_size AND " \
             "{a}.precision IS NOT DISTINCT FROM {b}.precision"
_SAME_PLATFORM_CELL = "{a}.hardware_type = {b}.hardware_type AND {a}.device_name IS NOT DISTINCT FROM " \
                      "{b}.device_name AND {a}.batch_size = {b}.batch_size AND {a}.precision IS NOT DISTINCT FROM " \
                      "{b}.precision"
_SAME_GROUP = _SAME_CELL + " AND {a}.hardware_type = {b}.hardware_type AND " \
                           "{a}.device_name IS NOT DISTINCT FROM {b}.device_name"


def hardware_comparison_of_groups_sql() -> tuple[str, dict[str, Any]]:
    """The hardware_comparison rows of every cell with a group in ``GROUPS``, from that group's results, the
    stored medians of the cell's other groups and, where a CPU group is among them, the cell's CPU results."""
    params: dict[str, Any] = {}
    # Matched on the result's own columns (ids, batch size, precision), so DuckDB filters the results before
    # joining them to their model and platform: naming every result first cost 0.7 s at 10M rows.
    result = "g.model_id = p.model_id AND g.batch_size = p.batch_size AND g.precision IS NOT DISTINCT FROM p.precision"
    of_group = f"EXISTS (SELECT 1 FROM group_ids g WHERE {result} AND g.hardware_id = p.hardware_id)"
    cpu_of_cell = f"h.hardware_type = 'cpu' AND EXISTS (SELECT 1 FROM group_ids g WHERE {result} AND g.cpu)"
    sql = f"""
    WITH group_ids AS (
        SELECT m.model_id, h.hardware_id, g.batch_size, g.precision, g.hardware_type = 'cpu' AS cpu
        FROM {GROUPS} g JOIN models m USING (model_name)
        JOIN hardware_platforms h ON h.hardware_type = g.hardware_type AND h.device_name IS NOT DISTINCT FROM g.device_name),
    {_perf_cte(Filters(), params, within=of_group)},
    {_perf_cte(Filters(), params, "perf_cpu", within=cpu_of_cell)},
    {_medians_cte("perf", "fresh")},
    cells AS (SELECT model_name, batch_size, precision, bool_or(hardware_type = 'cpu') AS cpu_touched
              FROM {GROUPS} GROUP BY ALL),
    kept AS (
        SELECT s.* EXCLUDE (model_family, {", ".join(_HARDWARE_CELL_COLUMNS)}), m.model_family
        FROM hardware_comparison s JOIN models m USING (model_name)
        SEMI JOIN cells c ON {_SAME_CELL.format(a="c", b="s")}
        ANTI JOIN {GROUPS} g ON {_SAME_GROUP.format(a="g", b="s")}),
    agg AS (SELECT * FROM fresh UNION ALL BY NAME SELECT * FROM kept),
    {_cpu_cte("perf_cpu", "cpu_fresh")},
    cpu AS (
        SELECT * FROM cpu_fresh
        UNION ALL BY NAME
        SELECT s.model_name, s.batch_size, s.precision,
               any_value(s.cpu_median_throughput_items_per_second) AS cpu_median_throughput_items_per_second,
               any_value(s.cpu_median_latency_ms) AS cpu_median_latency_ms
        FROM hardware_comparison s SEMI JOIN cells c ON {_SAME_CELL.format(a="c", b="s")} AND NOT c.cpu_touched
        GROUP BY ALL)
    {_hardware_ranked()}"""
    return sql, params


def added_rows_sql() -> str:
    """The group and UTC day of every result ingestion run ``$run`` added (simulated ones count nowhere)."""
    return f"""
        SELECT DISTINCT m.model_name, p.batch_size, p.precision, h.hardware_type, h.device_name,
               {_UTC_DAY.format(time="p.run_time")} AS day
        FROM performance_results p JOIN models m USING (model_id) JOIN hardware_platforms h USING (hardware_id)
        WHERE p.ingestion_run_id = $run AND NOT p.is_simulated"""


def model_comparison_of_groups_sql() -> tuple[str, dict[str, Any]]:
    """The model_comparison rows of every platform cell with a group in ``GROUPS``, from the (current)
    hardware_comparison rows of that cell: both hold the same medians of the same groups."""
    sql = f"""
    WITH agg AS (
        SELECT * FROM hardware_comparison s
        SEMI JOIN (SELECT DISTINCT hardware_type, device_name, batch_size, precision FROM {GROUPS}) c
             ON {_SAME_PLATFORM_CELL.format(a="c", b="s")})
    {_model_ranked()}"""
    return sql, {}


def daily_model_stats_sql(filters: Filters = Filters(), scope: Scope | None = None,
                          days: tuple[date, date] | None = None) -> tuple[str, dict[str, Any]]:
    """Per model and UTC day: mean throughput, p95 of the results' typical latency, number of benchmarks.

    ``days`` (first, last): only the (model, day) pairs of the relation ``DAYS``, which lie between those."""
    params: dict[str, Any] = {}
    by_model = None if scope is None else Scope(models=scope.models)
    within = None
    if days is not None:
        # The range on run_time itself first: DuckDB skips whole row groups by it, not by a day computed per row.
        params["days_from"] = datetime.combine(days[0], time(0), timezone.utc)
        params["days_to"] = datetime.combine(days[1] + timedelta(days=1), time(0), timezone.utc)
        within = (f"p.run_time >= $days_from AND p.run_time < $days_to AND EXISTS (SELECT 1 FROM {DAYS} d "
                  f"WHERE d.model_name = m.model_name AND d.day = {_UTC_DAY.format(time='p.run_time')})")
    sql = f"""
    WITH {_perf_cte(filters, params, scope=by_model, within=within)}
    SELECT model_name, any_value(model_family) AS model_family, {_UTC_DAY.format(time="run_time")} AS day,
           avg(throughput_items_per_second) AS mean_throughput_items_per_second,
           quantile_cont(latency_ms, 0.95) AS p95_latency_ms,
           count(*) AS benchmarks, count(DISTINCT hardware_id) AS hardware_platforms
    FROM perf GROUP BY model_name, day ORDER BY model_name, day
    """
    return sql, params



# Per derived table: its rows for what ``GROUPS`` / ``DAYS`` hold (given the first and last of those days), and
# which stored rows (alias s) they replace.
OF_GROUPS: dict[str, tuple[Callable[[tuple[date, date]], tuple[str, dict[str, Any]]], str]] = {
    "hardware_comparison": (lambda _days: hardware_comparison_of_groups_sql(),
                            f"EXISTS (SELECT 1 FROM {GROUPS} c WHERE {_SAME_CELL.format(a='c', b='s')})"),
    "model_comparison": (lambda _days: model_comparison_of_groups_sql(),
                         f"EXISTS (SELECT 1 FROM {GROUPS} c WHERE {_SAME_PLATFORM_CELL.format(a='c', b='s')})"),
    "daily_model_stats": (lambda days: daily_model_stats_sql(days=days),
                          f"EXISTS (SELECT 1 FROM {DAYS} d WHERE d.model_name = s.model_name AND d.day = s.day)"),
}


def compatibility_matrix_sql(filters: Filters = Filters()) -> tuple[str, dict[str, Any]]:
    """Every model and model family x every hardware type, untested cells included.

    Evidence is the compatibility tests: a family row counts the family-level tests and the tests of
    its member models; a model row only its own tests. Performance results are not counted as
    tests (a result shows the model ran, not that everything it needs works). A hosted API is not
    hardware a model can be tested on, so it has no column.
    """
    params: dict[str, Any] = {"known": list(KNOWN_HARDWARE_TYPES)}
    test_where = ["true"]
    if not filters.include_simulated:
        test_where.append("NOT c.is_simulated")
    if filters.since is not None:
        test_where.append("c.run_time >= $since")
        params["since"] = filters.since_utc()
    subject_where = "true"
    if filters.model:
        subject_where = ("(s.level = 'model' AND lower(s.subject) = lower($model)) OR (s.level = 'family' AND s.subject IN "
                         "(SELECT model_family FROM models WHERE lower(model_name) = lower($model)))")
        params["model"] = filters.model
    hw_where = "true"
    if filters.hardware:
        hw_where = "hardware_type = $hw_type"
        params["hw_type"] = canonical_hardware_type(filters.hardware) or filters.hardware.lower()
    sql = f"""
    WITH hw AS (
        SELECT DISTINCT hardware_type FROM (
            SELECT unnest($known::VARCHAR[]) AS hardware_type UNION SELECT hardware_type FROM hardware_platforms)
        WHERE {hw_where} AND hardware_type <> '{HOSTED}'),
    subjects AS (
        SELECT 'model' AS level, model_name AS subject, model_family FROM models
        UNION ALL
        SELECT DISTINCT 'family', family, family FROM (
            SELECT model_family AS family FROM models UNION SELECT model_family FROM hardware_compatibility)
        WHERE family IS NOT NULL),
    tests AS (
        SELECT m.model_name, coalesce(c.model_family, m.model_family) AS family, h.hardware_type,
               c.is_compatible, c.run_time, coalesce(c.error_type, 'error') || coalesce(': ' || c.error_message, '') AS error
        FROM hardware_compatibility c
        JOIN hardware_platforms h USING (hardware_id)
        LEFT JOIN models m USING (model_id)
        WHERE {' AND '.join(test_where)}),
    evidence AS (
        SELECT 'model' AS level, model_name AS subject, * EXCLUDE (model_name, family) FROM tests WHERE model_name IS NOT NULL
        UNION ALL
        SELECT 'family', family, * EXCLUDE (model_name, family) FROM tests WHERE family IS NOT NULL),
    errors AS (
        SELECT level, subject, hardware_type,
               array_to_string(list(error || ' (' || n || ')' ORDER BY n DESC, error)[1:3], '; ') AS error_summary
        FROM (SELECT level, subject, hardware_type, error, count(*) AS n FROM evidence
              WHERE NOT is_compatible GROUP BY ALL)
        GROUP BY ALL),
    cells AS (
        SELECT level, subject, hardware_type, count(*) AS tests, count_if(is_compatible)::BIGINT AS compatible_tests,
               max(run_time) AS last_tested
        FROM evidence GROUP BY ALL)
    SELECT s.level, s.subject, s.model_family, hw.hardware_type,
           CASE WHEN coalesce(c.tests, 0) = 0 THEN 'untested'
                WHEN c.compatible_tests = c.tests THEN 'compatible'
                WHEN c.compatible_tests = 0 THEN 'incompatible'
                ELSE 'partial' END AS status,
           c.compatible_tests / c.tests AS score,
           coalesce(c.tests, 0) AS tests, coalesce(c.compatible_tests, 0) AS compatible_tests,
           c.last_tested, e.error_summary
    FROM subjects s CROSS JOIN hw
    LEFT JOIN cells c ON c.level = s.level AND c.subject = s.subject AND c.hardware_type = hw.hardware_type
    LEFT JOIN errors e ON e.level = s.level AND e.subject = s.subject AND e.hardware_type = hw.hardware_type
    WHERE {subject_where}
    ORDER BY s.level DESC, s.subject, hw.hardware_type
    """
    return sql, params


def fetch(conn: duckdb.DuckDBPyConnection, query: tuple[str, dict[str, Any]]) -> pd.DataFrame:
    sql, params = query
    return conn.execute(sql, params).df()


def compatibility_matrix(conn, filters: Filters = Filters()) -> pd.DataFrame:
    return fetch(conn, compatibility_matrix_sql(filters))


def hardware_comparison(conn, filters: Filters = Filters()) -> pd.DataFrame:
    return fetch(conn, hardware_comparison_sql(filters))


def model_comparison(conn, filters: Filters = Filters()) -> pd.DataFrame:
    return fetch(conn, model_comparison_sql(filters))


def daily_model_stats(conn, filters: Filters = Filters()) -> pd.DataFrame:
    return fetch(conn, daily_model_stats_sql(filters))


def table_exists(conn: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?", [name]
    ).fetchone()[0])


# --- reading the derived tables back (issue 13) ---------------------------------------------------
#
# A derived table holds the answer of its fact query without filters (simulated rows left out), and
# the refresh keeps it current with every write. Filters on models and hardware select whole rows of
# that answer, so they become WHERE clauses; what a row ranks or compares against (``throughput_rank``,
# ``relative_throughput``) is recomputed over the rows the filter kept, as the fact query does. A
# ``since`` or ``include_simulated`` changes the medians and counts themselves: no WHERE clause on
# aggregated rows can give those, so the table does not answer and the caller computes from the facts.

_DERIVED_ORDER = {
    "hardware_comparison": "model_name, batch_size, precision, throughput_rank, hardware",
    "model_comparison": "hardware, batch_size, precision, throughput_rank, model_name",
    "daily_model_stats": "model_name, day",
    "compatibility_matrix": "level DESC, subject, hardware_type",
    "hardware_recommendations": "model_name, batch_size, precision, topsis_rank, hardware",
}
_DERIVED_SQL = {"hardware_comparison": hardware_comparison_sql, "model_comparison": model_comparison_sql,
                "daily_model_stats": daily_model_stats_sql, "compatibility_matrix": compatibility_matrix_sql}
# Recomputed over the rows a filter keeps, when the filter can drop rows of one group (the hardware
# filter other hardware of a model's group, the model filter other models of a platform's group).
_HARDWARE_RANK = ("rank() OVER (PARTITION BY model_name, batch_size, precision "
                  "ORDER BY median_throughput_items_per_second DESC NULLS LAST)")
_MODEL_GROUP = "PARTITION BY hardware_type, device_name, batch_size, precision"
_MODEL_RERANK = {
    "relative_throughput": f"median_throughput_items_per_second / max(median_throughput_items_per_second) "
                           f"OVER ({_MODEL_GROUP})",
    "throughput_rank": f"rank() OVER ({_MODEL_GROUP} ORDER BY median_throughput_items_per_second DESC NULLS LAST)",
}


def derived_columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The columns the current definition of a derived table gives, in order (the fact query's, bound, not run)."""
    if table == "hardware_recommendations":
        return list(RECOMMENDATION_COLUMNS)
    sql, params = _DERIVED_SQL[table]()
    return [row[0] for row in conn.execute(f"DESCRIBE {sql}", params).fetchall()]


def stored_columns(conn: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """The columns of every table and view of the warehouse, from one catalog read: a refresh asks about a
    dozen tables, and each question on its own costs a few milliseconds, as much as a one-record store's facts."""
    stored: dict[str, set[str]] = {}
    for table, column in conn.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = 'main'").fetchall():
        stored.setdefault(table, set()).add(column)
    return stored


def is_outdated(conn: duckdb.DuckDBPyConnection, table: str, stored: set[str] | None = None) -> bool:
    """The stored derived table lacks a column of its current definition (an older version wrote it).

    ``stored``: the table's columns, when the caller already read them (``stored_columns``)."""
    if stored is None:
        stored = stored_columns(conn).get(table, set())
    return not set(derived_columns(conn, table)) <= stored


def _derived_where(table: str, filters: Filters) -> tuple[list[str], dict[str, Any], dict[str, str]] | None:
    """(predicates, parameters, recomputed columns) that turn the stored rows into the filtered answer, or None."""
    if filters.include_simulated:
        return None
    where: list[str] = []
    params: dict[str, Any] = {}
    rerank: dict[str, str] = {}
    if filters.since is not None:
        since = filters.since_utc().astimezone(timezone.utc)
        if table != "daily_model_stats" or since.time() != time(0):
            return None  # medians, counts and tests since a moment: not in rows aggregated over all time
        where.append("day >= $since_day")  # whole UTC days: the same runs as run_time >= that midnight
        params["since_day"] = since.date()
    if filters.model:
        params["model"] = filters.model
        if table == "compatibility_matrix":
            where.append("((level = 'model' AND lower(subject) = lower($model)) OR (level = 'family' AND subject IN "
                         "(SELECT model_family FROM models WHERE lower(model_name) = lower($model))))")
        else:
            where.append("lower(model_name) = lower($model)")
        if table == "model_comparison":
            rerank.update(_MODEL_RERANK)
    if filters.hardware:
        params["hw_type"] = canonical_hardware_type(filters.hardware) or filters.hardware.lower()
        if table in ("daily_model_stats", "hardware_recommendations"):
            return None  # aggregated over hardware / ranked among all of a group's hardware
        if table == "compatibility_matrix":
            where.append("hardware_type = $hw_type")
        else:
            where.append("(hardware_type = $hw_type OR lower(device_name) = lower($hw))")
            params["hw"] = filters.hardware
        if table == "hardware_comparison":
            rerank["throughput_rank"] = _HARDWARE_RANK
    return where, params, rerank


def read_derived(conn: duckdb.DuckDBPyConnection, table: str, filters: Filters = Filters()) -> pd.DataFrame | None:
    """What the fact query of derived ``table`` would answer for ``filters``, read from the table.

    Same columns, order and values as computing (``hardware_comparison(conn, filters)`` and so on;
    for ``hardware_recommendations``, ``recommend.hardware_recommendations`` of the comparison). None
    when the table cannot give that: it does not exist (a warehouse from before the derived tables),
    it lacks a column of the current definition (built by an older version), or a filter needs rows
    it has aggregated away (``since``, except whole UTC days for ``daily_model_stats``;
    ``include_simulated``; ``hardware`` for the daily stats and the recommendations).
    """
    if table not in _DERIVED_ORDER:
        raise ValueError(f"{table!r} is not a derived table the reports read; one of {', '.join(_DERIVED_ORDER)}")
    chosen = _derived_where(table, filters)
    stored = stored_columns(conn).get(table) if chosen is not None else None
    if stored is None or is_outdated(conn, table, stored):
        return None
    where, params, rerank = chosen
    columns = derived_columns(conn, table)
    select = ", ".join(f"{rerank[c]} AS {c}" if c in rerank else c for c in columns)
    order = _DERIVED_ORDER[table]
    sql = f"SELECT {select} FROM {table} WHERE {' AND '.join(where) or 'true'}"
    if rerank:  # order by the recomputed ranks, not the stored ones
        sql = f"SELECT * FROM ({sql})"
    frame = conn.execute(f"{sql} ORDER BY {order}", params).df()
    if table == "hardware_recommendations":  # typed as recommend.hardware_recommendations types them
        frame = frame.astype({"topsis_rank": "Int64", "candidates": "int64", "pareto_optimal": "bool"})
    return frame


def summary_statistics(conn: duckdb.DuckDBPyConnection, filters: Filters = Filters()) -> pd.DataFrame:
    """The headline numbers as (statistic, value) rows.

    Success rate = non-simulated performance results / (those + recorded benchmark failures): a
    failure row is a benchmark that was attempted and produced no result.
    """
    params: dict[str, Any] = {}
    perf = _perf_cte(filters, params)
    fail_where = ["true"] if filters.include_simulated else ["NOT is_simulated"]
    if filters.model:
        fail_where.append("lower(model_name) = lower($model)")
    if filters.hardware:
        fail_where.append("hardware_type = $hw_type")
    if filters.since is not None:
        fail_where.append("run_time >= $since")
    row = conn.execute(f"""
        WITH {perf},
        fails AS (SELECT count(*) AS n FROM benchmark_failures WHERE {' AND '.join(fail_where)}),
        sim AS (SELECT count(*) AS n FROM performance_results WHERE is_simulated)
        SELECT count(DISTINCT model_id), count(DISTINCT hardware_id), count(DISTINCT hardware_type),
               count(DISTINCT run_id), count(*), (SELECT n FROM fails),
               count(*) / nullif(count(*) + (SELECT n FROM fails), 0),
               (SELECT n FROM sim), min(run_time), max(run_time)
        FROM perf""", params).fetchone()
    tests = conn.execute(
        "SELECT count(*), count_if(status = 'pass') FROM integration_test_results"
        + ("" if filters.include_simulated else " WHERE NOT is_simulated")
    ).fetchone()
    stats = [
        ("models benchmarked", row[0]),
        ("hardware platforms", row[1]),
        ("hardware types", row[2]),
        ("benchmark runs", row[3]),
        ("performance results", row[4]),
        ("benchmark failures", row[5]),
        ("benchmark success rate", _pct(row[6])),
        ("integration tests", tests[0]),
        ("integration pass rate", _pct(tests[1] / tests[0] if tests[0] else None)),
        ("simulated results (excluded)" if not filters.include_simulated else "simulated results (included)", row[7]),
        ("first result", _iso(row[8])),
        ("latest result", _iso(row[9])),
    ]
    return pd.DataFrame({"statistic": [s for s, _ in stats], "value": [str(v) if v is not None else "" for _, v in stats]})


def _pct(value: float | None) -> str | None:
    return None if value is None else f"{100 * value:.1f} %"


def _iso(value: Any) -> str | None:
    return None if value is None else pd.Timestamp(value).tz_convert("UTC").isoformat()


def recent_results(conn: duckdb.DuckDBPyConnection, filters: Filters = Filters(), limit: int = 20) -> pd.DataFrame:
    params: dict[str, Any] = {"limit": limit}
    return conn.execute(f"""
        WITH {_perf_cte(filters, params)}
        SELECT run_time, model_name, hardware, test_case, batch_size, precision, throughput_items_per_second,
               latency_p50_ms, latency_p99_ms, memory_peak_mb, power_watts, run_id
        FROM perf ORDER BY run_time DESC, result_id DESC LIMIT $limit""", params).df()


SERIES_COLUMNS = ("model_id", "hardware_id", "batch_size", "sequence_length", "precision", "test_case")


def trend_points(conn: duckdb.DuckDBPyConnection, metric_column: str, filters: Filters = Filters(),
                 max_series: int = 8, max_points: int = 1000) -> pd.DataFrame:
    """The latest points of the busiest series (one per model, platform, batch, length, precision, test case).

    Capped per series: an SVG chart of a year of hourly results is megabytes and slow to draw, and
    the recent history is what a reviewer looks at.
    """
    params: dict[str, Any] = {"max_series": max_series, "max_points": max_points}
    keys = ", ".join(SERIES_COLUMNS)
    return conn.execute(f"""
        WITH {_perf_cte(filters, params)},
        pts AS (SELECT {keys}, model_name, hardware, run_id, result_id, run_time, {metric_column} AS value
                FROM perf WHERE {metric_column} IS NOT NULL),
        top AS (SELECT {keys}, count(*) AS n FROM pts GROUP BY ALL
                ORDER BY n DESC, {keys} LIMIT $max_series)
        SELECT pts.*,
               model_name || ' · ' || hardware || ' · b' || batch_size || coalesce(' · ' || precision, '')
                   || coalesce(' · s' || sequence_length, '') AS series
        FROM pts SEMI JOIN top ON {" AND ".join(f"pts.{k} IS NOT DISTINCT FROM top.{k}" for k in SERIES_COLUMNS)}
        QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY run_time DESC, result_id DESC) <= $max_points
        ORDER BY series, run_time""", params).df()


# Columns of regression_flags (issue 5) that describe the flag rather than identify its series.
_FLAG_VALUE_COLUMNS = {"metric", "change_index", "run_id", "run_time", "kind", "pct_change"}


def regression_flags(conn: duckdb.DuckDBPyConnection, filters: Filters = Filters()) -> pd.DataFrame | None:
    """The regression_flags table with model and hardware names joined in, or None when it does not exist.

    A warehouse from before migration 4 has no such table; the trend charts then go without marks.
    ``open`` = status 'open' from ``lib/warehouse/regressions.py`` (latest change of its series, not
    recovered, its series not muted, the flag not acknowledged); suspected flags are open too.
    """
    if not table_exists(conn, "regression_flags"):
        return None
    if table_exists(conn, "regression_acks"):
        # The one rule (SQL in lib/warehouse/regressions.py), so the reports and `regressions check`
        # never disagree about what is open: acks, mutes through any flag of a series, recovery.
        from benchmark_pipeline.lib.warehouse.regressions import flags_with_status

        flags = flags_with_status(conn)
        flags["open"] = (flags["status"] == "open").to_numpy(dtype=bool)
    else:
        flags = conn.execute("SELECT * FROM regression_flags").df()
        if {"kind", "is_latest_change", "recovered"} <= set(flags.columns):
            flags["open"] = ((flags["kind"] == "regression") & flags["is_latest_change"].astype(bool)
                             & ~flags["recovered"].astype(bool))
    if "model_id" in flags and "model_name" not in flags:
        names = conn.execute("SELECT model_id, model_name FROM models").df()
        flags = flags.merge(names, on="model_id", how="left")
    if "hardware_id" in flags and "hardware" not in flags:
        hw = conn.execute(f"SELECT hardware_id, hardware_type, {hardware_label_sql()} AS hardware "
                          "FROM hardware_platforms h").df()
        flags = flags.merge(hw.drop(columns=[c for c in ["hardware_type"] if c in flags]), on="hardware_id", how="left")
    if filters.model and "model_name" in flags:
        flags = flags[flags["model_name"].str.lower() == filters.model.lower()]
    if filters.hardware and "hardware_type" in flags:
        wanted = canonical_hardware_type(filters.hardware) or filters.hardware.lower()
        flags = flags[flags["hardware_type"] == wanted]
    if filters.since is not None and "run_time" in flags:
        flags = flags[pd.to_datetime(flags["run_time"], utc=True) >= pd.Timestamp(filters.since_utc())]
    if "run_time" in flags:
        flags = flags.sort_values("run_time", ascending=False)
    return flags.reset_index(drop=True)


def mark_flags(points: pd.DataFrame, flags: pd.DataFrame | None, metric_column: str) -> pd.DataFrame:
    """The trend points that carry a flag of this metric, with its kind (regression/improvement/outlier).

    Matched on the result id when the flags carry it, else on run id plus whichever series columns
    both sides have.
    """
    empty = points.iloc[0:0].assign(kind=pd.Series(dtype="string"), pct_change=pd.Series(dtype="float64"))
    if flags is None or flags.empty or points.empty or "run_id" not in flags:
        return empty
    chosen = flags[flags["metric"] == metric_column] if "metric" in flags else flags
    if "result_id" in chosen and "result_id" in points:
        keys = ["result_id"]  # issue 5's flags name the exact result
    else:
        keys = ["run_id"] + [c for c in points.columns if c in chosen.columns and c not in _FLAG_VALUE_COLUMNS
                             and c not in ("value", "series", "run_time", "result_id")]
    extra = [c for c in ("kind", "pct_change") if c in chosen]
    marked = points.merge(chosen[keys + extra].drop_duplicates(keys + extra[:1]), on=keys, how="inner")
    if "kind" not in marked:
        marked["kind"] = "regression"
    return marked


# A series as one string, for passing a chosen set of series back into SQL.
_SERIES_KEY_SQL = ("concat_ws('|', model_id, hardware_id, batch_size, coalesce(CAST(sequence_length AS VARCHAR), ''), "
                   "coalesce(precision, ''), test_case)")
_SERIES_LABEL_SQL = ("model_name || ' · ' || hardware || ' · b' || batch_size || coalesce(' · ' || precision, '') "
                     "|| coalesce(' · s' || sequence_length, '')")


def series_changes(conn: duckdb.DuckDBPyConnection, metric_column: str, filters: Filters = Filters(),
                   recent_share: float = 0.25) -> pd.DataFrame:
    """Per series: the median of its most recent points against the median of the points before them.

    "Recent" is the newest quarter of the series (at least one point); ``pct_change`` is
    ``recent / baseline - 1`` in percent, NULL for a series of a single point. The reports rank
    trend series by it, after the series with open regressions.
    """
    params: dict[str, Any] = {"share": recent_share}
    return conn.execute(f"""
        WITH {_perf_cte(filters, params)},
        pts AS (SELECT {_SERIES_KEY_SQL} AS series_key, {_SERIES_LABEL_SQL} AS series, model_name, hardware_id,
                       hardware, batch_size, sequence_length, precision, test_case, run_time, {metric_column} AS value,
                       row_number() OVER (PARTITION BY series_key ORDER BY run_time DESC, result_id DESC) AS recency,
                       count(*) OVER (PARTITION BY series_key) AS n
                FROM perf WHERE {metric_column} IS NOT NULL),
        agg AS (SELECT series_key, any_value(series) AS series, any_value(model_name) AS model_name,
                       any_value(hardware_id) AS hardware_id, any_value(hardware) AS hardware,
                       any_value(batch_size) AS batch_size, any_value(sequence_length) AS sequence_length,
                       any_value(precision) AS precision, any_value(test_case) AS test_case, count(*) AS points,
                       max(run_time) AS last_run,
                       median(value) FILTER (WHERE recency > greatest(1, floor(n * $share))) AS baseline,
                       median(value) FILTER (WHERE recency <= greatest(1, floor(n * $share))) AS recent
                FROM pts GROUP BY series_key)
        SELECT *, 100 * (recent / nullif(baseline, 0) - 1) AS pct_change FROM agg
        ORDER BY abs(pct_change) DESC NULLS LAST, series""", params).df()


def series_points(conn: duckdb.DuckDBPyConnection, metric_column: str, series_keys: list[str],
                  filters: Filters = Filters(), max_points: int = 1000) -> pd.DataFrame:
    """The latest points of the given series (keys from ``series_changes``), shaped like ``trend_points``."""
    if not series_keys:
        return trend_points(conn, metric_column, filters, max_series=0)
    params: dict[str, Any] = {"keys": list(series_keys), "max_points": max_points}
    keys = ", ".join(SERIES_COLUMNS)
    return conn.execute(f"""
        WITH {_perf_cte(filters, params)}
        SELECT {keys}, model_name, hardware, run_id, result_id, run_time, {metric_column} AS value,
               {_SERIES_LABEL_SQL} AS series, {_SERIES_KEY_SQL} AS series_key
        FROM perf
        WHERE {metric_column} IS NOT NULL AND {_SERIES_KEY_SQL} IN (SELECT unnest($keys::VARCHAR[]))
        QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY run_time DESC, result_id DESC) <= $max_points
        ORDER BY series, run_time""", params).df()


FLAG_ANCHOR_COLUMNS = ("panel", "model_name", "hardware_id", "batch_size", "sequence_length", "precision",
                       "test_case", "metric", "result_id", "run_time")


def flagged_points(conn: duckdb.DuckDBPyConnection, anchors: pd.DataFrame, filters: Filters = Filters(),
                   before: int = 40, after: int = 40) -> pd.DataFrame:
    """The points of flagged series around their flagged run: one series per row of ``anchors``.

    ``anchors`` has ``FLAG_ANCHOR_COLUMNS``: a panel number, the series (as regression_flags names
    it: model, hardware id, batch size, sequence length, precision, test case and metric) and the
    flagged result (``result_id``, else the first run at or after ``run_time``). Rows: that series'
    finite values in run order, ``before`` runs before the flagged one to ``after`` after it, with
    ``offset`` (0 = the flagged run), the series label, and ``series_points`` / ``series_median``
    over every point of the series the filters keep (what detection took the level of a relative
    threshold from). Series are windowed around the flag rather than cut to the newest runs, so an
    old open regression is still shown where it happened.
    """
    columns = ["panel", "run_id", "result_id", "run_time", "value", "series", "offset", "series_points",
               "series_median"]
    if anchors.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    unknown = sorted(set(anchors["metric"]) - set(vocabulary.METRICS))
    if unknown:
        raise ValueError(f"not a performance_results metric: {', '.join(map(str, unknown))}")
    value = "CASE a.metric " + " ".join(f"WHEN '{m}' THEN p.{m}" for m in sorted(set(anchors["metric"]))) + " END"
    types = {"panel": "BIGINT", "model_name": "VARCHAR", "hardware_id": "BIGINT", "batch_size": "INTEGER",
             "sequence_length": "INTEGER", "precision": "VARCHAR", "test_case": "VARCHAR", "metric": "VARCHAR",
             "result_id": "BIGINT", "run_time": "TIMESTAMPTZ"}
    params: dict[str, Any] = {"before": int(before), "after": int(after)}
    for column in FLAG_ANCHOR_COLUMNS:
        values = anchors[column] if column in anchors else pd.Series([None] * len(anchors))
        params[f"a_{column}"] = [None if is_missing(v) else (v.to_pydatetime() if isinstance(v, pd.Timestamp) else
                                                          v.item() if hasattr(v, "item") else v) for v in values]
    unnested = ", ".join(f"unnest($a_{c}::{types[c]}[]) AS {c}" for c in FLAG_ANCHOR_COLUMNS)
    return conn.execute(f"""
        WITH {_perf_cte(filters, params)},
        anchors AS (SELECT {unnested}),
        pts AS (SELECT a.panel, a.result_id AS anchor_result, a.run_time AS anchor_time, p.run_id, p.result_id,
                       p.run_time, {value} AS value, p.model_name, p.hardware, p.batch_size, p.precision,
                       p.sequence_length
                FROM anchors a JOIN perf p
                  ON p.model_name = a.model_name AND p.hardware_id = a.hardware_id AND p.batch_size = a.batch_size
                 AND p.sequence_length IS NOT DISTINCT FROM a.sequence_length
                 AND p.precision IS NOT DISTINCT FROM a.precision AND p.test_case IS NOT DISTINCT FROM a.test_case),
        numbered AS (SELECT *, row_number() OVER (PARTITION BY panel ORDER BY run_time, result_id) AS position
                     FROM pts WHERE isfinite(value)),
        anchored AS (SELECT *, coalesce(min(position) FILTER (WHERE result_id = anchor_result) OVER w,
                                        min(position) FILTER (WHERE run_time >= anchor_time) OVER w,
                                        max(position) OVER w) AS anchor,
                            count(*) OVER w AS series_points, median(value) OVER w AS series_median
                     FROM numbered WINDOW w AS (PARTITION BY panel))
        SELECT panel, run_id, result_id, run_time, value, {_SERIES_LABEL_SQL} AS series, position - anchor AS offset,
               series_points, series_median
        FROM anchored WHERE position - anchor BETWEEN -$before AND $after
        ORDER BY panel, run_time, result_id""", params).df()
