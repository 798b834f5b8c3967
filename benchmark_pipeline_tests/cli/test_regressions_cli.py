"""``benchmark-db regressions detect`` on raw series files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmark_pipeline.cli.main import main

REFERENCE_SERIES = Path(__file__).resolve().parents[1] / "fixtures" / "changepoint"
SAMPLE = REFERENCE_SERIES / "otava" / "tests" / "resources" / "sample.csv"
SEMICOLONS = REFERENCE_SERIES / "otava" / "tests" / "resources" / "sample-semicolons.csv"
TIGERBEETLE = REFERENCE_SERIES / "otava" / "tigerbeetle_series.json"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["regressions", "detect", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_output_is_exactly_one_object(capsys):
    code, out, _ = run(capsys, "--input", str(SAMPLE), "--column", "metric2", "--mode", "otava", "--format", "json")
    assert code == 0
    report = json.loads(out)  # the whole of stdout parses as one object
    assert set(report) == {"change_points", "outliers", "details", "params"}
    assert report["change_points"] == [6]
    assert report["outliers"] == []
    (detail,) = report["details"]
    assert set(detail) == {"index", "pvalue", "mean_before", "mean_after", "pct_change", "direction"}
    assert detail["index"] == 6
    assert detail["pct_change"] == pytest.approx(-12.94, abs=0.01)
    assert detail["direction"] == "regression"  # unknown name: a drop is worse, as in Otava
    assert report["params"]["window_len"] == 50 and report["params"]["max_pvalue"] == 0.001


def test_several_numeric_columns_without_column_is_a_usage_error(capsys):
    code, out, err = run(capsys, "--input", str(SAMPLE))
    assert code == 2
    assert out == ""
    assert "metric1, metric2" in err and "--column" in err


def test_semicolon_csv_and_unknown_column(capsys):
    code, out, _ = run(capsys, "--input", str(SEMICOLONS), "--column", "metric1", "--mode", "otava")
    assert code == 0 and json.loads(out)["change_points"] == []
    code, out, err = run(capsys, "--input", str(SEMICOLONS), "--column", "metric9")
    assert code == 2 and "metric9" in err


def test_tigerbeetle_robust_via_cli(capsys):
    code, out, _ = run(capsys, "--input", str(TIGERBEETLE), "--column", "series", "--window", "30",
                       "--max-pvalue", "0.1", "--min-magnitude", "0.05", "--mode", "robust")
    report = json.loads(out)
    assert code == 0
    assert report["change_points"] == [15, 71]
    assert 10 in report["outliers"]
    assert report["params"]["min_run"] == 2 and report["params"]["mode"] == "robust"


def test_comment_lines_header_and_empty_cells(tmp_path, capsys):
    rng = np.random.default_rng(1)
    values = list(200 * (1 + 0.01 * rng.standard_normal(60)))
    values[30:] = [v * 1.2 for v in values[30:]]
    lines = ["# produced by a benchmark job", "time,average_latency_ms"]
    for i, v in enumerate(values):
        cell = "" if i in (5, 40) else f"{v:.4f}"
        lines.append(f"2025-01-{1 + i // 3:02d}T0{i % 3}:00:00Z,{cell}")
    lines.insert(20, "# a comment in the middle")
    path = tmp_path / "latency.csv"
    path.write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "--input", str(path), "--mode", "otava")
    report = json.loads(out)
    assert code == 0
    assert report["change_points"] == [30]  # 0-based over data rows: comments and header skipped
    assert report["details"][0]["direction"] == "regression"  # latency up is worse
    assert report["params"]["column"] == "average_latency_ms" and report["params"]["n_points"] == 60
    assert "2 empty cells filled" in err


def test_json_list_input_and_direction_override(tmp_path, capsys):
    values = [100.0] * 30 + [130.0] * 30
    path = tmp_path / "series.json"
    path.write_text(json.dumps(values))
    code, out, _ = run(capsys, "--input", str(path), "--mode", "otava", "--direction", "lower-is-better")
    report = json.loads(out)
    assert code == 0 and report["change_points"] == [30]
    assert report["details"][0]["direction"] == "regression"
    code, out, _ = run(capsys, "--input", str(path), "--mode", "otava")
    assert json.loads(out)["details"][0]["direction"] == "improvement"


def test_table_format(capsys):
    code, out, _ = run(capsys, "--input", str(SAMPLE), "--column", "metric2", "--format", "table", "--mode", "otava")
    assert code == 0
    assert "regression" in out and "-12.94" in out


@pytest.mark.parametrize(
    "argv",
    [["--window", "1"], ["--max-pvalue", "0"], ["--min-magnitude", "-1"], ["--mode", "otava", "--min-run", "3"]],
)
def test_bad_parameters_exit_2(capsys, argv):
    code, out, _ = run(capsys, "--input", str(SAMPLE), "--column", "metric2", *argv)
    assert code == 2 and out == ""


def test_missing_file_exit_2(tmp_path, capsys):
    code, _, err = run(capsys, "--input", str(tmp_path / "nope.csv"))
    assert code == 2 and "nope.csv" in err


def test_regressions_requires_a_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["regressions"])
    assert exc.value.code == 2
