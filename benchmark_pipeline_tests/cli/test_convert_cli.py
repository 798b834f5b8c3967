"""benchmark-db convert over every real result file of the original system (../shared/realdata)."""

import subprocess
import sys
from pathlib import Path

import pytest

from benchmark_pipeline.lib.warehouse.connection import open_reader
from benchmark_pipeline_tests.conftest import SHARED, needs_shared

REALDATA = SHARED / "realdata"
pytestmark = [pytest.mark.slow, needs_shared("realdata")]  # needs_shared: a pytest.mark.skipif, off under CI=true


def convert(*args):
    return subprocess.run([sys.executable, "-m", "benchmark_pipeline.cli", "convert", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    db = tmp_path_factory.mktemp("realdata") / "w.duckdb"
    first = convert(REALDATA, "--db-path", db, "--summary")
    return db, first


def rows(db: Path, sql: str):
    with open_reader(db) as conn:
        return conn.execute(sql).fetchall()


def test_every_json_file_gets_a_ledger_row(converted):
    db, result = converted
    assert result.returncode == 1  # the set holds a truncated and an empty file: quarantined, exit 1
    json_files = {p for p in REALDATA.rglob("*") if p.is_file() and p.suffix == ".json"}
    assert rows(db, "SELECT count(DISTINCT source_path) FROM ingestion_ledger")[0][0] == len(json_files) == 294
    statuses = dict(rows(db, "SELECT status, count(*) FROM ingestion_ledger GROUP BY 1"))
    assert statuses["quarantined"] == 2 and statuses["duplicate"] >= 5 and statuses["not a result"] >= 80


def test_summary_lists_shapes_and_totals(converted):
    _, result = converted
    lines = {line.split("\t")[0]: line.split("\t") for line in result.stdout.splitlines()}
    assert lines["shape"][:4] == ["shape", "files", "rows", "failures"]
    assert int(lines["TOTAL"][1]) == 294
    assert int(lines["hw_benchmark_results"][3]) > 0  # failed batches became failures
    assert lines["benchmark_config"][6] == "16"  # not a result


def test_performance_rows_are_real(converted):
    db, _ = converted
    assert rows(db, "SELECT count(*) FROM performance_results p JOIN models m USING (model_id) "
                    "WHERE m.model_name ILIKE '%unknown%' OR NOT (coalesce(average_latency_ms, 0) > 0 "
                    "OR coalesce(throughput_items_per_second, 0) > 0)")[0][0] == 0
    measured = rows(db, "SELECT min(average_latency_ms), max(average_latency_ms), count(*) FROM performance_results "
                        "WHERE source_path LIKE '%/direct_benchmark/%' OR source_path LIKE '%/hw_benchmark_results/%'")
    low, high, count = measured[0]
    # milliseconds, not seconds: the fastest batch is a few ms (0.003 if left in seconds), the slowest a
    # timed-out wav2vec2 run at about 76 s per batch
    assert count > 200 and 1.0 < low and high < 300_000


def test_simulated_rows_are_flagged_and_failures_are_not_performance(converted):
    db, _ = converted
    web = rows(db, "SELECT bool_and(is_simulated), count(*) FROM performance_results "
                   "WHERE source_path LIKE '%/web_platform_result/%'")[0]
    assert web == (True, 36)
    failures = rows(db, "SELECT count(*), count(model_name), count(error_type) FROM benchmark_failures")[0]
    assert failures[0] > 400 and failures[1] > 0 and failures[2] > 0


def test_converting_twice_adds_nothing(converted):
    db, _ = converted
    before = rows(db, "SELECT (SELECT count(*) FROM performance_results), (SELECT count(*) FROM benchmark_failures),"
                      " (SELECT count(*) FROM ingestion_ledger)")
    again = convert(REALDATA, "--db-path", db)
    assert again.returncode == 0, again.stderr[-2000:]
    assert set(line.split("\t")[0] for line in again.stdout.splitlines()) == {"unchanged"}
    assert rows(db, "SELECT (SELECT count(*) FROM performance_results), (SELECT count(*) FROM benchmark_failures),"
                    " (SELECT count(*) FROM ingestion_ledger)") == before
