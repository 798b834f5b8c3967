"""What every command shares: --version, the exit-code rule, no tracebacks, no library warnings, listings.

Issue items 2 (quarantine list of whole-file problems), 6 (exit codes, unknown names, unexpected
errors), 10 (library warnings out of the terminal) and 12 (--version, listing formats, retract counts).
"""

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from benchmark_pipeline.cli import main as cli_main
from benchmark_pipeline.cli.main import main
from benchmark_pipeline.service import ingest_paths
from benchmark_pipeline.lib.sample_data import write_sample
from benchmark_pipeline_tests.conftest import perf_record

BIN = Path(sys.executable).parent


def cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("BENCHMARK_DB_PATH", "BENCHMARK_DEBUG")}
    return subprocess.run([str(BIN / "benchmark-db"), *args], capture_output=True, text=True, cwd=cwd,
                          env={**base, **(env or {})}, timeout=120)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def quarantined(tmp_path, drop):
    """A warehouse holding a truncated file, a non-JSON file and a file with one bad record."""
    good = perf_record()
    drop("performance", "truncated.json", json.dumps([good])[:40].encode())
    drop("performance", "garbage.json", b"this is not JSON at all\n")
    drop("performance", "mixed.json", [good, perf_record(batch_size=2, average_latency_ms=-1.0)])
    db = tmp_path / "w.duckdb"
    report = ingest_paths([str(tmp_path / "drop")], db)
    assert report.has_quarantine
    return db


# --- item 12: --version ------------------------------------------------------------------------


def test_version_prints_the_installed_package_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"benchmark-db {version('benchmark_pipeline')}"


# --- item 6: one meaning per exit code, documented once -------------------------------------------


def test_top_level_help_documents_every_exit_code(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "exit codes (every command):" in out
    for line in ("0    ok", "1    the command worked and found problems", "2    usage, IO or lock error"):
        assert line in out
    assert "BENCHMARK_DEBUG=1" in out


def test_an_unexpected_error_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path):
    def boom(args):
        raise TypeError("boolean value of NA is ambiguous")

    monkeypatch.delenv("BENCHMARK_DEBUG", raising=False)
    monkeypatch.setattr(cli_main, "build_parser", _parser_with_handler(boom))
    code, out, err = run(capsys, "ledger", "--db-path", str(tmp_path / "w.duckdb"))
    assert code == 2 and out == ""
    assert err.splitlines() == ["benchmark-db: error: unexpected TypeError: boolean value of NA is ambiguous "
                                "(set BENCHMARK_DEBUG=1 for the traceback)"]

    def locked(args):
        from benchmark_pipeline.lib.warehouse.connection import WarehouseLockedError

        raise WarehouseLockedError("w.duckdb is being written by process 42")

    monkeypatch.setattr(cli_main, "build_parser", _parser_with_handler(locked))
    code, _out, err = run(capsys, "ledger", "--db-path", str(tmp_path / "w.duckdb"))
    assert (code, err) == (2, "benchmark-db: error: w.duckdb is being written by process 42\n")

    monkeypatch.setattr(cli_main, "build_parser", _parser_with_handler(boom))
    monkeypatch.setenv("BENCHMARK_DEBUG", "1")
    with pytest.raises(TypeError, match="ambiguous"):
        main(["ledger", "--db-path", str(tmp_path / "w.duckdb")])


def _parser_with_handler(handler):
    original = cli_main.build_parser

    def build():
        parser = original()
        parser.set_defaults(func=handler)
        for action in parser._subparsers._group_actions:
            for sub in action.choices.values():
                sub.set_defaults(func=handler)
        return parser

    return build


def test_a_broken_pipe_is_not_an_error(tmp_path, drop):
    drop("performance", "a.json", [perf_record(batch_size=b) for b in range(1, 200)])
    db = tmp_path / "w.duckdb"
    assert cli("ingest", str(tmp_path / "drop"), "--db-path", str(db), cwd=tmp_path).returncode == 0
    shell = subprocess.run(f"'{BIN / 'benchmark-db'}' quarantine list --status all --db-path '{db}' | head -c 1; "
                           f"'{BIN / 'benchmark-db'}' ledger --db-path '{db}' | head -c 1",
                           shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=120)
    assert "Traceback" not in shell.stderr and "Error" not in shell.stderr


