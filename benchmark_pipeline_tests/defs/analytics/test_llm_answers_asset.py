"""The llm_answers asset: recomputes what expired, keeps what is fresh, and is automated on both."""

import dagster as dg
import duckdb

from benchmark_pipeline.defs.analytics.llm import LLM_ANSWERS_AUTOMATION, llm_answers
from benchmark_pipeline.defs.resources import DataDirs, WarehouseResource
from benchmark_pipeline.defs.schedules import outputs_automation
from benchmark_pipeline.service import BenchmarkService
from benchmark_pipeline_tests.llm_runs import write_llm_drops


def _materialize(db, tmp_path, **config):
    resources = {"warehouse": WarehouseResource(db_path=str(db)), "data_dirs": DataDirs(root=str(tmp_path / "data"))}
    run_config = {"ops": {"llm_answers": {"config": config}}} if config else None
    result = dg.materialize([llm_answers], resources=resources, run_config=run_config)
    assert result.success
    [event] = result.get_asset_materialization_events()
    return event.materialization.metadata


def test_fresh_answers_are_kept_and_expired_ones_recomputed(tmp_path):
    drops = tmp_path / "drops"
    write_llm_drops(drops)
    db = tmp_path / "warehouse.duckdb"
    BenchmarkService(db).ingest_paths([str(drops)])

    fresh = _materialize(db, tmp_path)
    assert fresh["recomputed"].value is False and fresh["reason"].value == "fresh"  # the ingest computed them
    assert "2x NVIDIA A100-SXM4-80GB" in fresh["best_per_use_case"].value or \
        "1x NVIDIA A100-SXM4-80GB" in fresh["best_per_use_case"].value

    with duckdb.connect(str(db)) as conn:  # the hour has passed
        conn.execute("UPDATE llm_answers_state SET expires_at = now() - INTERVAL 1 MINUTE")
    expired = _materialize(db, tmp_path)
    assert expired["recomputed"].value is True and expired["reason"].value == "expired"
    assert expired["ranked_configurations"].value > 0
    assert _materialize(db, tmp_path, force=True)["reason"].value == "forced"


def test_the_asset_is_automated_on_change_and_on_the_hour():
    spec = next(iter(llm_answers.specs))
    assert spec.automation_condition == LLM_ANSWERS_AUTOMATION
    assert {d.asset_key.to_user_string() for d in spec.deps} == {"llm_serving_results"}
    from benchmark_pipeline.definitions import defs
    from benchmark_pipeline.defs.ingest.sensors import DROP_ASSETS

    graph = defs().resolve_asset_graph()
    assert dg.AssetKey("llm_answers") in outputs_automation.asset_selection.resolve(graph)
    assert dg.AssetKey("llm_answers") in DROP_ASSETS  # a drop's run brings them along
