"""Issue 16 end to end: ``benchmark-db ingest`` over poison, unreadable, non-regular and linked files; from two
working directories; on a full disk; over files too large to read; waiting for the writer lock.

Each run is a real process (as an operator runs it), except where a fault has to be injected into the
process itself (a file that vanishes mid-run, a permission root does not feel, worker chunking).
"""

from __future__ import annotations

import errno
import json
import os
import re
import selectors
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from benchmark_pipeline.cli.main import main
from benchmark_pipeline.lib.ingest.parallel import ValidatedChunks
from benchmark_pipeline.lib.warehouse import load
from benchmark_pipeline.lib.warehouse.connection import open_reader
from benchmark_pipeline.service import core as service_core
from benchmark_pipeline_tests.cli.test_ingest_cli import BENCHMARK_DB, run
from benchmark_pipeline_tests.conftest import perf_record
from benchmark_pipeline_tests.lib.ingest.test_fault_injection import deny_reading
from benchmark_pipeline_tests.lib.warehouse.test_lock_faults import held

POISON = {
    "deep.json": b"[" * 1100 + b"]" * 1100,
    "surrogate.json": b'[{"model_name": "a\\ud800", "hardware_type": "cpu", "average_latency_ms": 1}]',
    "surrogate_key.json": b'[{"model_name": "m", "hardware_type": "cpu", "average_latency_ms": 1, "x\\ud800": 1}]',
    "digits.json": b'[{"model_name": "m", "hardware_type": "cpu", "average_latency_ms": ' + b"9" * 4400 + b"}]",
    "inf.json": b'[{"model_name": "m", "hardware_type": "cpu", "average_latency_ms": 1, "memory_peak_mb": 1e400}]',
}


def ledger(db_path: Path) -> dict[str, tuple[str, str | None]]:
    with open_reader(db_path) as conn:
        rows = conn.execute("SELECT source_path, status, reason FROM ingestion_ledger").fetchall()
    return {Path(path).name: (status, reason) for path, status, reason in rows}


def test_poison_files_are_quarantined_and_the_good_file_is_stored(drop, db_path, tmp_path):
    drop("performance", "good.json", [perf_record()])
    for name, payload in POISON.items():
        drop("performance", name, payload)
    for attempt in ("first", "rerun"):
        result = run("ingest", tmp_path / "drop", "--db-path", db_path)
        assert "Traceback" not in result.stderr and "error" not in result.stderr, result.stderr
        assert result.returncode == (1 if attempt == "first" else 0), result.stderr
    dry = run("ingest", tmp_path / "drop", "--db-path", db_path, "--dry-run")
    assert dry.returncode == 0 and "6 files (6 unchanged)" in dry.stderr, dry.stderr
    stored = ledger(db_path)
    assert stored["good.json"] == ("ingested", None)
    assert {name: stored[name][0] for name in POISON} == dict.fromkeys(POISON, "quarantined")
    assert stored["deep.json"][1] == "nested too deeply: arrays and objects nested more than 1024 levels deep"
    assert stored["surrogate.json"][1] == ("invalid Unicode escape: lone surrogate in the string 'a\\ud800': "
                                           "record 0, field 'model_name'")
    assert stored["surrogate_key.json"][1].endswith("lone surrogate in the key 'x\\ud800': record 0, field 'x\\ud800'")


def test_out_of_range_number_is_named_as_written(drop, db_path, tmp_path):
    drop("performance", "inf.json", POISON["inf.json"])
    result = run("ingest", tmp_path / "drop", "--db-path", db_path)
    assert result.returncode == 1
    assert ("inf.json: record 0, field 'memory_peak_mb': non-finite: out of range of a double (beyond ±1.8e308) "
            "(value '1e400')") in result.stderr
    assert "'null'" not in result.stderr