def test_snapshot_usage_errors_exit_2_and_content_problems_exit_1(tmp_path, monkeypatch, capsys):
    write_sample(tmp_path / "sample")
    db = tmp_path / "data" / "warehouse" / "benchmarks.duckdb"
    ingest_paths([str(tmp_path / "sample")], db)
    monkeypatch.setenv("BENCHMARK_DB_PATH", str(db))
    monkeypatch.setenv("BENCHMARK_DATA_DIR", str(tmp_path / "data"))
    for name in ("BENCHMARK_BLOCKS_DIR", "IPFS_API_URL", "IPFS_REQUIRED"):
        monkeypatch.delenv(name, raising=False)
    code, _out, err = run(capsys, "snapshot", "restore", "HEAD", "--to", str(tmp_path / "r.duckdb"))
    assert code == 2 and "no snapshots yet" in err  # was 1: a usage error, not bad content
    assert run(capsys, "snapshot", "create")[0] == 0
    code, _out, err = run(capsys, "snapshot", "restore", "not-a-cid", "--to", str(tmp_path / "r.duckdb"))
    assert code == 2 and "is not a CID" in err  # was 1
    code, _out, err = run(capsys, "snapshot", "prune", "--keep", "0")
    assert code == 2 and "--keep must be at least 1" in err  # was 1
    code, _out, err = run(capsys, "snapshot", "migrate", str(tmp_path / "nope.duckdb"))
    assert code == 2 and "no such database file" in err  # was 1
    code, _out, err = run(capsys, "snapshot", "push")
    assert code == 2 and "IPFS_API_URL is not set" in err  # was an undocumented 3
    monkeypatch.setenv("IPFS_API_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    code, _out, err = run(capsys, "snapshot", "create", "--force")
    assert code == 0 and "warning" in err  # an optional node that is down only warns
    monkeypatch.setenv("IPFS_REQUIRED", "1")
    code, _out, err = run(capsys, "snapshot", "create", "--force")
    assert code == 2 and "IPFS node" in err  # was 3: a required node that cannot be used is an IO error


# --- item 2 and 12: quarantine list, ledger, snapshot list -------------------------------------------


def test_quarantine_list_shows_whole_file_problems(quarantined, capsys):
    code, out, err = run(capsys, "quarantine", "list", "--db-path", str(quarantined))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "quarantine_id\tstatus\tsource_path\tcategory\trecord_index\tfield\tvalue\treason"
    rows = [line.split("\t") for line in lines[1:]]
    by_file = {Path(r[2]).name: r for r in rows}
    assert by_file["truncated.json"][4] == "" and "truncated JSON" in by_file["truncated.json"][7]
    assert by_file["garbage.json"][4] == "" and "not JSON" in by_file["garbage.json"][7]
    assert by_file["mixed.json"][4] == "1"
    assert "3 quarantine rows (2 whole-file problems)" in err


def test_quarantine_list_of_one_whole_file_problem_by_path(quarantined, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the README's example: a cwd-relative path
    code, out, _err = run(capsys, "quarantine", "list", "--file", "drop/performance/truncated.json",
                          "--db-path", str(quarantined))
    assert code == 0 and len(out.splitlines()) == 2 and "truncated JSON" in out
    code, out, err = run(capsys, "quarantine", "list", "--file", "drop/performance/truncatd.json",
                         "--db-path", str(quarantined))
    assert code == 2 and out == ""
    assert "not in the ledger; did you mean:" in err and "truncated.json" in err and "benchmark-db ledger" in err
    code, _out, err = run(capsys, "quarantine", "replay", "--file", "drop/performance/nosuch.json",
                          "--db-path", str(quarantined))
    assert code == 2 and "not in the ledger" in err
    with pytest.raises(SystemExit) as stop:
        main(["quarantine", "list", "--status", "opne", "--db-path", str(quarantined)])
    assert stop.value.code == 2


def test_quarantine_list_json_and_table(quarantined, capsys):
    code, out, _err = run(capsys, "quarantine", "list", "--format", "json", "--db-path", str(quarantined))
    records = json.loads(out)
    assert code == 0 and isinstance(records, list) and len(records) == 3
    whole = [r for r in records if r["record_index"] is None]
    assert len(whole) == 2 and all(r["field"] is None for r in whole)
    assert {r["record_index"] for r in records} == {None, 1}
    code, out, _err = run(capsys, "quarantine", "list", "--format", "table", "--db-path", str(quarantined))
    assert code == 0 and out.splitlines()[0].split()[:3] == ["quarantine_id", "status", "source_path"]


def test_ledger_has_a_header_and_formats(quarantined, capsys):
    code, out, err = run(capsys, "ledger", "--db-path", str(quarantined))
    lines = out.splitlines()
    assert code == 0 and lines[0] == "status\trows_written\trecords_quarantined\tsource_path\tsha256\treason\tduplicate_of"
    assert len(lines) == 4 and "3 ledger rows" in err
    code, out, _err = run(capsys, "ledger", "--format", "json", "--status", "partial", "--db-path", str(quarantined))
    (row,) = json.loads(out)
    assert row["status"] == "partial" and row["rows_written"] == 1 and row["records_quarantined"] == 1
    assert row["source_path"].endswith("mixed.json") and row["duplicate_of"] is None
    code, out, _err = run(capsys, "ledger", "--format", "table", "--db-path", str(quarantined))
    assert code == 0 and out.splitlines()[0].split()[:2] == ["status", "rows_written"]


def test_snapshot_list_has_a_header_and_formats(tmp_path, capsys):
    write_sample(tmp_path / "sample")
    db = tmp_path / "w.duckdb"
    ingest_paths([str(tmp_path / "sample")], db)
    store = ["--snapshots-dir", str(tmp_path / "snaps")]
    code, out, err = run(capsys, "snapshot", "list", *store)
    assert code == 0 and out == "cid\tcreated_at\tsize_bytes\tstate\tdatabase\texport_cid\n" and "no snapshots" in err
    assert run(capsys, "snapshot", "create", "--db-path", str(db), *store)[0] == 0
    code, out, _err = run(capsys, "snapshot", "list", *store)
    header, line = out.splitlines()
    assert header.split("\t")[0] == "cid" and line.split("\t")[3] == "local"
    code, out, _err = run(capsys, "snapshot", "list", "--format", "json", *store)
    (snap,) = json.loads(out)
    assert snap["state"] == "local" and snap["database"] == "w.duckdb" and snap["size_bytes"] == db.stat().st_size


# --- item 12: retract says what it counted ------------------------------------------------------------


def test_retract_counts_result_rows_apart_from_their_child_rows(tmp_path, drop, capsys, monkeypatch):
    records = [perf_record(batch_size=b, batch_results=[{"batch_size": b, "latency_ms": 10.0 + i} for i in range(3)],
                           power_metrics={"power_watts_avg": 200.0}) for b in (1, 2)]
    path = drop("performance", "with_children.json", records)
    db = tmp_path / "w.duckdb"
    ingest_paths([str(path)], db)
    code, out, _err = run(capsys, "ledger", "--format", "json", "--db-path", str(db))
    assert json.loads(out)[0]["rows_written"] == 2
    code, out, err = run(capsys, "retract", str(path), "--db-path", str(db))
    assert code == 0
    assert out.splitlines()[1].split("\t")[:3] == ["retracted", "2", "8"]  # 2 results; 6 batch + 2 power rows
    assert "1 file retracted: 2 result rows deleted" in err and "+8 child rows" in err


# --- item 10: library warnings stay out of the terminal ---------------------------------------------


def test_ingest_with_a_bad_record_prints_no_warning(tmp_path, drop):
    path = drop("performance", "bad.json", [perf_record(), perf_record(batch_size=2, average_latency_ms=-1.0),
                                            perf_record(batch_size=3, model_name=None)])
    result = cli("ingest", str(path), "--db-path", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert result.returncode == 1 and "quarantined" in result.stderr
    assert "Warning" not in result.stderr and "warning" not in result.stderr.lower()


def test_a_library_warning_during_ingest_goes_to_logging_not_stderr(tmp_path, drop):
    """Whatever a library warns about while a command runs, the user's terminal does not show it."""
    path = drop("performance", "bad.json", [perf_record(), perf_record(batch_size=2, average_latency_ms=-1.0)])
    script = (
        "import sys, warnings\n"
        "import benchmark_pipeline.lib.ingest.validate as v\n"
        "original = v._pandera_failures\n"
        "def noisy(*a, **k):\n"
        "    warnings.warn('a library changes its mind in a future version', FutureWarning)\n"
        "    return original(*a, **k)\n"
        "v._pandera_failures = noisy\n"
        "from benchmark_pipeline.cli.main import main\n"
        f"sys.exit(main(['ingest', {str(path)!r}, '--db-path', sys.argv[1]]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("BENCHMARK_DEBUG", "PYTHONWARNINGS")}
    quiet = subprocess.run([sys.executable, "-c", script, str(tmp_path / "quiet.duckdb")], capture_output=True, text=True, cwd=tmp_path, env=env,
                           timeout=120)
    assert quiet.returncode == 1, quiet.stderr
    assert "Warning" not in quiet.stderr
    loud = subprocess.run([sys.executable, "-c", script, str(tmp_path / "loud.duckdb")], capture_output=True, text=True, cwd=tmp_path,
                          env={**env, "BENCHMARK_DEBUG": "1"}, timeout=120)
    assert "FutureWarning: a library changes its mind" in loud.stderr  # still there for whoever debugs
