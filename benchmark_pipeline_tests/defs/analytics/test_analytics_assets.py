"""The derived tables (made by the ingest step) and the reports assets through dg.materialize."""

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from benchmark_pipeline.defs.reports import assets as reports
from benchmark_pipeline.defs.resources import DataDirs, WarehouseResource
from benchmark_pipeline.defs.warehouse.assets import ingested_results
from benchmark_pipeline.lib.reports.render import SCHEMA_PATH
from benchmark_pipeline.lib.vocabulary import DERIVED_TABLES
from benchmark_pipeline.service.samples import build_sample_warehouse
REPORTS = [reports.summary_report, reports.performance_report, reports.compatibility_report,
           reports.regressions_report, reports.hardware_report, reports.model_report]


@pytest.fixture
def project(tmp_path: Path):
    db = build_sample_warehouse(tmp_path, days=4)
    resources = {"warehouse": WarehouseResource(db_path=str(db)), "data_dirs": DataDirs(root=str(tmp_path / "data"))}
    return tmp_path, db, resources


def test_derived_tables_land_with_row_counts_and_previews(project):
    _root, db, resources = project
    result = dg.materialize([ingested_results], resources=resources)  # nothing new: a full recompute
    assert result.success
    metadata = {e.asset_key.to_user_string(): e.materialization.metadata
                for e in result.get_asset_materialization_events()}
    with duckdb.connect(str(db), read_only=True) as conn:
        for name in DERIVED_TABLES:
            assert metadata[name]["refresh"].value == "rebuilt"
            count = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            assert count > 0 and metadata[name]["dagster/row_count"].value == count
            assert metadata[name]["dagster/table_name"].value == f"main.{name}"
            assert "|" in metadata[name]["preview"].value
        assert conn.execute("SELECT count(*) FROM hardware_comparison WHERE results > 4").fetchone()[0] == 0
        ranks = conn.execute("SELECT min(topsis_rank), max(topsis_rank) FROM hardware_recommendations").fetchone()
        assert ranks == (1, 4)


def test_assets_declare_group_kinds_pool_and_fact_deps():
    specs = {spec.key.to_user_string(): spec for spec in ingested_results.specs}
    assert ingested_results.op.pool == "duckdb"
    for name in DERIVED_TABLES:
        spec = specs[name]
        assert spec.group_name == "analytics" and "duckdb" in spec.kinds and spec.description
        deps = {d.asset_key.to_user_string() for d in spec.deps}
        assert {"performance_results", "hardware_compatibility", "models", "hardware_platforms"} <= deps
    for asset in REPORTS:
        spec = next(iter(asset.specs))
        assert spec.group_name == "reports" and spec.kinds and spec.description and asset.op.pool == "duckdb"


def test_reports_are_written_on_every_run(project):
    root, _db, resources = project
    assert dg.materialize(REPORTS, resources=resources).success
    out = root / "data" / "reports"
    kinds = ("summary", "performance", "compatibility", "regressions", "hardware", "model")
    pages = {f"{k}.{s}" for k in kinds for s in ("md", "html", "json")}
    assert {p.name for p in out.iterdir()} == pages | {"plotly.min.js"}  # one plotly bundle shared by the pages
    first = (out / "summary.json").stat().st_mtime_ns
    document = json.loads((out / "summary.json").read_text())
    assert document["kind"] == "summary" and len(document["sections"]) >= 4
    import jsonschema

    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))
    result = dg.materialize([reports.summary_report], resources=resources)
    assert result.success and (out / "summary.json").stat().st_mtime_ns > first
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["html"].value.endswith("summary.html") and metadata["charts"].value >= 3
