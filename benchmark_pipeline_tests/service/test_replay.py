"""Quarantine replay: stored records re-validated with today's code; those that pass land, once."""

import pytest

from benchmark_pipeline.lib.ingest import fields
from benchmark_pipeline.service.replay import list_quarantine, replay
from benchmark_pipeline.service import ingest_paths
from benchmark_pipeline.lib.warehouse.connection import open_reader, open_writer
from benchmark_pipeline_tests.conftest import perf_record


@pytest.fixture
def teach_latency_alias(monkeypatch):
    """A code fix after the fact: ``lat_avg_ms`` becomes an accepted spelling of average_latency_ms."""

    def apply() -> None:
        specs = tuple(
            fields.FieldSpec(s.name, s.kind, s.aliases + (("lat_avg_ms", 1.0),), s.unit)
            if s.name == "average_latency_ms" else s for s in fields.FIELDS["performance"]
        )
        monkeypatch.setitem(fields.FIELDS, "performance", specs)

    return apply


def ingest_with_unknown_spelling(drop, db_path):
    good = perf_record()
    odd = perf_record(average_latency_ms=None, throughput_items_per_second=None, lat_avg_ms=7.5, batch_size=32)
    broken = perf_record(model_name=None, batch_size=64)
    path = drop("performance", "run.json", [good, odd, broken])
    ingest_paths([str(path)], db_path)
    return path


def test_replay_without_a_fix_lands_nothing(drop, db_path):
    path = ingest_with_unknown_spelling(drop, db_path)
    with open_reader(db_path) as conn:
        assert set(list_quarantine(conn)["record_index"]) == {1, 2}
    with open_writer(db_path) as conn:
        unchanged = replay(conn)
    assert unchanged.records_replayed == 2 and unchanged.records_landed == 0


def test_replay_after_alias_fix(drop, db_path, teach_latency_alias):
    path = ingest_with_unknown_spelling(drop, db_path)
    teach_latency_alias()
    with open_writer(db_path) as conn:
        result = replay(conn, file=str(path))
    assert (result.records_replayed, result.records_landed) == (2, 1)
    assert result.still_failing["record_index"].tolist() == [2]
    with open_reader(db_path) as conn:
        latencies = conn.execute(
            "SELECT batch_size, average_latency_ms, ingestion_run_id LIKE 'replay-%' FROM performance_results "
            "ORDER BY batch_size").fetchall()
        assert latencies == [(8, 12.5, False), (32, 7.5, True)]
        statuses = dict(conn.execute("SELECT record_index, status FROM quarantine").fetchall())
        assert statuses == {1: "replayed", 2: "open"}
        status, quarantined, written, history = conn.execute(
            "SELECT status, records_quarantined, rows_written, history FROM ingestion_ledger").fetchall()[0]
        assert (status, quarantined, written) == ("partial", 1, 2)
        assert "partial -> partial by replay-" in history
    with open_writer(db_path) as conn:
        again = replay(conn)
    assert again.records_landed == 0  # a replayed record is never landed twice
    with open_reader(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM performance_results").fetchall()[0][0] == 2


def test_file_level_problems_are_not_replayable(drop, db_path):
    bad = drop("performance", "bad.json", b"\xff\xfe not utf-8")
    ingest_paths([str(bad)], db_path)
    with open_writer(db_path) as conn:
        result = replay(conn)
    assert result.records_replayed == 0 and result.file_level_skipped == 1
