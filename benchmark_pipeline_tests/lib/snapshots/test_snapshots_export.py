import duckdb

from benchmark_pipeline.lib.content.unixfs import KUBO_V1
from benchmark_pipeline.service import ingest_paths
from benchmark_pipeline.lib.snapshots.export import (
    EXCLUDED_TABLES,
    FOREIGN_KEYS,
    SURROGATE_KEYS,
    VOLATILE_COLUMNS,
    add_export,
    directory_node,
    export_query,
    user_tables,
    write_export,
)
from benchmark_pipeline.lib.content.cid import CID
from benchmark_pipeline.lib.content.dagpb import decode_node


def _export_cid(db, out):
    rows = dict(write_export(db, out))
    return add_export(out, rows, KUBO_V1, None)


def test_two_fresh_warehouses_from_the_same_files_have_the_same_export_cid(sample_dir, tmp_path):
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    ingest_paths([str(sample_dir)], a)
    ingest_paths([str(sample_dir / "compatibility"), str(sample_dir / "integration"), str(sample_dir / "llm")], b)
    ingest_paths([str(sample_dir / "performance")], b)  # other runs, other order, other ids and times
    export_a = _export_cid(a, tmp_path / "ea")
    export_b = _export_cid(b, tmp_path / "eb")
    assert export_a.cid == export_b.cid
    assert [f.cid for f in export_a.files] == [f.cid for f in export_b.files]
    # ...while the database files themselves differ, which is why the export exists.
    assert a.read_bytes() != b.read_bytes()


def test_a_data_change_changes_the_export_cid(warehouse, tmp_path):
    before = _export_cid(warehouse, tmp_path / "e1")
    conn = duckdb.connect(str(warehouse))
    conn.execute("UPDATE performance_results SET average_latency_ms = average_latency_ms + 1 "
                 "WHERE result_id = (SELECT min(result_id) FROM performance_results)")
    conn.close()
    after = _export_cid(warehouse, tmp_path / "e2")
    assert after.cid != before.cid
    changed = {f.name for f in after.files} - {f.name for f in before.files} | {
        a.name for a, b in zip(after.files, before.files) if a.cid != b.cid}
    assert changed == {"performance_results.parquet"}


def test_every_id_column_of_the_warehouse_is_handled(warehouse):
    """A migration adding a surrogate or foreign key must teach the export about it."""
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        for table in user_tables(conn):
            if table in EXCLUDED_TABLES:
                continue
            for col, type_ in conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                           "WHERE table_name = ?", [table]).fetchall():
                # Sequence keys are integers; VARCHAR ids (content hashes) are deterministic already.
                if col.endswith("_id") and type_ == "BIGINT" and col not in VOLATILE_COLUMNS:
                    assert SURROGATE_KEYS.get(table) == col or col in FOREIGN_KEYS, (table, col)
            sql = export_query(conn, table)
            exported = [d[0] for d in conn.execute(sql).description]
            assert not set(exported) & VOLATILE_COLUMNS
            assert SURROGATE_KEYS.get(table) not in exported
    finally:
        conn.close()


def test_directory_node_is_a_sorted_plain_unixfs_directory():
    """The CID itself is checked against a real node in test_snapshots_node.py."""
    a = CID.parse("bafkreigks6arfsq3xxfpvqrrwonchxcnu6do76auprhhfomao6c273sixm")
    b = CID.parse("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
    cid, block = directory_node([("b.parquet", b, 0), ("a.parquet", a, 1)])
    links, data = decode_node(block)
    assert [link.name for link in links] == ["a.parquet", "b.parquet"]
    assert data == b"\x08\x01"
    assert cid.version == 1 and cid.verify(block)


def test_llm_results_and_their_answers_export_the_same_from_any_ingest_order(tmp_path):
    from benchmark_pipeline_tests.llm_runs import RUNS, write_llm_drops

    drops = tmp_path / "drops"
    write_llm_drops(drops)
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    ingest_paths([str(drops)], a)
    for name, *_ in reversed(RUNS):  # one file at a time, the other way round: other ids, other times
        ingest_paths([str(drops / f"{name}.json")], b)
    with duckdb.connect(str(a), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM model_rankings").fetchone()[0] > 0
    export_a, export_b = _export_cid(a, tmp_path / "ea"), _export_cid(b, tmp_path / "eb")
    assert {f.name: f.cid for f in export_a.files} == {f.name: f.cid for f in export_b.files}
    assert "llm_answers_state.parquet" not in {f.name for f in export_a.files}
