"""Invariants of the stored tables (unique keys, foreign keys), each a query counting its violations.

Dagster runs them as blocking asset checks; tests run them directly. A run whose ingest only added facts
checks the fact tables' invariants over the rows it added (``added_sql``): the rows before it were checked
by the runs that wrote them and nothing of theirs changed, so a 50-record drop into 10M rows does not group
10M result ids again (1.3 s of the check there).
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
    # The violations that involve a row ingestion run $run added; None: always checked over the whole table.
    added_sql: str | None = None


# The tables whose rows carry the ingestion run that wrote them and are never updated in place.
_RUN_TABLES = frozenset({"performance_results", "performance_batch_results", "power_metrics", "hardware_compatibility",
                         "integration_test_results", "integration_test_assertions", "llm_serving_results",
                         "benchmark_failures", "quarantine", "test_runs"})


def _unique(table: str, *columns: str) -> Invariant:
    cols = ", ".join(columns)
    added = (f"SELECT count(*) FROM (SELECT {cols} FROM {table} WHERE ({cols}) IN "
             f"(SELECT {cols} FROM {table} WHERE ingestion_run_id = $run) GROUP BY ALL HAVING count(*) > 1)")
    return Invariant(table, f"unique_{'_'.join(columns)}", f"{cols} is unique in {table}",
                     f"SELECT count(*) FROM (SELECT {cols} FROM {table} GROUP BY ALL HAVING count(*) > 1)",
                     added if table in _RUN_TABLES else None)


def _fk(table: str, column: str, parent: str, parent_column: str | None = None) -> Invariant:
    parent_column = parent_column or column
    sql = (f"SELECT count(*) FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS "
           f"(SELECT 1 FROM {parent} p WHERE p.{parent_column} = t.{column})")
    return Invariant(table, f"fk_{column}", f"every {table}.{column} exists in {parent}", sql,
                     f"{sql} AND t.ingestion_run_id = $run" if table in _RUN_TABLES else None)


def _rows(table: str, name: str, description: str, condition: str) -> Invariant:
    """No row of ``table`` meets ``condition``."""
    sql = f"SELECT count(*) FROM {table} WHERE {condition}"
    return Invariant(table, name, description, sql,
                     f"{sql} AND ingestion_run_id = $run" if table in _RUN_TABLES else None)


INVARIANTS = (
    _unique("models", "model_id"),
    _unique("models", "model_name"),
    _unique("hardware_platforms", "hardware_id"),
    _unique("hardware_platforms", "fingerprint"),
    _unique("hardware_platforms", "hardware_key"),
    _rows("hardware_platforms", "has_hardware_key", "every platform has its typed identity", "hardware_key IS NULL"),
    _unique("test_runs", "run_id"),
    _unique("performance_results", "result_id"),
    _fk("performance_results", "model_id", "models"),
    _fk("performance_results", "hardware_id", "hardware_platforms"),
    _fk("performance_results", "run_id", "test_runs"),
    _rows("performance_results", "has_speed", "every row has latency > 0 or throughput > 0",
          "NOT (coalesce(average_latency_ms, 0) > 0 OR coalesce(latency_p50_ms, 0) > 0 "
          "OR coalesce(throughput_items_per_second, 0) > 0)"),
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
    _rows("llm_serving_results", "has_measurement", "every row measured something (failed runs are failures)",
          "(metrics IS NULL OR metrics::VARCHAR = '{}')"),
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


def count_violations(conn: duckdb.DuckDBPyConnection, invariant: Invariant, added_by: str | None = None) -> int:
    """Violations in the whole table, or with ``added_by`` (a run that only added facts) among that run's rows."""
    if added_by is not None and invariant.added_sql is not None:
        return int(conn.execute(invariant.added_sql, {"run": added_by}).fetchall()[0][0])
    return int(conn.execute(invariant.violations_sql).fetchall()[0][0])
