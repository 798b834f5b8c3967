"""Otava mode must give exactly apache-otava 0.8.0's change points on the reference series in fixtures/changepoint."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from benchmark_pipeline.lib.changepoint.otava import detect_otava, fill_missing, first_pass_pvalue

REFERENCE_SERIES = Path(__file__).resolve().parents[2] / "fixtures" / "changepoint"
TIGERBEETLE = json.loads((REFERENCE_SERIES / "otava" / "tigerbeetle_series.json").read_text())
CSV_SAMPLES = [
    REFERENCE_SERIES / "otava" / "tests" / "resources" / "sample.csv",
    REFERENCE_SERIES / "otava" / "tests" / "resources" / "sample-unix-time.csv",
    REFERENCE_SERIES / "otava" / "tests" / "resources" / "sample-semicolons.csv",
    REFERENCE_SERIES / "otava" / "examples" / "csv" / "data" / "local_sample.csv",
]


@pytest.mark.parametrize(
    "case", TIGERBEETLE["otava_expected_outputs"], ids=[c["test"] for c in TIGERBEETLE["otava_expected_outputs"]]
)
def test_tigerbeetle_matches_otava(case):
    found = detect_otava(TIGERBEETLE["series"], **case["params"])
    assert [cp.index for cp in found] == case["expected_change_point_indexes"]


def test_default_parameters_are_otavas():
    # Otava 0.8.0 defaults: window 50, p 0.001, magnitude 0 -> these eleven points on TigerBeetle
    # equal what the explicit p=0.001 run with window 50 gives.
    assert [cp.index for cp in detect_otava(TIGERBEETLE["series"])] == [
        cp.index for cp in detect_otava(TIGERBEETLE["series"], window_len=50, max_pvalue=0.001, min_magnitude=0.0)
    ]
    assert first_pass_pvalue(0.001) == pytest.approx(0.01)
    assert first_pass_pvalue(0.1) == pytest.approx(0.2)
    assert first_pass_pvalue(0.6) == 0.6


@pytest.mark.parametrize("path", CSV_SAMPLES, ids=lambda p: p.name)
def test_csv_samples(path):
    delimiter = ";" if "semicolons" in path.name else ","
    rows = list(csv.DictReader(path.open(), delimiter=delimiter))
    metric1 = [float(r["metric1"]) for r in rows]
    metric2 = [float(r["metric2"]) for r in rows]
    assert detect_otava(metric1) == []
    (step,) = detect_otava(metric2)
    assert step.index == 6
    assert step.stats.mean_before == pytest.approx(10.481666, rel=1e-5)
    assert step.stats.mean_after == pytest.approx(9.125)
    assert step.stats.pct_change == pytest.approx(-12.94, abs=0.01)
    assert step.stats.pvalue == pytest.approx(4.985262e-06, rel=1e-5)  # otava's own figure


def test_constant_series_has_no_change_point():
    assert detect_otava([42.0] * 120) == []
    assert detect_otava([7.0]) == []
    assert detect_otava([]) == []


def test_clean_step_is_found_at_first_index_of_new_regime():
    rng = np.random.default_rng(11)
    values = 100 * (1 + 0.01 * rng.standard_normal(160))
    values[97:] *= 1.2
    assert [cp.index for cp in detect_otava(values)] == [97]


def test_fill_missing_forward_fills_and_backfills_the_start():
    assert fill_missing([None, None, 3.0, None, 5.0, float("nan")]) == [3.0, 3.0, 3.0, 3.0, 5.0, 5.0]
    with pytest.raises(ValueError):
        fill_missing([None, None])


def test_non_finite_values_are_refused():
    with pytest.raises(ValueError, match="finite"):
        detect_otava([1.0, float("nan"), 2.0])
