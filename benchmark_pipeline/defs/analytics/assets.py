"""Analytics group: derived DuckDB tables recomputed from the warehouse facts on every run.

Each table is replaced whole in one statement (``CREATE OR REPLACE TABLE ... AS``): the facts are
small enough that a rebuild costs less than tracking what changed, and a reader never sees a half
refreshed table. Simulated results are left out, as in every comparison.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from benchmark_pipeline.defs.metadata import table_definition_metadata, table_metadata
from benchmark_pipeline.defs.resources import DUCKDB_POOL, WarehouseResource
from benchmark_pipeline.lib.analytics import queries as q
from benchmark_pipeline.lib.analytics.recommend import hardware_recommendations as rank_hardware

GROUP = "analytics"
KINDS = {"duckdb", "sql"}
_PERF_DEPS = [dg.AssetKey("performance_results"), dg.AssetKey("models"), dg.AssetKey("hardware_platforms")]


def _replace_table(conn, table: str, query: tuple[str, dict[str, Any]]) -> dg.MaterializeResult:
    sql, params = query
    conn.execute(f"CREATE OR REPLACE TABLE {table} AS {sql}", params)
    return _result(conn, table)


def _result(conn, table: str) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata=table_metadata(conn, table))


@dg.asset(
    group_name=GROUP, kinds=KINDS, pool=DUCKDB_POOL, metadata=table_definition_metadata("compatibility_matrix"),
    deps=[dg.AssetKey("hardware_compatibility"), dg.AssetKey("models"), dg.AssetKey("hardware_platforms")],
)
def compatibility_matrix(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every model and model family x every hardware type: status, score, last tested, error summary."""
    with warehouse.connect() as conn:
        return _replace_table(conn, "compatibility_matrix", q.compatibility_matrix_sql())


@dg.asset(group_name=GROUP, kinds=KINDS, pool=DUCKDB_POOL, deps=_PERF_DEPS,
          metadata=table_definition_metadata("hardware_comparison"))
def hardware_comparison(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Per model, batch size and precision: each hardware's latest and median metrics and speedup over CPU."""
    with warehouse.connect() as conn:
        return _replace_table(conn, "hardware_comparison", q.hardware_comparison_sql())


@dg.asset(group_name=GROUP, kinds=KINDS, pool=DUCKDB_POOL, deps=_PERF_DEPS,
          metadata=table_definition_metadata("model_comparison"))
def model_comparison(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Per hardware, batch size and precision: each model's medians, ranked by throughput."""
    with warehouse.connect() as conn:
        return _replace_table(conn, "model_comparison", q.model_comparison_sql())


@dg.asset(group_name=GROUP, kinds=KINDS, pool=DUCKDB_POOL, deps=_PERF_DEPS,
          metadata=table_definition_metadata("daily_model_stats"))
def daily_model_stats(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Per model and UTC day: mean throughput, p95 latency and number of benchmarks."""
    with warehouse.connect() as conn:
        return _replace_table(conn, "daily_model_stats", q.daily_model_stats_sql())


@dg.asset(group_name=GROUP, kinds={"duckdb", "python"}, pool=DUCKDB_POOL, deps=[hardware_comparison],
          metadata=table_definition_metadata("hardware_recommendations"))
def hardware_recommendations(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Pareto-optimal hardware and TOPSIS rank per model, batch size and precision."""
    with warehouse.connect() as conn:
        ranked = rank_hardware(conn.execute("SELECT * FROM hardware_comparison").df())
        conn.register("ranked_frame", ranked)
        try:
            conn.execute("CREATE OR REPLACE TABLE hardware_recommendations AS SELECT * FROM ranked_frame")
        finally:
            conn.unregister("ranked_frame")
        return _result(conn, "hardware_recommendations")
