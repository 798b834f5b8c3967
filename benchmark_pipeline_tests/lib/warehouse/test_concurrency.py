"""One writer at a time across processes, and readers that never fail nor see a half-written warehouse."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark_pipeline.lib.sample_data import write_sample
from benchmark_pipeline.lib.warehouse.connection import WarehouseBusyError, open_reader, open_writer
from benchmark_pipeline_tests.conftest import perf_record, writer_held

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[3]

READER = r"""
import json, sys, time
from pathlib import Path
from benchmark_pipeline.lib.warehouse.connection import open_reader
db, stop = Path(sys.argv[1]), Path(sys.argv[2])
seen, failures, reads = set(), [], 0
while True:
    last = stop.exists()
    try:
        with open_reader(db) as conn:
            seen.add(tuple(conn.execute(
                "SELECT (SELECT count(*) FROM performance_results), "
                "(SELECT coalesce(sum(rows_written), 0) FROM ingestion_ledger)").fetchall()[0]))
        reads += 1
    except Exception as exc:
        failures.append(repr(exc))
    if last:
        break
    time.sleep(0.02)
print(json.dumps({"seen": sorted(seen), "failures": failures, "reads": reads}))
"""


def write_files(root: Path, files: int, records: int, model: str = "m") -> None:
    for f in range(files):
        rows = [perf_record(model_name=model, batch_size=r + 1, average_latency_ms=1.0 + f) for r in range(records)]
        path = root / "performance" / f"r{f:04d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows))


def ingest(paths: list[Path], db: Path) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "benchmark-db"), "ingest", *map(str, paths), "--db-path", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_concurrent_cli_writers_both_succeed(tmp_path):
    db = tmp_path / "w.duckdb"
    write_files(tmp_path / "a", 20, 50, model="a")
    write_files(tmp_path / "b", 20, 50, model="b")
    first, second = ingest([tmp_path / "a"], db), ingest([tmp_path / "b"], db)
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    for proc, (_, err) in zip((first, second), outputs):
        assert proc.returncode == 0, err
        assert "Could not set lock" not in err
    with open_reader(db) as conn:
        assert conn.execute("SELECT count(*) FROM performance_results").fetchall()[0][0] == 2000


def test_reader_waits_out_a_writer_instead_of_failing(tmp_path):
    db = tmp_path / "w.duckdb"
    with open_writer(db):
        pass
    with writer_held(db, 2):
        with pytest.raises(WarehouseBusyError):
            with open_reader(db, timeout_s=0.2):
                pass
        started = time.monotonic()
        with open_reader(db) as conn:
            assert conn.execute("SELECT 1").fetchall() == [(1,)]
        assert time.monotonic() - started > 0.5


@pytest.mark.slow
def test_dagster_job_and_cli_ingest_under_an_empty_dagster_home(tmp_path):
    """No dagster.yaml, so no pool limits: the in-process executor and the OS lock keep one writer."""
    home = tmp_path / "empty_home"
    home.mkdir()
    data = tmp_path / "data"
    write_sample(data / "sample")
    write_files(tmp_path / "cli", 20, 50, model="cli")
    db = tmp_path / "w.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(home), "BENCHMARK_DATA_DIR": str(data), "BENCHMARK_DB_PATH": str(db)}
    job = subprocess.Popen([str(BIN / "dagster"), "job", "execute", "-m", "benchmark_pipeline.definitions",
                            "-j", "benchmark_job"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    time.sleep(3)
    cli = ingest([tmp_path / "cli"], db)
    cli_out, cli_err = cli.communicate(timeout=600)
    job_out, _ = job.communicate(timeout=600)
    assert job.returncode == 0 and "RUN_SUCCESS" in job_out, job_out[-3000:]
    assert cli.returncode == 0, cli_err
    assert "Could not set lock" not in job_out + cli_err
    with open_reader(db) as conn:
        models = conn.execute("SELECT count(*) FROM performance_results p JOIN models m USING (model_id) "
                              "WHERE m.model_name = 'cli'").fetchall()[0][0]
    assert models == 1000


@pytest.mark.slow
def test_readers_never_fail_nor_see_half_a_one_million_row_ingest(tmp_path):
    db = tmp_path / "w.duckdb"
    seed = tmp_path / "seed"
    write_files(seed, 1, 1, model="seed")
    assert ingest([seed], db).wait(timeout=120) == 0
    big = tmp_path / "big"
    write_files(big, 100, 10_000)
    stop = tmp_path / "stop"
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(db), str(stop)], stdout=subprocess.PIPE, text=True)]
    cli_failures = []
    try:
        writer = ingest([big], db)
        while writer.poll() is None:  # the CLI reader path too, as users run it
            ledger = subprocess.run([str(BIN / "benchmark-db"), "ledger", "--db-path", str(db)], capture_output=True,
                                    text=True, timeout=600)
            if ledger.returncode != 0:
                cli_failures.append(ledger.stderr)
        _, err = writer.communicate()
        assert writer.returncode == 0, err[-3000:]
    finally:
        stop.touch()
        reports = [json.loads(r.communicate(timeout=600)[0]) for r in readers]
    assert cli_failures == []
    (report,) = reports
    assert report["failures"] == []
    before, after = [1, 1], [1_000_001, 1_000_001]
    assert report["seen"][-1] == after and set(map(tuple, report["seen"])) <= {tuple(before), tuple(after)}
    assert report["reads"] > 10
