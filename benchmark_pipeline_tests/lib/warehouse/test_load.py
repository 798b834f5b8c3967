"""The warehouse writer: idempotency, versions, duplicates, identities, provenance."""

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from benchmark_pipeline.service import ingest_paths
from benchmark_pipeline.lib.warehouse.connection import open_reader
from benchmark_pipeline.lib.warehouse.invariants import INVARIANTS, count_violations
from benchmark_pipeline_tests.conftest import perf_record

FACT_TABLES = ("performance_results", "performance_batch_results", "power_metrics", "hardware_compatibility",
               "integration_test_results", "integration_test_assertions", "quarantine", "test_runs",
               "models", "hardware_platforms", "ingestion_ledger")


def counts(db_path: Path) -> dict[str, int]:
    with open_reader(db_path) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in FACT_TABLES}


def query(db_path: Path, sql: str) -> list[tuple]:
    with open_reader(db_path) as conn:
        return conn.execute(sql).fetchall()


def test_ingesting_twice_adds_nothing(drop, db_path, tmp_path):
    drop("performance", "a.json", [perf_record(batch_results=[{"latency_ms": 3.0}],
                                               power_metrics={"average_power_mw": 1000})])
    drop("compatibility", "c.json", [{"model_name": "bert-base-uncased", "hardware_type": "cpu", "is_compatible": True}])
    drop("integration", "i.json", [{"test_name": "t", "status": "pass", "assertions": [{"name": "a", "passed": True}]}])
    drop("performance", "bad.json", b"{")
    first = ingest_paths([tmp_path / "drop"], db_path)
    before = counts(db_path)
    second = ingest_paths([tmp_path / "drop"], db_path)
    assert counts(db_path) == before
    assert set(second.result.outcomes["status"]) == {"unchanged"}
    assert before["performance_results"] == 1 and before["performance_batch_results"] == 1
    assert before["power_metrics"] == 1 and before["integration_test_assertions"] == 1
    assert first.has_quarantine and not second.has_quarantine


def test_changed_file_supersedes_old_version_and_replaces_its_facts(drop, db_path):
    path = drop("performance", "a.json", [perf_record(), perf_record(batch_size=16)])
    ingest_paths([path], db_path)
    path.write_text(json.dumps([perf_record(average_latency_ms=20.0)]))
    ingest_paths([path], db_path)
    assert query(db_path, "SELECT average_latency_ms FROM performance_results") == [(20.0,)]
    ledger = query(db_path, "SELECT status, history IS NOT NULL FROM ingestion_ledger ORDER BY ledger_id")
    assert ledger == [("superseded", True), ("ingested", False)]
    assert query(db_path, "SELECT count(*) FROM test_runs") == [(1,)]


def test_same_content_at_a_new_path_is_a_duplicate_without_facts(drop, db_path, tmp_path):
    original = drop("performance", "a.json", [perf_record()])
    copy = tmp_path / "elsewhere" / "performance" / "copy.json"
    copy.parent.mkdir(parents=True)
    shutil.copy(original, copy)
    ingest_paths([original], db_path)
    report = ingest_paths([copy], db_path)
    row = report.result.outcomes.iloc[0]
    assert (row.status, row.duplicate_of) == ("duplicate", str(original.resolve()))
    assert query(db_path, "SELECT count(*) FROM performance_results") == [(1,)]


def test_two_different_gpus_are_never_merged(drop, db_path):
    drop_path = drop("performance", "gpus.json", [
        perf_record(device_name="NVIDIA A100-SXM4-80GB", memory_gb=80),
        perf_record(device_name="NVIDIA A100-SXM4-40GB", memory_gb=40),
        perf_record(device_name="NVIDIA A100-SXM4-80GB", memory_gb=80, driver_version="550.1"),
        perf_record(device_name="NVIDIA A100-SXM4-80GB", memory_gb=80, batch_size=32),
    ])
    ingest_paths([drop_path], db_path)
    fingerprints = [r[0] for r in query(db_path, "SELECT fingerprint FROM hardware_platforms ORDER BY 1")]
    assert fingerprints == [
        "cuda | NVIDIA A100-SXM4-40GB | 40 GB",
        "cuda | NVIDIA A100-SXM4-80GB | 80 GB",
        "cuda | NVIDIA A100-SXM4-80GB | 80 GB | driver 550.1",
    ]


