from pathlib import Path

import duckdb

from benchmark_pipeline.lib.content.file_cid import file_cid
from benchmark_pipeline.lib.content.unixfs import KUBO_V1, import_path
from benchmark_pipeline.service import ingest_paths
from benchmark_pipeline.lib.snapshots.ledger_cids import backfill_file_cids, record_file_cids
from benchmark_pipeline.lib.warehouse.connection import open_writer
from benchmark_pipeline.lib.warehouse.schema import SCHEMA_VERSION, current_version, migrate


def test_v2_warehouse_upgrades_to_a_ledger_cid_column(tmp_path):
    db = tmp_path / "v2.duckdb"
    conn = duckdb.connect(str(db))
    migrate(conn, target=2)
    conn.execute(
        "INSERT INTO ingestion_ledger (source_path, sha256, size_bytes, status, first_seen_at, status_changed_at, "
        "ingestion_run_id) VALUES ('performance/a.json', 'ab12', 10, 'ingested', now(), now(), 'cli-x')")
    assert "cid" not in [r[0] for r in conn.execute("DESCRIBE ingestion_ledger").fetchall()]
    conn.close()
    with open_writer(db) as conn:
        assert current_version(conn) == SCHEMA_VERSION >= 3
        rows = conn.execute("SELECT source_path, sha256, status, cid FROM ingestion_ledger").fetchall()
    assert rows == [("performance/a.json", "ab12", "ingested", None)]


def test_ingest_records_kubo_v1_cids_and_record_file_cids_fills_only_missing_ones(sample_dir, tmp_path):
    db = tmp_path / "w.duckdb"
    report = ingest_paths([str(sample_dir)], db)
    outcomes = report.result.outcomes
    pairs = list(outcomes[["source_path", "sha256"]].itertuples(index=False, name=None))
    with open_writer(db) as conn:
        assert conn.execute("SELECT count(cid) FROM ingestion_ledger").fetchall() == [(37,)]  # set by the ingest
        assert record_file_cids(conn, pairs) == 0  # only NULL rows are touched
        conn.execute("UPDATE ingestion_ledger SET cid = NULL")
        assert record_file_cids(conn, pairs) == len(pairs) == 37
        rows = conn.execute("SELECT source_path, cid FROM ingestion_ledger").fetchall()
    for path, cid in rows:
        assert cid == str(import_path(path, KUBO_V1).cid)
        assert cid.startswith("bafkrei")  # sample files are below one chunk: a single raw block


def test_a_file_changed_since_ingest_gets_no_cid(sample_dir, tmp_path):
    src = next((sample_dir / "integration").glob("*.json"))
    drop = tmp_path / "drop" / "integration"
    drop.mkdir(parents=True)
    copy = drop / src.name
    copy.write_bytes(src.read_bytes())
    db = tmp_path / "w.duckdb"
    ingest_paths([str(drop.parent)], db)
    copy.write_bytes(src.read_bytes() + b"\n")
    with open_writer(db) as conn:
        conn.execute("UPDATE ingestion_ledger SET cid = NULL")  # as a warehouse from before schema v3
        assert backfill_file_cids(conn) == 0
        assert conn.execute("SELECT cid FROM ingestion_ledger").fetchall() == [(None,)]
    copy.write_bytes(src.read_bytes())
    with open_writer(db) as conn:
        assert backfill_file_cids(conn) == 1
        assert conn.execute("SELECT cid FROM ingestion_ledger").fetchall() == [(file_cid(copy)[0],)]


def test_ingest_takes_cids_from_the_bytes_it_read_for_small_and_multi_chunk_files(drop, tmp_path):
    from benchmark_pipeline_tests.conftest import perf_record

    small = drop("performance", "small.json", [perf_record()])
    big = drop("performance", "big.json", [perf_record(batch_size=i + 1) for i in range(2500)])
    assert big.stat().st_size > 2 * 262_144  # several chunks: a dag-pb root over raw leaves
    db = tmp_path / "w.duckdb"
    ingest_paths([str(small.parent)], db)
    with open_writer(db) as conn:
        rows = dict(conn.execute("SELECT source_path, cid FROM ingestion_ledger").fetchall())
    cids = {Path(p).name: cid for p, cid in rows.items()}
    assert cids["small.json"] == str(import_path(small, KUBO_V1).cid) == file_cid(small)[0]
    assert cids["big.json"] == str(import_path(big, KUBO_V1).cid) == file_cid(big)[0]
    assert cids["big.json"].startswith("bafybei")


def test_a_re_ingest_fills_the_cid_of_an_unchanged_version_ledgered_without_one(drop, tmp_path):
    from benchmark_pipeline_tests.conftest import perf_record

    path = drop("performance", "r.json", [perf_record()])
    db = tmp_path / "w.duckdb"
    ingest_paths([str(path)], db)
    with open_writer(db) as conn:
        conn.execute("UPDATE ingestion_ledger SET cid = NULL")  # as a row from before schema v3
    report = ingest_paths([str(path)], db)
    assert list(report.result.outcomes["status"]) == ["unchanged"]
    with open_writer(db) as conn:
        assert conn.execute("SELECT cid FROM ingestion_ledger").fetchall() == [(file_cid(path)[0],)]