def test_poison_on_two_workers_leaves_the_good_files_stored(drop, db_path, tmp_path, monkeypatch, capsys):
    # Force one chunk per file so `--workers 2` really forks (real chunks are 32 MB).
    monkeypatch.setattr(service_core, "ValidatedChunks",
                        lambda files, now, workers, chunk_bytes, progress, **kwargs:
                        ValidatedChunks(files, now, workers, 1, progress, **kwargs))
    drop("performance", "a_good.json", [perf_record()])
    drop("performance", "z_good.json", [perf_record(model_name="t5-small")])
    for name, payload in POISON.items():
        drop("performance", name, payload)
    code = main(["ingest", str(tmp_path / "drop"), "--db-path", str(db_path), "--workers", "2"])
    out = capsys.readouterr()
    assert code == 1, out.err
    assert "7 files (2 ingested, 5 quarantined)" in out.err
    assert {name: status for name, (status, _) in ledger(db_path).items()} == {
        "a_good.json": "ingested", "z_good.json": "ingested", **dict.fromkeys(POISON, "quarantined")}


def test_unreadable_file_is_named_and_the_others_go_on(drop, db_path, tmp_path, monkeypatch, capsys):
    drop("performance", "a.json", [perf_record()])
    locked = drop("performance", "locked.json", [perf_record(model_name="t5-small")])
    deny_reading(monkeypatch, locked.name)  # what chmod 000 does to anyone but root
    code = main(["ingest", str(tmp_path / "drop"), "--db-path", str(db_path)])
    out = capsys.readouterr()
    assert code == 1
    assert f"skipped {locked}: cannot read: permission denied" in out.err
    assert "error" not in out.err and str(db_path) + ":" not in out.err
    assert f"skipped\t0\t{locked}\tcannot read: permission denied" in out.out
    assert ledger(db_path) == {"a.json": ("ingested", None)}


def test_file_vanishing_after_discovery_is_named_and_the_others_go_on(drop, db_path, tmp_path, monkeypatch, capsys):
    drop("performance", "a.json", [perf_record()])
    gone = drop("performance", "gone.json", [perf_record(model_name="t5-small")])
    real_discover = service_core.discover

    def discover_then_delete(*args, **kwargs):
        found = real_discover(*args, **kwargs)
        gone.unlink()  # the race: listed, then removed before it is read
        return found

    monkeypatch.setattr(service_core, "discover", discover_then_delete)
    code = main(["ingest", str(tmp_path / "drop"), "--db-path", str(db_path)])
    out = capsys.readouterr()
    assert code == 1
    assert f"skipped {gone}: cannot read: no such file (removed after it was listed)" in out.err
    assert "2 files (1 ingested, 1 skipped)" in out.err
    assert ledger(db_path) == {"a.json": ("ingested", None)}


