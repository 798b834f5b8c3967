"""The ingest step and the warehouse checks through dg.materialize with a temporary warehouse and data folder."""

import shutil
from pathlib import Path

import dagster as dg
import pytest

from benchmark_pipeline.defs.resources import DataDirs, WarehouseResource
from benchmark_pipeline.defs.warehouse.assets import ingested_results
from benchmark_pipeline.defs.warehouse.checks import warehouse_invariants
from benchmark_pipeline.lib.sample_data import write_sample
from benchmark_pipeline.lib.warehouse.connection import open_reader

ASSETS = [ingested_results, warehouse_invariants]


@pytest.fixture
def project(tmp_path: Path):
    write_sample(tmp_path / "data" / "sample")
    (tmp_path / "data" / "incoming" / "performance").mkdir(parents=True)
    resources = {
        "warehouse": WarehouseResource(db_path=str(tmp_path / "w.duckdb")),
        "data_dirs": DataDirs(root=str(tmp_path / "data")),
    }
    return tmp_path, resources


def _count(db: Path, table: str) -> int:
    with open_reader(db) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def test_sample_data_lands_with_metadata_and_checks_pass(project):
    root, resources = project
    result = dg.materialize(ASSETS, resources=resources)
    assert result.success
    materialized = {e.asset_key.to_user_string(): e.materialization.metadata
                    for e in result.get_asset_materialization_events()}
    assert materialized["performance_results"]["dagster/row_count"].value == _count(root / "w.duckdb",
                                                                                    "performance_results") > 900
    validated = materialized["validated_results"]
    assert validated["files_per_status"].value == {"ingested": 37} and validated["records_quarantined"].value == 0
    assert materialized["hardware_recommendations"]["dagster/row_count"].value > 0  # derived, same step
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)
    assert not (root / "data" / "staging").exists()  # nothing is handed between steps as files


def test_rematerializing_adds_nothing_and_new_drops_land(project):
    root, resources = project
    dg.materialize(ASSETS, resources=resources)
    before = _count(root / "w.duckdb", "performance_results")
    dg.materialize(ASSETS, resources=resources)
    assert _count(root / "w.duckdb", "performance_results") == before
    shutil.copy(next((root / "data" / "sample" / "performance").rglob("*.json")),
                root / "data" / "incoming" / "performance" / "copy.json")
    dg.materialize(ASSETS, resources=resources)
    with open_reader(root / "w.duckdb") as conn:
        assert conn.execute("SELECT status FROM ingestion_ledger WHERE source_path LIKE '%copy.json'").fetchall() == [
            ("duplicate",)]


def test_a_failing_invariant_fails_its_blocking_check(project):
    root, resources = project
    dg.materialize(ASSETS, resources=resources)
    import duckdb

    conn = duckdb.connect(str(root / "w.duckdb"))
    conn.execute("UPDATE performance_results SET hardware_id = 12345 WHERE result_id = 1")
    conn.close()
    result = dg.materialize([warehouse_invariants], resources=resources, raise_on_error=False,
                            selection=dg.AssetSelection.checks(warehouse_invariants))
    failed = [c.check_name for c in result.get_asset_check_evaluations() if not c.passed]
    assert failed == ["fk_hardware_id"]


def test_a_drop_run_redetects_only_the_models_its_ingest_touched(project):
    """The sensor's run (ingest with paths, then regression_flags) looks at the touched models' series only;
    a run without an ingest step looks at every series."""
    import json

    from benchmark_pipeline.defs.analytics.regressions import regression_flags

    root, resources = project
    instance = dg.DagsterInstance.ephemeral()
    full = dg.materialize([ingested_results, regression_flags], resources=resources, instance=instance)
    total = next(e.materialization.metadata for e in full.get_asset_materialization_events()
                 if e.asset_key.to_user_string() == "regression_flags")["series_total"].value
    records = json.loads(sorted((root / "data" / "sample" / "performance").rglob("*.json"))[-1].read_text())
    drop = root / "data" / "incoming" / "performance" / "t5.json"
    drop.write_text(json.dumps([{**r, "timestamp": "2025-12-01T02:00:00Z"} for r in records
                                if r["model_name"] == "t5-small"]))
    config = {"ops": {"ingested_results": {"config": {"paths": [str(drop)]}}}}
    run = dg.materialize([ingested_results, regression_flags], resources=resources, instance=instance,
                         run_config=config)
    metadata = {e.asset_key.to_user_string(): e.materialization.metadata
                for e in run.get_asset_materialization_events()}
    assert metadata["performance_results"]["touched_models"].value == ["t5-small"]
    assert 0 < metadata["regression_flags"]["series_reanalysed"].value <= metadata["regression_flags"][
        "series_total"].value < total
    alone = dg.materialize([regression_flags], resources=resources, instance=instance)
    assert next(e.materialization.metadata for e in alone.get_asset_materialization_events())[
        "series_total"].value == total


def test_a_drop_run_checks_the_invariants_over_the_rows_it_added(project):
    """A run whose ingest only added files checks the fact tables' keys over its own rows; a full run, all rows."""
    import json

    root, resources = project
    instance = dg.DagsterInstance.ephemeral()
    full = dg.materialize(ASSETS, resources=resources, instance=instance)
    assert {c.metadata["rows checked"].value for c in full.get_asset_check_evaluations()} == {"all"}
    records = json.loads(sorted((root / "data" / "sample" / "performance").rglob("*.json"))[-1].read_text())
    drop = root / "data" / "incoming" / "performance" / "later.json"
    drop.write_text(json.dumps([{**r, "timestamp": "2025-12-01T02:00:00Z"} for r in records]))
    run = dg.materialize(ASSETS, resources=resources, instance=instance,
                         run_config={"ops": {"ingested_results": {"config": {"paths": [str(drop)]}}}})
    checks = {(c.asset_key.to_user_string(), c.check_name): c for c in run.get_asset_check_evaluations()}
    assert all(c.passed for c in checks.values())
    assert checks[("performance_results", "unique_result_id")].metadata["rows checked"].value == "added by this run"
    assert checks[("ingestion_ledger", "one_active_version")].metadata["rows checked"].value == "all"
