"""Warehouse maintenance in the library: the validate checks against injected damage, optimize and compaction,
and the clean-json rule (which files on disk the ledger proves ingested)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from benchmark_pipeline.lib.warehouse import maintenance as m
from benchmark_pipeline.lib.warehouse.maintenance import (ARCHIVE, KEEP, REMOVE, FileLedger, JsonFile, LedgerVersion,
                                                          check_invariants, check_ledger, check_orphans, check_schema,
                                                          compact_copy, database_bytes, decide_cleanup,
                                                          refresh_statistics, validate_warehouse)
from benchmark_pipeline.service import BenchmarkService, ingest_paths
from benchmark_pipeline.service.samples import build_sample_warehouse
from benchmark_pipeline_tests.conftest import perf_record

DAY = 86400.0


@pytest.fixture(scope="module")
def rich_warehouse(tmp_path_factory) -> Path:
    """Every kind of fact: performance rows with batch results and power metrics, compatibility, integration
    tests with assertions, a failed benchmark; plus a partial file."""
    root = tmp_path_factory.mktemp("rich")
    drop = root / "drop"
    files = {
        "performance/a.json": [perf_record(batch_size=b, batch_results=[{"batch_size": b, "latency_ms": 3.0 + i}
                                                                        for i in range(2)],
                                           power_metrics={"average_power_mw": 1000 + b}) for b in (1, 2, 4)],
        "performance/b.json": [perf_record(model_name="t5-small"), perf_record(model_name="t5-small", batch_size=2,
                                                                              average_latency_ms=-1.0)],
        "compatibility/c.json": [{"model_name": "bert-base-uncased", "hardware_type": "cpu", "is_compatible": True}],
        "integration/i.json": [{"test_name": "t", "status": "pass",
                                "assertions": [{"name": "x", "passed": True}, {"name": "y", "passed": False}]}],
    }
    import json

    for name, records in files.items():
        (drop / name).parent.mkdir(parents=True, exist_ok=True)
        (drop / name).write_text(json.dumps(records))
    db = root / "rich.duckdb"
    ingest_paths([str(drop)], db)
    return db


@pytest.fixture
def rich(rich_warehouse, tmp_path) -> Path:
    db = tmp_path / "w.duckdb"
    shutil.copyfile(rich_warehouse, db)
    return db


def checks(db: Path) -> dict[str, m.CheckResult]:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        return {c.name: c for c in validate_warehouse(conn)}
    finally:
        conn.close()


def damage(db: Path, *statements: str) -> None:
    conn = duckdb.connect(str(db))
    try:
        for sql in statements:
            conn.execute(sql)
    finally:
        conn.close()


def problems(result: m.CheckResult) -> dict[str, int]:
    return {f.what: f.count for f in result.findings}


# --- validate: a clean warehouse passes every check ---------------------------------------------------------


def test_a_clean_sample_warehouse_passes_every_check(tmp_path):
    db = build_sample_warehouse(tmp_path / "sample")
    found = checks(db)
    assert list(found) == ["schema", "invariants", "orphans", "ledger"]
    assert all(c.ok for c in found.values()), [c.line() for c in found.values()]
    assert found["invariants"].checked.endswith("invariants")
    assert found["schema"].line().startswith("schema      ok (version ")


def test_a_warehouse_with_every_kind_of_fact_passes(rich):
    conn = duckdb.connect(str(rich), read_only=True)
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("performance_batch_results", "power_metrics", "integration_test_assertions")}
    conn.close()
    assert counts == {"performance_batch_results": 6, "power_metrics": 3, "integration_test_assertions": 2}
    assert all(c.ok for c in checks(rich).values())


# --- validate: injected damage is found and named ------------------------------------------------------------


def test_a_deleted_parent_row_shows_as_key_orphan_and_ledger_problems(rich):
    conn = duckdb.connect(str(rich))
    victim, path = conn.execute("SELECT result_id, source_path FROM performance_results WHERE batch_size = 2 "
                                "AND model_id = (SELECT model_id FROM models WHERE model_name = 'bert-base-uncased')"
                                ).fetchone()
    conn.execute("DELETE FROM performance_results WHERE result_id = ?", [victim])
    conn.close()
    found = checks(rich)
    assert found["schema"].ok
    invariants = problems(found["invariants"])
    assert invariants == {
        "fk_result_id (every performance_batch_results.result_id exists in performance_results)": 2,
        "fk_result_id (every power_metrics.result_id exists in performance_results)": 1,
    }
    orphans = found["orphans"]
    assert problems(orphans) == {"performance_batch_results rows whose performance_results row is gone (result_id)": 2,
                                 "power_metrics rows whose performance_results row is gone (result_id)": 1}
    assert all(f"result_id={victim}" in e and path in e for f in orphans.findings for e in f.examples)
    ledger = found["ledger"]
    assert problems(ledger) == {"active ledger rows whose rows_written differs from the rows stored": 1,
                                "test runs whose record_count differs from their rows": 1}
    (example,) = ledger.findings[0].examples
    assert example.startswith(f"{path} @ ") and example.endswith("(ingested): rows_written 3, 2 stored")
    assert found["invariants"].line().startswith("invariants  3 problems: fk_result_id")


def test_a_corrupted_ledger_count_is_found_for_that_file_only(rich):
    damage(rich, "UPDATE ingestion_ledger SET rows_written = rows_written + 7 WHERE source_path LIKE '%/c.json'")
    found = checks(rich)
    assert [name for name, c in found.items() if not c.ok] == ["ledger"]
    (finding,) = found["ledger"].findings
    assert finding.count == 1 and finding.examples[0].endswith("(ingested): rows_written 8, 1 stored")
    assert "/compatibility/c.json @ " in finding.examples[0]


def test_a_ledger_row_claiming_rows_that_are_gone_is_an_orphan(rich):
    damage(rich, "DELETE FROM hardware_compatibility", "DELETE FROM test_runs WHERE test_type = 'compatibility'")
    found = checks(rich)
    assert found["invariants"].ok and found["ledger"].ok
    (claim,) = found["orphans"].findings
    assert claim.what == "active ledger rows claiming rows the warehouse does not hold"
    assert claim.count == 1 and claim.examples[0].endswith("(ingested) claims 1 rows")


def test_facts_of_a_version_the_ledger_no_longer_holds_as_active(rich):
    damage(rich, "UPDATE ingestion_ledger SET status = 'superseded' WHERE source_path LIKE '%/i.json'")
    (finding,) = checks(rich)["orphans"].findings
    # 1 test result, 2 assertions, 1 test run of the integration file
    assert finding.what == "fact rows of a file version without an active ledger row" and finding.count == 4
    assert any("integration_test_assertions rows of" in e and "(ledger: superseded)" in e for e in finding.examples)


def test_schema_damage_and_an_old_version_are_reported(rich):
    damage(rich, "ALTER TABLE models DROP COLUMN version", "ALTER TABLE test_runs ADD COLUMN stray INTEGER")
    schema = checks(rich)["schema"]
    assert problems(schema) == {"columns missing": 1, "columns the column dictionary does not know": 1}
    assert schema.findings[0].examples == ["models.version"]
    assert schema.findings[1].examples == ["test_runs.stray"]
    damage(rich, "DELETE FROM schema_version WHERE version = (SELECT max(version) FROM schema_version)")
    schema = checks(rich)["schema"]
    assert not schema.ok and "older than this code" in schema.findings[0].what
    assert "tables and columns not compared (another schema version)" in schema.notes


def test_each_check_alone_on_a_row_without_speed(rich):
    damage(rich, "UPDATE performance_results SET average_latency_ms = NULL, latency_p50_ms = NULL, "
                 "throughput_items_per_second = NULL WHERE result_id = (SELECT min(result_id) FROM performance_results)")
    conn = duckdb.connect(str(rich), read_only=True)
    try:
        result = check_invariants(conn)
        first = conn.execute("SELECT min(result_id) FROM performance_results").fetchone()[0]
        assert check_schema(conn).ok and check_orphans(conn).ok and check_ledger(conn).ok
    finally:
        conn.close()
    (finding,) = result.findings
    assert finding.what.startswith("has_speed (every row has latency > 0 or throughput > 0)") and finding.count == 1
    assert len(finding.examples) == 1 and finding.examples[0].startswith(f"result_id={first} ")


def test_a_warehouse_of_an_old_schema_is_reported_not_crashed_on(tmp_path):
    db = tmp_path / "v1.duckdb"
    shutil.copyfile(Path(__file__).parents[2] / "fixtures" / "warehouse_v1.duckdb", db)
    found = checks(db)
    assert list(found) == ["schema", "invariants", "orphans", "ledger"]
    assert found["schema"].findings[0].what.startswith("schema version 1, expected ")
    unchecked = found["invariants"].findings[-1]
    assert unchecked.what == "invariants that could not be checked" and "hardware_key" in unchecked.examples[0]


# --- optimize --------------------------------------------------------------------------------------------------


def test_statistics_and_checkpoint_leave_no_wal(rich):
    conn = duckdb.connect(str(rich))
    wal = rich.with_name(rich.name + ".wal")
    try:
        conn.execute("DELETE FROM performance_batch_results WHERE batch_id < 3")
        assert wal.exists() and wal.stat().st_size > 0  # the delete is only in the log so far
        assert refresh_statistics(conn) == ["ANALYZE", "FORCE CHECKPOINT"]
        assert not wal.exists() or wal.stat().st_size == 0
    finally:
        conn.close()


def test_compaction_gives_space_back_and_keeps_every_row_and_sequence(tmp_path, drop):
    big = [perf_record(batch_size=b, model_name=f"m{b % 7}", average_latency_ms=1.0 + b) for b in range(1, 4000)]
    paths = [drop("performance", f"f{i}.json", big[i::8]) for i in range(8)]
    db = tmp_path / "w.duckdb"
    ingest_paths([str(tmp_path / "drop")], db)
    service = BenchmarkService(db)
    service.retract([str(p) for p in paths[:7]])
    service.optimize()  # checkpoint: deleted rows vacuumed, the file does not shrink by much
    before = database_bytes(db)
    target = tmp_path / "compact.duckdb"
    rows = compact_copy(db, target)
    assert target.stat().st_size < before
    conn = duckdb.connect(str(target))
    try:
        copied = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in rows}
        next_id = conn.execute("SELECT nextval('seq_result_id')").fetchone()[0]
        assert conn.execute("SELECT hardware_key('cuda', 'x', 1.0, 2, 'd') IS NOT NULL").fetchone()[0]
    finally:
        conn.close()
    assert copied == rows and rows["performance_results"] == len(big[7::8])
    source = duckdb.connect(str(db), read_only=True)
    try:
        last = source.execute("SELECT last_value FROM duckdb_sequences() WHERE sequence_name = 'seq_result_id'"
                              ).fetchone()[0]
    finally:
        source.close()
    assert next_id == last + 1 == len(big) + 1  # ids are never reused, even of retracted rows
    with pytest.raises(FileExistsError):
        compact_copy(db, target)


def test_a_copy_that_differs_is_refused_and_removed(rich, tmp_path, monkeypatch):
    catalog = m._catalog

    def lossy(conn, alias):
        found = catalog(conn, alias)
        if alias == "compact_dst":
            found["rows"] = {**found["rows"], "models": found["rows"]["models"] - 1}
        return found

    monkeypatch.setattr(m, "_catalog", lossy)
    target = tmp_path / "copy.duckdb"
    with pytest.raises(m.CompactionError, match="differs in rows"):
        compact_copy(rich, target)
    assert not target.exists()


# --- clean-json: the rule ----------------------------------------------------------------------------------------

NOW = 1_800_000_000.0
SHA = "a" * 64
OTHER = "b" * 64


def file(name: str = "/drop/a.json", sha: str | None = SHA, age_days: float = 40.0, link: bool = False) -> JsonFile:
    return JsonFile(name, name, "/drop", 100, NOW - age_days * DAY, is_link=link, sha256=sha)


def version(path: str = "/drop/a.json", sha: str = SHA, status: str = "ingested", written: int = 3,
            stored: int | None = None, **kw) -> LedgerVersion:
    return LedgerVersion(path, sha, status, written, written if stored is None else stored, **kw)


def decide(f: JsonFile, own=(), originals=(), older=30.0, archive=False):
    (d,) = decide_cleanup([f], {f.path: FileLedger(list(own), list(originals))}, older * DAY, NOW, archive)
    return d.action, d.why


def test_only_an_old_file_whose_bytes_are_an_ingested_version_with_its_rows_goes():
    assert decide(file(), [version()]) == (REMOVE, "ingested")
    assert decide(file(), [version()], archive=True) == (ARCHIVE, "ingested")


@pytest.mark.parametrize("case, expected", [
    ("never ingested", m.NEVER_INGESTED),
    ("changed since ingest", m.CHANGED),
    ("an older version comes back", m.NOT_ACTIVE),
    ("quarantined", m.QUARANTINED),
    ("partial", m.PARTIAL),
    ("not a result", m.NOT_A_RESULT),
    ("retracted", m.NOT_ACTIVE),
    ("rows missing", m.ROWS_MISSING),
    ("too new", m.TOO_NEW),
    ("link", m.LINK),
    ("unreadable", m.UNREADABLE),
    ("duplicate of a retracted file", m.DUPLICATE_UNPROVEN),
    ("duplicate whose original lost rows", m.ROWS_MISSING),
])
def test_every_other_file_is_kept_with_why(case, expected):
    args = {
        "never ingested": (file(), []),
        "changed since ingest": (file(sha=OTHER), [version()]),
        "an older version comes back": (file(), [version(status="superseded"), version(sha=OTHER)]),
        "quarantined": (file(), [version(status="quarantined", written=0)]),
        "partial": (file(), [version(status="partial", records_quarantined=1)]),
        "not a result": (file(), [version(status="not a result", written=0)]),
        "retracted": (file(), [version(status="retracted")]),
        "rows missing": (file(), [version(written=3, stored=2)]),
        "too new": (file(age_days=29.0), [version()]),
        "link": (file(link=True), [version()]),
        "unreadable": (file(sha=None), [version()]),
        "duplicate of a retracted file": (file(), [version(status="duplicate", written=0, duplicate_of="/x/first.json")]),
        "duplicate whose original lost rows": (file(), [version(status="duplicate", written=0,
                                                                duplicate_of="/x/first.json")]),
    }[case]
    originals = []
    if case == "duplicate of a retracted file":
        originals = [version("/x/first.json", status="retracted")]
    if case == "duplicate whose original lost rows":
        originals = [version("/x/first.json", written=3, stored=1)]
    assert decide(*args, originals=originals) == (KEEP, expected)


def test_a_duplicate_of_an_ingested_version_is_proven_by_its_original():
    dup = version(status="duplicate", written=0, duplicate_of="/x/first.json")
    assert decide(file(), [dup], originals=[version("/x/first.json")]) == (REMOVE, "ingested")
    # the original's other version does not count: the same bytes must be ingested there
    assert decide(file(), [dup], originals=[version("/x/first.json", sha=OTHER)])[0] == KEEP


def test_the_age_limit_is_inclusive_of_older_files_only():
    assert decide(file(age_days=30.0), [version()], older=30.0) == (REMOVE, "ingested")
    assert decide(file(age_days=0.0), [version()], older=0.0) == (REMOVE, "ingested")
    assert decide(file(age_days=29.99), [version()], older=30.0) == (KEEP, m.TOO_NEW)


# --- clean-json: removing and archiving ------------------------------------------------------------------------


def on_disk(tmp_path: Path, name: str, data: bytes) -> JsonFile:
    """Write ``drop/<name>`` and return it as a scan of the drop folder finds it."""
    path = tmp_path / "drop" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    found = [f for f in m.scan_json_files([tmp_path / "drop"]) if f.path == str(path)]
    return m.with_hash(found[0]) if found else None


def test_a_file_is_only_removed_while_its_bytes_are_the_proven_ones(tmp_path):
    proven = on_disk(tmp_path, "a.json", b"[1]")
    Path(proven.path).write_bytes(b"[2]")  # changed after it was checked
    with pytest.raises(m.FileChangedError):
        m.remove_file(proven)
    assert Path(proven.path).read_bytes() == b"[2]"
    assert sorted(p.name for p in Path(proven.path).parent.iterdir()) == ["a.json"]  # nothing left behind
    m.remove_file(m.with_hash(proven))
    assert not Path(proven.path).exists()


def test_archiving_never_replaces_another_file(tmp_path):
    archive = tmp_path / "archive"
    first = on_disk(tmp_path, "sub/a.json", b"[1]")
    (archive / "sub").mkdir(parents=True)
    (archive / "sub" / "a.json").write_bytes(b"[other]")
    with pytest.raises(FileExistsError):
        m.archive_file(first, archive)
    assert Path(first.path).read_bytes() == b"[1]" and (archive / "sub" / "a.json").read_bytes() == b"[other]"
    (archive / "sub" / "a.json").write_bytes(b"[1]")  # the same bytes already archived: the original can go
    assert m.archive_file(first, archive) == archive / "sub" / "a.json" and not Path(first.path).exists()


def test_scanning_lists_json_files_links_as_links_and_skips_hidden_and_the_archive(tmp_path):
    root = tmp_path / "drop"
    on_disk(tmp_path, "a.json", b"[]")
    on_disk(tmp_path, "deep/B.JSON", b"[]")
    on_disk(tmp_path, ".hidden.json", b"[]")
    on_disk(tmp_path, "notes.txt", b"x")
    on_disk(tmp_path, "archive/old.json", b"[]")
    (root / "link.json").symlink_to(root / "a.json")
    found = {Path(f.path).relative_to(root).as_posix(): f for f in m.scan_json_files([root], exclude=root / "archive")}
    assert sorted(found) == ["a.json", "deep/B.JSON", "link.json"]
    assert found["link.json"].is_link and found["link.json"].identity == str((root / "a.json").resolve())
    with pytest.raises(FileNotFoundError):
        m.scan_json_files([root / "missing"])
