"""Watching the drop folders: new result files become one ``benchmark_job`` run per tick."""

import time

import dagster as dg
from pydantic import Field

from benchmark_pipeline.defs.resources import DataDirs, WarehouseResource
from benchmark_pipeline.defs.warehouse.assets import VALIDATED
from benchmark_pipeline.lib.vocabulary import DERIVED_TABLES, WAREHOUSE_TABLES
from benchmark_pipeline.lib.ingest.watch import WatchState, known_from_ledger, plan_tick, run_key, scan
from benchmark_pipeline.lib.warehouse.connection import WarehouseBusyError, WarehouseMissingError

JOB_NAME = "benchmark_job"
# What a drop changes within its run: the facts, the derived tables recomputed for what it touched, the
# regression flags of its series, the LLM answers. Reports and the snapshot follow on their own clock
# (defs/schedules.py).
DROP_ASSETS = [dg.AssetKey(k) for k in (VALIDATED, *WAREHOUSE_TABLES, *DERIVED_TABLES, "regression_flags",
                                        "llm_answers")]


class DropWatch(dg.ConfigurableResource):
    """How the drop-folder sensor decides a file is ready and how much one run takes."""

    settle_s: float = Field(default=10.0, description="a file is taken once its mtime and ctime are this old")
    max_files_per_tick: int = Field(default=1000, description="files per run; the rest wait for the next tick")
    pending_ttl_s: float = Field(default=3600.0, description="re-request a file whose run has not ledgered it by then")
    ledger_timeout_s: float = Field(default=1.0, description="how long a tick waits for a busy warehouse before "
                                                             "falling back to the watermark")


def ledger_sizes(warehouse: WarehouseResource, timeout_s: float):
    """Absolute ledger paths with their sizes; {} without a warehouse, None while a writer keeps it."""
    try:
        with warehouse.reader(timeout_s) as conn:
            rows = conn.execute("SELECT source_path, size_bytes FROM ingestion_ledger").fetchall()
    except WarehouseMissingError:
        return {}
    except WarehouseBusyError:
        return None
    return known_from_ledger(rows)


@dg.sensor(job_name=JOB_NAME, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def result_files_sensor(
    context: dg.SensorEvaluationContext, data_dirs: DataDirs, warehouse: WarehouseResource, drop_watch: DropWatch
) -> dg.SensorResult:
    """New or changed result files in data/incoming (LLM-serving files in data/incoming/llm/ included, with their
    sidecars) and data/legacy, ingested with what depends on them in one run."""
    entries = scan([data_dirs.base() / "incoming", data_dirs.legacy_root()])
    known = ledger_sizes(warehouse, drop_watch.ledger_timeout_s)
    plan = plan_tick(entries, known, WatchState.from_cursor(context.cursor), time.time_ns(),
                     drop_watch.settle_s, drop_watch.max_files_per_tick, drop_watch.pending_ttl_s)
    context.log.info(
        f"{plan.listed} files listed, {plan.unsettled} still settling, {len(plan.batch)} requested"
        f"{' (capped)' if plan.capped else ''}; mode {plan.mode}"
    )
    if not plan.batch:
        return dg.SensorResult(cursor=plan.state.to_cursor(), skip_reason="no new or changed result files")
    request = dg.RunRequest(
        run_key=run_key(plan.batch),
        asset_selection=DROP_ASSETS,
        run_config={"ops": {"ingested_results": {"config": {"paths": [e.path for e in plan.batch]}}}},
        tags={"benchmark_pipeline/trigger": "result_files_sensor", "benchmark_pipeline/files": str(len(plan.batch))},
    )
    return dg.SensorResult(run_requests=[request], cursor=plan.state.to_cursor())


@dg.definitions
def sensor_definitions() -> dg.Definitions:
    # A module with a @dg.definitions function contributes only what that function returns.
    return dg.Definitions(sensors=[result_files_sensor], resources={"drop_watch": DropWatch()})
