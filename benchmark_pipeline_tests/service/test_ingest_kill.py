"""kill -9 of an ingest at any point (the whole process group: the writer and its validating workers, or one
worker alone) leaves the warehouse all-before or all-after, and running the ingest again converges to what an
uninterrupted ingest stores (issue 16's fault-injection suite)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from benchmark_pipeline_tests.conftest import perf_record

pytestmark = pytest.mark.slow

# An ingest in its own process, validating on two workers in chunks of ~64 kB (so a small drop is many
# chunks and the pool is busy for the whole run); exit 0 once committed.
INGEST = ("import sys; from benchmark_pipeline.service import BenchmarkService; "
          "BenchmarkService(sys.argv[2]).ingest_paths([sys.argv[1]], workers=2, chunk_bytes=64 << 10)")
FILES, RECORDS = 40, 250


def _drop(root: Path) -> Path:
    folder = root / "drop" / "performance"
    folder.mkdir(parents=True)
    for f in range(FILES):
        records = [perf_record(batch_size=1 + r % 64, average_latency_ms=1.0 + f + r / 1000,
                               timestamp=f"2025-11-{1 + f % 28:02d}T03:04:{r % 60:02d}Z") for r in range(RECORDS)]
        (folder / f"run_{f:03d}.json").write_text(json.dumps(records))
    return root / "drop"


def _counts(db: Path) -> tuple[int, int]:
    if not db.exists():
        return 0, 0
    conn = duckdb.connect(str(db), read_only=True)
    try:
        if not conn.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0]:
            # Killed after DuckDB made the file, before the schema's first migration committed (it is one
            # transaction: all tables or none); the next writer migrates it.
            return 0, 0
        results = conn.execute("SELECT count(*) FROM performance_results").fetchone()[0]
        ledgered = conn.execute("SELECT count(*) FROM ingestion_ledger WHERE status = 'ingested'").fetchone()[0]
        return results, ledgered
    finally:
        conn.close()


def _ingest(drop: Path, db: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", INGEST, str(drop), str(db)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (pool workers may be children of a fork server, not of the writer)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> tuple[Path, tuple[int, int]]:
    root = tmp_path_factory.mktemp("reference")
    drop = _drop(root)
    db = root / "w.duckdb"
    assert _ingest(drop, db).wait(timeout=300) == 0
    return drop, _counts(db)


@pytest.mark.parametrize("delay", [0.5, 1.5, 3.0, 5.0])
def test_an_ingest_killed_at_any_point_is_all_or_nothing_and_a_rerun_converges(expected, tmp_path, delay):
    drop, full = expected
    assert full == (FILES * RECORDS, FILES)
    db = tmp_path / "w.duckdb"
    proc = _ingest(drop, db)
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGKILL)  # the writer and its workers at once, as the OOM killer or kill -9 would
    proc.wait(timeout=60)
    assert _counts(db) in ((0, 0), full)  # never a part of the batch
    again = _ingest(drop, db)
    assert again.wait(timeout=300) == 0, again.stderr.read()
    assert _counts(db) == full


def test_a_killed_worker_fails_the_ingest_cleanly_and_a_rerun_converges(expected, tmp_path):
    drop, full = expected
    db = tmp_path / "w.duckdb"
    proc = _ingest(drop, db)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while not workers and proc.poll() is None and time.monotonic() < deadline:
        workers = _descendants(proc.pid)
        time.sleep(0.05)
    assert workers, "the ingest finished before its workers could be seen"
    os.kill(workers[-1], signal.SIGKILL)
    code = proc.wait(timeout=300)
    stderr = proc.stderr.read()
    if code != 0:  # the pool lost a worker before the batch was done: the error says so, nothing half-stored
        assert "BrokenProcessPool" in stderr or "terminated abruptly" in stderr, stderr[-2000:]
    assert _counts(db) in ((0, 0), full)
    again = _ingest(drop, db)
    assert again.wait(timeout=300) == 0, again.stderr.read()
    assert _counts(db) == full
