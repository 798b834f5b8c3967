"""pandera contracts for the canonical record frames, checked before anything reaches the warehouse.

Types are already canonical here (``ingest.records`` coerced them and recorded why a value could
not be used); these models hold the semantic rules. Failures never stop an ingest: they become
quarantine rows through ``ingest.validate``.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from benchmark_pipeline.lib.llm.hardware import HARDWARE_TYPES as LLM_HARDWARE_TYPES
from benchmark_pipeline.lib.llm.metrics import metric_columns
from benchmark_pipeline.lib.llm.result import WORKLOAD_TYPES
from benchmark_pipeline.lib.normalize import KNOWN_HARDWARE_TYPES
from benchmark_pipeline.lib.vocabulary import LLM_SERVING

INTEGRATION_STATUSES = ("pass", "fail", "error", "skip")


class _Located(pa.DataFrameModel):
    file_id: Series[int] = pa.Field(ge=0)
    record_index: Series[int] = pa.Field(ge=0)

    class Config:
        strict = False
        coerce = False


class PerformanceRecord(_Located):
    model_name: Series[pd.StringDtype] = pa.Field(nullable=False, str_length={"min_value": 1})
    hardware_type: Series[pd.StringDtype] = pa.Field(nullable=False, isin=KNOWN_HARDWARE_TYPES)
    batch_size: Series[pd.Int64Dtype] = pa.Field(ge=1, nullable=True)
    sequence_length: Series[pd.Int64Dtype] = pa.Field(ge=1, nullable=True)
    iterations: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    warmup_iterations: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    memory_gb: Series[float] = pa.Field(gt=0, nullable=True)
    compute_units: Series[pd.Int64Dtype] = pa.Field(ge=1, nullable=True)
    total_time_seconds: Series[float] = pa.Field(gt=0, nullable=True)
    average_latency_ms: Series[float] = pa.Field(gt=0, nullable=True)
    latency_p50_ms: Series[float] = pa.Field(gt=0, nullable=True)
    latency_p90_ms: Series[float] = pa.Field(gt=0, nullable=True)
    latency_p95_ms: Series[float] = pa.Field(gt=0, nullable=True)
    latency_p99_ms: Series[float] = pa.Field(gt=0, nullable=True)
    throughput_items_per_second: Series[float] = pa.Field(gt=0, nullable=True)
    memory_peak_mb: Series[float] = pa.Field(gt=0, nullable=True)
    power_watts: Series[float] = pa.Field(gt=0, nullable=True)
    energy_joules: Series[float] = pa.Field(gt=0, nullable=True)
    items_per_joule: Series[float] = pa.Field(gt=0, nullable=True)

    @pa.dataframe_check(name="latency or throughput")
    def has_latency_or_throughput(cls, df: pd.DataFrame) -> Series[bool]:
        """A performance row must say how fast something ran."""
        return (df["average_latency_ms"] > 0) | (df["throughput_items_per_second"] > 0) | (
            df["latency_p50_ms"] > 0
        )


class BatchResult(_Located):
    child_index: Series[int] = pa.Field(ge=0)
    batch_size: Series[pd.Int64Dtype] = pa.Field(ge=1, nullable=True)
    latency_ms: Series[float] = pa.Field(gt=0, nullable=True)
    memory_usage_mb: Series[float] = pa.Field(gt=0, nullable=True)
    throughput_items_per_second: Series[float] = pa.Field(gt=0, nullable=True)


class PowerMetric(_Located):
    power_watts_avg: Series[float] = pa.Field(gt=0, nullable=True)
    power_watts_peak: Series[float] = pa.Field(gt=0, nullable=True)
    power_watts_idle: Series[float] = pa.Field(gt=0, nullable=True)
    energy_joules: Series[float] = pa.Field(gt=0, nullable=True)
    monitoring_duration_ms: Series[float] = pa.Field(gt=0, nullable=True)
    items_per_joule: Series[float] = pa.Field(gt=0, nullable=True)
    battery_impact_percent_per_hour: Series[float] = pa.Field(ge=0, nullable=True)


class CompatibilityRecord(_Located):
    hardware_type: Series[pd.StringDtype] = pa.Field(nullable=False, isin=KNOWN_HARDWARE_TYPES)
    compatibility_score: Series[float] = pa.Field(ge=0, le=1, nullable=True)
    memory_gb: Series[float] = pa.Field(gt=0, nullable=True)

    @pa.dataframe_check(name="model or family")
    def names_a_model_or_family(cls, df: pd.DataFrame) -> Series[bool]:
        """A compatibility row is about a model, or (family-level results) about a model family."""
        return df["model_name"].notna() | df["model_family"].notna()


class IntegrationRecord(_Located):
    test_name: Series[pd.StringDtype] = pa.Field(nullable=False, str_length={"min_value": 1})
    status: Series[pd.StringDtype] = pa.Field(nullable=False, isin=INTEGRATION_STATUSES)
    hardware_type: Series[pd.StringDtype] = pa.Field(nullable=True, isin=KNOWN_HARDWARE_TYPES)
    execution_time_seconds: Series[float] = pa.Field(ge=0, nullable=True)


class Assertion(_Located):
    child_index: Series[int] = pa.Field(ge=0)
    assertion_name: Series[pd.StringDtype] = pa.Field(nullable=True)


class _LlmServingBase(_Located):
    model_name: Series[pd.StringDtype] = pa.Field(nullable=False, str_length={"min_value": 1})
    device_name: Series[pd.StringDtype] = pa.Field(nullable=False, str_length={"min_value": 1})
    hardware_type: Series[pd.StringDtype] = pa.Field(nullable=True, isin=LLM_HARDWARE_TYPES)
    tool: Series[pd.StringDtype] = pa.Field(nullable=False, str_length={"min_value": 1})
    workload_type: Series[pd.StringDtype] = pa.Field(nullable=True, isin=WORKLOAD_TYPES)
    gpu_count: Series[pd.Int64Dtype] = pa.Field(ge=1, nullable=True)
    memory_gb: Series[float] = pa.Field(gt=0, nullable=True)
    batch_size: Series[pd.Int64Dtype] = pa.Field(ge=1, nullable=True)
    concurrency: Series[pd.Int64Dtype] = pa.Field(ge=1, nullable=True)
    request_rate: Series[float] = pa.Field(gt=0, nullable=True)
    num_prompts: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    completed: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    failed: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    duration_s: Series[float] = pa.Field(gt=0, nullable=True)
    input_tokens_mean: Series[float] = pa.Field(ge=0, nullable=True)
    output_tokens_mean: Series[float] = pa.Field(ge=0, nullable=True)
    input_tokens_configured: Series[float] = pa.Field(gt=0, nullable=True)
    output_tokens_configured: Series[float] = pa.Field(gt=0, nullable=True)
    cost_per_hour_usd: Series[float] = pa.Field(ge=0, nullable=True)
    quantization_bits: Series[pd.Int64Dtype] = pa.Field(ge=1, le=64, nullable=True)
    energy_joules: Series[float] = pa.Field(gt=0, nullable=True)
    power_watts: Series[float] = pa.Field(gt=0, nullable=True)
    memory_peak_mb: Series[float] = pa.Field(gt=0, nullable=True)

    @pa.dataframe_check(name="llm hardware type")
    def hardware_has_a_type(cls, df: pd.DataFrame) -> Series[bool]:
        """Named hardware must be typed (cuda, rocm, ...): results are compared per type. Checked only where
        there is a name, so a result without hardware is refused once, for that."""
        return df["device_name"].isna() | df["hardware_type"].notna()

    @pa.dataframe_check(name="llm measurement")
    def has_a_measurement(cls, df: pd.DataFrame) -> Series[bool]:
        """A stored LLM run measured something; a run where every request failed is a failure row instead."""
        return df[list(metric_columns())].notna().any(axis=1) | df["metrics"].notna()


def _llm_serving_record() -> type[pa.DataFrameModel]:
    """``_LlmServingBase`` plus one rule per metric column of the vocabulary: latencies and rates are never
    negative (zero is a real minimum: two tokens in one chunk, a run where no request met the goodput SLO)."""
    columns = list(metric_columns())
    namespace: dict = {"__annotations__": {column: Series[float] for column in columns}, "__module__": __name__,
                       "__doc__": "An LLM-serving run in canonical units (lib/ingest/llm.py writes it)."}
    namespace.update({column: pa.Field(ge=0, nullable=True) for column in columns})
    return type("LlmServingRecord", (_LlmServingBase,), namespace)


LlmServingRecord = _llm_serving_record()

# Why a required column is missing, where "missing required field" would not tell the user what to do.
MISSING_REASONS: dict[type[pa.DataFrameModel], dict[str, str]] = {
    LlmServingRecord: {
        "device_name": "no hardware: the file names no GPU, system or hosted provider; ingest it again with "
                       "--gpu NAME (and --gpu-count N), or put {\"gpu\": ...} in <file>.meta.json beside it",
        "model_name": "no model: the file names none; ingest it again with --model NAME, or put {\"model\": ...} "
                      "in <file>.meta.json beside it",
    },
}

CATEGORY_SCHEMAS = {
    "performance": PerformanceRecord,
    "compatibility": CompatibilityRecord,
    "integration": IntegrationRecord,
    LLM_SERVING: LlmServingRecord,
}
CHILD_SCHEMAS = {"batch_results": BatchResult, "power_metrics": PowerMetric, "assertions": Assertion}
