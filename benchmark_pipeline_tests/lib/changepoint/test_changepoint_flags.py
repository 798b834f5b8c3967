"""detect_flags: the long frame of points the regression_flags asset will pass, to one row per flag."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark_pipeline.lib.changepoint.flags import FLAG_COLUMNS, detect_flags


def series_frame(key: str, metric: str, values, start: str = "2025-01-01") -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame({
        "series_key": key,
        "metric": metric,
        "run_id": [f"{key}-{metric}-run{i}" for i in range(n)],
        "run_time": pd.date_range(start, periods=n, freq="D", tz="UTC"),
        "value": values,
    })


def noisy(n, seed, level=100.0):
    return level * (1 + 0.01 * np.random.default_rng(seed).standard_normal(n))


@pytest.fixture
def points() -> pd.DataFrame:
    latency = noisy(120, 1, 12.0)
    latency[80:] *= 1.25  # slower from run 80: a regression
    throughput = noisy(120, 2, 600.0)
    throughput[50:] *= 1.3  # faster from run 50: an improvement
    throughput[20] *= 0.5  # one bad run
    frame = pd.concat([
        series_frame("bert|cuda|bs8", "average_latency_ms", latency),
        series_frame("bert|cuda|bs8", "throughput_items_per_second", throughput),
        series_frame("vit|cpu|bs1", "average_latency_ms", noisy(120, 3, 40.0)),
    ])
    return frame.sample(frac=1.0, random_state=0)  # callers need not pre-sort


def test_flags_regressions_improvements_and_outliers(points):
    flags = detect_flags(points)
    assert list(flags.columns) == list(FLAG_COLUMNS)
    got = {(r.series_key, r.metric, r.kind, r.change_index, r.run_id) for r in flags.itertuples()}
    assert got == {
        ("bert|cuda|bs8", "average_latency_ms", "regression", 80, "bert|cuda|bs8-average_latency_ms-run80"),
        ("bert|cuda|bs8", "throughput_items_per_second", "improvement", 50,
         "bert|cuda|bs8-throughput_items_per_second-run50"),
        ("bert|cuda|bs8", "throughput_items_per_second", "outlier", 20,
         "bert|cuda|bs8-throughput_items_per_second-run20"),
    }
    regression = flags[flags.kind == "regression"].iloc[0]
    assert regression.run_time == pd.Timestamp("2025-01-01", tz="UTC") + pd.Timedelta(days=80)
    assert regression["pct_change"] == pytest.approx(25, abs=1.5)
    assert regression.mean_before == pytest.approx(12.0, rel=0.01)
    assert regression.stdev_before > 0 and regression.stdev_after > 0
    assert regression.pvalue < 1e-4
    assert set(flags["mode"]) == {"robust"}
    outlier = flags[flags.kind == "outlier"].iloc[0]
    assert outlier.mean_before == pytest.approx(600.0, rel=0.01)  # the regime it sits in
    assert outlier["pct_change"] == pytest.approx(-50, abs=2)


def test_otava_mode_keeps_the_bad_run_in_the_baseline(points):
    otava = detect_flags(points, mode="otava")
    robust = detect_flags(points)
    assert "outlier" not in set(otava["kind"])
    assert set(otava["mode"]) == {"otava"}

    def baseline(flags):
        rows = flags[(flags.metric == "throughput_items_per_second") & (flags.kind == "improvement")]
        return rows["mean_before"].iloc[0]

    assert baseline(otava) < baseline(robust)  # the 50 % dip drags Otava's mean down


def test_missing_values_are_skipped_and_indexes_count_real_points():
    values = list(noisy(100, 4))
    values[60:] = [v * 1.3 for v in values[60:]]
    values[10] = np.nan
    flags = detect_flags(series_frame("s", "memory_peak_mb", values))
    row = flags[flags.kind == "regression"].iloc[0]
    assert row.change_index == 59  # 60th real point, since one NaN before it was dropped
    assert row.run_id == "s-memory_peak_mb-run60"


def test_parallel_workers_give_the_same_flags(points):
    pd.testing.assert_frame_equal(detect_flags(points), detect_flags(points, workers=2))


def test_nothing_to_flag_gives_an_empty_frame_with_the_columns():
    flags = detect_flags(series_frame("s", "throughput", [5.0] * 50))
    assert flags.empty and list(flags.columns) == list(FLAG_COLUMNS)
    assert detect_flags(series_frame("s", "throughput", [])).empty


def test_missing_columns_are_reported():
    with pytest.raises(ValueError, match="run_time"):
        detect_flags(pd.DataFrame({"series_key": [], "metric": [], "run_id": [], "value": []}))
