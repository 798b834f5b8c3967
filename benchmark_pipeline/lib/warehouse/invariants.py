"""Invariants of the stored tables (unique keys, foreign keys), each a query counting its violations.

Dagster runs them as blocking asset checks; tests run them directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class Invariant:
    table: str
    name: str
    description: str
    violations_sql: str


def _unique(table: str, *columns: str) -> Invariant:
    cols = ", ".join(columns)
    return Invariant(table, f"unique_{'_'.join(columns)}", f"{cols} is unique in {table}",
                     f"SELECT count(*) FROM (SELECT {cols} FROM {table} GROUP BY ALL HAVING count(*) > 1)")


def _fk(table: str, column: str, parent: str, parent_column: str | None = None) -> Invariant:
    parent_column = parent_column or column
    return Invariant(table, f"fk_{column}", f"every {table}.{column} exists in {parent}",
                     f"SELECT count(*) FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS "
                     f"(SELECT 1 FROM {parent} p WHERE p.{parent_column} = t.{column})")


INVARIANTS = (
    _unique("models", "model_id"),
    _unique("models", "model_name"),
    _unique("hardware_platforms", "hardware_id"),
    _unique("hardware_platforms", "fingerprint"),
    _unique("hardware_platforms", "hardware_key"),
    Invariant("hardware_platforms", "has_hardware_key", "every platform has its typed identity",
              "SELECT count(*) FROM hardware_platforms WHERE hardware_key IS NULL"),
    _unique("test_runs", "run_id"),
    _unique("performance_results", "result_id"),
    _fk("performance_results", "model_id", "models"),
    _fk("performance_results", "hardware_id", "hardware_platforms"),
    _fk("performance_results", "run_id", "test_runs"),
    Invariant("performance_results", "has_speed", "every row has latency > 0 or throughput > 0",
              "SELECT count(*) FROM performance_results WHERE NOT (coalesce(average_latency_ms, 0) > 0 "
              "OR coalesce(latency_p50_ms, 0) > 0 OR coalesce(throughput_items_per_second, 0) > 0)"),
    _unique("performance_batch_results", "batch_id"),
    _fk("performance_batch_results", "result_id", "performance_results"),
    _unique("power_metrics", "metric_id"),
    _fk("power_metrics", "result_id", "performance_results"),
    _unique("hardware_compatibility", "compatibility_id"),
    _fk("hardware_compatibility", "model_id", "models"),
    _fk("hardware_compatibility", "hardware_id", "hardware_platforms"),
    _fk("hardware_compatibility", "run_id", "test_runs"),
    _unique("integration_test_results", "test_result_id"),
    _fk("integration_test_results", "run_id", "test_runs"),
    _fk("integration_test_results", "model_id", "models"),
    _fk("integration_test_results", "hardware_id", "hardware_platforms"),
    _unique("integration_test_assertions", "assertion_id"),
    _fk("integration_test_assertions", "test_result_id", "integration_test_results"),
    _unique("llm_serving_results", "result_id"),
    _fk("llm_serving_results", "run_id", "test_runs"),
    _fk("llm_serving_results", "model_id", "models"),
    _fk("llm_serving_results", "hardware_id", "hardware_platforms"),
    _fk("llm_serving_results", "model_version_id", "model_versions"),
    _fk("llm_serving_results", "hardware_config_id", "hardware_configurations"),
    _fk("llm_serving_results", "framework_id", "inference_frameworks"),
    Invariant("llm_serving_results", "has_measurement", "every row measured something (failed runs are failures)",
              "SELECT count(*) FROM llm_serving_results WHERE metrics IS NULL OR metrics::VARCHAR = '{}'"),
    _unique("model_versions", "version_key"),
    _fk("model_versions", "model_id", "models"),
    _unique("hardware_configurations", "config_key"),
    _fk("hardware_configurations", "hardware_id", "hardware_platforms"),
    _unique("inference_frameworks", "framework_key"),
    _unique("benchmark_failures", "failure_id"),
    _unique("quarantine", "quarantine_id"),
    _unique("ingestion_ledger", "source_path", "sha256"),
    Invariant("ingestion_ledger", "one_active_version", "at most one active version per path",
              "SELECT count(*) FROM (SELECT source_path FROM ingestion_ledger WHERE status IN "
              "('ingested', 'partial', 'quarantined', 'not a result', 'duplicate') GROUP BY 1 HAVING count(*) > 1)"),
)


def count_violations(conn: duckdb.DuckDBPyConnection, invariant: Invariant) -> int:
    return int(conn.execute(invariant.violations_sql).fetchall()[0][0])
