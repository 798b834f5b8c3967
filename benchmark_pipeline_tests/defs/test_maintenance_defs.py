"""The maintenance jobs and schedules in Dagster: loaded with the definitions, run over the service."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from benchmark_pipeline.defs.ipfs import IpfsNodeResource
from benchmark_pipeline.defs.maintenance.jobs import (backup_job, clean_json_job, restore_drill_job,
                                                      warehouse_optimize_job, warehouse_validation_job)
from benchmark_pipeline.defs.resources import DataDirs, WarehouseResource
from benchmark_pipeline.definitions import defs
from benchmark_pipeline.lib.snapshots.store import SnapshotStore
from benchmark_pipeline.service.samples import build_sample_warehouse

JOBS = {"warehouse_validation_job": "validate_warehouse", "warehouse_optimize_job": "optimize_warehouse",
        "clean_json_job": "clean_json_files", "backup_job": "backup_with_retention",
        "restore_drill_job": "restore_drill"}


def _definitions() -> dg.Definitions:
    return defs() if callable(defs) else defs


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return build_sample_warehouse(tmp_path_factory.mktemp("sample"))


@pytest.fixture
def resources(sample, tmp_path) -> dict:
    db = tmp_path / "data" / "warehouse" / "benchmarks.duckdb"
    db.parent.mkdir(parents=True)
    shutil.copyfile(sample, db)
    return {"warehouse": WarehouseResource(db_path=str(db)), "data_dirs": DataDirs(root=str(tmp_path / "data")),
            "ipfs": IpfsNodeResource.off()}


def _meta(result: dg.ExecuteInProcessResult, op: str) -> dict:
    (event,) = [e for e in result.events_for_node(op) if e.event_type_value in ("STEP_OUTPUT", "STEP_FAILURE")]
    if event.event_type_value == "STEP_OUTPUT":
        return {k: v.value for k, v in event.event_specific_data.metadata.items()}
    return {k: v.value for k, v in event.event_specific_data.user_failure_data.metadata.items()}


def test_the_jobs_and_schedules_are_in_the_definitions():
    definitions = _definitions()
    for job_name, op_name in JOBS.items():
        job = definitions.resolve_job_def(job_name)
        assert [node.name for node in job.nodes] == [op_name]
        assert {op.pool for op in job.graph.iterate_op_defs()} == {"duckdb"}
        assert job.executor_def.name == "in_process" and job.description
    schedules = {s.name: s for s in definitions.schedules}
    expected = {"backup_every_30_minutes": ("*/30 * * * *", "backup_job"),
                "daily_validation": ("30 3 * * *", "warehouse_validation_job"),
                "weekly_restore_drill": ("0 4 * * 0", "restore_drill_job")}
    for name, (cron, job_name) in expected.items():
        assert schedules[name].cron_schedule == cron and schedules[name].job_name == job_name
        assert schedules[name].default_status == dg.DefaultScheduleStatus.RUNNING
        assert schedules[name].execution_timezone == "UTC"
    # benchmark_job materializes every asset and none of these jobs' ops
    benchmark_ops = {n.name for n in definitions.resolve_job_def("benchmark_job").nodes}
    assert not benchmark_ops & set(JOBS.values())


def test_backup_job_then_the_drill_job(resources):
    result = backup_job.execute_in_process(resources=resources)
    assert result.success
    meta = _meta(result, "backup_with_retention")
    store = SnapshotStore(Path(resources["data_dirs"].root) / "snapshots")
    assert meta["cid"] == str(store.head()) and meta["changed"] is True
    assert meta["policy"] == "keep the newest 1, 24 hourly, 30 daily" and meta["kept"] == 1 and meta["pruned"] == 0
    assert store.history()[0].data["run_id"] == result.run_id

    conn = duckdb.connect(resources["warehouse"].db_path)
    conn.execute("UPDATE models SET source = 'huggingface' WHERE model_id = (SELECT min(model_id) FROM models)")
    conn.close()
    config = {"ops": {"backup_with_retention": {"config": {"keep_hourly": 1, "keep_daily": 0}}}}
    second = backup_job.execute_in_process(resources=resources, run_config=config)
    assert second.success and _meta(second, "backup_with_retention")["pruned"] == 1
    assert [store.state(m) for m in store.history()] == ["local", "pruned"]

    drill = restore_drill_job.execute_in_process(resources=resources)
    assert drill.success
    meta = _meta(drill, "restore_drill")
    assert meta["rto_met"] and meta["rpo_met"] and meta["validated"] and meta["snapshot"] == str(store.head())


def test_validation_job_passes_clean_and_fails_on_damage(resources):
    result = warehouse_validation_job.execute_in_process(resources=resources)
    assert result.success and _meta(result, "validate_warehouse")["problems"] == 0
    conn = duckdb.connect(resources["warehouse"].db_path)
    conn.execute("UPDATE ingestion_ledger SET rows_written = rows_written + 1 "
                 "WHERE ledger_id = (SELECT min(ledger_id) FROM ingestion_ledger)")
    conn.close()
    failed = warehouse_validation_job.execute_in_process(resources=resources, raise_on_error=False)
    assert not failed.success
    meta = _meta(failed, "validate_warehouse")
    assert meta["problems"] == 1 and meta["problems/ledger"] == 1 and meta["problems/orphans"] == 0


def test_drill_job_fails_without_a_snapshot(resources):
    result = restore_drill_job.execute_in_process(resources=resources, raise_on_error=False)
    assert not result.success


def test_optimize_and_clean_json_jobs(resources, tmp_path):
    result = warehouse_optimize_job.execute_in_process(resources=resources)
    assert result.success and _meta(result, "optimize_warehouse")["statements"] == "ANALYZE, FORCE CHECKPOINT"

    incoming = Path(resources["data_dirs"].root) / "incoming" / "performance"
    incoming.mkdir(parents=True)
    record = {"model_name": "bert-base-uncased", "hardware_type": "cpu", "average_latency_ms": 3.0}
    (incoming / "a.json").write_text(json.dumps([record]))
    (incoming / "b.json").write_text(json.dumps([{**record, "batch_size": 2}]))
    resources["warehouse"].service().ingest_paths([str(incoming / "a.json")])
    then = time.time() - 40 * 86400
    for path in incoming.iterdir():
        os.utime(path, (then, then))

    dry = clean_json_job.execute_in_process(resources=resources)
    meta = _meta(dry, "clean_json_files")
    assert dry.success and meta["applied"] is False and meta["removable"] == 1
    assert meta["kept_by_reason"] == {"never ingested": 1} and (incoming / "a.json").exists()
    applied = clean_json_job.execute_in_process(
        resources=resources, run_config={"ops": {"clean_json_files": {"config": {"apply": True}}}})
    assert applied.success and not (incoming / "a.json").exists() and (incoming / "b.json").exists()