def test_links_out_of_the_drop_folder_are_skipped_and_never_stored(drop, db_path, tmp_path):
    real = drop("performance", "real.json", [perf_record()])
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps([perf_record(model_name="smuggled")]))
    folder = real.parent
    (folder / "passwd.json").symlink_to("/etc/passwd")
    (folder / "smuggled.json").symlink_to(outside)
    (folder / "alias.json").symlink_to("real.json")
    result = run("ingest", tmp_path / "drop", "--db-path", db_path)
    assert result.returncode == 1, result.stderr
    assert f"skipped {folder / 'passwd.json'}: outside the ingest roots (it leads to /etc/passwd)" in result.stderr
    assert f"skipped {folder / 'smuggled.json'}: outside the ingest roots (it leads to {outside})" in result.stderr
    assert ledger(db_path) == {"real.json": ("ingested", None)}
    with open_reader(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM models WHERE model_name = 'smuggled'").fetchall() == [(0,)]
    given = run("ingest", folder / "smuggled.json", "--db-path", db_path)  # named on the command line
    assert given.returncode == 1 and "outside the ingest roots" in given.stderr
    assert "smuggled.json" not in ledger(db_path)


@pytest.mark.parametrize("kind", ["fifo", "dev_zero"])
def test_non_regular_files_are_skipped_not_opened(drop, db_path, tmp_path, kind):
    drop("performance", "a.json", [perf_record()])
    if kind == "fifo":
        target = tmp_path / "drop" / "performance" / "pipe.json"
        os.mkfifo(target)
        why = "not a regular file: a named pipe (FIFO), never opened"
    else:
        target = Path("/dev/zero")
        why = "not a regular file: a character device, never opened"
    result = run("ingest", target, tmp_path / "drop", "--type", "performance", "--db-path", db_path)  # would block
    assert result.returncode == 1, result.stderr
    assert f"skipped {target}: {why}" in result.stderr
    assert "1 files (1 ingested)" in result.stderr


def test_control_characters_in_file_names_are_escaped(drop, db_path, tmp_path):
    drop("performance", "esc\x1b[2Jx\nname.json", [perf_record()])
    drop("performance", "bad.json", b"")
    folder = os.fsencode(tmp_path / "drop" / "performance")
    with open(os.path.join(folder, b"raw\xff\x9b.json"), "wb") as handle:
        handle.write(b"[]")
    result = run("ingest", tmp_path / "drop", "--db-path", db_path)
    assert result.returncode == 1, result.stderr
    printed = result.stdout + result.stderr
    assert "\x1b" not in printed and "\x9b" not in printed
    assert "esc\\x1b[2Jx\\nname.json" in result.stdout
    assert len(result.stdout.splitlines()) == 2  # the newline in the name broke no line
    assert f"skipped {tmp_path}/drop/performance/raw\\xff\\x9b.json: file name is not valid UTF-8" in result.stderr
    listing = run("ledger", "--db-path", db_path)
    assert "\x1b" not in listing.stdout and "esc\\x1b[2Jx name.json" in listing.stdout


# -- item 3: one identity, whatever the working directory -----------------------------------------------

def test_ingests_from_two_directories_keep_one_live_version_of_a_changed_file(drop, db_path, tmp_path):
    path = drop("performance", "a.json", [perf_record(average_latency_ms=1.0)])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert run("ingest", "drop", "--db-path", db_path, cwd=tmp_path).returncode == 0
    again = run("ingest", path, "--db-path", db_path, cwd=elsewhere)
    assert again.stdout.startswith(f"unchanged\t0\t{path}\t"), again.stdout  # was: a duplicate of itself
    path.write_text(json.dumps([perf_record(average_latency_ms=2.0)]))
    assert run("ingest", tmp_path / "drop", "--db-path", db_path, cwd=elsewhere).stdout.startswith("ingested\t1\t")
    with open_reader(db_path) as conn:
        live = conn.execute("SELECT source_path, average_latency_ms FROM performance_results").fetchall()
    assert live == [(str(path), 2.0)]  # was: the old version's row as well
    listing = run("ledger", "--db-path", db_path, cwd=elsewhere)
    assert [line.split("\t")[:4:3] for line in listing.stdout.splitlines()[1:]] == [["superseded", str(path)],
                                                                                   ["ingested", str(path)]]
    retracted = run("retract", "drop/performance/a.json", "--db-path", db_path, cwd=tmp_path)
    assert retracted.returncode == 0 and f"\t{path}\tingested" in retracted.stdout, retracted.stderr


# -- item 6: disk full, readers that give up ---------------------------------------------------------------

NO_SPACE = {
    "oserror": OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
    "duckdb-io": duckdb.IOException('IO Error: Could not write file "x.duckdb": No space left on device'),
    "duckdb-fatal": duckdb.FatalException('FATAL Error: Failed to create checkpoint because of error: Could not '
                                          'write file "x.duckdb": No space left on device'),
}


def _ledger_rows(db_path: Path) -> list[tuple]:
    with open_reader(db_path) as conn:
        return conn.execute("SELECT source_path, sha256, status FROM ingestion_ledger ORDER BY ledger_id").fetchall()


@pytest.mark.parametrize("fault", list(NO_SPACE))
def test_disk_full_during_an_ingest_exits_2_and_says_where_to_free_space(drop, db_path, tmp_path, monkeypatch,
                                                                          capsys, fault):
    drop("performance", "a.json", [perf_record()])
    assert main(["ingest", str(tmp_path / "drop"), "--db-path", str(db_path)]) == 0
    before = _ledger_rows(db_path)
    drop("performance", "b.json", [perf_record(model_name="t5-small")])

    def full(self, batch):
        raise NO_SPACE[fault]

    monkeypatch.setattr(load.BatchWriter, "write", full)
    capsys.readouterr()
    code = main(["ingest", str(tmp_path / "drop"), "--db-path", str(db_path)])
    err = capsys.readouterr().err
    # Before: "unexpected IOException: ... (set BENCHMARK_DEBUG=1 for the traceback)", or for the OSError
    # the bare "No space left on device" with nothing to do about it.
    assert code == 2, err
    (line,) = err.splitlines()
    assert line.startswith(f"benchmark-db: error: {db_path}: no space left on the device holding {db_path.parent} (")
    assert "free space there, then run the same ingest again" in line
    assert "unexpected" not in line and "BENCHMARK_DEBUG" not in line
    assert _ledger_rows(db_path) == before


def _mount_tmpfs(where: Path, size: str) -> str | None:
    """Mount a tmpfs of ``size`` on ``where``; why not, when it cannot be done here."""
    where.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run mount: {exc}"
    return None if done.returncode == 0 else f"mount -t tmpfs refused: {done.stderr.strip() or done.returncode}"


def _fill(directory: Path) -> Path:
    """Take every free byte of the file system holding ``directory``."""
    filler = directory / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * (1 << 20))
                handle.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_disk_full_on_a_real_small_file_system(drop, tmp_path):
    small = tmp_path / "small"
    why = _mount_tmpfs(small, "16m")
    if why is not None:
        pytest.skip(f"needs a 16 MB tmpfs to fill ({why}); under CI=true this must run, so there it fails instead")
    try:
        db = small / "benchmarks.duckdb"
        drop("performance", "a.json", [perf_record()])
        assert run("ingest", tmp_path / "drop", "--db-path", db).returncode == 0
        before = _ledger_rows(db)
        big = tmp_path / "big"
        for f in range(10):
            rows = [perf_record(model_name=f"m{f}", batch_size=b + 1) for b in range(2000)]
            (big / "performance").mkdir(parents=True, exist_ok=True)
            (big / "performance" / f"r{f}.json").write_text(json.dumps(rows))
        filler = _fill(small)
        full = run("ingest", big, "--db-path", db)
        assert full.returncode == 2, full.stderr
        assert f"no space left on the device holding {small}" in full.stderr
        assert "free space there, then run the same ingest again" in full.stderr
        assert "unexpected" not in full.stderr and "Traceback" not in full.stderr
        filler.unlink()
        assert _ledger_rows(db) == before  # what was there before is intact
        rerun = run("ingest", big, "--db-path", db)
        assert rerun.returncode == 0, rerun.stderr
        assert "10 files (10 ingested)" in rerun.stderr
    finally:
        subprocess.run(["umount", "-l", str(small)], capture_output=True, timeout=30)


