"""``benchmark-db status``: the warehouse at a glance, as text and JSON, plus a Dagster run's failed checks."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from benchmark_pipeline.cli.main import main
from benchmark_pipeline.defs.analytics.regressions import no_open_regressions, regression_flags
from benchmark_pipeline.defs.resources import WarehouseResource
from benchmark_pipeline.service.samples import build_sample_warehouse
from benchmark_pipeline.service import ingest_paths
from benchmark_pipeline_tests.conftest import REPO_ROOT, perf_record


@pytest.fixture
def warehouse(tmp_path: Path, drop, monkeypatch) -> Path:
    """Two stored results and one quarantined record from one file; a report and the data folder in tmp."""
    drop("performance", "run.json", [perf_record(), perf_record(batch_size=16), perf_record(model_name=None)])
    drop("performance", "other.json", [perf_record(model_name="t5-small", hardware_type="cpu",
                                                   device_name="Intel Xeon 8375C")])
    db = tmp_path / "w.duckdb"
    ingest_paths([str(tmp_path / "drop")], db, workers=1)
    data = tmp_path / "data"
    (data / "reports").mkdir(parents=True)
    (data / "reports" / "summary.html").write_text("<html></html>", encoding="utf-8")
    monkeypatch.setenv("BENCHMARK_DATA_DIR", str(data))
    monkeypatch.delenv("BENCHMARK_DB_PATH", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return db


def test_text_names_the_warehouse_and_counts_what_it_holds(warehouse, capsys):
    assert main(["status", "--db-path", str(warehouse)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith(f"warehouse    {warehouse} (schema version ")
    assert "performance_results 3" in out and "models 2" in out
    assert "files        2 in the ledger: ingested 1  partial 1" in out
    assert "quarantine   1 open record(s) from 1 file(s)" in out
    assert "regressions  0 open" in out
    assert f"reports      {warehouse.parent / 'data' / 'reports'}/ (1 file, open summary.html)" in out
    assert "snapshots    none yet" in out
    assert any(line.startswith("last ingest  ") and " UTC, run cli-" in line for line in lines)
    # Next steps follow the state: the quarantine first, then a comparison of the most measured model.
    assert f"next         uv run benchmark-db quarantine list --db-path {warehouse}" in out
    assert f"uv run benchmark-db compare --model bert-base-uncased --metric throughput --db-path {warehouse}" in out
    assert len(lines) < 25


def test_json_carries_the_same_facts(warehouse, capsys):
    assert main(["status", "--db-path", str(warehouse), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["warehouse"] == str(warehouse)
    assert report["tables"]["performance_results"] == 3 and report["tables"]["quarantine"] == 1
    assert "schema_version" not in report["tables"]
    assert report["ledger"] == {"ingested": 1, "partial": 1}
    assert (report["quarantine_open"], report["quarantine_open_files"], report["regressions_open"]) == (1, 1, 0)
    assert report["reports"] == ["summary.html"] and report["snapshots"] == 0
    assert report["last_ingest_run"].startswith("cli-") and report["top_model"] == "bert-base-uncased"
    assert "dagster_run" not in report and report["next"]


def test_no_warehouse_is_a_usage_error(tmp_path, capsys):
    assert main(["status", "--db-path", str(tmp_path / "none.duckdb")]) == 2
    assert "no warehouse here yet" in capsys.readouterr().err


def test_status_reads_without_importing_dagster(warehouse):
    code = ("import sys; from benchmark_pipeline.cli.main import main; rc = main(['status', '--db-path', sys.argv[1]]);"
            "assert rc == 0; assert 'dagster' not in sys.modules, 'dagster imported'")
    result = subprocess.run([sys.executable, "-c", code, str(warehouse)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_dagster_run_part_lists_the_failed_checks_of_that_run(tmp_path, monkeypatch, capsys):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("BENCHMARK_DATA_DIR", str(tmp_path / "data"))
    db = build_sample_warehouse(tmp_path, days=12)  # a 30 % throughput drop from day 8: open regressions
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize([regression_flags, no_open_regressions], instance=instance,
                                resources={"warehouse": WarehouseResource(db_path=str(db))},
                                tags={"benchmark_pipeline/invocation": "test-1"})
    assert result.success

    assert main(["status", "--db-path", str(db), "--dagster-run", "benchmark_pipeline/invocation=test-1"]) == 0
    out = capsys.readouterr().out
    assert f"(run {result.run_id})" in out and " SUCCESS in " in out
    assert "checks       1 evaluated, 1 failed:" in out
    assert "no_open_regressions on regression_flags (WARN): " in out and "open_regressions " in out

    assert main(["status", "--db-path", str(db), "--dagster-run", result.run_id, "--format", "json"]) == 0
    run = json.loads(capsys.readouterr().out)["dagster_run"]
    assert run["run_id"] == result.run_id and run["status"] == "SUCCESS" and run["failed_steps"] == []
    (check,) = run["failed_checks"]
    assert (check["asset"], check["check"], check["severity"]) == ("regression_flags", "no_open_regressions", "WARN")
    assert check["details"]["open_regressions"] > 0

    assert main(["status", "--db-path", str(db), "--dagster-run", "benchmark_pipeline/invocation=other"]) == 2
    assert "no Dagster run matches" in capsys.readouterr().err
    monkeypatch.delenv("DAGSTER_HOME")
    assert main(["status", "--db-path", str(db), "--dagster-run", "latest"]) == 2
    assert "DAGSTER_HOME" in capsys.readouterr().err


def test_an_old_warehouse_is_reported_without_migrating_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BENCHMARK_DATA_DIR", str(tmp_path / "data"))
    db = tmp_path / "v1.duckdb"
    shutil.copy(REPO_ROOT / "benchmark_pipeline_tests" / "fixtures" / "warehouse_v1.duckdb", db)
    before = db.read_bytes()
    assert main(["status", "--db-path", str(db), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["schema_version"] == 1 and report["regressions_open"] is None
    assert report["notes"] == ["schema version 1 predates the regression tables; a writer will migrate it"]
    assert db.read_bytes() == before and not (tmp_path / "v1.duckdb.lock").exists()
