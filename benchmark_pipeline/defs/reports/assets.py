"""Reports group: data/reports/<kind>.{md,html,json}, rewritten on every run.

The HTML pages share one ``data/reports/plotly.min.js`` (written when missing or stale), so each
page is tens of kB instead of 5 MB and the folder still opens offline.

The warehouse is held only while the report's queries run; rendering (plotly's HTML is the slow
part) happens after the lock is released, so reports never hold up an ingest.
"""

from __future__ import annotations

import dagster as dg

from benchmark_pipeline.defs.resources import DUCKDB_POOL, DataDirs, WarehouseResource
from benchmark_pipeline.defs.schedules import OUTPUT_AUTOMATION
from benchmark_pipeline.lib.reports.render import FORMATS, SUFFIXES, write

GROUP = "reports"
KINDS = {"plotly", "html"}


def _write_all(kind: str, warehouse: WarehouseResource, data_dirs: DataDirs) -> dg.MaterializeResult:
    report = warehouse.service().report(kind)
    out_dir = data_dirs.reports_dir()
    paths = {fmt: write(report, fmt, out_dir / f"{kind}{SUFFIXES[fmt]}") for fmt in FORMATS}
    headline = next((s for s in report.sections if s.stats or s.bullets), None)
    first_table = next((s for s in report.sections if s.table is not None and not s.table.empty), None)
    if headline is not None:
        preview = "\n".join([" · ".join(f"**{v}** {k}" for k, v in headline.stats), "",
                              *[f"- {b}" for b in headline.bullets]])
    else:
        preview = first_table.table.head(10).to_markdown(index=False) if first_table is not None else "_no data_"
    metadata: dict = {fmt: dg.MetadataValue.path(str(path)) for fmt, path in paths.items()}
    metadata["sections"] = len(report.sections)
    metadata["charts"] = sum(s.figure is not None for s in report.sections)
    metadata["preview"] = dg.MetadataValue.md(preview)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(group_name=GROUP, kinds=KINDS, pool=DUCKDB_POOL, automation_condition=OUTPUT_AUTOMATION,
          deps=["compatibility_matrix", "hardware_comparison", "daily_model_stats", "regression_flags"])
def summary_report(warehouse: WarehouseResource, data_dirs: DataDirs) -> dg.MaterializeResult:
    """Summary statistics, compatibility heatmap, throughput bars, trend and recent results."""
    return _write_all("summary", warehouse, data_dirs)


@dg.asset(group_name=GROUP, kinds=KINDS, pool=DUCKDB_POOL, automation_condition=OUTPUT_AUTOMATION, deps=["hardware_comparison", "regression_flags"])
def performance_report(warehouse: WarehouseResource, data_dirs: DataDirs) -> dg.MaterializeResult:
    """Throughput and latency by model and hardware, with trends and recent results."""
    return _write_all("performance", warehouse, data_dirs)


@dg.asset(group_name=GROUP, kinds=KINDS, pool=DUCKDB_POOL, automation_condition=OUTPUT_AUTOMATION, deps=["compatibility_matrix"])
def compatibility_report(warehouse: WarehouseResource, data_dirs: DataDirs) -> dg.MaterializeResult:
    """The compatibility matrix as a heatmap, with coverage and the errors of failing cells."""
    return _write_all("compatibility", warehouse, data_dirs)


@dg.asset(group_name=GROUP, kinds=KINDS, pool=DUCKDB_POOL, automation_condition=OUTPUT_AUTOMATION, deps=["regression_flags"])
def regressions_report(warehouse: WarehouseResource, data_dirs: DataDirs) -> dg.MaterializeResult:
    """Regression flags and metric trends with change points and outliers marked."""
    return _write_all("regressions", warehouse, data_dirs)


@dg.asset(group_name=GROUP, kinds=KINDS, pool=DUCKDB_POOL, automation_condition=OUTPUT_AUTOMATION, deps=["hardware_recommendations"])
def hardware_report(warehouse: WarehouseResource, data_dirs: DataDirs) -> dg.MaterializeResult:
    """Hardware platforms, speedup over CPU, recommendations and a Pareto scatter per model."""
    return _write_all("hardware", warehouse, data_dirs)


@dg.asset(group_name=GROUP, kinds=KINDS, pool=DUCKDB_POOL, automation_condition=OUTPUT_AUTOMATION, deps=["model_comparison", "daily_model_stats"])
def model_report(warehouse: WarehouseResource, data_dirs: DataDirs) -> dg.MaterializeResult:
    """Models side by side per hardware, with daily statistics."""
    return _write_all("model", warehouse, data_dirs)
