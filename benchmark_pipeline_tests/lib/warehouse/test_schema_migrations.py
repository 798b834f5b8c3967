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
