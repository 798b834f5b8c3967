"""The DuckDB type of every column the column dictionary documents, derived tables included.

Here rather than beside the dictionary (``lib.warehouse.dictionary``) because typing the derived
tables runs the analytics queries: the warehouse layer stays below analytics.
"""

from __future__ import annotations

from . import queries

# hardware_recommendations is written from a pandas frame, so its types cannot be read off SQL.
_RECOMMENDATION_TYPES = {
    **{c: "VARCHAR" for c in ("model_name", "precision", "hardware_type", "device_name", "hardware", "criteria_used")},
    **{c: "DOUBLE" for c in ("latency_p99_ms", "throughput_items_per_second", "memory_peak_mb", "power_watts",
                             "cost_per_hour_usd", "topsis_score")},
    "batch_size": "INTEGER", "pareto_optimal": "BOOLEAN", "topsis_rank": "BIGINT", "candidates": "BIGINT",
}


def live_types(conn) -> dict[tuple[str, str], str]:
    """(table, column) -> DuckDB type on a migrated connection, derived tables included.

    The SQL-derived tables are typed by running their query with no rows (LIMIT 0) in a temporary
    schema; hardware_recommendations uses the types its frame is written with.
    """
    types = {(t, c): d for t, c, d in conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main'").fetchall()}
    builders = {"compatibility_matrix": queries.compatibility_matrix_sql, "hardware_comparison": queries.hardware_comparison_sql,
                "model_comparison": queries.model_comparison_sql, "daily_model_stats": queries.daily_model_stats_sql}
    for table, build in builders.items():
        if any(t == table for t, _ in types):
            continue
        sql, params = build()
        cursor = conn.execute(f"DESCRIBE SELECT * FROM ({sql}) LIMIT 0", params)
        for name, data_type, *_rest in cursor.fetchall():
            types[(table, name)] = data_type
    for column, data_type in _RECOMMENDATION_TYPES.items():
        types.setdefault(("hardware_recommendations", column), data_type)
    return types
