"""The real `dagster job execute` and `dg launch` against a fresh DAGSTER_HOME, as CI and users run them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark_pipeline.lib.sample_data import write_sample
from benchmark_pipeline.lib.warehouse.connection import open_reader

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def fresh_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    return home


def counts(db: Path) -> dict:
    with open_reader(db) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                for t in ("performance_results", "hardware_compatibility", "integration_test_results",
                          "ingestion_ledger")}


@pytest.mark.slow
def test_dagster_job_execute_materializes_everything_idempotently(tmp_path):
    project = tmp_path / "project"
    write_sample(project / "data" / "sample")
    env = {**os.environ, "DAGSTER_HOME": str(fresh_home(tmp_path))}
    env.pop("BENCHMARK_DB_PATH", None)
    env.pop("BENCHMARK_DATA_DIR", None)
    command = [str(BIN / "dagster"), "job", "execute", "-m", "benchmark_pipeline.definitions", "-j", "benchmark_job"]
    first = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "RUN_SUCCESS" in first.stderr + first.stdout
    db = project / "data" / "warehouse" / "benchmarks.duckdb"
    after_first = counts(db)
    assert after_first["performance_results"] > 900 and after_first["ingestion_ledger"] == 37
    second = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert counts(db) == after_first


@pytest.mark.slow
def test_dg_launch_runs_benchmark_job(tmp_path):
    data = tmp_path / "data"
    write_sample(data / "sample")
    db = tmp_path / "w.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(fresh_home(tmp_path)), "BENCHMARK_DATA_DIR": str(data),
           "BENCHMARK_DB_PATH": str(db)}
    result = subprocess.run([str(BIN / "dg"), "launch", "--job", "benchmark_job"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert counts(db)["performance_results"] > 900


@pytest.mark.slow
def test_documented_dagster_commands_record_no_telemetry(tmp_path):
    """`scripts/dg` (the README's way to run `dg`) with DAGSTER_HOME unset: no banner, nothing under ~/.dagster.

    Bare `dg` ignores the repo's dagster.yaml when DAGSTER_HOME is unset and writes ~/.dagster/logs/event.log.
    """
    uv = shutil.which("uv")
    assert uv, "uv is installed by scripts/lib/bootstrap.sh"
    cache = subprocess.run([uv, "cache", "dir"], capture_output=True, text=True, check=True).stdout.strip()
    data = tmp_path / "data"
    write_sample(data / "sample")
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "UV_CACHE_DIR": cache, "BENCHMARK_DATA_DIR": str(data),
           "BENCHMARK_DB_PATH": str(tmp_path / "w.duckdb")}
    env.pop("DAGSTER_HOME", None)
    env.pop("XDG_CONFIG_HOME", None)
    result = subprocess.run([str(REPO / "scripts" / "dg"), "launch", "--job", "benchmark_job"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Telemetry" not in result.stdout + result.stderr
    assert not (home / ".dagster").exists(), sorted(str(p) for p in (home / ".dagster").rglob("*"))
    assert counts(tmp_path / "w.duckdb")["performance_results"] > 900
