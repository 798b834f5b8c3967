"""``benchmark-db maintenance``: validate, optimize, clean-json, backup and the restore drill from the command line,
and the same through the Python API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from benchmark_pipeline.cli import maintenance as cli_maintenance
from benchmark_pipeline.cli.main import main
from benchmark_pipeline.lib.snapshots.retention import RetentionPolicy
from benchmark_pipeline.lib.snapshots.store import SnapshotStore
from benchmark_pipeline.service import BenchmarkService, ingest_paths
from benchmark_pipeline.service import maintenance as service_maintenance
from benchmark_pipeline.service.samples import build_sample_warehouse
from benchmark_pipeline_tests.conftest import perf_record

DAY = 86400


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def sample_warehouse(tmp_path_factory) -> Path:
    return build_sample_warehouse(tmp_path_factory.mktemp("sample"))


@pytest.fixture
def env(tmp_path, monkeypatch, sample_warehouse) -> Path:
    """A copy of the sample warehouse as $BENCHMARK_DB_PATH, snapshots under $BENCHMARK_DATA_DIR."""
    db = tmp_path / "data" / "warehouse" / "benchmarks.duckdb"
    db.parent.mkdir(parents=True)
    shutil.copyfile(sample_warehouse, db)
    monkeypatch.setenv("BENCHMARK_DB_PATH", str(db))
    monkeypatch.setenv("BENCHMARK_DATA_DIR", str(tmp_path / "data"))
    for name in ("BENCHMARK_BLOCKS_DIR", "IPFS_API_URL", "IPFS_REQUIRED", "BENCHMARK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return db


def sql(db: Path, *statements: str) -> None:
    conn = duckdb.connect(str(db))
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


# --- every sub-command has help and the documented defaults -----------------------------------------------------


@pytest.mark.parametrize("command", ["validate", "optimize", "clean-json", "backup", "drill"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["maintenance", command, "--help"])
    assert stop.value.code == 0
    assert "usage: benchmark-db maintenance " + command in capsys.readouterr().out


def test_help_defaults_are_the_librarys():
    policy = RetentionPolicy()
    assert cli_maintenance.DEFAULT_KEEP == {"last": policy.keep_last, "hourly": policy.keep_hourly,
                                            "daily": policy.keep_daily, "weekly": policy.keep_weekly,
                                            "monthly": policy.keep_monthly}
    assert cli_maintenance.RTO_GOAL_HOURS * 3600 == service_maintenance.RTO_GOAL_S
    assert cli_maintenance.RPO_GOAL_HOURS * 3600 == service_maintenance.RPO_GOAL_S


def test_registering_the_commands_imports_no_library_code():
    code = ("import sys, argparse; from benchmark_pipeline.cli import maintenance;"
            "maintenance.register(argparse.ArgumentParser().add_subparsers());"
            "print(sorted(m for m in sys.modules if m.startswith('benchmark_pipeline.lib') or m == 'duckdb'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- validate ----------------------------------------------------------------------------------------------------


def test_validate_a_clean_warehouse(env, capsys):
    code, out, err = run(capsys, "maintenance", "validate")
    assert code == 0, out + err
    assert [line.split()[0:2] for line in out.splitlines()] == [
        ["schema", "ok"], ["invariants", "ok"], ["orphans", "ok"], ["ledger", "ok"], ["snapshots", "ok"]]
    assert "no snapshots in" in out and f"{env}: ok" in err
    code, out, _err = run(capsys, "maintenance", "validate", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and [c["name"] for c in report["checks"]] == [
        "schema", "invariants", "orphans", "ledger", "snapshots"]


def test_validate_finds_a_deleted_parent_row_and_a_corrupt_ledger_count(env, capsys):
    sql(env, "DELETE FROM test_runs WHERE run_id = (SELECT min(run_id) FROM test_runs)",
        "UPDATE ingestion_ledger SET rows_written = 99 WHERE ledger_id = (SELECT max(ledger_id) FROM ingestion_ledger)")
    code, out, _err = run(capsys, "maintenance", "validate", "--db-path", str(env), "--skip-snapshots")
    assert code == 1
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert set(lines) == {"schema", "invariants", "orphans", "ledger"}
    assert lines["schema"].startswith("schema      ok")
    assert "problems: fk_run_id (every performance_results.run_id exists in test_runs)" in lines["invariants"]
    assert "performance_results rows whose test_runs row is gone (run_id)" in lines["orphans"]
    assert "rows_written 99" in lines["ledger"]
    report = json.loads(run(capsys, "maintenance", "validate", "--skip-snapshots", "--format", "json")[1])
    assert not report["ok"] and report["problems"] == sum(c["problems"] for c in report["checks"]) > 2


def test_validate_finds_a_missing_snapshot_block(env, capsys, tmp_path):
    assert run(capsys, "maintenance", "backup")[0] == 0
    store = SnapshotStore(tmp_path / "data" / "snapshots")
    head = store.history()[0]
    from benchmark_pipeline.lib.content.dagpb import decode_node

    links, _ = decode_node(store.blocks.get(head.database_cid))
    store.blocks.path_for(links[0].cid).unlink()  # one block of the database gone
    code, out, _err = run(capsys, "maintenance", "validate")
    assert code == 1
    (line,) = [line for line in out.splitlines() if line.startswith("snapshots")]
    assert "1 problem: damaged snapshots" in line and "1 missing block(s)" in line and str(links[0].cid) in line
    code, out, err = run(capsys, "maintenance", "drill")
    assert code == 1 and "does not restore" in err


def test_validate_without_a_warehouse_is_a_usage_error(tmp_path, capsys):
    code, out, err = run(capsys, "maintenance", "validate", "--db-path", str(tmp_path / "none.duckdb"))
    assert code == 2 and out == "" and "no warehouse here yet" in err


# --- optimize ----------------------------------------------------------------------------------------------------


def test_optimize_reports_the_size_before_and_after(env, capsys):
    service = BenchmarkService(env)
    ledger = [row[3] for row in service.ledger()[1]]
    service.retract(ledger[:-2])
    code, out, _err = run(capsys, "maintenance", "optimize", "--compact", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["compacted"]
    assert report["statements"][:2] == ["ANALYZE", "FORCE CHECKPOINT"]
    assert report["bytes_after"] < report["bytes_before"] and report["bytes_freed"] > 0
    assert report["bytes_after"] == env.stat().st_size
    code, out, _err = run(capsys, "maintenance", "optimize")
    assert code == 0 and out.splitlines()[1] == "ran         ANALYZE; FORCE CHECKPOINT"
    assert [line.split()[0] for line in out.splitlines()] == ["warehouse", "ran", "before", "after", "freed"]
    assert run(capsys, "maintenance", "validate", "--skip-snapshots")[0] == 0  # the compacted file is whole


# --- clean-json --------------------------------------------------------------------------------------------------


def age(path: Path, days: float) -> None:
    then = time.time() - days * DAY
    os.utime(path, (then, then))


@pytest.fixture
def drop_folder(tmp_path, drop, monkeypatch):
    """Files in every state clean-json distinguishes, all 40 days old unless said otherwise."""
    db = tmp_path / "w.duckdb"
    files = {
        "ingested": drop("performance", "ingested.json", [perf_record()]),
        "changed": drop("performance", "changed.json", [perf_record(batch_size=2)]),
        "quarantined": drop("performance", "quarantined.json", b"{ truncated"),
        "partial": drop("performance", "partial.json", [perf_record(batch_size=3),
                                                        perf_record(batch_size=4, average_latency_ms=-1)]),
        "new": drop("performance", "new.json", [perf_record(batch_size=5)]),
        "duplicate": drop("performance", "sub/copy_of_ingested.json", [perf_record()]),
    }
    ingest_paths([str(tmp_path / "drop")], db)
    files["never"] = drop("performance", "never_ingested.json", [perf_record(batch_size=6)])
    files["changed"].write_text(json.dumps([perf_record(batch_size=2, average_latency_ms=99.0)]))
    for name, path in files.items():
        age(path, 1 if name == "new" else 40)
    monkeypatch.setenv("BENCHMARK_DB_PATH", str(db))
    return files


def snapshot_of(files: dict[str, Path]) -> dict[str, tuple[bytes, float]]:
    return {name: (p.read_bytes(), p.stat().st_mtime) for name, p in files.items() if p.exists()}


def test_clean_json_is_a_dry_run_by_default_and_says_why_each_file_stays(drop_folder, tmp_path, capsys):
    before = snapshot_of(drop_folder)
    code, out, err = run(capsys, "maintenance", "clean-json", str(tmp_path / "drop"), "--older-than", "30")
    assert code == 0 and snapshot_of(drop_folder) == before
    rows = {Path(line.split("\t")[1]).name: line.split("\t") for line in out.splitlines()}
    assert rows["ingested.json"][0] == "would remove" and "ingested" in rows["ingested.json"][2]
    assert rows["copy_of_ingested.json"][0] == "would remove" and "same bytes as" in rows["copy_of_ingested.json"][2]
    assert {name: row[2].split(":")[0] for name, row in rows.items() if row[0] == "keep"} == {
        "changed.json": "changed since ingest", "quarantined.json": "quarantined", "partial.json": "partial",
        "new.json": "too new", "never_ingested.json": "never ingested"}
    assert "dry run: 2 file(s) would be removed" in err and "nothing changed (add --apply)" in err
    assert "5 kept" in err and "1 never ingested" in err and "1 changed since ingest" in err


def test_clean_json_apply_never_touches_a_never_ingested_or_changed_file(drop_folder, tmp_path, capsys):
    before = snapshot_of(drop_folder)
    code, out, err = run(capsys, "maintenance", "clean-json", str(tmp_path / "drop"), "--older-than", "30", "--apply")
    assert code == 0, err
    assert not drop_folder["ingested"].exists() and not drop_folder["duplicate"].exists()
    after = snapshot_of(drop_folder)
    assert set(after) == {"changed", "quarantined", "partial", "new", "never"}
    assert all(after[name] == before[name] for name in after)  # same bytes, same mtime
    assert "2 file(s) removed" in err
    # the warehouse still holds what the removed files held, and says so
    assert run(capsys, "maintenance", "validate", "--skip-snapshots")[0] == 0
    # nothing is ever proven for a file the ledger has not seen, however old
    age(drop_folder["never"], 4000)
    code, out, _err = run(capsys, "maintenance", "clean-json", str(drop_folder["never"]), "--older-than", "0",
                          "--apply")
    assert code == 0 and drop_folder["never"].exists() and out.startswith("keep\t")


def test_clean_json_archives_keeping_the_layout(drop_folder, tmp_path, capsys):
    archive = tmp_path / "archive"
    code, out, err = run(capsys, "maintenance", "clean-json", str(tmp_path / "drop"), "--older-than", "30",
                         "--archive", str(archive), "--apply", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["applied"]
    moved = {f["path"]: f["archived_to"] for f in report["files"] if f["action"] == "archive"}
    assert moved == {str(drop_folder["ingested"]): str(archive / "performance" / "ingested.json"),
                     str(drop_folder["duplicate"]): str(archive / "performance" / "sub" / "copy_of_ingested.json")}
    assert json.loads((archive / "performance" / "ingested.json").read_text()) == [perf_record()]
    assert not drop_folder["ingested"].exists()


def test_a_file_changed_after_the_plan_is_kept_at_the_last_check(drop_folder, monkeypatch):
    service = BenchmarkService(os.environ["BENCHMARK_DB_PATH"])
    original = service._apply_cleanup

    def change_then_apply(report, *args):
        drop_folder["ingested"].write_text(json.dumps([perf_record(average_latency_ms=1.0)]))
        age(drop_folder["ingested"], 40)
        return original(report, *args)

    monkeypatch.setattr(service, "_apply_cleanup", change_then_apply)
    report = service.clean_json([str(drop_folder["ingested"])], 30, apply=True)
    assert drop_folder["ingested"].exists() and report.done == []
    (decision,) = report.decisions
    assert decision.action == "keep" and decision.why == "changed since ingest"


def test_clean_json_usage_errors(drop_folder, tmp_path, capsys):
    code, _out, err = run(capsys, "maintenance", "clean-json", str(tmp_path / "nowhere"), "--older-than", "1")
    assert code == 2 and "no such file or directory" in err
    with pytest.raises(SystemExit) as stop:
        main(["maintenance", "clean-json", str(tmp_path / "drop"), "--older-than", "-1"])
    assert stop.value.code == 2


# --- backup and the restore drill ------------------------------------------------------------------------------------


def test_backup_then_drill(env, capsys, tmp_path):
    code, out, err = run(capsys, "maintenance", "backup", "--dry-run")
    assert code == 0 and out == "" and "0 kept, 0 would prune; dry run, nothing changed" in err
    code, out, err = run(capsys, "maintenance", "backup", "--keep-hourly", "1", "--keep-daily", "0")
    assert code == 0, err
    first = out.splitlines()
    assert first[0].startswith("snapshot\t") and first[0].endswith("taken and verified")
    assert first[1].split("\t")[3] == "last, hourly " + first[1].split("\t")[2][:13] + ":00Z"
    code, out, err = run(capsys, "maintenance", "drill")
    assert code == 0, out + err
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "goal < 4.0 h: met" in lines["RTO"] and "goal < 60.0 min: met" in lines["RPO"]
    assert lines["RPO"].startswith("RPO         0.0 s: the live warehouse holds nothing newer than the snapshot")
    report = json.loads(run(capsys, "maintenance", "drill", "--format", "json")[1])
    assert report["ok"] and report["validation"]["ok"] and report["rto_s"] < 600
    assert report["rto_s"] == pytest.approx(report["restore_s"] + report["validate_s"], abs=0.002)
    # new data after the backup: the snapshot lags the live warehouse, a tight RPO goal is missed
    time.sleep(1.1)
    drop = tmp_path / "late" / "performance"
    drop.mkdir(parents=True)
    (drop / "late.json").write_text(json.dumps([perf_record(model_name="late-model")]))
    ingest_paths([str(drop.parent)], env)
    report = json.loads(run(capsys, "maintenance", "drill", "--format", "json", "--rpo-goal-hours", "0.0002")[1])
    assert not report["ok"] and not report["rpo_met"] and report["rto_met"] and report["validation"]["ok"]
    assert report["live_changes_after_snapshot"] == 1 and report["rpo_s"] == pytest.approx(report["snapshot_age_s"])
    assert report["rpo_s"] >= 1.0
    # a second backup takes the new data; the first loses its data blocks to retention (same hour, keep 1)
    code, out, err = run(capsys, "maintenance", "backup", "--keep-hourly", "1", "--keep-daily", "0")
    assert code == 0 and [line.split("\t")[0] for line in out.splitlines()] == ["snapshot", "keep", "pruned"]
    code, out, err = run(capsys, "maintenance", "drill", "--format", "json")
    assert code == 0 and json.loads(out)["rpo_s"] == 0.0


def test_drill_and_backup_usage_errors(env, capsys):
    code, _out, err = run(capsys, "maintenance", "drill")
    assert code == 2 and "no snapshots in" in err
    code, _out, err = run(capsys, "maintenance", "backup", "--keep-last", "0")
    assert code == 2 and "--keep-last must be at least 1" in err
    assert run(capsys, "maintenance", "backup")[0] == 0
    code, _out, err = run(capsys, "maintenance", "drill", "--snapshot", "bafkreiaaaa")
    assert code == 2


# --- the Python API ------------------------------------------------------------------------------------------------


def test_the_python_api(env, tmp_path):
    from benchmark_pipeline import BenchmarkDB

    db = BenchmarkDB(env, data_dir=tmp_path / "data")
    assert db.validate()["ok"]
    assert db.optimize()["statements"] == ["ANALYZE", "FORCE CHECKPOINT"]
    backup = db.backup(keep_hourly=2)
    assert backup["snapshot"]["created"] and backup["kept"][0]["cid"] == backup["snapshot"]["cid"]
    drill = db.restore_drill()
    assert drill["ok"] and drill["snapshot"] == backup["snapshot"]["cid"]
    plan = db.clean_json(tmp_path / "data", older_than_days=0)
    assert plan["applied"] is False and plan["files"] == []
