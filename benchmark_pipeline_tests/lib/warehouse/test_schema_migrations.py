import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest

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
    old_flag = _v10_flag_id(old_series, 7, "change")
    conn.execute(
        "INSERT INTO regression_flags (flag_id, series_id, model_name, hardware_id, hardware_fingerprint, batch_size, "
        "test_case, metric, kind, direction, change_index, run_id, result_id, run_time, is_latest_change, recovered, "
        "series_points, mode, detected_at) VALUES (?, ?, 'bert', 2, 'cpu | Xeon | 256 GB | 40.0 CU', 1, 'default', "
        "'average_latency_ms', 'change', 'regression', 5, 7, 2, now(), true, false, 20, 'robust', now())",
        [old_flag, old_series])
    conn.execute("INSERT INTO regression_acks VALUES (?, ?, 'ack', 'known', 'me', now())", [old_flag, old_series])

    assert migrate(conn, target=6) == [5, 6]

    platforms = conn.execute("SELECT hardware_id, fingerprint FROM hardware_platforms ORDER BY 1").fetchall()
    assert platforms == [(1, "cpu | Xeon | 256 GB | 40 CU"), (3, "mps | M2 | 192 GB | 76 CU | driver 1.0"),
                         (4, "cuda | A100 | 80 GB | 108 CU")]
    facts = conn.execute("SELECT result_id, hardware_id FROM performance_results ORDER BY 1").fetchall()
    assert facts == [(1, 1), (2, 1), (3, 3), (4, 4)]
    new_series = hashlib.sha256("\x1f".join(
        ["bert", "cpu | Xeon | 256 GB | 40 CU", "1", "\\N", "\\N", "default", "average_latency_ms"]).encode()
    ).hexdigest()[:16]
    acks = conn.execute("SELECT flag_id, series_id FROM regression_acks").fetchall()
    assert acks == [(_v10_flag_id(new_series, 7, "change"), new_series)]
    assert conn.execute("SELECT hardware_id FROM regression_flags").fetchall() == [(1,)]


def _v10_flag_id(series_id: str, run_id: int, kind: str) -> str:
    """A flag's id up to version 10 (its run's surrogate id); version 11 leaves it on a flag whose run has no
    test_runs row, as in the tests of the earlier versions."""
    return hashlib.sha256(f"{series_id}\x1f{run_id}\x1f{kind}".encode()).hexdigest()[:16]


