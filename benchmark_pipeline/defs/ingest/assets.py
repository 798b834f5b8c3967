"""Ingest group: result files on disk to pandera-validated frames, staged as Parquet."""


import dagster as dg
import pandas as pd
from pydantic import Field

from benchmark_pipeline.defs.metadata import frame_metadata
from benchmark_pipeline.defs.resources import DUCKDB_POOL, DataDirs, WarehouseResource
from benchmark_pipeline.lib.ingest.batch import discover, read_and_validate, sha256_of
from benchmark_pipeline.lib.ingest.parallel import paused_gc
from benchmark_pipeline.lib.warehouse.load import read_ledger
from benchmark_pipeline.lib.warehouse.plan import UNCHANGED, plan_files

GROUP = "ingest"

# Validated frames, each a visible asset; the warehouse step consumes them together.
VALIDATED_OUTPUTS = {
    "validated_files": ("files", "Files of this ingest with hash, parse problem and record count."),
    "validated_performance": ("performance", "Performance records that passed validation."),
    "validated_batch_results": ("batch_results", "Per-batch latencies of the validated performance records."),
    "validated_power_metrics": ("power_metrics", "Power readings of the validated performance records."),
    "validated_compatibility": ("compatibility", "Hardware compatibility records that passed validation."),
    "validated_integration": ("integration", "Integration test records that passed validation."),
    "validated_assertions": ("assertions", "Assertions of the validated integration records."),
    "quarantined_records": ("quarantine", "Records (and whole files) that failed validation, with file, record, field and reason."),
    "validated_failures": ("failures", "Failed benchmark runs and tracebacks found in converted legacy files."),
}


class DiscoveryConfig(dg.Config):
    paths: list[str] | None = Field(
        default=None,
        description="only these files (the drop-folder sensor sets them); default: scan incoming/, legacy/, sample/",
    )


@dg.asset(group_name=GROUP, kinds={"json", "pandas"}, io_manager_key="staging_io_manager", pool=DUCKDB_POOL)
def discovered_result_files(
    context: dg.AssetExecutionContext, config: DiscoveryConfig, data_dirs: DataDirs, warehouse: WarehouseResource
) -> pd.DataFrame:
    """The *.json result files under data/incoming, data/legacy and data/sample (or only the configured paths).

    Each with its category, its sha256 and whether the ledger already has that version.
    """
    roots = data_dirs.ingest_roots() if config.paths is None else config.paths
    discovered = discover(roots, missing_ok=True, unknown_category_ok=True)
    files = discovered.files.assign(file_id=range(len(discovered.files)))
    files["sha256"] = [sha256_of(path) for path in files["source_path"]]
    with warehouse.connect() as conn:
        ledger = read_ledger(conn)
    plan = plan_files(files, ledger)
    files["action"] = plan["action"].to_numpy()
    for path, why in discovered.skipped:
        context.log.warning(f"skipped {path}: {why}")
    metadata = frame_metadata(files)
    metadata["new_or_changed"] = int((files["action"] != UNCHANGED).sum())
    metadata["skipped"] = len(discovered.skipped)
    context.add_output_metadata(metadata)
    return files


@dg.multi_asset(
    group_name=GROUP,
    outs={
        name: dg.AssetOut(io_manager_key="staging_io_manager", kinds={"pandas", "pandera"}, description=description)
        for name, (_, description) in VALIDATED_OUTPUTS.items()
    },
)
def validated_results(context: dg.AssetExecutionContext, discovered_result_files: pd.DataFrame):
    """Parse the new or changed files and validate their records; failures become quarantine rows."""
    todo = discovered_result_files[discovered_result_files["action"] != UNCHANGED]
    with paused_gc():
        batch = read_and_validate(todo[["source_path", "category"]].reset_index(drop=True))
    frames = batch.frames()
    for name, (frame_name, _) in VALIDATED_OUTPUTS.items():
        frame = frames[frame_name]
        yield dg.Output(frame, output_name=name, metadata=frame_metadata(frame))
    context.log.info(f"validated {len(todo)} files; {batch.duplicates_dropped} exact duplicate records dropped")

