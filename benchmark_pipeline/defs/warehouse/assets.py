"""Warehouse group: the validated frames upserted into DuckDB dimension and fact tables, in one transaction."""


import dagster as dg
import pandas as pd

from benchmark_pipeline.defs.ingest.assets import VALIDATED_OUTPUTS
from benchmark_pipeline.defs.metadata import table_definition_metadata, table_metadata
from benchmark_pipeline.defs.resources import DUCKDB_POOL, WarehouseResource
from benchmark_pipeline.lib.ingest.batch import ValidatedBatch
from benchmark_pipeline.lib.ingest.run import store_batch

GROUP = "warehouse"

WAREHOUSE_TABLES = {
    "models": "Model dimension: one row per model name, family given or inferred.",
    "hardware_platforms": "Hardware dimension: one row per type, device and declared details (fingerprint).",
    "test_runs": "Benchmark runs: one per ingested file version and category.",
    "performance_results": "Performance facts: latency percentiles, throughput, memory, power per model x hardware x run.",
    "performance_batch_results": "Per-batch latency and memory of performance results.",
    "power_metrics": "Detailed power, energy and thermal readings of performance results.",
    "hardware_compatibility": "Compatibility facts per model (or model family) x hardware.",
    "integration_test_results": "Integration test outcomes.",
    "integration_test_assertions": "Assertions of integration tests.",
    "benchmark_failures": "Benchmark runs that failed, with their error; never performance rows.",
    "quarantine": "Records and files that failed validation, with reason, kept for replay.",
    "ingestion_ledger": "One row per file version seen: status, reason, rows written.",
}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(table, description=description, kinds={"duckdb"}, group_name=GROUP,
                     deps=list(VALIDATED_OUTPUTS), metadata=table_definition_metadata(table))
        for table, description in WAREHOUSE_TABLES.items()
    ],
    ins={name: dg.AssetIn(key=name) for name in VALIDATED_OUTPUTS},
    pool=DUCKDB_POOL,
)
def warehouse_tables(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    validated_files: pd.DataFrame,
    validated_performance: pd.DataFrame,
    validated_batch_results: pd.DataFrame,
    validated_power_metrics: pd.DataFrame,
    validated_compatibility: pd.DataFrame,
    validated_integration: pd.DataFrame,
    validated_assertions: pd.DataFrame,
    quarantined_records: pd.DataFrame,
    validated_failures: pd.DataFrame,
):
    """Upsert the staged validated frames into the warehouse in one transaction."""
    batch = ValidatedBatch(
        files=validated_files, performance=validated_performance, batch_results=validated_batch_results,
        power_metrics=validated_power_metrics, compatibility=validated_compatibility,
        integration=validated_integration, assertions=validated_assertions, quarantine=quarantined_records,
        failures=validated_failures,
    )
    with warehouse.connect() as conn:
        result = store_batch(conn, batch, context.run.run_id)
        for table in WAREHOUSE_TABLES:
            yield dg.MaterializeResult(asset_key=table, metadata=table_metadata(conn, table))
    counts = result.outcomes["status"].value_counts().to_dict()
    context.log.info(f"ingest outcome per file: {counts}")
