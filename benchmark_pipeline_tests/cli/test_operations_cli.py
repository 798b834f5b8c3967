"""``benchmark-db retract`` and ``benchmark-db quarantine list|replay`` as users run them."""

import os
import subprocess
import sys
from pathlib import Path

from benchmark_pipeline.cli.main import main
from benchmark_pipeline.lib.ingest import fields
from benchmark_pipeline.lib.warehouse.connection import open_reader
from benchmark_pipeline_tests.conftest import perf_record

BIN = Path(sys.executable).parent


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "BENCHMARK_DB_PATH"}
    return subprocess.run([str(BIN / "benchmark-db"), *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=120)


def test_retract_then_ledger_says_retracted(tmp_path, drop):
    path = drop("performance", "a.json", [perf_record(), perf_record(batch_size=2)])
    db = tmp_path / "w.duckdb"
    assert cli("ingest", str(path), "--db-path", str(db), cwd=tmp_path).returncode == 0
    result = cli("retract", str(path), "--db-path", str(db), "--reason", "wrong driver", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header, line = result.stdout.splitlines()
    assert header == "status\tresult_rows\tchild_rows\tsource_path\tprevious_status"
    assert line.startswith("retracted\t2\t0\t")  # two results, as the ledger's rows_written says
    assert "2 result rows deleted" in result.stderr and "1 test run" in result.stderr
    ledger = cli("ledger", "--status", "retracted", "--db-path", str(db), cwd=tmp_path)
    assert f"\t{path}\t" in ledger.stdout  # ledgered under its absolute path, whatever the working directory
    missing = cli("retract", str(tmp_path / "never.json"), "--db-path", str(db), cwd=tmp_path)
    assert missing.returncode == 2 and "no active version" in missing.stderr
    other = drop("performance", "b.json", [perf_record(batch_size=8)])
    assert cli("ingest", str(other), "--db-path", str(db), cwd=tmp_path).returncode == 0
    typo = cli("retract", "drop/performance/bb.json", "--db-path", str(db), cwd=tmp_path)
    assert typo.returncode == 2 and f"did you mean: {other}" in typo.stderr
    assert "a.json" not in typo.stderr  # retracted: no longer a candidate
    again = cli("retract", "drop/performance/a.json", "--db-path", str(db), cwd=tmp_path)
    assert again.returncode == 2 and "its latest version is retracted" in again.stderr


def test_quarantine_list_and_replay_after_a_fix(tmp_path, drop, monkeypatch, capsys):
    path = drop("performance", "a.json", [perf_record(),
                                          perf_record(average_latency_ms=None, throughput_items_per_second=None,
                                                      lat_avg_ms=3.0, batch_size=4)])
    db = tmp_path / "w.duckdb"
    assert cli("ingest", str(path), "--db-path", str(db), cwd=tmp_path).returncode == 1
    listed = cli("quarantine", "list", "--file", str(path), "--db-path", str(db), cwd=tmp_path)
    assert listed.returncode == 0 and len(listed.stdout.strip().splitlines()) == 2
    assert "\topen\t" in listed.stdout and "needs average_latency_ms" in listed.stdout

    monkeypatch.chdir(tmp_path)
    assert main(["quarantine", "replay", "--db-path", str(db)]) == 1  # nothing fixed yet
    specs = tuple(fields.FieldSpec(s.name, s.kind, s.aliases + (("lat_avg_ms", 1.0),), s.unit)
                  if s.name == "average_latency_ms" else s for s in fields.FIELDS["performance"])
    monkeypatch.setitem(fields.FIELDS, "performance", specs)
    capsys.readouterr()
    assert main(["quarantine", "replay", "--file", str(path), "--db-path", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"ingested\t1\t0\t{path}" in out
    with open_reader(db) as conn:
        assert conn.execute("SELECT count(*) FROM performance_results").fetchall()[0][0] == 2
    replayed = cli("quarantine", "list", "--status", "replayed", "--db-path", str(db), cwd=tmp_path)
    assert "\treplayed\t" in replayed.stdout
