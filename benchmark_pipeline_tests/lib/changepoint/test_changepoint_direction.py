"""A change is a regression or an improvement depending on which way is worse for the metric."""

from __future__ import annotations

import pytest

from benchmark_pipeline.lib.changepoint.direction import change_kind, higher_is_better


@pytest.mark.parametrize(
    "name",
    ["average_latency_ms", "latency_p99", "total_time_seconds", "memory_peak_mb", "memory_usage_mb",
     "power_consumption_mw", "average_power_mw", "energy_consumption_mj", "load_time_ms"],
)
def test_cost_metrics_are_lower_is_better(name):
    assert higher_is_better(name) is False
    assert change_kind(name, +0.2) == "regression"
    assert change_kind(name, -0.2) == "improvement"


@pytest.mark.parametrize(
    "name",
    ["throughput_items_per_second", "throughput", "energy_efficiency_items_per_joule", "ItemsPerJoule",
     "tokens_per_second"],
)
def test_rate_metrics_are_higher_is_better(name):
    assert higher_is_better(name) is True
    assert change_kind(name, -0.2) == "regression"
    assert change_kind(name, +0.2) == "improvement"


def test_unknown_names_follow_otavas_default():
    assert higher_is_better("metric1") is None
    assert change_kind("metric1", -0.1) == "regression"
    assert change_kind("metric1", -0.1, default_higher_is_better=False) == "improvement"
