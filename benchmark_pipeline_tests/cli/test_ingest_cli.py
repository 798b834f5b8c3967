"""benchmark-db ingest / ledger / schema as a user runs them: a real process, real files, exit codes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark_pipeline_tests.conftest import perf_record

BENCHMARK_DB = [sys.executable, "-m", "benchmark_pipeline.cli"]


def run(*args, env=None, cwd=None):
    full_env = {**os.environ, **(env or {})}
    full_env.pop("BENCHMARK_DB_PATH", None) if env is None or "BENCHMARK_DB_PATH" not in env else None
    return subprocess.run([*BENCHMARK_DB, *map(str, args)], capture_output=True, text=True, env=full_env, cwd=cwd,
                          timeout=120)


def test_clean_ingest_exits_0_and_reruns_unchanged(drop, db_path, tmp_path):
    drop("performance", "a.json", [perf_record()])
    first = run("ingest", tmp_path / "drop", "--db-path", db_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("ingested\t1\t")
    second = run("ingest", tmp_path / "drop", "--db-path", db_path)
    assert second.returncode == 0 and second.stdout.startswith("unchanged\t0\t")


def test_quarantine_exits_1_and_names_file_record_and_field(drop, db_path, tmp_path):
    drop("performance", "q.json", [perf_record(), perf_record(average_latency_ms="NaN")])
    result = run("ingest", tmp_path / "drop", "--db-path", db_path)
    assert result.returncode == 1
    assert "q.json: record 1, field 'average_latency_ms': non-finite" in result.stderr


def test_workers_must_be_a_positive_count(drop, db_path, tmp_path):
    drop("performance", "a.json", [perf_record()])
    refused = run("ingest", tmp_path / "drop", "--db-path", db_path, "--workers", "0")
    assert refused.returncode == 2 and "'0' is not a whole number >= 1" in refused.stderr
    assert not db_path.exists()
    assert run("ingest", tmp_path / "drop", "--db-path", db_path, "--workers", "1").returncode == 0


def test_empty_file_exits_1(drop, db_path, tmp_path):
    drop("performance", "empty.json", b"")
    assert run("ingest", tmp_path / "drop", "--db-path", db_path).returncode == 1


def test_dry_run_and_no_db_store_write_nothing(drop, db_path, tmp_path):
    drop("performance", "a.json", [perf_record()])
    for flag in ("--dry-run", "--no-db-store"):
        result = run("ingest", tmp_path / "drop", "--db-path", db_path, flag)
        assert result.returncode == 0, result.stderr
        assert "would write 1 rows" in result.stderr
        assert not db_path.exists()


def test_missing_path_is_a_usage_error_with_exit_2(db_path, tmp_path):
    result = run("ingest", tmp_path / "nope", "--db-path", db_path)
    assert result.returncode == 2 and "no such file or directory" in result.stderr
    assert not db_path.exists()


def test_unknown_category_without_type_is_exit_2_and_type_fixes_it(db_path, tmp_path):
    path = tmp_path / "loose.json"
    path.write_text('[{"model_name": "bert", "hardware_type": "cpu", "throughput": 5}]')
    assert run("ingest", path, "--db-path", db_path).returncode == 2
    assert run("ingest", path, "--type", "performance", "--db-path", db_path).returncode == 0


def test_db_path_resolution_flag_then_env_then_default(drop, tmp_path):
    drop("performance", "a.json", [perf_record()])
    env_db = tmp_path / "env" / "w.duckdb"
    result = run("ingest", tmp_path / "drop", env={"BENCHMARK_DB_PATH": str(env_db)})
    assert result.returncode == 0 and env_db.exists()
    assert f"warehouse {env_db}" in result.stderr
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "BENCHMARK_DB_PATH"}
    default = subprocess.run([*BENCHMARK_DB, "ingest", str(tmp_path / "drop")], capture_output=True, text=True,
                             cwd=workdir, env=env, timeout=120)
    assert default.returncode == 0, default.stderr
    assert (workdir / "data" / "warehouse" / "benchmarks.duckdb").exists()


def test_ledger_lists_and_filters_by_status(drop, db_path, tmp_path):
    drop("performance", "a.json", [perf_record()])
    drop("performance", "b.json", b"")
    run("ingest", tmp_path / "drop", "--db-path", db_path)
    listing = run("ledger", "--db-path", db_path, "--status", "quarantined")
    assert listing.returncode == 0
    lines = listing.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("quarantined\t0\t0\t") and "b.json" in lines[1]


def test_ledger_on_a_missing_warehouse_says_where_it_looked(tmp_path):
    result = run("ledger", "--db-path", tmp_path / "none.duckdb")
    assert result.returncode == 2 and str(tmp_path / "none.duckdb") in result.stderr


def test_schema_prints_the_column_dictionary_with_units():
    result = run("schema", "--table", "performance_results")
    assert result.returncode == 0
    assert "average_latency_ms\tDOUBLE\tms\tmean latency per batch" in result.stdout
    assert "power_watts\tDOUBLE\tW\t" in result.stdout


@pytest.mark.parametrize("command", [["--help"], ["ledger", "--help"], ["schema"]])
def test_read_only_commands_do_not_import_dagster(command):
    code = ("import sys\nfrom benchmark_pipeline.cli.main import main\n"
            f"try:\n    main({command!r})\nexcept SystemExit:\n    pass\n"
            "assert 'dagster' not in sys.modules, 'dagster imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