def test_printing_a_platform_another_way_changes_no_identity(drop, db_path, monkeypatch):
    """Platforms are keyed by their typed columns: a new fingerprint format needs no data migration."""
    from benchmark_pipeline.lib.warehouse import load

    ingest_paths([drop("performance", "a.json", [perf_record(device_name="A100", memory_gb=80)])], db_path)
    before = query(db_path, "SELECT hardware_id, hardware_key FROM hardware_platforms")
    monkeypatch.setattr(load, "hardware_fingerprint",
                        lambda frame: "GPU " + frame["device_name"].astype(str) + " with " + frame["memory_gb"].astype(str))
    ingest_paths([drop("performance", "b.json", [perf_record(device_name="A100", memory_gb=80.0, batch_size=8)])],
                 db_path)
    assert query(db_path, "SELECT hardware_id, hardware_key FROM hardware_platforms") == before
    assert query(db_path, "SELECT DISTINCT hardware_id FROM performance_results") == [(before[0][0],)]


def test_provenance_on_every_fact_row(drop, db_path):
    path = drop("performance", "p.json", [perf_record()])
    report = ingest_paths([path], db_path)
    row = query(db_path, "SELECT source_path, source_sha256, ingestion_run_id, ingested_at IS NOT NULL, is_simulated "
                         "FROM performance_results")[0]
    assert row[0].endswith("drop/performance/p.json")
    assert row[1] == report.result.outcomes.iloc[0]["sha256"]
    assert row[2] == report.run_id and row[2].startswith("cli-")
    assert row[3] is True and row[4] is False


def test_simulation_flag_comes_from_the_data(drop, db_path):
    path = drop("performance", "sim.json", [perf_record(is_simulation=True, simulation_reason="web platform simulation")])
    ingest_paths([path], db_path)
    assert query(db_path, "SELECT is_simulated, simulation_reason FROM performance_results") == [
        (True, "web platform simulation")]


def test_quarantine_rows_name_file_record_and_field(drop, db_path):
    path = drop("performance", "q.json", [perf_record(), perf_record(throughput_items_per_second="fast")])
    ingest_paths([path], db_path)
    rows = query(db_path, "SELECT source_path, record_index, field, value, reason, status FROM quarantine")
    assert rows[0][1:] == (1, "throughput_items_per_second", "fast",
                           "wrong type: string 'fast' is not a number", "open")
    assert query(db_path, "SELECT status, records_quarantined FROM ingestion_ledger") == [("partial", 1)]


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file"), (b'[{"model_name": "bert"', "truncated JSON"), (b"hello", "not JSON"),
    (b'{"model_name": "\xff"}', "not UTF-8"),
])
def test_unusable_files_are_ledgered_and_quarantined_as_such(drop, db_path, content, reason):
    path = drop("performance", "broken.json", content)
    ingest_paths([path], db_path)
    status, ledger_reason = query(db_path, "SELECT status, reason FROM ingestion_ledger")[0]
    assert status == "quarantined" and ledger_reason.startswith(reason)
    assert query(db_path, "SELECT record_index, reason FROM quarantine")[0][0] is None


def test_file_name_with_pipe_and_spaces(drop, db_path):
    path = drop("performance", "run | gpu 1 (final).json", [perf_record()])
    ingest_paths([path], db_path)
    assert query(db_path, "SELECT source_path FROM performance_results")[0][0].endswith("run | gpu 1 (final).json")


