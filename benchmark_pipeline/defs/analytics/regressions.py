"""Regression flags: robust change-point detection over every benchmark series (performance and LLM serving),
kept incrementally.

Unlike the other analytics tables this one is not rebuilt whole: detection costs milliseconds per
series, and acknowledgements must outlive re-detection, so only series whose points changed are
re-analysed (see ``lib/changepoint/series.py``).
"""

import dagster as dg
from pydantic import Field

from benchmark_pipeline.defs.metadata import (
    PREVIEW_ROWS,
    column_schema,
    live_types,
    preview_markdown,
    table_definition_metadata,
)
from benchmark_pipeline.defs.resources import DUCKDB_POOL, WarehouseResource
from benchmark_pipeline.defs.warehouse.assets import TOUCHED_MODELS, added_by_this_run, ingest_of_this_run
from benchmark_pipeline.lib.warehouse.regressions import markdown_summary, summary_frame


class RegressionFlagsConfig(dg.Config):
    include_simulated: bool = Field(default=False, description="also analyse results marked simulated")
    workers: int = Field(default=1, description="processes for detection (worth it from a few thousand series)")


def _touched_in_this_run(context: dg.AssetExecutionContext) -> tuple[frozenset[str] | None, str | None]:
    """The models whose performance facts this run's ingest changed (None: look at every series), and its
    ingestion run id when it only added facts (then the series with rows of that run are all that changed).

    Read from the performance_results materialization the ingest step recorded: only when that
    materialization belongs to this run, so a run without an ingest (or a full one) looks at everything.
    It narrows the performance series only: detection looks at every LLM series whatever it says.
    """
    touched = (ingest_of_this_run(context) or {}).get(TOUCHED_MODELS)
    if touched is None:
        return None, None
    return frozenset(touched.value), added_by_this_run(context)


@dg.asset(
    group_name="analytics",
    kinds={"duckdb", "python"},
    pool=DUCKDB_POOL,
    deps=[dg.AssetKey("performance_results"), dg.AssetKey("llm_serving_results")],
    metadata=table_definition_metadata("regression_flags"),
)
def regression_flags(
    context: dg.AssetExecutionContext, config: RegressionFlagsConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Regressions, improvements and outliers per benchmark series (robust mode), updated incrementally."""
    service = warehouse.service()
    models, added_by = _touched_in_this_run(context)
    report = service.update_regressions(include_simulated=config.include_simulated, workers=config.workers,
                                        models=models, run_id=added_by)
    if added_by is not None:
        context.log.info("regression_flags: looked at the series this run's ingest added points to "
                         f"({len(models)} model(s))")
    elif models is not None:
        context.log.info(f"regression_flags: looked at the series of the {len(models)} model(s) this run's ingest "
                         "touched")
    flags = service.regression_flags(count_stale=False).flags
    with service.reader() as conn:
        schema = column_schema("regression_flags", live_types(conn, "regression_flags"))
    still_open = int((flags["status"] == "open").sum()) if not flags.empty else 0
    context.log.info(
        f"regression_flags: {report.series_analysed} of {report.series_total} series re-analysed, "
        f"{report.series_removed} removed, {still_open} open regression(s)"
    )
    preview = summary_frame(flags.head(PREVIEW_ROWS))
    return dg.MaterializeResult(metadata={
        "dagster/row_count": report.flags_total,
        "dagster/table_name": "main.regression_flags",
        "dagster/column_schema": schema,
        "series_total": report.series_total,
        "series_reanalysed": report.series_analysed,
        "series_removed": report.series_removed,
        "open_regressions": still_open,
        "preview": dg.MetadataValue.md(preview_markdown(preview)),
    })


@dg.asset_check(
    asset=regression_flags,
    blocking=False,
    pool=DUCKDB_POOL,
    description="Warns while a regression is open: the latest change of its series, not recovered, not acknowledged.",
)
def no_open_regressions(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Non-blocking: a regression is news for people, not a reason to stop the downstream assets."""
    # The check runs right after detection in the same run: nothing to count as stale.
    found = warehouse.service().open_regressions(count_stale=False).flags
    pairs = found.groupby(["model_name", "hardware_fingerprint"]).ngroups if not found.empty else 0
    return dg.AssetCheckResult(
        passed=found.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "open_regressions": len(found),
            "model_hardware_pairs": pairs,
            "summary": dg.MetadataValue.md(markdown_summary(found)),
        },
    )
