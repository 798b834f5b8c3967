"""The noise model (issue 18): outliers and changes judged against each series' own spread, suspects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark_pipeline.lib.changepoint.flags import detect_flags
from benchmark_pipeline.lib.changepoint.noise import Threshold, floor_for, noise_scale
from benchmark_pipeline.lib.changepoint.otava import detect_otava
from benchmark_pipeline.lib.changepoint.robust import detect


def _noise(n: int, seed: int, level: float = 100.0, cv: float = 0.015) -> np.ndarray:
    return level * (1 + cv * np.random.default_rng(seed).standard_normal(n))


def test_noise_scale_ignores_a_step_and_a_spike():
    base = _noise(80, 1)
    stepped = base.copy()
    stepped[40:] += 30.0
    stepped[20] *= 3
    quiet = noise_scale(base)
    assert 1.0 < quiet < 2.2  # 1.5 % of 100
    assert noise_scale(stepped) == pytest.approx(quiet, rel=0.25)
    assert noise_scale([5.0, 5.0]) == 0.0
    assert noise_scale([1.0, 1.0, 1.0, 1.1, 1.0, 1.0, 1.0]) > 0  # quantised: mean deviation fallback


def test_a_run_within_the_series_noise_is_not_an_outlier():
    # 21 nightly runs at 1.5 % noise with one run 4 % high: GESD alone flagged it (the sample's
    # ±2-5 % "outliers"); 4 % is under 5 x this series' noise, so it is not news.
    values = _noise(21, 5)
    values[11] = float(np.median(values)) * 1.04
    found = detect(values)
    assert 11 not in found.outliers
    assert found.outlier_floor == pytest.approx(5 * found.noise)


def test_a_real_spike_is_still_an_outlier():
    values = _noise(40, 2)
    values[17] *= 1.5
    assert detect(values).outliers == [17]


def test_first_run_of_a_clean_step_is_not_an_outlier():
    rng = np.random.default_rng(3)
    values = np.r_[10 + 0.05 * rng.standard_normal(40), 11.2 + 0.05 * rng.standard_normal(20)]
    found = detect(values)
    assert found.change_indexes == [40]
    assert found.outliers == []


def test_a_change_smaller_than_three_times_the_noise_is_not_reported():
    rng = np.random.default_rng(4)
    values = np.r_[100 + rng.standard_normal(150), 102 + rng.standard_normal(150)]  # 2 x noise
    assert detect(values, change_noise=0.0).change_indexes != []  # significant for the t-test alone
    assert detect(values).change_indexes == []
    assert detect_otava(values) == detect_otava(values)  # otava mode untouched by the floor


def test_user_threshold_replaces_the_default_floors():
    values = _noise(60, 6)
    values[30:] *= 1.25
    assert detect(values).change_indexes == [30]
    assert detect(values, threshold=Threshold("relative", 0.30)).change_indexes == []
    assert detect(values, threshold=Threshold("absolute", 10.0)).change_indexes == [30]
    assert detect(values, threshold=Threshold("noise", 100.0)).change_indexes == []
    assert floor_for(None, 3.0, 100.0, 2.0) == 6.0
    assert floor_for(Threshold("relative", 0.1), 3.0, -50.0, 2.0) == 5.0
    with pytest.raises(ValueError):
        Threshold("percent", 1.0)
    with pytest.raises(ValueError):
        Threshold("noise", -1.0)


def test_last_run_beyond_the_floor_is_a_suspect_then_confirmed_or_cleared():
    values = _noise(30, 7)
    jumped = np.r_[values, 130.0]
    found = detect(jumped)
    assert found.suspect == 30 and 30 not in found.outliers and found.change_indexes == []
    assert detect(np.r_[jumped, 131.0]).change_indexes == [30]  # the next run holds: a change
    back = detect(np.r_[jumped, float(np.median(values))])
    assert back.suspect is None and back.outliers == [30]  # the next run is back: an outlier
    assert detect(values).suspect is None


def _points(values, metric="latency_p50_ms"):
    return pd.DataFrame({"series_key": "s", "metric": metric, "run_id": range(len(values)),
                         "run_time": pd.date_range("2025-01-01", periods=len(values), freq="D", tz="UTC"),
                         "value": values})


def test_flags_carry_confirmation_and_noise():
    values = _noise(30, 8)
    values[12:] *= 1.3
    flags = detect_flags(_points(np.r_[values, 200.0]))
    change = flags[flags["change_index"] == 12].iloc[0]
    assert change["kind"] == "regression" and change["confirmation"] == "confirmed"
    suspect = flags[flags["change_index"] == 30].iloc[0]
    assert suspect["kind"] == "regression" and suspect["confirmation"] == "suspected"
    assert suspect["noise"] > 0 and suspect["noise_floor"] == pytest.approx(5 * suspect["noise"])
    improving = detect_flags(_points(np.r_[values, 50.0]))
    assert improving.loc[improving["change_index"] == 30, "kind"].item() == "improvement"


def test_per_series_thresholds_and_otava_refusal():
    values = _noise(60, 9)
    values[30:] *= 1.25
    both = pd.concat([_points(values).assign(series_key="a"), _points(values).assign(series_key="b")])
    flags = detect_flags(both, thresholds={"b": Threshold("relative", 0.5)})
    assert set(flags.loc[flags["kind"] == "regression", "series_key"]) == {"a"}
    with pytest.raises(ValueError):
        detect_flags(both, mode="otava", thresholds={"b": Threshold("relative", 0.5)})