def test_invariants_hold_after_ingest(drop, db_path):
    drop_path = drop("performance", "a.json", [perf_record(), perf_record(model_name="t5-small")])
    run = ingest_paths([drop_path], db_path).run_id
    with open_reader(db_path) as conn:
        assert {inv.name: count_violations(conn, inv) for inv in INVARIANTS} == {inv.name: 0 for inv in INVARIANTS}
        assert {inv.name: count_violations(conn, inv, added_by=run) for inv in INVARIANTS} == \
            {inv.name: 0 for inv in INVARIANTS}


def test_invariant_queries_detect_violations(drop, db_path):
    run = ingest_paths([drop("performance", "a.json", [perf_record()])], db_path).run_id
    conn = duckdb.connect(str(db_path))
    conn.execute("UPDATE performance_results SET model_id = 999")
    fk = next(inv for inv in INVARIANTS if inv.table == "performance_results" and inv.name == "fk_model_id")
    assert count_violations(conn, fk) == 1
    assert count_violations(conn, fk, added_by=run) == 1  # the run's own rows
    assert count_violations(conn, fk, added_by="another run") == 0  # rows of other runs are not looked at
    conn.close()


def test_a_run_that_repeats_an_earlier_key_violates_uniqueness_over_its_rows(drop, db_path):
    """Checking only a run's rows still finds a key it shares with a row written long before."""
    ingest_paths([drop("performance", "a.json", [perf_record()])], db_path)
    conn = duckdb.connect(str(db_path))
    conn.execute("INSERT INTO performance_results SELECT * REPLACE ('later run' AS ingestion_run_id) "
                 "FROM performance_results")
    unique = next(inv for inv in INVARIANTS if inv.table == "performance_results" and inv.name == "unique_result_id")
    assert count_violations(conn, unique, added_by="later run") == count_violations(conn, unique) == 1
    conn.close()


@pytest.mark.slow
def test_50_mb_file(drop, db_path):
    records = [perf_record(batch_size=1 + i % 64, average_latency_ms=1.0 + i % 997, model_name=f"m{i % 50}")
               for i in range(200_000)]
    path = drop("performance", "big.json", records)
    assert path.stat().st_size > 50 * 1024 * 1024
    report = ingest_paths([path], db_path)
    assert report.result.outcomes.iloc[0]["status"] == "ingested"
    assert query(db_path, "SELECT count(*) FROM performance_results") == [(200_000,)]


def test_hardware_fingerprint_prints_compute_units_as_integers_next_to_missing_ones():
    import pandas as pd

    from benchmark_pipeline.lib.warehouse.load import hardware_fingerprint

    frame = pd.DataFrame({
        "hardware_type": ["cpu", "cpu"], "device_name": ["Xeon", "Xeon"], "memory_gb": [256.0, 256.0],
        "compute_units": pd.array([40, None], dtype="Int64"), "driver_version": [None, None],
    })
    assert hardware_fingerprint(frame).tolist() == ["cpu | Xeon | 256 GB | 40 CU", "cpu | Xeon | 256 GB"]


@pytest.mark.parametrize("distinct_per_column", [3, 20_000])  # few platforms, and nearly every row its own
def test_each_row_gets_the_platform_number_a_groupby_would_give(distinct_per_column):
    import numpy as np
    import pandas as pd

    from benchmark_pipeline.lib.warehouse.load import _FINGERPRINT_COLUMNS, _distinct_rows

    rng = np.random.default_rng(3)
    n = 20_000

    def text():
        values = rng.integers(0, distinct_per_column, n).astype(str).astype(object)
        values[rng.random(n) < 0.1] = None
        return pd.array(values, dtype="string")

    frame = pd.DataFrame({
        "hardware_type": text(), "device_name": text(),
        "memory_gb": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, distinct_per_column, n).astype(float)),
        "compute_units": pd.array(rng.integers(0, distinct_per_column, n), dtype="Int64"),
        "driver_version": text(),
    })[_FINGERPRINT_COLUMNS]
    first, number = _distinct_rows(frame)
    assert first.tolist() == frame.drop_duplicates().index.tolist()
    assert number.tolist() == frame.groupby(_FINGERPRINT_COLUMNS, dropna=False, sort=False).ngroup().tolist()
