"""Issue 16: no file, whatever it holds or whatever it is, may stop an ingest of the others.

Poison content (nesting past the parser's depth, lone surrogate escapes, numbers no double holds),
files that cannot be read (gone after discovery, permission denied), files that are no regular files
(a FIFO would block the reader) and links that lead out of the ingest roots: each is quarantined or
skipped with its reason, and the good files beside it land, in one process and on worker processes.
Also: a file is one identity in the ledger wherever it is ingested from (item 3), files over the size
limit are never read (item 7), and worker processes die with their parent (item 10).
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from benchmark_pipeline.lib.ingest import batch as batch_module
from benchmark_pipeline.lib.ingest.batch import discover, read_and_validate
from benchmark_pipeline.lib.ingest.jsonfile import parse_json_bytes
from benchmark_pipeline.lib.ingest.watch import scan
from benchmark_pipeline.lib.warehouse.connection import open_reader
from benchmark_pipeline.service import BenchmarkService
from benchmark_pipeline_tests.conftest import perf_record

GOOD = json.dumps([perf_record()]).encode()
# The reasons the operator reads (file problems and skip reasons).
TOO_DEEP = "nested too deeply"
NOT_UNICODE = "invalid Unicode escape"
CANNOT_READ = "cannot read"
OUTSIDE_ROOTS = "outside the ingest roots"
DEEP = b"[" * 1100 + b"]" * 1100


def _record_bytes(**fields_as_json_text: str) -> bytes:
    """One performance record with some fields spelled exactly as given (raw JSON text)."""
    base = json.dumps(perf_record(model_name="poisoned"))[:-1]
    extra = "".join(f', "{key}": {text}' for key, text in fields_as_json_text.items())
    return f"[{base}{extra}}}]".encode()


@contextmanager
def deadline(seconds: int):
    """Fail (instead of hanging the suite) when the body blocks, e.g. on opening a FIFO."""
    def expired(signum, frame):
        raise TimeoutError(f"blocked for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def files_by_name(batch):
    return {Path(p).name: row for p, row in zip(batch.files["source_path"], batch.files.itertuples(index=False))}


def quarantine_of(batch, name):
    names = batch.files.set_index("file_id")["source_path"].map(lambda p: Path(p).name)
    q = batch.quarantine
    return q[q["file_id"].map(names) == name]


# -- parsing: every poison is a problem of its file, never an exception -----------------------------

def test_nesting_past_the_parser_depth_is_a_problem_not_a_recursion_error():
    parsed = parse_json_bytes(DEEP)
    assert parsed.problem == TOO_DEEP and "1024" in parsed.detail


def test_deep_nesting_in_a_file_only_the_standard_library_reads_is_a_problem_too():
    parsed = parse_json_bytes(b"[NaN, " + DEEP + b"]")  # NaN sends it past orjson to the standard library
    assert parsed.problem == TOO_DEEP


def test_lone_surrogate_in_a_value_names_record_and_field():
    parsed = parse_json_bytes(b'[{"model_name": "ok"}, {"batch_results": [{"name": "a\\ud800"}]}]')
    assert parsed.problem == NOT_UNICODE
    assert parsed.detail == ("lone surrogate in the string 'a\\ud800': record 1, field 'batch_results[0].name'")


def test_lone_surrogate_in_a_key_names_the_key():
    parsed = parse_json_bytes(b'{"model_name": "m", "x\\udc00": 1}')
    assert parsed.problem == NOT_UNICODE
    assert parsed.detail.endswith("record 0, field 'x\\udc00'")


def test_surrogate_pairs_and_escaped_backslashes_are_fine():
    assert parse_json_bytes(b'[{"m": "\\ud83d\\ude00", "n": NaN}]').document == [{"m": "\U0001F600", "n": "NaN"}]
    assert parse_json_bytes(b'["\\\\ud800", NaN]').document == ["\\ud800", "NaN"]


def test_numbers_no_double_holds_keep_their_text_and_big_integers_read_as_orjson_reads_them():
    digits = "9" * 4400  # past int()'s 4,300-digit limit
    parsed = parse_json_bytes(f"[1e400, -1e400, {digits}, 123456789012345678901234567890, NaN]".encode())
    assert parsed.problem is None
    assert parsed.document[:3] == ["1e400", "-1e400", digits]
    assert parsed.document[3] == 1.2345678901234568e29 and isinstance(parsed.document[3], float)


# -- a batch: the poison file is quarantined with its reason, the good file lands ------------------

@pytest.mark.parametrize("name, payload, problem", [
    ("deep.json", DEEP, TOO_DEEP),
    ("surrogate_value.json", _record_bytes(test_case='"a\\ud800"'), NOT_UNICODE),
    ("surrogate_model.json", b'[{"model_name": "a\\ud800", "hardware_type": "cpu", "average_latency_ms": 1}]',
     NOT_UNICODE),
    ("surrogate_extra_key.json", _record_bytes(**{"note\\ud800": "1"}), NOT_UNICODE),
])
def test_file_level_poison_is_quarantined_and_the_good_file_lands(drop, tmp_path, name, payload, problem):
    drop("performance", "good.json", GOOD)
    drop("performance", name, payload)
    batch = read_and_validate(discover([tmp_path / "drop"]).files)
    files = files_by_name(batch)
    assert files[name].problem == problem
    assert files["good.json"].problem is None
    assert len(batch.performance) == 1


def test_out_of_range_number_is_quarantined_under_its_own_spelling(drop, tmp_path):
    drop("performance", "good.json", GOOD)
    drop("performance", "inf.json", _record_bytes(memory_peak_mb="1e400", batch_size="9" * 4400))
    batch = read_and_validate(discover([tmp_path / "drop"]).files)
    rows = quarantine_of(batch, "inf.json").set_index("field")
    assert rows.loc["memory_peak_mb", "value"] == "1e400"  # was 'null'
    assert "out of range" in rows.loc["memory_peak_mb", "reason"]
    assert rows.loc["batch_size", "value"].startswith("9999") and "out of range" in rows.loc["batch_size", "reason"]
    assert len(batch.performance) == 1


def test_big_integer_in_an_unknown_key_of_a_file_with_nan_is_stored(drop, tmp_path):
    # The standard library reads this file (NaN); a 30-digit int would make orjson refuse to write `extra`.
    drop("performance", "big.json", _record_bytes(counter="123456789012345678901234567890", power_watts="NaN"))
    batch = read_and_validate(discover([tmp_path / "drop"]).files)
    assert quarantine_of(batch, "big.json")["field"].tolist() == ["power_watts"]
    assert '"counter":1.2345678901234568e+29' in batch.quarantine["record_json"].iloc[0]


def test_value_nested_deeper_than_json_can_be_written_quarantines_its_record_only(drop, tmp_path):
    deep_value = "[" * 300 + "]" * 300  # orjson reads 1024 levels but writes only 254
    drop("performance", "deep300.json", b"[" + _record_bytes(trace=deep_value)[1:-1] + b", "
         + json.dumps(perf_record(model_name="t5-small")).encode() + b"]")
    batch = read_and_validate(discover([tmp_path / "drop"]).files)
    rows = quarantine_of(batch, "deep300.json")
    assert rows[["record_index", "field"]].values.tolist() == [[0, "trace"]]
    assert "nested more than 254 levels" in rows["reason"].iloc[0]
    assert rows["record_json"].iloc[0].startswith('{"average_latency_ms"')  # still kept verbatim
    assert batch.performance["model_name"].tolist() == ["t5-small"]


def test_unforeseen_validation_failure_quarantines_that_file_only(drop, tmp_path, monkeypatch):
    real = batch_module.validate_category

    def explodes_on_marker(category, records, files):
        if any(isinstance(r, dict) and r.get("model_name") == "explosive" for r in records.records):
            raise KeyError("injected fault")
        return real(category, records, files)

    monkeypatch.setattr(batch_module, "validate_category", explodes_on_marker)
    drop("performance", "a_good.json", GOOD)
    drop("performance", "b_bomb.json", [perf_record(model_name="explosive")])
    drop("performance", "c_good.json", [perf_record(model_name="t5-small")])
    batch = read_and_validate(discover([tmp_path / "drop"]).files)
    files = files_by_name(batch)
    assert files["b_bomb.json"].problem == "could not be processed"
    assert files["b_bomb.json"].detail == "validation failed: KeyError: 'injected fault'"
    assert sorted(batch.performance["model_name"]) == ["bert-base-uncased", "t5-small"]


# -- files that cannot be read -----------------------------------------------------------------------

def test_file_gone_between_discovery_and_reading_is_reported_not_raised(drop, tmp_path):
    drop("performance", "a.json", GOOD)
    gone = drop("performance", "b.json", [perf_record(model_name="t5-small")])
    files = discover([tmp_path / "drop"]).files
    gone.unlink()
    batch = read_and_validate(files)
    row = files_by_name(batch)["b.json"]
    assert row.sha256 is None and row.problem == CANNOT_READ and "removed after it was listed" in row.detail
    assert batch.performance["model_name"].tolist() == ["bert-base-uncased"]


def deny_reading(monkeypatch, name: str) -> None:
    """Opening a file of this name fails with EACCES, as after ``chmod 000`` for anyone but root (tests may run
    as root, whom no mode stops): through ``os.open`` and the built-in ``open`` alike."""
    def denying(real):
        def opener(path, *args, **kwargs):
            if not isinstance(path, int) and Path(os.fsdecode(path)).name == name:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))
            return real(path, *args, **kwargs)
        return opener

    monkeypatch.setattr(os, "open", denying(os.open))
    monkeypatch.setattr(io, "open", denying(io.open))
    monkeypatch.setattr(builtins, "open", denying(builtins.open))


def test_permission_denied_is_reported_not_raised(drop, tmp_path, monkeypatch):
    drop("performance", "a.json", GOOD)
    locked = drop("performance", "b.json", GOOD.replace(b"bert", b"vit"))
    deny_reading(monkeypatch, locked.name)
    batch = read_and_validate(discover([tmp_path / "drop"]).files)
    row = files_by_name(batch)["b.json"]
    assert (row.problem, row.detail) == (CANNOT_READ, "permission denied")
    assert len(batch.performance) == 1


def test_file_replaced_by_a_fifo_after_listing_is_refused_without_blocking(drop, tmp_path):
    drop("performance", "a.json", GOOD)
    swapped = drop("performance", "b.json", GOOD)
    files = discover([tmp_path / "drop"]).files
    swapped.unlink()
    os.mkfifo(swapped)
    with deadline(20):
        batch = read_and_validate(files)
    row = files_by_name(batch)["b.json"]
    assert row.problem == CANNOT_READ and row.detail.startswith("not a regular file: a named pipe")
    assert len(batch.performance) == 1


# -- what discovery refuses to read --------------------------------------------------------------

def test_non_regular_files_are_skipped_with_a_reason(drop, tmp_path):
    drop("performance", "a.json", GOOD)
    os.mkfifo(tmp_path / "drop" / "performance" / "pipe.json")
    with deadline(20):
        found = discover([tmp_path / "drop"])
        given = discover([tmp_path / "drop" / "performance" / "pipe.json", "/dev/zero"], category="performance")
    assert found.files["source_path"].map(lambda p: Path(p).name).tolist() == ["a.json"]
    assert found.skipped == [(str(tmp_path / "drop" / "performance" / "pipe.json"),
                              "not a regular file: a named pipe (FIFO), never opened")]
    assert given.files.empty
    assert [why for _, why in given.skipped] == ["not a regular file: a named pipe (FIFO), never opened",
                                                "not a regular file: a character device, never opened"]


def test_links_out_of_the_roots_are_skipped_links_inside_are_read(drop, tmp_path):
    target = drop("performance", "real.json", GOOD)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(GOOD.replace(b"bert", b"vit"))
    folder = tmp_path / "drop" / "performance"
    (folder / "passwd.json").symlink_to("/etc/passwd")
    (folder / "out.json").symlink_to(elsewhere)
    (folder / "in.json").symlink_to(target.name)
    found = discover([tmp_path / "drop"])
    assert found.files["source_path"].map(lambda p: Path(p).name).tolist() == ["real.json"]
    assert sorted(found.skipped) == [
        (str(folder / "out.json"), f"{OUTSIDE_ROOTS} (it leads to {elsewhere})"),
        (str(folder / "passwd.json"), f"{OUTSIDE_ROOTS} (it leads to /etc/passwd)"),
    ]


def test_a_given_link_is_not_followed_out_but_a_given_directory_link_is_a_root(drop, tmp_path):
    drop("performance", "a.json", GOOD)
    elsewhere = tmp_path / "elsewhere" / "performance"
    elsewhere.mkdir(parents=True)
    (elsewhere / "x.json").write_bytes(GOOD)
    link = tmp_path / "drop" / "performance" / "x.json"
    link.symlink_to(elsewhere / "x.json")
    alone = discover([link])
    assert alone.files.empty and alone.skipped[0][1].startswith(OUTSIDE_ROOTS)
    both = discover([link, tmp_path / "elsewhere"])  # the target's own directory is a root too
    assert both.files["source_path"].tolist() == [str(elsewhere / "x.json")]
    (tmp_path / "linked_root").symlink_to(tmp_path / "drop", target_is_directory=True)
    assert len(discover([tmp_path / "linked_root"]).files) == 1


def test_discovery_lists_in_path_order_and_a_root_holds_only_what_is_below_it(drop, tmp_path):
    for name in ("a.json", "a-b.json", "a b.json", "a/b.json"):
        drop("performance", name, GOOD)
    neighbour = tmp_path / "drop-x" / "performance" / "n.json"  # its path starts with the root's, yet is outside
    neighbour.parent.mkdir(parents=True)
    neighbour.write_bytes(GOOD)
    folder = tmp_path / "drop" / "performance"
    (folder / "near.json").symlink_to(neighbour)
    found = discover([tmp_path / "drop"])
    # Path order, name by name: "a/b.json" first, though " ", "-" and "." sort below "/" in a plain string
    assert [Path(p).relative_to(folder.resolve()).as_posix() for p in found.files["source_path"]] == \
        ["a/b.json", "a b.json", "a-b.json", "a.json"]
    assert found.skipped == [(str(folder / "near.json"), f"{OUTSIDE_ROOTS} (it leads to {neighbour.resolve()})")]


def test_file_names_that_are_not_utf8_are_skipped(drop, tmp_path):
    drop("performance", "a.json", GOOD)
    folder = os.fsencode(tmp_path / "drop" / "performance")
    with open(os.path.join(folder, b"bad\xff.json"), "wb") as handle:
        handle.write(GOOD)
    found = discover([tmp_path / "drop"])
    assert len(found.files) == 1
    assert [why for _, why in found.skipped] == ["file name is not valid UTF-8"]


def test_the_drop_watcher_never_proposes_links_or_fifos(drop, tmp_path):
    drop("performance", "a.json", GOOD)
    folder = tmp_path / "drop" / "performance"
    (folder / "passwd.json").symlink_to("/etc/passwd")
    os.mkfifo(folder / "pipe.json")
    assert [Path(e.path).name for e in scan([tmp_path / "drop"])] == ["a.json"]


# -- the whole ingest, on worker processes: stored, quarantined, rerun -----------------------------

def test_poison_files_on_worker_processes_leave_the_good_files_stored(drop, tmp_path, db_path):
    drop("performance", "a_good.json", GOOD)
    drop("performance", "b_deep.json", DEEP)
    drop("performance", "c_surrogate.json", _record_bytes(model_name='"a\\ud800"'))
    drop("performance", "d_digits.json", _record_bytes(batch_size="9" * 4400))
    drop("performance", "e_inf.json", _record_bytes(memory_peak_mb="1e400"))
    drop("performance", "f_key.json", _record_bytes(**{"k\\ud800": "[1]"}))
    drop("performance", "g_good.json", [perf_record(model_name="t5-small")])
    service = BenchmarkService(db_path)
    # One file per chunk, two processes: the path a big drop takes.
    report = service.ingest_paths([tmp_path / "drop"], workers=2, chunk_bytes=1)
    status = dict(zip(report.result.outcomes["source_path"].map(lambda p: Path(p).name),
                      report.result.outcomes["status"]))
    assert status == {"a_good.json": "ingested", "b_deep.json": "quarantined", "c_surrogate.json": "quarantined",
                      "d_digits.json": "quarantined", "e_inf.json": "quarantined", "f_key.json": "quarantined",
                      "g_good.json": "ingested"}
    with open_reader(db_path) as conn:
        models = {r[0] for r in conn.execute("SELECT model_name FROM performance_results JOIN models "
                                              "USING (model_id)").fetchall()}
        ledger = dict(conn.execute("SELECT regexp_extract(source_path, '[^/]+$'), reason FROM ingestion_ledger "
                                   "WHERE status = 'quarantined'").fetchall())
    assert models == {"bert-base-uncased", "t5-small"}
    assert ledger["b_deep.json"].startswith("nested too deeply")
    assert ledger["c_surrogate.json"].endswith("record 0, field 'model_name'")
    rerun = service.ingest_paths([tmp_path / "drop"], workers=2, chunk_bytes=1)
    assert set(rerun.result.outcomes["status"]) == {"unchanged"}
    dry = service.ingest_paths([tmp_path / "drop"], dry_run=True, workers=2, chunk_bytes=1)
    assert set(dry.result.outcomes["status"]) == {"unchanged"}


def test_unreadable_file_is_skipped_not_ledgered_and_not_superseded(drop, tmp_path, db_path, monkeypatch):
    drop("performance", "a.json", GOOD)
    later = drop("performance", "b.json", [perf_record(model_name="t5-small")])
    service = BenchmarkService(db_path)
    service.ingest_paths([tmp_path / "drop"])
    later.write_text(json.dumps([perf_record(model_name="t5-small", batch_size=16)]))
    deny_reading(monkeypatch, later.name)
    for dry_run in (True, False):
        report = service.ingest_paths([tmp_path / "drop"], dry_run=dry_run)
        outcome = report.result.outcomes.set_index(report.result.outcomes["source_path"].map(lambda p: Path(p).name))
        assert outcome.loc["b.json", "status"] == "skipped"
        assert outcome.loc["b.json", "reason"] == "cannot read: permission denied"
    with open_reader(db_path) as conn:
        ledger = conn.execute("SELECT status, count(*) FROM ingestion_ledger GROUP BY status").fetchall()
        kept = conn.execute("SELECT count(*) FROM performance_results WHERE source_path LIKE '%b.json'").fetchall()
    assert ledger == [("ingested", 2)]  # the version read before stands; nothing ledgered for the unread one
    assert kept == [(1,)]


# -- one file, one identity (item 3) ----------------------------------------------------------------

def _live(db_path):
    with open_reader(db_path) as conn:
        facts = conn.execute("SELECT source_path, average_latency_ms FROM performance_results "
                             "ORDER BY average_latency_ms").fetchall()
        ledger = conn.execute("SELECT source_path, status FROM ingestion_ledger ORDER BY ledger_id").fetchall()
    return facts, ledger


def test_a_file_is_the_same_file_from_every_working_directory_and_spelling(drop, tmp_path, db_path, monkeypatch):
    path = drop("performance", "a.json", [perf_record(average_latency_ms=1.0)])
    real = str(path.resolve())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "drop", target_is_directory=True)
    service = BenchmarkService(db_path)
    monkeypatch.chdir(tmp_path)
    first = service.ingest_paths(["drop"])  # relative, inside the working directory
    assert first.result.outcomes["source_path"].tolist() == [real]
    monkeypatch.chdir(elsewhere)
    for spelling in (str(path), "../drop/performance/a.json", str(tmp_path / "linked")):
        again = service.ingest_paths([spelling])
        assert again.result.outcomes[["source_path", "status"]].values.tolist() == [[real, "unchanged"]], spelling
    path.write_text(json.dumps([perf_record(average_latency_ms=2.0)]))
    changed = service.ingest_paths([str(tmp_path / "linked" / "performance")])
    assert changed.result.outcomes["status"].tolist() == ["ingested"]
    # Before: the first ingest ledgered 'drop/performance/a.json', the others the absolute path (a duplicate,
    # then a new file), and the old version's facts stayed live beside the new ones.
    assert _live(db_path) == ([(real, 2.0)], [(real, "superseded"), (real, "ingested")])


def _spell_relative(db_path, absolute: str, relative: str) -> None:
    """Rewrite a file's rows as ingests before absolute identities stored them: relative to their working directory."""
    import duckdb

    from benchmark_pipeline.lib.vocabulary import FACT_TABLES

    with duckdb.connect(str(db_path)) as conn:
        for table in (*FACT_TABLES, "quarantine", "ingestion_ledger"):
            conn.execute(f"UPDATE {table} SET source_path = ? WHERE source_path = ?", [relative, absolute])
        conn.execute("UPDATE ingestion_ledger SET duplicate_of = ? WHERE duplicate_of = ?", [relative, absolute])


