"""Issue 16, items 6 and 10: readers that give up say what to do, readers in a loop never keep a writer out,
and a writer waiting for the lock says whom it waits for.

Readers and writers here are separate processes, as the CLI, Dagster and notebooks are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from benchmark_pipeline.config import LOCK_TIMEOUT_ENV, MAX_FILE_MB_ENV, READ_TIMEOUT_ENV, Settings
from benchmark_pipeline.lib.warehouse.connection import (WarehouseBusyError, WarehouseLockedError, lock_holder,
                                                         open_reader, open_writer, writer_lock)
from benchmark_pipeline.lib.warehouse.timeouts import DEFAULT_LOCK_TIMEOUT_S

# A reader that reconnects as fast as it can, each read keeping the file for a few tenths of a second (a
# dashboard refreshing, a notebook polling): four of them left a writer waiting past its timeout.
HAMMERING_READER = r"""
import json, sys, time
from pathlib import Path
from benchmark_pipeline.lib.warehouse.connection import open_reader
db, stop = Path(sys.argv[1]), Path(sys.argv[2])
reads, failures = 0, []
while not stop.exists():
    try:
        with open_reader(db, timeout_s=120) as conn:
            conn.execute("SET enable_progress_bar = false")
            conn.execute("SELECT count(*) FROM range(8000000) t(i) WHERE i % 7 = 3").fetchall()
        reads += 1
    except Exception as exc:
        failures.append(repr(exc))
print(json.dumps({"reads": reads, "failures": failures}))
"""

WRITER = r"""
import sys, time
from pathlib import Path
from benchmark_pipeline.lib.warehouse.connection import open_writer
started = time.monotonic()
with open_writer(Path(sys.argv[1]), timeout_s=float(sys.argv[2])) as conn:
    conn.execute("INSERT INTO schema_version VALUES (999, 'writer got in', now())")
print(f"{time.monotonic() - started:.1f}", flush=True)
"""

# Holds the warehouse until its stdin closes: the writer lock alone, a whole writer, or (ignoring the lock
# file, as an old release or a DuckDB shell would) the database file itself.
HOLDER = r"""
import sys
from pathlib import Path
import duckdb
from benchmark_pipeline.lib.warehouse.connection import open_writer, writer_lock
db, how = Path(sys.argv[1]), sys.argv[2]
hold = {"lock": lambda: writer_lock(db), "writer": lambda: open_writer(db), "duckdb": lambda: duckdb.connect(str(db))}
with hold[how]():
    print("held", flush=True)
    sys.stdin.read()
"""


@contextmanager
def held(db: Path, how: str = "lock") -> Iterator[subprocess.Popen]:
    """Another process holds the warehouse (``HOLDER``) from entering until leaving the block, however slow
    the machine is; yields the process (its pid is the holder a message should name)."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), how], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


def _empty_warehouse(db: Path) -> None:
    with open_writer(db):
        pass


def test_readers_reconnecting_in_a_loop_let_a_writer_in(tmp_path):
    db = tmp_path / "w.duckdb"
    _empty_warehouse(db)
    stop = tmp_path / "stop"
    readers = [subprocess.Popen([sys.executable, "-c", HAMMERING_READER, str(db), str(stop)], stdout=subprocess.PIPE,
                                text=True) for _ in range(4)]
    try:
        time.sleep(3)  # all four are reading in turn by now
        writer = subprocess.run([sys.executable, "-c", WRITER, str(db), "60"], capture_output=True, text=True,
                                timeout=120)
    finally:
        stop.touch()
        reports = [json.loads(r.communicate(timeout=120)[0]) for r in readers]
    # Before: the writer never found a moment without a reader and gave up after its 60 s.
    assert writer.returncode == 0, writer.stderr[-2000:]
    assert float(writer.stdout) < 20, f"the writer waited {writer.stdout.strip()} s for the readers"
    assert [r["failures"] for r in reports] == [[]] * 4  # the readers only waited, none failed
    assert all(r["reads"] > 0 for r in reports)
    with open_reader(db) as conn:
        assert conn.execute("SELECT name FROM schema_version WHERE version = 999").fetchall() == [("writer got in",)]


