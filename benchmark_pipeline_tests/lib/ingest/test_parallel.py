"""Chunked, multi-process ingest: the warehouse ends exactly as with one chunk in one process."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from benchmark_pipeline.lib.ingest.batch import discover
from benchmark_pipeline.lib.ingest.parallel import chunk_files
from benchmark_pipeline.service import ingest_paths
from benchmark_pipeline.lib.warehouse.connection import open_reader
from benchmark_pipeline_tests.conftest import perf_record

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"

# Surrogate keys, run ids and wall-clock stamps differ between two loads; everything else must not.
VOLATILE = {"result_id", "run_id", "model_id", "hardware_id", "batch_id", "metric_id", "compatibility_id",
            "test_result_id", "assertion_id", "quarantine_id", "ledger_id", "ingestion_run_id", "ingested_at",
            "first_seen_at", "status_changed_at", "quarantined_at", "history", "failure_id", "created_at",
            "updated_at"}
TABLES = ("models", "hardware_platforms", "test_runs", "performance_results", "performance_batch_results",
          "power_metrics", "hardware_compatibility", "integration_test_results", "integration_test_assertions",
          "benchmark_failures", "quarantine", "ingestion_ledger")


def table_contents(db_path: Path) -> dict[str, pd.DataFrame]:
    contents = {}
    with open_reader(db_path) as conn:
        for table in TABLES:
            frame = conn.execute(f"SELECT * FROM {table}").df()
            frame = frame.drop(columns=[c for c in frame.columns if c in VOLATILE])
            contents[table] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return contents


@pytest.fixture
def messy_drop(tmp_path: Path, drop) -> Path:
    """Sample files plus what crosses chunk boundaries: duplicates, bad records, a family given late."""
    shutil.copytree(SAMPLE, tmp_path / "drop", dirs_exist_ok=True)
    same = [perf_record(model_name="dup-model", average_latency_ms=7.0)]
    drop("performance", "aa_first.json", same)
    drop("performance", "zz_copy.json", same)
    drop("performance", "ab_no_family.json", [perf_record(model_name="late-family-bert")])
    drop("performance", "zy_family.json", [perf_record(model_name="late-family-bert", model_family="given-family")])
    drop("performance", "m_bad.json", [perf_record(), perf_record(average_latency_ms=-1), {"model_name": 3}])
    drop("performance", "m_broken.json", b"[{")
    drop("integration", "i.json", [{"test_name": "t", "status": "pass", "timestamp": "2026-01-02T03:04:05Z",
                                    "assertions": [{"name": "a", "passed": True}]}])
    (tmp_path / "drop" / "performance" / "n_batches.json").write_text(json.dumps(
        [perf_record(batch_results=[{"latency_ms": 3.0}], power_metrics={"average_power_mw": 1000})]))
    return tmp_path / "drop"


def test_chunks_keep_file_order_and_never_split_a_file(messy_drop):
    files = discover([messy_drop]).files
    chunks = chunk_files(files, chunk_bytes=4096)
    assert len(chunks) > 3
    assert pd.concat(chunks)["source_path"].tolist() == files["source_path"].tolist()
    for chunk in chunks[:-1]:
        assert chunk["size_bytes"].sum() >= 4096
        assert chunk["size_bytes"].iloc[:-1].sum() < 4096


def test_parallel_chunked_ingest_equals_one_chunk_in_process(messy_drop, tmp_path):
    whole = ingest_paths([messy_drop], tmp_path / "whole.duckdb", workers=1, chunk_bytes=1 << 40)
    chunked = ingest_paths([messy_drop], tmp_path / "chunked.duckdb", workers=2, chunk_bytes=2048)
    assert len(chunk_files(discover([messy_drop]).files, 2048)) > 5  # really split, really parallel

    expected, got = table_contents(tmp_path / "whole.duckdb"), table_contents(tmp_path / "chunked.duckdb")
    for table in TABLES:
        pd.testing.assert_frame_equal(got[table], expected[table], obj=table)
    columns = ["source_path", "status", "rows_written", "records_quarantined", "duplicate_of"]
    assert chunked.result.outcomes[columns].equals(whole.result.outcomes[columns])
    assert len(chunked.result.quarantine) == len(whole.result.quarantine) > 0

    ledger = dict(zip(expected["ingestion_ledger"]["source_path"], expected["ingestion_ledger"]["status"]))
    assert ledger[str(messy_drop / "performance" / "zz_copy.json")] == "duplicate"
    family = expected["models"].set_index("model_name")["model_family"]
    assert family["late-family-bert"] == "given-family"


def test_a_failing_chunk_leaves_the_warehouse_as_it_was(messy_drop, tmp_path, monkeypatch):
    db_path = tmp_path / "w.duckdb"
    ingest_paths([SAMPLE], db_path)
    before = table_contents(db_path)

    from benchmark_pipeline.lib.warehouse import load

    calls = {"n": 0}
    write = load.BatchWriter.write

    def fail_on_third_chunk(self, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return write(self, batch)

    monkeypatch.setattr(load.BatchWriter, "write", fail_on_third_chunk)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_paths([messy_drop], db_path, workers=2, chunk_bytes=2048)
    after = table_contents(db_path)
    for table in TABLES:
        pd.testing.assert_frame_equal(after[table], before[table], obj=table)