@pytest.mark.parametrize("command", [["ledger"], ["ingest", "--dry-run"], ["quarantine", "list"], ["status"]])
def test_a_reader_that_times_out_exits_2_and_says_to_wait_or_raise_the_timeout(drop, db_path, tmp_path, command):
    drop("performance", "a.json", [perf_record()])
    assert run("ingest", tmp_path / "drop", "--db-path", db_path).returncode == 0
    args = [*command, tmp_path / "drop"] if command[0] == "ingest" else command
    with held(db_path, "writer") as writer:
        result = run(*args, "--db-path", db_path, env={"BENCHMARK_READ_TIMEOUT_S": "0.5"})
    # Before: exit 2 with DuckDB's lock message ("within 0 s: IO Error: Could not set lock on file ... See also
    # https://duckdb.org/...") and nothing about what to do.
    assert result.returncode == 2, result.stderr
    assert "kept the warehouse busy for longer than the read timeout (0.5 s)" in result.stderr
    assert "wait for the write to finish and run this again, or give readers longer with " \
           "BENCHMARK_READ_TIMEOUT_S" in result.stderr
    assert f"a writer (pid {writer.pid} on " in result.stderr
    assert "IO Error" not in result.stderr and "Traceback" not in result.stderr


# -- item 7: a size limit, applied before reading ---------------------------------------------------------

