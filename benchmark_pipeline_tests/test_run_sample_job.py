"""scripts/run-sample-job as a newcomer runs it: a short summary on the terminal, the event log in a file.

The script's own bootstrap runs (``uv sync --frozen``, which installs the same environment as the test
command, so it changes nothing here); the warehouse, data folder and DAGSTER_HOME point into the test's
temporary folder.
"""

import os
import subprocess
from pathlib import Path

import pytest

from benchmark_pipeline.lib.sample_data import write_sample
from benchmark_pipeline_tests.conftest import REPO_ROOT


def _run(tmp_path: Path, db: Path) -> tuple[subprocess.CompletedProcess, Path]:
    data = tmp_path / "data"
    home = tmp_path / "dagster_home"
    env = {**os.environ, "BENCHMARK_DB_PATH": str(db), "BENCHMARK_DATA_DIR": str(data), "DAGSTER_HOME": str(home)}
    result = subprocess.run([str(REPO_ROOT / "scripts" / "run-sample-job")], env=env, capture_output=True,
                            text=True, timeout=900)
    return result, home


@pytest.mark.slow
def test_summary_is_short_and_says_where_everything_is(tmp_path):
    write_sample(tmp_path / "data" / "sample")
    db = tmp_path / "w.duckdb"
    result, home = _run(tmp_path, db)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) < 40, result.stdout
    assert "DEBUG" not in result.stdout + result.stderr
    assert f"warehouse    {db} (schema version" in result.stdout
    assert "performance_results 1,806" in result.stdout  # the bundled sample
    assert "files        37 in the ledger: ingested 37" in result.stdout
    assert "dagster run  benchmark_job SUCCESS" in result.stdout and "checks " in result.stdout
    assert f"reports      {tmp_path / 'data' / 'reports'}/" in result.stdout
    assert any(line.startswith("next         uv run ") for line in lines)
    log_line = lines[-1]
    assert log_line.startswith(f"event log    {home / 'logs'}/benchmark_job-") and log_line.endswith(".log")
    log = Path(log_line.split(maxsplit=2)[2])
    assert log.is_file() and "RUN_SUCCESS" in log.read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_failed_job_exits_non_zero_and_shows_the_end_of_the_log(tmp_path):
    write_sample(tmp_path / "data" / "sample")
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the warehouse folder should be", encoding="utf-8")
    result, home = _run(tmp_path, blocker / "w.duckdb")
    assert result.returncode != 0
    assert "benchmark_job FAILED" in result.stdout
    assert "  | Error: Run " in result.stdout  # the end of the event log
    assert "dagster run  benchmark_job FAILURE" in result.stdout
    # The asset's own error, not Dagster's wrapper around it.
    assert "failed step  ingested_results: FileExistsError: " in result.stdout
    assert result.stdout.splitlines()[-1].startswith(f"event log    {home / 'logs'}/benchmark_job-")
