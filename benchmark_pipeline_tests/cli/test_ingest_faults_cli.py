"""Issue 16 end to end: ``benchmark-db ingest`` over poison, unreadable, non-regular and linked files.

Each run is a real process (as an operator runs it), except where a fault has to be injected into the
process itself (a file that vanishes mid-run, a permission root does not feel, worker chunking).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmark_pipeline.cli.main import main
from benchmark_pipeline.lib.ingest.parallel import ValidatedChunks
from benchmark_pipeline.lib.warehouse.connection import open_reader
from benchmark_pipeline.service import core as service_core
from benchmark_pipeline_tests.cli.test_ingest_cli import run
from benchmark_pipeline_tests.conftest import perf_record
from benchmark_pipeline_tests.lib.ingest.test_fault_injection import deny_reading

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
                        lambda files, now, workers, chunk_bytes, progress: ValidatedChunks(files, now, workers, 1,
                                                                                           progress))
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