def test_a_reader_backs_off_while_the_writer_lock_is_held_and_reads_after(tmp_path):
    db = tmp_path / "w.duckdb"
    _empty_warehouse(db)
    with held(db) as holder:  # the lock only: DuckDB alone would let the reader in
        with pytest.raises(WarehouseBusyError) as refused:
            with open_reader(db, timeout_s=0.3):
                pass
        script = ("import sys; from pathlib import Path; from benchmark_pipeline.lib.warehouse.connection import "
                  "open_reader\nwith open_reader(Path(sys.argv[1]), timeout_s=60) as c: "
                  "print(c.execute('SELECT 42').fetchall()[0][0])")
        waiting = subprocess.Popen([sys.executable, "-c", script, str(db)], stdout=subprocess.PIPE, text=True)
    assert waiting.communicate(timeout=60)[0].strip() == "42"  # a reader waiting for the holder reads once it let go
    message = str(refused.value)
    assert f"pid {holder.pid}" in message
    assert "wait for the write to finish" in message and READ_TIMEOUT_ENV in message
    assert "IO Error" not in message and "duckdb.org" not in message


def test_a_reader_that_times_out_on_duckdbs_own_lock_says_what_to_do(tmp_path):
    db = tmp_path / "w.duckdb"
    _empty_warehouse(db)
    with held(db, "duckdb") as holder:  # a writer that ignores the lock file holds the database file itself
        with pytest.raises(WarehouseBusyError) as refused:
            with open_reader(db, timeout_s=0.5):
                pass
    message = str(refused.value)
    assert "0.5 s" in message and READ_TIMEOUT_ENV in message and f"PID {holder.pid}" in message
    assert "IO Error" not in message and "duckdb.org" not in message


def test_the_lock_file_names_its_holder_and_a_waiter_is_told_once(tmp_path):
    db = tmp_path / "w.duckdb"
    told: list[tuple[str | None, float]] = []

    def waiting(who: str | None, timeout: float) -> None:
        told.append((who, timeout))
        holder.stdin.close()  # let go once the waiter has said it waits

    with held(db) as holder:
        assert lock_holder(db).startswith(f"pid {holder.pid} ")
        with writer_lock(db, timeout_s=60, on_wait=waiting):
            assert lock_holder(db).startswith(f"pid {os.getpid()} ")
    assert told[0][0].startswith(f"pid {holder.pid} ") and told[0][1] == 60
    assert lock_holder(db) is None  # nobody holds it now
    with writer_lock(db, timeout_s=1, on_wait=lambda *_: told.append(("again", 0))):
        pass
    assert len(told) == 1  # a free lock is taken without a word


def test_a_writer_that_gives_up_names_the_holder(tmp_path):
    db = tmp_path / "w.duckdb"
    with held(db) as holder:
        with pytest.raises(WarehouseLockedError) as refused:
            with writer_lock(db, timeout_s=0.3):
                pass
    assert f"another writer (pid {holder.pid} on " in str(refused.value)
    assert str(refused.value).endswith("held the warehouse lock for more than 0.3 s")


def test_lock_timeout_and_file_size_limit_come_from_the_environment():
    defaults = Settings.from_env(env={})
    assert defaults.lock_timeout_s == DEFAULT_LOCK_TIMEOUT_S and defaults.max_file_mb == 256
    settings = Settings.from_env(env={LOCK_TIMEOUT_ENV: "12.5", MAX_FILE_MB_ENV: "64"})
    assert settings.lock_timeout_s == 12.5 and settings.max_file_mb == 64
    for name, value in ((LOCK_TIMEOUT_ENV, "soon"), (LOCK_TIMEOUT_ENV, "-1"), (MAX_FILE_MB_ENV, "0"),
                        (MAX_FILE_MB_ENV, "big")):
        with pytest.raises(ValueError, match=name):
            Settings.from_env(env={name: value})
