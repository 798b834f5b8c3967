"""The ingest step: result files through the service's one ingest into the warehouse and its derived tables.

One step, the same code path as ``benchmark-db ingest``: files are validated in chunks on one worker
process per core while this process writes them in one transaction, and the derived tables are
recomputed for what the load touched before it commits. Nothing is handed between steps as files; the
assets below are what that transaction leaves in DuckDB, each materialized with its row count, column
schema and a readable preview.
"""

from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from benchmark_pipeline.defs.metadata import preview_markdown, table_definition_metadata, table_metadata
from benchmark_pipeline.defs.resources import DUCKDB_POOL, DataDirs, WarehouseResource
from benchmark_pipeline.lib.ingest.batch import refused
from benchmark_pipeline.lib.scope import Scope
from benchmark_pipeline.lib.vocabulary import DERIVED_TABLES, WAREHOUSE_TABLES

VALIDATED = "validated_results"
QUARANTINE_PREVIEW_ROWS = 10
# Metadata of a performance_results materialization: the models whose facts that run changed, and when the
# ingest only added facts, its ingestion run id (the series with rows of that run are all that changed).
TOUCHED_MODELS = "touched_models"
ADDED_BY_RUN = "added_by_ingestion_run"


def ingest_of_this_run(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> dict[str, Any] | None:
    """The metadata this run's ingest recorded on performance_results; None when no ingest ran in this run (a
    run without one, or a full one, then looks at everything)."""
    event = context.instance.get_latest_materialization_event(dg.AssetKey("performance_results"))
    if event is None or event.run_id != context.run.run_id or event.asset_materialization is None:
        return None
    return dict(event.asset_materialization.metadata)


def added_by_this_run(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> str | None:
    """The ingestion run id of this run's ingest when that ingest only added facts."""
    added = (ingest_of_this_run(context) or {}).get(ADDED_BY_RUN)
    return None if added is None else added.value


class IngestConfig(dg.Config):
    paths: list[str] | None = Field(
        default=None,
        description="only these files (the drop-folder sensor sets them); default: every *.json under "
                    "data/incoming, data/legacy and data/sample, and a full recompute of the derived tables",
    )
    workers: int | None = Field(default=None, description="validating processes (default: one per core)")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(VALIDATED, group_name="ingest", kinds={"json", "pandera"},
                     description="What validation made of the files of a run: files per ledger status, records "
                                 "stored and quarantined (with a preview of the reasons). The records go straight "
                                 "into the warehouse in the same step."),
        *(dg.AssetSpec(table, description=description, kinds={"duckdb"}, group_name="warehouse",
                       deps=[VALIDATED], metadata=table_definition_metadata(table))
          for table, description in WAREHOUSE_TABLES.items()),
        *(dg.AssetSpec(table, description=description, kinds={"duckdb", "sql"}, group_name="analytics",
                       deps=["performance_results", "hardware_compatibility", "models", "hardware_platforms"],
                       metadata=table_definition_metadata(table))
          for table, description in DERIVED_TABLES.items()),
    ],
    pool=DUCKDB_POOL,
)
def ingested_results(context: dg.AssetExecutionContext, config: IngestConfig, warehouse: WarehouseResource,
                     data_dirs: DataDirs):
    """Ingest the *.json result files under data/incoming, data/legacy and data/sample (or the configured paths)."""
    service = warehouse.service()

    def say_waiting(holder: str | None, timeout_s: float) -> None:
        context.log.warning(f"waiting for the writer lock held by {holder or 'another writer'} (up to {timeout_s:.0f} s)")

    if config.paths is None:
        roots = [str(p) for p in data_dirs.ingest_roots() if p.exists()]
        report = service.ingest_paths(roots, workers=config.workers, run_id=context.run.run_id,
                                      also_refresh=Scope.everything(), lenient=True, on_lock_wait=say_waiting)
    else:
        report = service.ingest_paths(config.paths, workers=config.workers, run_id=context.run.run_id,
                                      lenient=True, on_lock_wait=say_waiting)
    for path, why in report.skipped:  # a file refused or unreadable is news; a sidecar or a README is not
        (context.log.warning if refused(why) else context.log.debug)(f"skipped {path}: {why}")
    outcomes, quarantine = report.result.outcomes, report.result.quarantine
    statuses = outcomes["status"].value_counts().to_dict() if not outcomes.empty else {}
    context.log.info(f"ingest outcome per file: {statuses}")
    yield dg.MaterializeResult(asset_key=VALIDATED, metadata={
        "files": len(outcomes),
        "files_per_status": dg.MetadataValue.json({str(k): int(v) for k, v in statuses.items()}),
        "rows_written": int(outcomes["rows_written"].sum()) if not outcomes.empty else 0,
        "records_quarantined": len(quarantine),
        "skipped": len(report.skipped),
        "quarantine_preview": dg.MetadataValue.md(preview_markdown(pd.DataFrame(
            quarantine.head(QUARANTINE_PREVIEW_ROWS)))),
    })
    refreshed = report.refresh
    with warehouse.reader() as conn:
        for table in WAREHOUSE_TABLES:
            metadata = table_metadata(conn, table)
            if table == "performance_results" and refreshed is not None and refreshed.scope.models is not None:
                # Read by regression_flags in the same run: it re-examines only these models' series.
                metadata[TOUCHED_MODELS] = dg.MetadataValue.json(sorted(refreshed.scope.models))
                if report.additions_only:
                    metadata[ADDED_BY_RUN] = report.run_id
            yield dg.MaterializeResult(asset_key=table, metadata=metadata)
        for table in DERIVED_TABLES:
            metadata = table_metadata(conn, table)
            if refreshed is not None:
                metadata["refresh"] = ("rebuilt" if table in refreshed.rebuilt else
                                       f"{refreshed.updated[table]} rows recomputed" if table in refreshed.updated
                                       else "unchanged")
            yield dg.MaterializeResult(asset_key=table, metadata=metadata)
