"""Pure rules behind regression_flags: what to re-analyse, what a flag row says, recovery."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from benchmark_pipeline.lib.changepoint.robust import find_outliers
from benchmark_pipeline.lib.changepoint.series import _recovered, build_flags, flag_id, params_hash, series_to_analyse

NOW = datetime(2025, 12, 1, tzinfo=timezone.utc)


def _fingerprints(rows):
    return pd.DataFrame(rows, columns=["series_id", "point_count", "max_result_id", "points_hash"])


def test_only_added_superseded_new_and_removed_series_are_redone():
    params = params_hash("robust", False, {"window_len": 50})
    state = _fingerprints([("same", 5, 50, 1), ("added", 5, 50, 2), ("superseded", 5, 50, 3), ("gone", 5, 50, 4)])
    state["params_hash"] = params
    current = _fingerprints([("same", 5, 50, 1), ("added", 6, 61, 9), ("superseded", 5, 70, 7), ("new", 1, 80, 5)])
    assert series_to_analyse(current, state, params) == (["added", "new", "superseded"], ["gone"])
    other = params_hash("robust", True, {"window_len": 50})
    assert series_to_analyse(current, state, other)[0] == ["added", "new", "same", "superseded"]


def test_flag_id_depends_on_series_run_content_and_kind_only():
    assert flag_id("s1", "sha-a", "regression") == flag_id("s1", "sha-a", "regression")
    assert len({flag_id("s1", "sha-a", "regression"), flag_id("s1", "sha-b", "regression"),
                flag_id("s2", "sha-a", "regression"), flag_id("s1", "sha-a", "outlier")}) == 4


def test_a_flag_keeps_its_id_when_its_run_gets_a_new_surrogate_id():
    """What a retracted file ingested again looks like to detection: the same points under new run ids."""
    points, keys = _series(np.r_[_noise(20, 10.0, 1), _noise(10, 12.5, 2)])
    first = build_flags(points, keys, "robust", NOW)
    again = build_flags(points.assign(run_id=points["run_id"] + 500), keys, "robust", NOW)
    assert set(again["run_id"]).isdisjoint(set(first["run_id"]))
    assert again["flag_id"].tolist() == first["flag_id"].tolist()
    changed = build_flags(points.assign(run_key=points["run_key"] + "-edited"), keys, "robust", NOW)
    assert set(changed["flag_id"]).isdisjoint(set(first["flag_id"]))  # other content, another judgement


def _series(values, metric="average_latency_ms", sid="s1"):
    n = len(values)
    points = pd.DataFrame({
        "series_id": sid, "metric": metric, "run_id": np.arange(100, 100 + n),
        "run_key": [f"sha-{i}" for i in range(n)], "result_id": np.arange(1000, 1000 + n),
        "run_time": [NOW - timedelta(days=n - i) for i in range(n)], "value": values,
    })
    keys = pd.DataFrame([{"series_id": sid, "model_name": "m", "hardware_fingerprint": "cpu | x", "batch_size": 1,
                          "sequence_length": None, "precision": "fp32", "test_case": "inference", "metric": metric,
                          "hardware_id": 3, "hardware_type": "cpu", "device_name": "x"}])
    return points, keys


def _noise(n, level, seed):
    return level * (1 + 0.01 * np.random.default_rng(seed).standard_normal(n))


def test_a_step_up_in_latency_is_an_open_candidate_with_its_first_bad_run():
    points, keys = _series(np.r_[_noise(20, 10.0, 1), _noise(10, 12.5, 2)])
    flags = build_flags(points, keys, "robust", NOW)
    (change,) = flags[flags["kind"] != "outlier"].itertuples()
    assert (change.kind, change.direction, change.change_index) == ("regression", "up", 20)
    assert (change.run_id, change.result_id) == (120, 1020)
    assert change.is_latest_change and not change.recovered
    assert change.model_name == "m" and change.detected_at == NOW


def test_a_return_for_two_runs_closes_the_regression_and_one_run_does_not():
    def candidate(tail):
        values = np.r_[_noise(20, 10.0, 3), _noise(8, 12.5, 4), _noise(tail, 10.0, 5)]
        flags = build_flags(*_series(values), "robust", NOW)
        regression = flags[flags["kind"] == "regression"].iloc[0]
        return bool(regression["is_latest_change"] and not regression["recovered"])

    assert candidate(1)  # one run back may be a spike: still open
    assert not candidate(2)  # min_run runs back: an improvement (or recovered), no longer open


def test_recovered_needs_min_run_runs_back_after_the_new_level_held():
    new_level = [12.5, 12.4, 12.6, 12.5]
    assert _recovered(np.array([10.0] * 10 + new_level + [10.1, 9.9]), 10, set(), 10.0, 12.5, 2)
    assert not _recovered(np.array([10.0] * 10 + new_level + [12.4, 9.9]), 10, set(), 10.0, 12.5, 2)
    assert _recovered(np.array([10.0] * 10 + new_level + [10.1, 30.0, 9.9]), 10, {15}, 10.0, 12.5, 2)
    assert not _recovered(np.array([10.0] * 10 + [10.1, 9.9]), 10, set(), 10.0, 12.5, 2)


def test_throughput_drop_is_a_regression_going_down():
    points, keys = _series(np.r_[_noise(15, 100.0, 6), _noise(15, 80.0, 7)], metric="throughput_items_per_second")
    flags = build_flags(points, keys, "robust", NOW)
    change = flags[flags["kind"] != "outlier"].iloc[0]
    assert (change.kind, change.direction) == ("regression", "down")


def test_previous_detection_time_is_kept_for_a_refound_flag():
    points, keys = _series(np.r_[_noise(20, 10.0, 1), _noise(10, 12.5, 2)])
    first = build_flags(points, keys, "robust", NOW)
    earlier = NOW - timedelta(days=3)
    again = build_flags(points, keys, "robust", NOW + timedelta(days=1),
                        previous_detected_at=dict.fromkeys(first["flag_id"], earlier))
    assert (again["detected_at"] == earlier).all()


def test_no_points_no_flags():
    points, keys = _series(np.full(12, 5.0))
    assert build_flags(points, keys, "robust", NOW).empty


def test_gesd_tests_at_most_one_run_in_ten_on_short_series():
    hits = [len(find_outliers(_noise(21, 120.0, seed))) for seed in range(40)]
    assert max(hits) <= 2
    spike = _noise(21, 50.0, 99)
    spike[9] *= 3
    assert find_outliers(spike) == [9]
