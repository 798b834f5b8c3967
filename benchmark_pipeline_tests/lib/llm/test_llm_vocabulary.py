"""The LLM metric vocabulary and the result shape hold their promises: one meaning per name, fixed units,
a direction each, conversions done once, and no failed run that carries a measurement."""

from __future__ import annotations

import math

import pytest

from benchmark_pipeline.lib import vocabulary
from benchmark_pipeline.lib.llm import metrics as m
from benchmark_pipeline.lib.llm.result import LlmResult, MetricsBuilder


def test_every_metric_has_unit_direction_definition_and_tool_mapping():
    assert set(m.LLM_METRICS) >= {"ttft_ms", "tpot_ms", "itl_ms", "e2el_ms", "output_tokens_per_s",
                                  "total_tokens_per_s", "output_tokens_per_s_per_user", "requests_per_s",
                                  "goodput_requests_per_s", "samples_per_s"}
    for name, metric in m.LLM_METRICS.items():
        assert metric.name == name and isinstance(metric, vocabulary.Metric)
        assert metric.definition and metric.tools and metric.label
        assert metric.kind in (m.DISTRIBUTION, m.RUN)
        assert metric.direction in ("lower_is_better", "higher_is_better")
        if name.endswith("_ms"):
            assert (metric.unit, metric.higher_is_better) == ("ms", False), name
        if "_per_s" in name:
            assert metric.unit.endswith("/s") and metric.higher_is_better, name


def test_no_llm_metric_redefines_an_existing_project_metric():
    assert not set(m.LLM_METRICS) & set(vocabulary.METRICS)
    assert m.RESOURCE_METRICS["energy_joules"] is vocabulary.METRICS["energy_joules"]
    assert set(m.RESOURCE_METRICS) == {"energy_joules", "power_watts", "memory_peak_mb"}


def test_the_definitions_say_how_the_tools_disagree():
    assert "inter_token_latency" in m.LLM_METRICS["tpot_ms"].tools  # GenAI-Perf's ITL is our TPOT
    assert "inter_chunk_latency" in m.LLM_METRICS["itl_ms"].tools
    assert "llmperf" in m.LLM_METRICS["e2el_per_output_token_ms"].tools
    assert "first token excluded" in m.LLM_METRICS["tpot_ms"].tools  # MLPerf
    assert "ttft_ms" in m.describe() and "lower_is_better" in m.describe()


@pytest.mark.parametrize("tool_stat, ours", [
    ("avg", "mean"), ("median", "p50"), ("stddev", "std"), ("stdev", "std"), ("p99", "p99"), ("99", "p99"),
    ("99.90", "p99.9"), ("50.00", "p50"), ("p25", "p25"), ("min", "min"), ("count", None), ("p101", None),
])
def test_tool_stat_words_map_to_ours(tool_stat, ours):
    assert m.stat_name(tool_stat) == ours


def test_stats_by_kind():
    assert m.is_stat("p99.9", m.DISTRIBUTION) and m.is_stat("mean", m.DISTRIBUTION)
    assert not m.is_stat("value", m.DISTRIBUTION) and not m.is_stat("median", m.DISTRIBUTION)
    assert m.is_stat("value", m.RUN) and not m.is_stat("mean", m.RUN)


def test_unit_conversions():
    assert m.to_ms(1.5, "s") == 1500.0 and m.to_ms(2_000_000, "ns") == 2.0 and m.to_ms(7, "ms") == 7
    assert m.to_ms(3, "sec") == 3000.0 and m.s_to_ms(0.25) == 250.0 and m.ns_to_ms(450_000_000) == 450.0
    assert m.memory_to_mb(1_048_576, "bytes") == 1.0
    assert m.memory_to_mb(5242.88, "MB") == pytest.approx(5000.0)  # decimal MB -> the project's 2**20 bytes
    assert m.memory_to_mb(1, "GiB") == 1024.0
    assert m.energy_to_j(0.004, "MJ") == pytest.approx(4000.0) and m.energy_to_j(1, "kWh") == 3.6e6
    assert m.energy_to_j(500, "mJ") == 0.5
    assert m.per_minute_to_per_s(30) == 0.5
    for convert, unit in ((m.to_ms, "furlongs"), (m.memory_to_mb, "ms"), (m.energy_to_j, "W")):
        with pytest.raises(m.UnitError):
            convert(1.0, unit)


@pytest.mark.parametrize("value, unbounded", [
    ("inf", True), ("Infinity", True), (math.inf, True), (1e9, True), (1000000000, True), (1.0, False),
    (None, False), ("4", False), (True, False),
])
def test_unbounded_rates(value, unbounded):
    assert m.is_unbounded(value) is unbounded


def test_a_result_accepts_only_vocabulary_names_stats_and_finite_values():
    ok = LlmResult(source="x", tool="t", metrics={"ttft_ms": {"p50": 3}, "requests_per_s": {"value": 1.5}})
    assert ok.value("ttft_ms", "p50") == 3.0 and ok.value("ttft_ms", "p90") is None
    for bad in ({"time_to_first_token": {"mean": 1.0}}, {"ttft_ms": {"median": 1.0}},
                {"requests_per_s": {"mean": 1.0}}, {"ttft_ms": {"mean": math.nan}}, {"ttft_ms": {"mean": "1"}}):
        with pytest.raises(ValueError):
            LlmResult(source="x", tool="t", metrics=bad)


def test_a_failed_run_carries_no_metric():
    failed = LlmResult(source="x", tool="t", failed_run=True, failure="all 8 requests failed")
    assert failed.metrics == {}
    with pytest.raises(ValueError, match="failed run"):
        LlmResult(source="x", tool="t", failed_run=True, metrics={"ttft_ms": {"mean": 0.0}})


def test_hardware_label():
    assert LlmResult(source="x", tool="t", hosted_provider="groq", gpu_name="H100").hardware == "hosted:groq"
    assert LlmResult(source="x", tool="t", gpu_name="H100", system_name="sys").hardware == "H100"
    assert LlmResult(source="x", tool="t", cpu_name="Xeon").hardware == "Xeon"
    assert LlmResult(source="x", tool="t").hardware is None


def test_the_builder_drops_non_finite_values_with_a_note():
    built = MetricsBuilder()
    built.put("ttft_ms", "std", math.nan, origin="std_ttft_ms")
    built.put("ttft_ms", "mean", 1.0)
    assert built.metrics == {"ttft_ms": {"mean": 1.0}} and "std_ttft_ms" in built.notes[0]