def _v4_series_id(*parts: str) -> str:
    """Series ids as versions 4 to 6 computed them: a hash of the fingerprint, a display string."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def test_version_7_keys_series_by_typed_hardware_and_keeps_acks_state_and_thresholds():
    from benchmark_pipeline.lib.warehouse.regressions import current_fingerprints, list_flags

    conn = duckdb.connect()
    migrate(conn, target=6)
    fingerprint = "cuda | A100 | 80 GB | 108 CU"
    conn.execute("INSERT INTO models (model_id, model_name) VALUES (1, 'bert')")
    conn.execute("INSERT INTO hardware_platforms (hardware_id, fingerprint, hardware_type, device_name, memory_gb, "
                 "compute_units) VALUES (1, ?, 'cuda', 'A100', 80, 108)", [fingerprint])
    for i in range(4):
        conn.execute(
            "INSERT INTO performance_results (result_id, run_id, model_id, hardware_id, test_case, batch_size, "
            "run_time, time_source, average_latency_ms, throughput_items_per_second, record_index, source_path, "
            "source_sha256, ingestion_run_id, ingested_at) VALUES (?, ?, 1, 1, 'default', 1, now(), 'record', ?, "
            "100, 0, 'a.json', 'x', 'r', now())", [i + 1, i + 1, 10.0 + 5 * (i >= 2)])
    latency = _v4_series_id("bert", fingerprint, "1", "\\N", "\\N", "default", "average_latency_ms")
    throughput = _v4_series_id("bert", fingerprint, "1", "\\N", "\\N", "default", "throughput_items_per_second")
    old_flag = _v10_flag_id(latency, 3, "regression")
    conn.execute(
        "INSERT INTO regression_flags (flag_id, series_id, model_name, hardware_id, hardware_fingerprint, batch_size, "
        "test_case, metric, kind, direction, change_index, run_id, result_id, run_time, is_latest_change, recovered, "
        "series_points, mode, detected_at) VALUES (?, ?, 'bert', 1, ?, 1, 'default', 'average_latency_ms', "
        "'regression', 'lower_is_better', 2, 3, 3, now(), true, false, 4, 'robust', now())", [old_flag, latency, fingerprint])
    conn.execute("INSERT INTO regression_acks VALUES (?, ?, 'mute', 'known', 'me', now())", [old_flag, latency])
    for series in (latency, throughput):  # the throughput series has state but no flag
        conn.execute("INSERT INTO regression_series_state VALUES (?, 4, 4, 0, 'p', 0, now())", [series])
    conn.execute("INSERT INTO regression_thresholds VALUES (?, 'average_latency_ms', ?, 'relative', 0.1, NULL, "
                 "'me', now())", [latency, latency])

    assert migrate(conn) == list(range(7, SCHEMA_VERSION + 1))

    current = current_fingerprints(conn).set_index("metric")["series_id"]
    new_latency, new_throughput = current["average_latency_ms"], current["throughput_items_per_second"]
    assert {new_latency, new_throughput}.isdisjoint({latency, throughput})
    state = {row[0] for row in conn.execute("SELECT series_id FROM regression_series_state").fetchall()}
    assert state == {new_latency, new_throughput}
    flags = list_flags(conn)
    assert flags[["flag_id", "series_id", "status"]].values.tolist() == [
        [_v10_flag_id(new_latency, 3, "regression"), new_latency, "muted"]]
    assert conn.execute("SELECT scope, series_id FROM regression_thresholds").fetchall() == [(new_latency,) * 2]

    # The fingerprint is a label now: printing a platform another way changes no identity.
    conn.execute("UPDATE hardware_platforms SET fingerprint = 'NVIDIA A100 (80 GB, 108 SMs)'")
    assert current_fingerprints(conn).set_index("metric")["series_id"].to_dict() == current.to_dict()


def test_hardware_key_reads_typed_values_not_their_spelling():
    conn = duckdb.connect()
    migrate(conn)
    key = "SELECT hardware_key(?, ?, ?, ?, ?)"
    same = {conn.execute(key, ["cuda", "A100", memory, units, "550"]).fetchone()[0]
            for memory, units in ((80, 108), (80.0, 108.0), ("80", "108"))}
    assert len(same) == 1
    others = {conn.execute(key, args).fetchone()[0] for args in (
        ["cuda", "A100", 80, 108, None], ["cuda", "A100", 40, 108, "550"], ["cuda", None, 80, 108, "550"],
        ["rocm", "A100", 80, 108, "550"])}
    assert len(others) == 4 and not others & same


def _with_llm_dimensions(conn, model_id: int, hardware_id: int) -> None:
    """One model version and one hardware configuration under the given surrogate ids, keyed as version 8 did."""
    conn.execute("INSERT INTO models (model_id, model_name) VALUES (?, 'llama-3.1-8b')", [model_id])
    conn.execute("INSERT INTO hardware_platforms (hardware_id, hardware_key, fingerprint, hardware_type, device_name, "
                 "memory_gb) VALUES (?, hardware_key('cuda', 'NVIDIA H100', 80, NULL, NULL), 'h100', 'cuda', "
                 "'NVIDIA H100', 80)", [hardware_id])
    conn.execute("INSERT INTO model_versions (version_key, model_id, quantization, bits) "
                 "VALUES (model_version_key(?, 'awq', 4, NULL, NULL), ?, 'awq', 4)", [model_id, model_id])
    conn.execute("INSERT INTO hardware_configurations (config_key, hardware_id, gpu_count, cost_per_hour_usd) "
                 "VALUES (hardware_config_key(?, 2, NULL, NULL, NULL, 6.5), ?, 2, 6.5)", [hardware_id, hardware_id])


def test_version_9_keys_model_versions_and_configurations_by_name_not_surrogate_id():
    keys = []
    for model_id, hardware_id in ((1, 1), (7, 3)):  # the same version and configuration under other ids
        conn = duckdb.connect()
        migrate(conn, target=8)
        _with_llm_dimensions(conn, model_id, hardware_id)
        migrate(conn)
        keys.append(conn.execute("SELECT (SELECT version_key FROM model_versions), "
                                 "(SELECT config_key FROM hardware_configurations)").fetchone())
        assert keys[-1] == conn.execute(
            "SELECT model_version_key('llama-3.1-8b', 'AWQ', 4, NULL, NULL), "
            "hardware_config_key((SELECT hardware_key FROM hardware_platforms), 2, NULL, NULL, NULL, 6.5)").fetchone()
    assert keys[0] == keys[1]
    # The taxonomy is seeded with every use case's SLA and weights.
    assert conn.execute("SELECT count(*) FROM use_case_taxonomy WHERE json_valid(sla) "
                        "AND json_valid(default_weights)").fetchone()[0] >= 5


def test_a_first_migration_that_fails_leaves_no_table_behind(tmp_path, monkeypatch):
    """What a writer killed while it makes a new warehouse leaves: no table at all (not a version table alone),
    so the file holds nothing and the next writer makes the schema from the start."""
    from benchmark_pipeline.lib.warehouse import schema

    good = schema.migrations()[0]
    broken = schema.Migration(1, good.name, good.sql + "\nSELECT * FROM no_such_table;")
    monkeypatch.setattr(schema, "migrations", lambda: [broken])
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        with pytest.raises(duckdb.CatalogException):
            migrate(conn, target=1)
        assert conn.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0] == 0
        assert current_version(conn) == 0
    finally:
        conn.close()
    monkeypatch.undo()
    with open_writer(tmp_path / "w.duckdb") as conn:
        assert current_version(conn) == SCHEMA_VERSION


def test_version_11_keys_flags_by_their_runs_file_content_and_keeps_acks():
    from benchmark_pipeline.lib.changepoint.series import flag_id
    from benchmark_pipeline.lib.warehouse.regressions import list_flags

    conn = duckdb.connect()
    migrate(conn, target=10)
    conn.execute("INSERT INTO test_runs (run_id, test_name, test_type, time_source, record_count, source_path, "
                 "source_sha256, ingestion_run_id, ingested_at) VALUES (3, 't', 'performance', 'record', 1, "
                 "'a.json', 'abc123', 'r', now())")
    flags = {run_id: _v10_flag_id("s1", run_id, "regression") for run_id in (3, 4)}  # run 4 is gone
    for run_id, old in flags.items():
        conn.execute(
            "INSERT INTO regression_flags (flag_id, series_id, model_name, hardware_id, hardware_fingerprint, "
            "batch_size, test_case, metric, kind, direction, change_index, run_id, result_id, run_time, "
            "is_latest_change, recovered, series_points, mode, detected_at) VALUES (?, 's1', 'bert', 1, 'cpu', 1, "
            "'default', 'average_latency_ms', 'regression', 'up', 2, ?, ?, now(), true, false, 4, 'robust', "
            "TIMESTAMPTZ '2026-01-02 03:04:05+00')", [old, run_id, run_id])
        conn.execute("INSERT INTO regression_acks VALUES (?, 's1', 'ack', 'known', 'me', now())", [old])

    assert migrate(conn) == list(range(11, SCHEMA_VERSION + 1))

    kept = flag_id("s1", "abc123", "regression")
    rows = conn.execute("SELECT run_id, flag_id, detected_at::VARCHAR FROM regression_flags ORDER BY run_id").fetchall()
    assert rows == [(3, kept, "2026-01-02 03:04:05+00"), (4, flags[4], "2026-01-02 03:04:05+00")]
    assert sorted(r[0] for r in conn.execute("SELECT flag_id FROM regression_acks").fetchall()) == sorted([kept, flags[4]])
    listed = list_flags(conn).set_index("run_id")
    assert listed.loc[3, "status"] == "acknowledged" and listed.loc[3, "flag_id"] == kept
