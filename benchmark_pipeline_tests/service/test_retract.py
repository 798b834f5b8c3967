"""Retracting a file: its rows go, the ledger keeps the history, the same bytes can come back."""

import pytest

from benchmark_pipeline.service import ingest_paths
from benchmark_pipeline.lib.warehouse.connection import open_reader
from benchmark_pipeline.lib.warehouse.load import FACT_TABLES
from benchmark_pipeline.lib.warehouse.retract import NotInLedgerError
from benchmark_pipeline.service import BenchmarkService
from benchmark_pipeline_tests.conftest import perf_record


def rows_of(db, path) -> int:
    with open_reader(db) as conn:
        return sum(conn.execute(f"SELECT count(*) FROM {t} WHERE source_path = ?", [str(path)]).fetchall()[0][0]
                   for t in FACT_TABLES)


def ledger(db):
    with open_reader(db) as conn:
        return conn.execute("SELECT source_path, status, history, reason FROM ingestion_ledger ORDER BY ledger_id").fetchall()


def test_retract_removes_only_that_files_rows_and_keeps_the_history(drop, db_path):
    a = drop("performance", "a.json", [perf_record(), perf_record(batch_size=16, batch_results=[{"latency_ms": 3}]),
                                       perf_record(average_latency_ms=-1)])
    b = drop("performance", "b.json", [perf_record(model_name="other")])
    ingest_paths([str(a), str(b)], db_path)
    assert rows_of(db_path, a) > 0
    (done,) = BenchmarkService(db_path).retract([str(a)], reason="bad driver")
    assert done.previous_status == "partial" and done.rows_deleted >= 4  # 2 results, 1 batch row, 1 test run
    assert rows_of(db_path, a) == 0 and rows_of(db_path, b) > 0
    rows = {r[0]: r for r in ledger(db_path)}
    assert rows[str(a)][1] == "retracted"
    assert "partial -> retracted by retract-" in rows[str(a)][2] and "bad driver" in rows[str(a)][2]
    with open_reader(db_path) as conn:
        assert conn.execute("SELECT DISTINCT status FROM quarantine WHERE source_path = ?", [str(a)]).fetchall() == [
            ("retracted",)]


def test_retracted_version_comes_back_on_re_ingest(drop, db_path):
    a = drop("performance", "a.json", [perf_record()])
    ingest_paths([str(a)], db_path)
    BenchmarkService(db_path).retract([str(a)])
    report = ingest_paths([str(a)], db_path)
    assert report.result.outcomes["status"].tolist() == ["ingested"]
    assert rows_of(db_path, a) == 2  # result + test run
    (row,) = ledger(db_path)
    assert row[1] == "ingested" and "retracted -> ingested" in row[2]


def test_unknown_path_changes_nothing(drop, db_path):
    a = drop("performance", "a.json", [perf_record()])
    ingest_paths([str(a)], db_path)
    with pytest.raises(NotInLedgerError):
        BenchmarkService(db_path).retract([str(a), "nope.json"])
    assert ledger(db_path)[0][1] == "ingested"
