"""Jobs with stable names for the UI, schedules, sensors and `dagster job execute` in CI."""

import dagster as dg

# In-process: steps run one after another in the run's process, so two warehouse steps of a run can
# never overlap (the multiprocess executor would also cost 3-4 s per step on two cores).
benchmark_job = dg.define_asset_job(
    "benchmark_job",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Materialize everything: ingest the *.json result files under data/incoming, data/legacy and "
                "data/sample (or only the files the drop-folder sensor passes in config), load the warehouse, "
                "refresh the derived tables, reports and snapshot.",
)
