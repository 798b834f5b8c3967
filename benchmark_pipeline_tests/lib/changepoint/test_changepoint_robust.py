"""Robust mode: GESD outliers (MongoDB's variant) left out, persistence, and the issue's TigerBeetle case."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmark_pipeline.lib.changepoint.gesd import gesd
from benchmark_pipeline.lib.changepoint.robust import detect, detect_robust, rolling_median_residuals

REFERENCE_SERIES = Path(__file__).resolve().parents[2] / "fixtures" / "changepoint"
TIGERBEETLE = json.loads((REFERENCE_SERIES / "otava" / "tigerbeetle_series.json").read_text())["series"]
REAL_SERIES = json.loads((REFERENCE_SERIES / "mongodb_spa" / "tests" / "data" / "real_series.json").read_text())


def noisy(n: int, seed: int, cv: float = 0.01, level: float = 100.0) -> np.ndarray:
    return level * (1 + cv * np.random.default_rng(seed).standard_normal(n))


def test_gesd_matches_mongodb_on_real_series():
    result = gesd(REAL_SERIES, max_outliers=10, significance_level=0.05)
    assert result.count == 2
    assert result.outliers == [90, 4]  # most extreme first, as MongoDB reports them
    assert len(result.suspicious_indexes) == 10


def test_gesd_refuses_what_mongodb_refuses():
    with pytest.raises(ValueError):
        gesd([1.0, 2.0, 3.0], max_outliers=3)
    with pytest.raises(ValueError):
        gesd([], max_outliers=1)
    with pytest.raises(ValueError):
        gesd([1.0, 2.0, 3.0], max_outliers=1, significance_level=1.0)
    assert gesd([5.0] * 20).count == 0  # zero spread: stop, nothing flagged


def test_tigerbeetle_single_bad_run_is_an_outlier_not_a_change():
    # Otava reports 10 and 11 as changes here (the 15672 dip); robust mode must not.
    found = detect_robust(TIGERBEETLE, window_len=30, max_pvalue=0.1, min_magnitude=0.05)
    assert 10 in found.outliers
    assert 10 not in found.change_indexes and 11 not in found.change_indexes
    assert found.change_indexes == [15, 71]
    # the baseline before 15 is computed without the dip
    assert found.change_points[0].stats.mean_before > 26_500


@pytest.mark.parametrize("mode", ["otava", "robust"])
def test_constant_series_gives_nothing(mode):
    found = detect([3.25] * 200, mode=mode)
    assert found.change_points == [] and found.outliers == []


@pytest.mark.parametrize("mode", ["otava", "robust"])
@pytest.mark.parametrize("seed", range(5))
def test_clean_twenty_percent_step_found_within_one_index(mode, seed):
    values = noisy(200, seed, cv=0.02)
    at = 60 + 17 * seed
    values[at:] *= 1.2
    found = detect(values, mode=mode)
    near = [cp for cp in found.change_points if abs(cp.index - at) <= 1]
    assert len(near) == 1
    assert near[0].stats.pct_change == pytest.approx(20, abs=3)
    if mode == "robust":  # Otava at p=0.001 may add a noise change elsewhere; robust mode must not
        assert found.change_points == near


@pytest.mark.parametrize("seed", range(5))
def test_one_spike_is_an_outlier_only(seed):
    values = noisy(150, seed)
    values[70] *= 1.5
    robust = detect(values, mode="robust")
    assert robust.outliers == [70]
    assert robust.change_points == []


def test_spike_at_first_run_is_detectable():
    values = noisy(120, 3)
    values[0] *= 0.6
    assert detect(values, mode="robust").outliers == [0]


def test_large_step_sides_are_not_outliers():
    values = noisy(200, 8)
    values[100:] *= 1.5
    found = detect(values, mode="robust")
    assert [o for o in found.outliers if 90 <= o < 110] == []
    assert found.change_indexes == [100]


def test_persistence_delays_a_fresh_change_until_it_holds():
    base = noisy(120, 5)
    shifted = base.copy()
    shifted[119:] *= 1.3  # only the latest run is at the new level
    assert detect(shifted, mode="robust", min_run=2).change_indexes == []
    longer = np.append(shifted, noisy(3, 6) * 1.3)  # three more runs confirm it
    assert detect(longer, mode="robust", min_run=2).change_indexes == [119]


def test_short_excursion_is_not_a_change_with_persistence():
    values = noisy(150, 9)
    values[80:82] *= 1.25  # two runs up, then back
    assert detect(values, mode="robust", min_run=3).change_indexes == []


def test_residuals_keep_steps_and_expose_spikes():
    values = np.array([1.0] * 20 + [5.0] * 20)
    values[30] = 50.0
    residual = rolling_median_residuals(values, 15)
    assert np.argmax(np.abs(residual)) == 30
    assert np.all(residual[np.arange(40) != 30] == 0)


def test_mode_is_checked():
    with pytest.raises(ValueError):
        detect([1.0, 2.0], mode="bayesian")
    with pytest.raises(ValueError):
        detect([1.0, 2.0], mode="otava", min_run=3)