def test_an_older_relative_ledger_path_is_taken_over_by_the_file_it_names(drop, tmp_path, db_path, monkeypatch):
    path = drop("performance", "a.json", [perf_record(average_latency_ms=1.0)])
    real = str(path.resolve())
    service = BenchmarkService(db_path)
    monkeypatch.chdir(tmp_path)
    service.ingest_paths([str(path)])
    _spell_relative(db_path, real, "drop/performance/a.json")
    unchanged = service.ingest_paths([str(path)])  # the same bytes: nothing new, the row now spelled absolute
    assert unchanged.result.outcomes["status"].tolist() == ["unchanged"]
    dry = service.ingest_paths(["drop"], dry_run=True)
    assert dry.result.outcomes["status"].tolist() == ["unchanged"]
    path.write_text(json.dumps([perf_record(average_latency_ms=2.0)]))
    dry = service.ingest_paths(["drop"], dry_run=True)
    assert dry.result.outcomes["status"].tolist() == ["ingested"]
    service.ingest_paths(["drop"])
    facts, ledger = _live(db_path)
    assert facts == [(real, 2.0)] and ledger == [(real, "superseded"), (real, "ingested")]
    with open_reader(db_path) as conn:
        history = conn.execute("SELECT history FROM ingestion_ledger ORDER BY ledger_id").fetchall()[0][0]
    assert "was ledgered as drop/performance/a.json" in history


