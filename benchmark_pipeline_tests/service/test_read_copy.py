"""Reads from a read copy: a write that has finished is seen by the next read, a write under way never makes a
read wait or fail (the state before it is served), and copies do not pile up."""

import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from benchmark_pipeline.lib.warehouse.connection import WarehouseMissingError, writer_lock
from benchmark_pipeline.service import BenchmarkService
from benchmark_pipeline.service.read_copy import ReadCopies, copies_root
from benchmark_pipeline_tests.conftest import perf_record, writer_held


def _count(copies: ReadCopies) -> int:
    with copies.cursor() as conn:
        return conn.execute("SELECT count(*) FROM performance_results").fetchone()[0]


def _store(db_path: Path, batch_size: int) -> None:
    BenchmarkService(db_path).ingest_records("performance", perf_record(batch_size=batch_size))


@pytest.fixture
def copies(db_path):
    _store(db_path, 1)
    copies = ReadCopies(db_path, wait_s=5)
    yield copies
    copies.close()


def test_a_finished_write_is_seen_by_the_next_read(db_path, copies):
    assert _count(copies) == 1
    assert copies.state().current
    _store(db_path, 2)
    assert not copies.state().current
    assert _count(copies) == 2
    assert copies.state().current


def test_a_read_during_another_process_write_is_answered_at_once_from_the_state_before(db_path, copies):
    assert _count(copies) == 1
    _store(db_path, 2)  # finished, not read yet ...
    with writer_held(db_path, 4):  # ... and another process now holds the file read-write (DuckDB's lock too)
        started = time.monotonic()
        assert _count(copies) == 1  # the last copy: a new one cannot be taken under a writer
        assert time.monotonic() - started < 1.0
        state = copies.state()
        assert not state.current and state.stale_for_s > 0
    assert _count(copies) == 2  # the writer is gone: the next read takes a fresh copy


def test_the_first_read_waits_for_a_writer_within_its_bound(db_path):
    copies = ReadCopies(db_path, wait_s=10)
    try:
        with writer_held(db_path, 1.5):
            started = time.monotonic()
            assert _count(copies) == 0  # the schema the writer made, no rows yet
            assert time.monotonic() - started >= 0.5  # there was no copy to answer from: it waited for the writer
    finally:
        copies.close()


def test_a_writer_is_not_kept_waiting_by_reads(db_path, copies):
    stop = threading.Event()

    def read_forever():
        while not stop.is_set():
            _count(copies)

    readers = [threading.Thread(target=read_forever) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-c",
                               "import sys; from pathlib import Path\n"
                               "from benchmark_pipeline.service import BenchmarkService\n"
                               "from benchmark_pipeline_tests.conftest import perf_record\n"
                               "BenchmarkService(Path(sys.argv[1]), lock_timeout_s=5).ingest_records("
                               "'performance', perf_record(batch_size=3))", str(db_path)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        writer_s = time.monotonic() - started
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert _count(copies) == 2
    assert writer_s < 30


def test_a_replaced_file_is_noticed(db_path, copies, tmp_path):
    assert _count(copies) == 1
    other = tmp_path / "other.duckdb"
    _store(other, 5)
    _store(other, 6)
    with writer_lock(db_path):
        other.replace(db_path)  # what a restore does: a new file under the old name
    assert _count(copies) == 2


def test_a_wal_left_beside_the_file_is_copied_with_it(tmp_path):
    db = tmp_path / "wal.duckdb"
    conn = duckdb.connect(str(db))
    conn.execute("PRAGMA disable_checkpoint_on_shutdown")
    conn.execute("SET wal_autocheckpoint = '1TB'")
    conn.execute("CREATE TABLE performance_results AS SELECT range AS id FROM range(7)")
    conn.close()
    assert db.with_name(db.name + ".wal").exists()
    copies = ReadCopies(db)
    try:
        assert _count(copies) == 7
    finally:
        copies.close()


def test_replaced_copies_are_removed_and_close_removes_the_rest(db_path, copies):
    for batch in range(2, 6):
        _store(db_path, batch)
        assert _count(copies) == batch
    files = list(copies_root(db_path).rglob("*.duckdb"))
    assert len(files) == 1  # only the current copy: the four before it went when their last read ended
    held = copies.cursor()
    held.__enter__()  # a read still in progress keeps its copy ...
    _store(db_path, 9)
    assert _count(copies) == 6
    assert len(list(copies_root(db_path).rglob("*.duckdb"))) == 2
    held.__exit__(None, None, None)  # ... until it ends
    assert len(list(copies_root(db_path).rglob("*.duckdb"))) == 1
    copies.close()
    assert not list(copies_root(db_path).rglob("*.duckdb"))


def test_no_warehouse_is_named(tmp_path):
    copies = ReadCopies(tmp_path / "none.duckdb")
    with pytest.raises(WarehouseMissingError, match="none.duckdb: no warehouse here yet"):
        _count(copies)


def test_the_generation_is_told_without_a_copy_only_when_none_is_due(db_path):
    _store(db_path, 1)
    copies = ReadCopies(db_path, wait_s=5)
    try:
        assert copies.settled_generation() is None  # nothing copied yet
        first = copies.generation()
        assert copies.settled_generation() == first
        _store(db_path, 2)
        assert copies.settled_generation() is None  # a finished write: the next read takes a new copy
        with writer_held(db_path, 2):
            assert copies.settled_generation() == first  # under a writer reads get the copy they have
        second = copies.generation()
        assert second != first and copies.settled_generation() == second
    finally:
        copies.close()
