"""The bounds of ad-hoc SQL in the library (issue 16, item 5): rows held in Python, one deadline through
fetching and rendering, refused limits, and where and how much DuckDB may spill."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from tabulate import tabulate

from benchmark_pipeline.lib.analytics.safe_query import (MAX_ROWS_CAP, OWNER_FILE, QueryFailed, QueryLimitError,
                                                         QueryRefused, check_max_rows, check_timeout,
                                                         connect_read_only, parse_size, private_temp_dir,
                                                         remove_stale_temp_dirs, result_budget, run_query, temp_root)
from benchmark_pipeline.lib.analytics.table import Deadline, DeadlineExceeded, Table
from benchmark_pipeline.lib.reports.tabular import (TABLE_FORMATS, _display, iter_render_table, json_value,
                                                    render_table)

# A sort that spills under a 40 MB memory limit: about 60 MB of temporary files, under a second.
SPILLING_SORT = ("SELECT * FROM (SELECT i, md5(i::varchar) || repeat('x', 100) s FROM range(500000) t(i) "
                 "ORDER BY hash(i)) OFFSET 499999")


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bounds") / "tiny.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE TABLE t AS SELECT i, 'row ' || i AS label FROM range(10) r(i)")
    return path


# --- rows held in Python ------------------------------------------------------------------------------

def test_rows_are_cut_at_the_byte_budget_with_the_reason(db):
    with connect_read_only(db, memory_limit="256MB") as conn:
        table, cut = run_query(conn, "SELECT repeat('x', 1000) AS s FROM range(100000)", max_rows=MAX_ROWS_CAP,
                               max_bytes=1_000_000)
    assert cut is not None and cut.reason == "memory" and table.truncation is cut
    # each row is a 1000-character string (about 1.05 kB with its tuple): some 900 fit in a megabyte
    assert 800 <= len(table.rows) == cut.rows <= 1000 and cut.held_bytes <= 1_000_000
    assert "memory" in cut.describe() and "1.0 MB" in cut.describe()


def test_the_row_limit_cuts_only_when_more_rows_exist(db):
    with connect_read_only(db) as conn:
        whole, cut = run_query(conn, "SELECT i FROM range(5) t(i)", max_rows=5)
        assert cut is None and len(whole.rows) == 5 and whole.truncation is None
        first, cut = run_query(conn, "SELECT i FROM range(5) t(i)", max_rows=4)
    assert [r[0] for r in first.rows] == [0, 1, 2, 3]
    assert cut.reason == "max_rows" and cut.rows == 4 and "more than 4 rows" in cut.describe()


def test_the_estimate_is_not_below_what_python_really_holds(db):
    """The budget is only as good as the estimate: compare it with what tracemalloc sees the rows take."""
    sql = ("SELECT i, i * 1.5 AS x, 'label ' || i || repeat('y', i % 300) AS s, DATE '2025-01-01' + i::int AS d, "
           "TIMESTAMP '2025-01-01' + to_seconds(i) AS ts, (i / 7)::DECIMAL(12, 3) AS dec, [i, i + 1] AS l, "
           "{'k': i} AS st, NULL::VARCHAR AS missing FROM range(20000) t(i)")
    with connect_read_only(db) as conn:
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            table, cut = run_query(conn, sql, max_rows=MAX_ROWS_CAP, max_bytes=10**9)
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    assert cut is None and len(table.rows) == 20000
    # The estimate itself is not kept: run it again under budgets around what tracemalloc saw.
    with connect_read_only(db) as conn:
        under, _ = run_query(conn, sql, max_rows=MAX_ROWS_CAP, max_bytes=held)
        over, _ = run_query(conn, sql, max_rows=MAX_ROWS_CAP, max_bytes=3 * held)
    assert len(under.rows) < 20000, f"the estimate is below the {held} bytes Python held for the rows"
    assert len(over.rows) == 20000, "the estimate is more than three times what the rows hold"


def test_limits_are_refused_before_anything_runs(db):
    for bad in (float("nan"), float("inf"), -float("inf"), -1, 0, 3601, "soon"):
        with pytest.raises(QueryLimitError, match="timeout"):
            check_timeout(bad)
    for bad in (0, -5, MAX_ROWS_CAP + 1, True, 2.5, "10"):
        with pytest.raises(QueryLimitError, match="row limit"):
            check_max_rows(bad)
    assert check_timeout("2.5") == 2.5 and check_max_rows(MAX_ROWS_CAP) == MAX_ROWS_CAP
    with connect_read_only(db) as conn:  # run_query itself refuses them: the REST calls it too
        with pytest.raises(QueryRefused, match="timeout"):
            run_query(conn, "SELECT 1", timeout_s=math.nan)
        with pytest.raises(QueryRefused, match="row limit"):
            run_query(conn, "SELECT 1", max_rows=0)


@pytest.mark.parametrize("text, expected", [
    ("100MB", 100_000_000), ("1GiB", 2**30), ("1.5 gb", 1_500_000_000), ("512KB", 512_000), ("0B", 0),
    ("2 bytes", 2), ("64MiB", 64 * 2**20),
])
def test_sizes_read_as_duckdb_reads_them(text, expected):
    assert parse_size(text) == expected
    if expected >= 10**6:  # DuckDB agrees: the text and the bytes give the same limit (a usable one)
        settings = []
        for given in (text, f"{expected}B"):
            with duckdb.connect(config={"memory_limit": given}) as conn:
                settings.append(conn.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        assert settings[0] == settings[1]


@pytest.mark.parametrize("text", ["100", "-1MB", "lots", "1 XB", ""])
def test_sizes_that_are_not_sizes_are_refused(text):
    with pytest.raises(QueryLimitError, match="not a size"):
        parse_size(text)


def test_the_budget_is_half_the_memory_limit():
    assert result_budget("100MB") == 50_000_000
    with pytest.raises(QueryLimitError):
        result_budget("0MB")


# --- one deadline: fetching and rendering ---------------------------------------------------------------

class Ticking:
    """A clock that moves ``step`` seconds each time it is read."""

    def __init__(self, step: float):
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.mark.parametrize("fmt", TABLE_FORMATS)
def test_rendering_stops_between_chunks_when_the_deadline_passes(fmt):
    table = Table(["i", "s"], [(i, f"value {i}") for i in range(20_000)])
    whole = list(iter_render_table(table, fmt, deadline=Deadline(600)))
    assert "".join(whole).count("value 19999") == 1 and len(whole) > 40
    clock = Ticking(0.1)
    deadline = Deadline(1.0, clock=clock)  # passes at the tenth look at the clock
    pieces = []
    with pytest.raises(DeadlineExceeded, match="timeout while rendering"):
        for piece in iter_render_table(table, fmt, deadline=deadline):
            pieces.append(piece)
    assert len(pieces) < len(whole)
    assert clock.now < 1.25  # it stopped at the first look after the deadline, not at the end


def test_fetching_stops_at_the_deadline_it_is_given(db):
    with connect_read_only(db) as conn:
        deadline = Deadline(0.5)
        started = time.monotonic()
        with pytest.raises(QueryFailed, match="0.5 s timeout"):
            run_query(conn, "SELECT repeat('x', 100) FROM range(100000000)", timeout_s=30, max_rows=MAX_ROWS_CAP,
                      deadline=deadline)
        assert time.monotonic() - started < 5
        with pytest.raises(QueryFailed, match="timeout"):  # nothing left: refused before it runs
            run_query(conn, "SELECT 1", deadline=Deadline(1.0, clock=Ticking(2.0)))


def _old_render(table: Table, fmt: str) -> str:
    """How the formats read before they were written chunk by chunk (tabulate, one json.dumps)."""
    if fmt == "json":
        records = [{c: json_value(v) for c, v in zip(table.columns, row)} for row in table.rows]
        return json.dumps(records, indent=1, ensure_ascii=False) + "\n"
    rows = [[_display(v) for v in row] for row in table.rows]
    style = "pipe" if fmt == "markdown" else "simple"
    return tabulate(rows, headers=table.columns, tablefmt=style, disable_numparse=True) + "\n"


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_the_chunked_layouts_read_as_before(fmt):
    values = ["a", " padded ", "", None, 0, 17, -3, 1.5, float("nan"), 1e20, True, False, "x|y", "two\nlines",
              "中文", "é", Decimal("2.50"), datetime(2025, 1, 2, 3, 4), date(2025, 1, 2), "<b>&", 'q"uote', 2**70]
    tables = [Table(["a", " h ", "中", "x|y"], [tuple(values[(i * k) % len(values)] for k in (1, 3, 5, 7))
                                               for i in range(n)]) for n in (1, 3, 40, 1200)]
    tables.append(Table(["only"], []))
    for table in tables:
        if fmt == "table" and not table.rows:
            assert render_table(table, fmt) == "(no rows)\n"
            continue
        assert render_table(table, fmt) == _old_render(table, fmt)


# --- disk: a private, bounded spill folder ----------------------------------------------------------------

def test_spilling_is_bounded_by_max_temp_size(db):
    with private_temp_dir(temp_root(db)) as folder:
        with connect_read_only(db, memory_limit="40MB", temp_directory=folder) as conn:  # default: 40MB of disk
            assert conn.execute("SELECT current_setting('temp_directory')").fetchone()[0] == str(folder)
            with pytest.raises(QueryFailed, match="max_temp_size"):
                run_query(conn, SPILLING_SORT, max_rows=10)
            with pytest.raises(duckdb.Error, match="lock|disabled"):
                conn.execute("SET max_temp_directory_size = '10GB'")
        with connect_read_only(db, memory_limit="40MB", temp_directory=folder, max_temp_size="1GB") as conn:
            table, _ = run_query(conn, SPILLING_SORT, max_rows=10)  # the same sort, allowed more disk
            assert len(table.rows) == 1


def test_the_spill_folder_is_private_and_removed_afterwards(db):
    root = temp_root(db)
    with private_temp_dir(root) as folder, private_temp_dir(root) as shared:
        assert folder == shared  # one process, one DuckDB instance per file: one folder
        assert folder.parent == root and folder.name.startswith(f"query-{os.getpid()}-")
        assert (folder / OWNER_FILE).exists()
    assert not folder.exists() and not root.exists()


def test_threads_of_one_process_share_the_sandbox(db):
    """Connections of one process to one file share DuckDB's instance, so its spill folder and settings too."""
    results, errors, folders = [], [], set()
    all_open = threading.Barrier(4, timeout=30)

    def one_query() -> None:
        try:
            with private_temp_dir(temp_root(db)) as folder:
                with connect_read_only(db, memory_limit="100MB", temp_directory=folder) as conn:
                    folders.add(folder)
                    all_open.wait()  # four connections open at once
                    results.append(run_query(conn, "SELECT count(*) FROM range(2000000) t(i) WHERE i % 7 = 0")[0].rows)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_query) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and results == [[(285715,)]] * 4 and len(folders) == 1
    assert not temp_root(db).exists()


def test_folders_of_dead_processes_are_removed_and_live_ones_kept(db, tmp_path):
    root = tmp_path / "spill"
    holder = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from benchmark_pipeline.lib.analytics.safe_query import private_temp_dir
        with private_temp_dir(Path({str(root)!r})) as folder:
            (folder / "spilled.tmp").write_bytes(b"x" * 1_000_000)
            print(folder, flush=True)
            time.sleep(60)
    """)
    processes = [subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
                 for _ in range(2)]
    try:
        folders = [Path(p.stdout.readline().strip()) for p in processes]
        assert all((f / "spilled.tmp").exists() for f in folders)
        processes[0].send_signal(signal.SIGKILL)  # killed mid-query: nothing of its own runs
        processes[0].wait(10)
        assert folders[0].exists()
        with private_temp_dir(root) as mine:  # the next query
            assert not folders[0].exists() and folders[1].exists() and mine.exists()
        assert remove_stale_temp_dirs(root) == [] and folders[1].exists()
        never_locked = root / "query-999999999-abc"  # killed before it took its lock, by a PID now gone
        never_locked.mkdir()
        assert remove_stale_temp_dirs(root) == [never_locked]
    finally:
        for process in processes:
            process.kill()
            process.wait(10)
