import shutil
from pathlib import Path

import duckdb

from benchmark_pipeline.lib.warehouse.connection import open_reader, open_writer
from benchmark_pipeline.lib.warehouse.dictionary import COLUMNS
from benchmark_pipeline.lib.warehouse.schema import SCHEMA_VERSION, current_version, migrate

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "warehouse_v1.duckdb"


def test_committed_v1_warehouse_upgrades_and_keeps_its_rows(tmp_path):
    db = tmp_path / "old.duckdb"
    shutil.copy(FIXTURE, db)
    with open_reader(db) as conn:
        assert current_version(conn) == 1
    with open_writer(db) as conn:
        assert current_version(conn) == SCHEMA_VERSION
        assert conn.execute("SELECT average_latency_ms, power_watts FROM performance_results").fetchall() == [(42.0, None)]
        assert conn.execute("SELECT count(*) FROM power_metrics").fetchall() == [(0,)]
        assert conn.execute("SELECT nextval('seq_result_id')").fetchall() == [(2,)]


def test_readers_never_migrate(tmp_path):
    db = tmp_path / "old.duckdb"
    shutil.copy(FIXTURE, db)
    with open_reader(db) as conn:
        assert current_version(conn) == 1
    with open_reader(db) as conn:
        assert current_version(conn) == 1


def test_migrating_twice_is_a_no_op():
    conn = duckdb.connect()
    assert migrate(conn) == list(range(1, SCHEMA_VERSION + 1))
    assert migrate(conn) == []


def test_every_column_is_in_the_dictionary_and_nothing_stale():
    conn = duckdb.connect()
    migrate(conn)
    live = {(t, c) for t, c in conn.execute("SELECT table_name, column_name FROM information_schema.columns").fetchall()}
    documented = {(t, c) for t, columns in COLUMNS.items() for c in columns}
    assert live - documented == set(), "undocumented columns"
    assert documented - live == set(), "documented columns that do not exist"


def test_version_5_merges_platforms_split_by_a_float_compute_unit_count():
    import hashlib

    from benchmark_pipeline.lib.changepoint.series import flag_id

    conn = duckdb.connect()
    migrate(conn, target=4)
    conn.execute("""
        INSERT INTO hardware_platforms (hardware_id, fingerprint, hardware_type, device_name, compute_units) VALUES
            (1, 'cpu | Xeon | 256 GB | 40 CU', 'cpu', 'Xeon', 40),
            (2, 'cpu | Xeon | 256 GB | 40.0 CU', 'cpu', 'Xeon', 40),
            (3, 'mps | M2 | 192 GB | 76.0 CU | driver 1.0', 'mps', 'M2', 76),
            (4, 'cuda | A100 | 80 GB | 108 CU', 'cuda', 'A100', 108)
    """)
    for result_id, hardware_id in ((1, 1), (2, 2), (3, 3), (4, 4)):
        conn.execute(
            "INSERT INTO performance_results (result_id, run_id, model_id, hardware_id, test_case, batch_size, "
            "run_time, time_source, record_index, source_path, source_sha256, ingestion_run_id, ingested_at) "
            "VALUES (?, 1, 1, ?, 'default', 1, now(), 'record', 0, 'a.json', 'x', 'r', now())",
            [result_id, hardware_id])
    old_series = "0123456789abcdef"
    old_flag = flag_id(old_series, 7, "change")
    conn.execute(
        "INSERT INTO regression_flags (flag_id, series_id, model_name, hardware_id, hardware_fingerprint, batch_size, "
        "test_case, metric, kind, direction, change_index, run_id, result_id, run_time, is_latest_change, recovered, "
        "series_points, mode, detected_at) VALUES (?, ?, 'bert', 2, 'cpu | Xeon | 256 GB | 40.0 CU', 1, 'default', "
        "'average_latency_ms', 'change', 'regression', 5, 7, 2, now(), true, false, 20, 'robust', now())",
        [old_flag, old_series])
    conn.execute("INSERT INTO regression_acks VALUES (?, ?, 'ack', 'known', 'me', now())", [old_flag, old_series])

    assert migrate(conn) == list(range(5, SCHEMA_VERSION + 1))

    platforms = conn.execute("SELECT hardware_id, fingerprint FROM hardware_platforms ORDER BY 1").fetchall()
    assert platforms == [(1, "cpu | Xeon | 256 GB | 40 CU"), (3, "mps | M2 | 192 GB | 76 CU | driver 1.0"),
                         (4, "cuda | A100 | 80 GB | 108 CU")]
    facts = conn.execute("SELECT result_id, hardware_id FROM performance_results ORDER BY 1").fetchall()
    assert facts == [(1, 1), (2, 1), (3, 3), (4, 4)]
    new_series = hashlib.sha256("\x1f".join(
        ["bert", "cpu | Xeon | 256 GB | 40 CU", "1", "\\N", "\\N", "default", "average_latency_ms"]).encode()
    ).hexdigest()[:16]
    acks = conn.execute("SELECT flag_id, series_id FROM regression_acks").fetchall()
    assert acks == [(flag_id(new_series, 7, "change"), new_series)]
    assert conn.execute("SELECT hardware_id FROM regression_flags").fetchall() == [(1,)]
