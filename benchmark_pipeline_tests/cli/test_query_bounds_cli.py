"""``benchmark-db query`` within its bounds, as a whole process (issue 16, item 5): peak memory near the
memory limit, the whole command within --timeout, unusable limits refused, spilling bounded and its
folder cleaned up even after a kill."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from benchmark_pipeline.cli.main import main
from benchmark_pipeline.lib.analytics.safe_query import MAX_ROWS_CAP, temp_root

CLI = [sys.executable, "-c", "import sys; from benchmark_pipeline.cli.main import main; sys.exit(main())"]
# Runs the command as its only child and prints the child's peak resident memory (KiB) and exit code.
PEAK_RSS = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)")
MB = 1_000_000


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("query-bounds") / "tiny.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE TABLE t AS SELECT 1 AS one")
    return str(path)


def peak_rss(db: str, *args: str) -> tuple[int, int, str]:
    """(peak RSS in bytes, exit code, stderr) of ``benchmark-db query --db-path db *args`` in its own process."""
    done = subprocess.run([sys.executable, "-c", PEAK_RSS, *CLI, "query", "--db-path", db, *args],
                          capture_output=True, text=True, timeout=300)
    kib, code = done.stdout.split()
    return int(kib) * 1024, int(code), done.stderr


@pytest.mark.parametrize("option, value", [
    ("--timeout", "nan"), ("--timeout", "inf"), ("--timeout", "-inf"), ("--timeout", "-1"), ("--timeout", "0"),
    ("--timeout", "1e9"), ("--max-rows", "0"), ("--max-rows", "-3"), ("--max-rows", str(MAX_ROWS_CAP + 1)),
    ("--max-rows", "many"), ("--memory-limit", "100"), ("--memory-limit", "0MB"), ("--max-temp-size", "big"),
])
def test_unusable_limits_are_refused_with_exit_2(capsys, db, option, value):
    with pytest.raises(SystemExit) as exc:
        main(["query", "--sql", "SELECT 1", f"{option}={value}", "--db-path", db])
    assert exc.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err


def test_the_row_cap_is_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["query", "--help"])
    assert f"at most {MAX_ROWS_CAP:,}" in " ".join(capsys.readouterr().out.split())


def test_peak_memory_stays_near_the_memory_limit(db):
    baseline, code, _ = peak_rss(db, "--sql", "SELECT 1")
    assert code == 0
    peak, code, err = peak_rss(db, "--sql", "SELECT repeat('x', 1000) FROM range(10000000)", "--memory-limit",
                               "100MB", "--max-rows", str(MAX_ROWS_CAP), "--format", "table")
    print(f"peak RSS {peak / MB:.0f} MB (SELECT 1: {baseline / MB:.0f} MB)")
    assert code == 0 and "showing the first" in err and "--memory-limit" in err
    assert peak < 4 * 100 * MB + 250 * MB, f"peak RSS {peak / MB:.0f} MB (SELECT 1: {baseline / MB:.0f} MB)"


def test_the_whole_command_ends_within_the_timeout(db, tmp_path):
    """A million rows fetch in a second or two but take far longer to lay out: the deadline stops that too."""
    target = tmp_path / "out.txt"
    sql = "SELECT i, i + 1 AS a, i + 2 AS b, i + 3 AS c, i + 4 AS d FROM range(10000000) t(i)"
    timeout = 5
    started = time.monotonic()
    done = subprocess.run([*CLI, "query", "--sql", sql, "--max-rows", str(MAX_ROWS_CAP), "--format", "table",
                           "--timeout", str(timeout), "--output", str(target), "--db-path", db],
                          capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - started
    assert done.returncode == 2 and f"{timeout} s timeout" in done.stderr, done.stderr
    # Laying out all the rows takes over 60 s on this machine when quiet (far more when loaded); stopped at the
    # deadline, the command ends within start-up and exit of it. The grace allows for a loaded machine.
    assert elapsed < timeout + 20, f"took {elapsed:.1f} s against --timeout {timeout}"
    assert not target.exists() and list(tmp_path.iterdir()) == []  # nothing written, no temporary file left


def test_spilling_is_bounded_by_default_and_on_request(capsys, db):
    sort = ("SELECT * FROM (SELECT i, md5(i::varchar) || repeat('x', 100) s FROM range(500000) t(i) "
            "ORDER BY hash(i)) OFFSET 499999")
    code = main(["query", "--sql", sort, "--memory-limit", "40MB", "--db-path", db])
    _out, err = capsys.readouterr()
    assert code == 2 and "max_temp_size" in err  # as much disk as memory by default: not enough
    code = main(["query", "--sql", sort, "--memory-limit", "40MB", "--max-temp-size", "1GB", "--format", "csv",
                 "--db-path", db])
    out, _err = capsys.readouterr()
    assert code == 0 and out.splitlines()[0] == "i,s" and len(out.splitlines()) == 2
    assert not temp_root(Path(db)).exists()  # the private spill folder went with the query


def test_a_killed_query_leaves_a_folder_that_the_next_query_removes(capsys, db):
    long_sort = ("SELECT count(*) FROM (SELECT * FROM (SELECT i, md5(i::varchar) || repeat('x', 200) s "
                 "FROM range(20000000) t(i) ORDER BY hash(i)) OFFSET 19999999)")
    process = subprocess.Popen([*CLI, "query", "--sql", long_sort, "--memory-limit", "50MB", "--max-temp-size",
                                "2GB", "--timeout", "120", "--db-path", db],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = temp_root(Path(db))
    folder = root / "none"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            folders = list(root.glob(f"query-{process.pid}-*"))
            if folders and sum(f.stat().st_size for f in folders[0].iterdir()) > 20 * MB:
                folder = folders[0]
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"the query never spilled 20 MB into {root}/query-{process.pid}-*")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    assert folder.exists()  # nothing of a killed process runs to clean up after it
    assert main(["query", "--sql", "SELECT 1", "--db-path", db]) == 0
    capsys.readouterr()
    assert not folder.exists() and not root.exists()
