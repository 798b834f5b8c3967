"""benchmark-db report, query and compare, run in-process on an ingested warehouse."""

import json
import subprocess
import sys

import pytest

from benchmark_pipeline.cli.main import main
from benchmark_pipeline.lib.analytics.synthetic import commit_for_day
from benchmark_pipeline.service.samples import build_sample_warehouse

A100 = "cuda: NVIDIA A100-SXM4-80GB"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return str(build_sample_warehouse(tmp_path_factory.mktemp("cli"), days=10))


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_analytics_commands_import_nothing_heavy_for_help():
    code = ("import sys, benchmark_pipeline.cli.main as m; m.build_parser(); "
            "heavy = [n for n in ('pandas', 'duckdb', 'plotly', 'dagster') if n in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_report_markdown_to_stdout_and_json_to_file(capsys, db, tmp_path):
    code, out, _err = run(capsys, "report", "summary", "--db-path", db)
    assert code == 0 and out.startswith("# Benchmark summary") and "## Compatibility matrix" in out
    target = tmp_path / "out" / "hw.json"
    code, out, err = run(capsys, "report", "hardware", "--format", "json", "--output", str(target),
                         "--model", "t5-small", "--since", "2025-03-05", "--db-path", db)
    assert code == 0 and out == "" and "wrote" in err
    document = json.loads(target.read_text())
    assert document["filters"] == {"model": "t5-small", "hardware": None, "since": "2025-03-05",
                                   "include_simulated": False}


def test_report_html_to_a_file(capsys, db, tmp_path):
    # Without --output the page goes under the data folder: lib/reports/test_report_cli_output.py.
    target = tmp_path / "c.html"
    code, _out, _err = run(capsys, "report", "compatibility", "--format", "html", "--output", str(target),
                           "--db-path", db)
    assert code == 0 and target.read_text().startswith("<!DOCTYPE html>")


def test_report_rejects_bad_dates_and_missing_warehouse(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["report", "summary", "--since", "last tuesday"])
    assert exc.value.code == 2
    code, _out, err = run(capsys, "report", "summary", "--db-path", str(tmp_path / "none.duckdb"))
    assert code == 2 and "no warehouse" in err


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "markdown", "html"])
def test_query_formats(capsys, db, fmt):
    code, out, _err = run(capsys, "query", "--sql", "SELECT model_name FROM models ORDER BY 1", "--format", fmt,
                          "--db-path", db)
    assert code == 0 and "t5-small" in out
    if fmt == "json":
        assert json.loads(out)[0] == {"model_name": "bert-base-uncased"}


@pytest.mark.parametrize("sql, word", [
    ("DELETE FROM models", "DELETE"),
    ("COPY models TO 'x.csv'", "COPY"),
    ("ATTACH 'x.duckdb' AS x", "ATTACH"),
    ("INSTALL httpfs", "INSTALL/LOAD"),
    ("SELECT * FROM read_json_auto('/etc/hostname')", "file and network access"),
])
def test_query_refusals_exit_nonzero_with_a_clear_message(capsys, db, sql, word):
    code, out, err = run(capsys, "query", "--sql", sql, "--db-path", db)
    assert code == 2 and out == "" and "refused" in err and word in err


def test_query_timeout_and_errors(capsys, db):
    code, _out, err = run(capsys, "query", "--sql", "SELECT sum(hash(i)) FROM range(100000000000) t(i)",
                          "--timeout", "0.3", "--db-path", db)
    assert code == 2 and "timeout" in err
    code, _out, err = run(capsys, "query", "--sql", "SELECT * FROM no_such_table", "--db-path", db)
    assert code == 2 and "no_such_table" in err


def test_compare_model_and_hardware(capsys, db):
    code, out, err = run(capsys, "compare", "--model", "bert-base-uncased", "--metric", "throughput",
                         "--format", "csv", "--db-path", db)
    assert code == 0 and "median throughput" in err
    header = out.splitlines()[0].split(",")
    assert header[:2] == ["batch_size", "precision"] and A100 in header and header[-1] == "best"
    code, out, _err = run(capsys, "compare", "--hardware", "NVIDIA T4", "--metric", "latency", "--format", "json",
                          "--db-path", db)
    rows = json.loads(out)
    assert code == 0 and {r["hardware"] for r in rows} == {"cuda: NVIDIA T4"} and "t5-small" in rows[0]
    code, out, _err = run(capsys, "compare", "--model", "vit-base-patch16-224", "--db-path", db)
    assert code == 0 and "best" in out.splitlines()[0]


def test_compare_runs_and_usage_errors(capsys, db):
    code, out, err = run(capsys, "compare", "--run", commit_for_day(7)[:8], "--run", commit_for_day(8)[:8],
                         "--metric", "throughput", "--format", "json", "--db-path", db)
    rows = json.loads(out)
    assert code == 0 and "A = commit" in err and len(rows) == 22
    assert all(r["verdict"] in {"better", "worse", "same"} for r in rows)
    code, _out, err = run(capsys, "compare", "--run", "1", "--db-path", db)
    assert code == 2 and "exactly two" in err
    code, _out, err = run(capsys, "compare", "--model", "nope", "--db-path", db)
    assert code == 2 and "no model named 'nope'" in err
    with pytest.raises(SystemExit):
        main(["compare", "--model", "a", "--hardware", "cuda"])


def test_unknown_names_exit_2_and_name_the_closest_known_ones(capsys, db):
    code, out, err = run(capsys, "report", "model", "--model", "nosuch", "--db-path", db)
    assert code == 2 and out == ""  # was 0 with an empty report
    assert "no model named 'nosuch'" in err and "bert-base-uncased" in err and "SELECT model_name FROM models" in err
    code, out, err = run(capsys, "report", "hardware", "--hardware", "cdua", "--db-path", db)
    assert code == 2 and "no hardware type or device named 'cdua'; did you mean: cuda" in err
    code, _out, err = run(capsys, "compare", "--model", "bert-base", "--db-path", db)
    assert code == 2 and "did you mean: bert-base-uncased" in err and "(all 3:" in err
    code, _out, err = run(capsys, "compare", "--hardware", "NVIDIA A100", "--db-path", db)
    assert code == 2 and "did you mean: NVIDIA A100-SXM4-80GB" in err
    # Known names in any case, and a known hardware type with no results yet, still work.
    assert run(capsys, "report", "model", "--model", "T5-SMALL", "--db-path", db)[0] == 0
    assert run(capsys, "report", "compatibility", "--hardware", "tpu", "--db-path", db)[0] == 0
    assert run(capsys, "compare", "--hardware", "gpu", "--db-path", db)[0] == 0


def test_schema_lists_the_derived_tables(capsys):
    code, out, _err = run(capsys, "schema", "--table", "hardware_recommendations")
    assert code == 0 and "## hardware_recommendations (derived" in out
    assert "topsis_score\tDOUBLE\t0..1\t" in out and "cost_per_hour_usd\tDOUBLE\tUSD/h\t" in out
    code, out, _err = run(capsys, "schema")
    for table in ("compatibility_matrix", "hardware_comparison", "model_comparison", "daily_model_stats"):
        assert f"## {table} (derived" in out
    assert "\t?\t" not in out  # every column has a type, the derived ones too
    code, _out, err = run(capsys, "schema", "--table", "hardware_recomendations")
    assert code == 2 and "did you mean: hardware_recommendations" in err
