"""Stored results with readable names, filtered and paged by id: what the Python and REST APIs hand out.

Paging is by the fact's id (``after_id``), not by offset: a page boundary stays put while new results
arrive, and the query is an index-friendly range scan however deep the caller pages.

A page is found in two steps: the ids of the page from the fact table alone (the filters and the id, a few
narrow columns; names are turned into ids in the small dimension tables), then the page's rows with their
names, read within the page's id range. One joined query would carry all twenty columns of every
matching row into the top-N: 67 ms against 28 ms for a filtered page of a 1M-row warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from benchmark_pipeline.lib.normalize import canonical_hardware_type

from .filters import hardware_label_sql

MAX_LIMIT = 10_000


@dataclass(frozen=True)
class ResultFilters:
    model: str | None = None
    hardware: str | None = None  # a hardware type (any alias) or a device name
    precision: str | None = None
    batch_size: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    run_id: int | None = None
    include_simulated: bool = True


_PERFORMANCE = f"""
    SELECT p.result_id, p.run_id, m.model_name, m.model_family, h.hardware_type, h.device_name,
           {hardware_label_sql()} AS hardware, p.test_case, p.batch_size, p.sequence_length, p.precision, p.run_time,
           p.average_latency_ms, p.latency_p50_ms, p.latency_p90_ms, p.latency_p95_ms, p.latency_p99_ms,
           p.throughput_items_per_second, p.memory_peak_mb, p.power_watts, p.items_per_joule, p.iterations,
           p.is_simulated, p.source_path
    FROM performance_results p JOIN models m USING (model_id) JOIN hardware_platforms h USING (hardware_id)"""
_COMPATIBILITY = f"""
    SELECT c.compatibility_id, c.run_id, m.model_name, coalesce(c.model_family, m.model_family) AS model_family,
           h.hardware_type, h.device_name, {hardware_label_sql()} AS hardware, c.is_compatible, c.compatibility_score,
           c.detection_success, c.initialization_success, c.error_type, c.error_message, c.suggested_fix,
           c.run_time, c.is_simulated, c.source_path
    FROM hardware_compatibility c LEFT JOIN models m USING (model_id) JOIN hardware_platforms h USING (hardware_id)"""
_INTEGRATION = f"""
    SELECT i.test_result_id, i.run_id, i.test_module, i.test_class, i.test_name, i.status, i.execution_time_seconds,
           m.model_name, h.hardware_type, h.device_name, {hardware_label_sql()} AS hardware, i.error_message,
           i.run_time, i.is_simulated, i.source_path
    FROM integration_test_results i LEFT JOIN models m USING (model_id) LEFT JOIN hardware_platforms h USING (hardware_id)"""
QUERIES = {"performance": (_PERFORMANCE, "p", "result_id", "performance_results"),
           "compatibility": (_COMPATIBILITY, "c", "compatibility_id", "hardware_compatibility"),
           "integration": (_INTEGRATION, "i", "test_result_id", "integration_test_results")}


def query_results(conn: duckdb.DuckDBPyConnection, category: str, filters: ResultFilters = ResultFilters(),
                  limit: int = 1000, after_id: int | None = None) -> list[dict[str, Any]]:
    """Results of one category, oldest id first, at most ``limit`` (capped at ``MAX_LIMIT``) after ``after_id``."""
    base, alias, id_column, table = QUERIES[category]
    where, params = ["true"], {}
    if filters.model:
        where.append("model_id IN (SELECT model_id FROM models WHERE lower(model_name) = lower($model))")
        params["model"] = filters.model
    if filters.hardware:
        where.append("hardware_id IN (SELECT hardware_id FROM hardware_platforms "
                     "WHERE hardware_type = $hw_type OR lower(device_name) = lower($hw))")
        params["hw"] = filters.hardware
        params["hw_type"] = canonical_hardware_type(filters.hardware) or filters.hardware.lower()
    if filters.precision and category == "performance":
        where.append("precision = $precision")
        params["precision"] = filters.precision
    if filters.batch_size is not None and category == "performance":
        where.append("batch_size = $batch_size")
        params["batch_size"] = filters.batch_size
    for bound, op in (("since", ">="), ("until", "<")):
        if getattr(filters, bound) is not None:
            where.append(f"run_time {op} ${bound}")
            params[bound] = getattr(filters, bound)
    if filters.run_id is not None:
        where.append("run_id = $run_id")
        params["run_id"] = filters.run_id
    if not filters.include_simulated:
        where.append("NOT is_simulated")
    if after_id is not None:
        where.append(f"{id_column} > $after_id")
        params["after_id"] = after_id
    params["limit"] = max(1, min(int(limit), MAX_LIMIT))
    ids = [row[0] for row in conn.execute(
        f"SELECT {id_column} FROM {table} WHERE {' AND '.join(where)} ORDER BY {id_column} LIMIT $limit",
        params).fetchall()]
    if not ids:
        return []
    cursor = conn.execute(f"{base} WHERE {alias}.{id_column} BETWEEN $first AND $last "
                          f"AND list_contains($ids, {alias}.{id_column}) ORDER BY {alias}.{id_column}",
                          {"first": ids[0], "last": ids[-1], "ids": ids})
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]