def test_files_over_the_size_limit_are_skipped_and_named_with_the_limit(drop, db_path, tmp_path):
    drop("performance", "a.json", [perf_record()])
    big = tmp_path / "drop" / "performance" / "huge.json"
    with open(big, "wb") as handle:
        handle.truncate(300 << 20)  # sparse
    result = run("ingest", tmp_path / "drop", "--db-path", db_path)
    # Before: read whole (about 750 MB of memory for this file) and quarantined as "not JSON".
    assert result.returncode == 1, result.stderr
    assert f"skipped {big}: too large: 300.0 MB, over the limit of 256 MB; not read" in result.stderr
    assert "raise --max-file-mb (or BENCHMARK_MAX_FILE_MB)" in result.stderr
    assert "1 files (1 ingested)" in result.stderr
    assert ledger(db_path) == {"a.json": ("ingested", None)}
    with open(big, "r+b") as handle:
        handle.truncate(2 << 20)
    flag = run("ingest", big, "--db-path", db_path, "--max-file-mb", "1")
    assert flag.returncode == 1 and "too large: 2.0 MB, over the limit of 1 MB" in flag.stderr
    env = run("ingest", big, "--db-path", db_path, env={"BENCHMARK_MAX_FILE_MB": "1"})
    assert env.returncode == 1 and "over the limit of 1 MB" in env.stderr
    raised = run("ingest", big, "--db-path", db_path, "--max-file-mb", "3", env={"BENCHMARK_MAX_FILE_MB": "1"})
    assert raised.returncode == 1 and "too large" not in raised.stderr
    assert raised.stdout.startswith(f"quarantined\t0\t{big}\tnot JSON")  # read: the flag wins over the variable
    bad = run("ingest", big, "--db-path", db_path, "--max-file-mb", "0")
    assert bad.returncode == 2 and "--max-file-mb" in bad.stderr


# -- item 10: an ingest waiting for the writer lock says so, and how long it will wait --------------------

def _ingest_process(*args, env: dict | None = None) -> subprocess.Popen:
    full_env = {k: v for k, v in os.environ.items() if k != "BENCHMARK_DB_PATH"}
    return subprocess.Popen([*BENCHMARK_DB, "ingest", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**full_env, **(env or {})})


def _stderr_line(process: subprocess.Popen, within_s: float = 60) -> str:
    """The next line the process writes on stderr; fails instead of hanging when none comes."""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        assert selector.select(timeout=within_s), f"nothing on stderr for {within_s} s"
    return process.stderr.readline().rstrip("\n")


WAITING = re.compile(r"benchmark-db: waiting for the writer lock held by pid (\d+) on \S+ \(.+\), since "
                     r"\d\d:\d\d:\d\d UTC \(up to ([\d.]+) s; --lock-timeout / BENCHMARK_LOCK_TIMEOUT_S\)")


def test_an_ingest_waiting_for_the_lock_says_for_whom_and_how_long(drop, db_path, tmp_path):
    drop("performance", "a.json", [perf_record()])
    with held(db_path, "writer") as writer:
        ingest = _ingest_process(tmp_path / "drop", "--db-path", db_path)
        waiting = WAITING.fullmatch(_stderr_line(ingest))  # before: not a word while it waited (up to 600 s)
    out, err = ingest.communicate(timeout=120)
    assert waiting is not None and waiting.groups() == (str(writer.pid), "600")
    assert ingest.returncode == 0 and out.startswith("ingested\t1\t"), err
    assert run("ingest", tmp_path / "drop", "--db-path", db_path).stderr.startswith("1 files")  # a free lock: silent


@pytest.mark.parametrize("how", ["flag", "variable"])
def test_lock_timeout_bounds_the_wait(drop, db_path, tmp_path, how):
    drop("performance", "a.json", [perf_record()])
    option, env = (["--lock-timeout", "1.5"], None) if how == "flag" else ([], {"BENCHMARK_LOCK_TIMEOUT_S": "1.5"})
    with held(db_path) as holder:
        ingest = _ingest_process(tmp_path / "drop", "--db-path", db_path, *option, env=env)
        waiting = WAITING.fullmatch(_stderr_line(ingest))
        started = time.monotonic()
        _, err = ingest.communicate(timeout=120)
        gave_up_after = time.monotonic() - started
    assert waiting is not None and waiting.groups() == (str(holder.pid), "1.5"), err
    assert ingest.returncode == 2, err
    assert gave_up_after < 10  # not 600 s
    (error,) = err.splitlines()
    assert error.startswith(f"benchmark-db: error: {db_path}: another writer (pid {holder.pid} on ")
    assert error.endswith("held the warehouse lock for more than 1.5 s; wait for it to finish, or wait longer with "
                          "--lock-timeout SECONDS / BENCHMARK_LOCK_TIMEOUT_S")
    for bad in ("soon", "-1"):
        assert run("ingest", tmp_path / "drop", "--db-path", db_path, "--lock-timeout", bad).returncode == 2
    assert run("ingest", tmp_path / "drop", "--db-path", db_path, env={"BENCHMARK_LOCK_TIMEOUT_S": "soon"}
               ).returncode == 2