def test_two_live_versions_left_by_older_ingests_are_reconciled(drop, tmp_path, db_path, monkeypatch):
    """The state issue 16 found: the file ledgered relative (version 1) and absolute (a duplicate of it, then
    version 2); both versions' facts live. The next ingest from the first directory keeps version 2 only."""
    path = drop("performance", "a.json", [perf_record(average_latency_ms=1.0)])
    real = str(path.resolve())
    service = BenchmarkService(db_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(tmp_path)
    service.ingest_paths([str(path)])
    _spell_relative(db_path, real, "drop/performance/a.json")
    monkeypatch.chdir(elsewhere)  # from here the relative row names nothing: the file looks new
    assert service.ingest_paths([str(path)]).result.outcomes["status"].tolist() == ["duplicate"]
    path.write_text(json.dumps([perf_record(average_latency_ms=2.0)]))
    assert service.ingest_paths([str(path)]).result.outcomes["status"].tolist() == ["ingested"]
    assert len(_live(db_path)[0]) == 2  # what the old code left behind
    monkeypatch.chdir(tmp_path)
    assert service.ingest_paths([str(path)]).result.outcomes["status"].tolist() == ["unchanged"]
    facts, ledger = _live(db_path)
    assert facts == [(real, 2.0)]
    assert ledger == [(real, "superseded"), (real, "ingested")]  # the duplicate row folded into version 1's
    with open_reader(db_path) as conn:
        summary = conn.execute("SELECT count(*) FROM daily_model_stats").fetchall()[0][0]
        history = conn.execute("SELECT history FROM ingestion_ledger ORDER BY ledger_id").fetchall()[0][0]
    assert summary == 1 and "a newer version of the same file" in history


def test_retract_quarantine_and_replay_find_a_file_by_any_spelling(drop, tmp_path, db_path, monkeypatch):
    path = drop("performance", "a.json", [perf_record(), perf_record(average_latency_ms=-1)])
    (tmp_path / "linked").symlink_to(tmp_path / "drop", target_is_directory=True)
    service = BenchmarkService(db_path)
    monkeypatch.chdir(tmp_path)
    service.ingest_paths([str(path)])
    for spelling in ("drop/performance/a.json", "./drop/../drop/performance/a.json", str(path),
                     "linked/performance/a.json"):
        assert len(service.quarantine(spelling)) == 1, spelling
        assert service.replay(spelling).records_replayed == 1, spelling
    (done,) = service.retract(["linked/performance/a.json"])
    assert done.source_path == str(path.resolve()) and done.result_rows == 1


# -- files too large to read (item 7) ---------------------------------------------------------------

def test_a_file_over_the_size_limit_is_skipped_unread(drop, tmp_path, monkeypatch):
    drop("performance", "a.json", GOOD)
    big = tmp_path / "drop" / "performance" / "big.json"
    with open(big, "wb") as handle:
        handle.truncate(300 << 20)  # sparse: 300 MB that take no disk and no time
    opened = []
    real_read = batch_module.read_regular_file

    def reading(path, *args, **kwargs):
        opened.append(Path(path).name)
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(batch_module, "read_regular_file", reading)
    found = discover([tmp_path / "drop"], max_file_bytes=256 << 20)
    assert found.skipped == [(str(big), "too large: 300.0 MB, over the limit of 256 MB; not read")]
    assert batch_module.refused(found.skipped[0][1])
    batch = read_and_validate(found.files, max_file_bytes=256 << 20)
    assert opened == ["a.json"] and len(batch.performance) == 1
    assert discover([big]).skipped == []  # no limit given: the library itself sets none


def test_a_file_that_grew_past_the_limit_after_listing_is_not_read(drop, tmp_path):
    drop("performance", "a.json", GOOD)
    grows = drop("performance", "grows.json", GOOD)
    files = discover([tmp_path / "drop"], max_file_bytes=1 << 20).files
    with open(grows, "r+b") as handle:
        handle.truncate(3 << 20)
    batch = read_and_validate(files, max_file_bytes=1 << 20)
    row = files_by_name(batch)["grows.json"]
    assert row.sha256 is None and row.problem == CANNOT_READ
    assert row.detail == "too large: 3.0 MB, over the limit of 1 MB; not read (it grew after it was listed)"
    assert len(batch.performance) == 1


def test_the_size_limit_reaches_worker_processes(drop, tmp_path, db_path):
    for name in ("a.json", "b.json", "c.json"):
        drop("performance", name, [perf_record(model_name=name)])
    big = drop("performance", "d_big.json", GOOD)
    with open(big, "r+b") as handle:
        handle.truncate(2 << 20)
    report = BenchmarkService(db_path, max_file_mb=1).ingest_paths([tmp_path / "drop"], workers=2, chunk_bytes=1)
    assert report.skipped == [(str(big), "too large: 2.0 MB, over the limit of 1 MB; not read")]
    assert report.result.outcomes["status"].tolist() == ["ingested"] * 3


# -- worker processes never outlive the ingest (item 10a) ---------------------------------------------

POOL_PARENT = r"""
import json, sys, time
from datetime import datetime, timezone
from pathlib import Path
from benchmark_pipeline.lib.ingest import parallel
from benchmark_pipeline.lib.ingest.batch import discover

root, busy = Path(sys.argv[1]), sys.argv[2] == "busy"
for i in range(4):
    path = root / "performance" / f"f{i}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([{"model_name": "m", "hardware_type": "cpu", "average_latency_ms": 1}]))
if busy:  # a worker deep in a chunk that takes long (a huge file) when the parent dies
    parallel.read_and_validate = lambda *args, **kwargs: time.sleep(600)
with parallel.ValidatedChunks(discover([root]).files, datetime.now(timezone.utc), workers=2, chunk_bytes=1) as chunks:
    time.sleep(1)  # the workers have taken their chunks (busy) or finished them and wait for more (idle)
    print(" ".join(str(pid) for pid in chunks._pool._processes), flush=True)
    time.sleep(600)
"""


def _running(pid: int) -> bool:
    """Alive and not a zombie (a dead child whose new parent never reaps it still has a /proc entry)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc (Linux)")
@pytest.mark.parametrize("state", ["idle", "busy"])
def test_pool_workers_exit_when_their_parent_is_killed(tmp_path, state):
    parent = subprocess.Popen([sys.executable, "-c", POOL_PARENT, str(tmp_path / "drop"), state],
                              stdout=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2 and all(map(_running, workers))
        parent.kill()  # SIGKILL: no cleanup of any kind runs in the parent
        parent.wait(timeout=30)
        deadline = time.monotonic() + 5
        while any(map(_running, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        # Before: both workers sat there for good, idle on their task queue or sleeping in their chunk.
        assert [pid for pid in workers if _running(pid)] == []
    finally:
        parent.kill()
        for pid in workers:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
