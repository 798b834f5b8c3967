"""The accepted record fields per category: canonical name, type, alternative spellings, units.

This table is the input contract (docs/input_format.md is generated from the same names). A raw
field listed as an alias is converted with its factor into the canonical unit, so inputs in mW,
mJ or seconds land as W, J and ms.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark_pipeline.lib.llm.metrics import LLM_METRICS, metric_columns
from benchmark_pipeline.lib.vocabulary import LLM_SERVING

STR, FLOAT, INT, BOOL, JSON, TIME = "str", "float", "int", "bool", "json", "time"

# Warehouse integer columns (batch sizes, iterations, compute units, indexes) are 32-bit.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str
    aliases: tuple[tuple[str, float], ...] = ()  # (raw field, factor into the canonical unit)
    unit: str | None = None

    def sources(self) -> tuple[tuple[str, float], ...]:
        """Raw fields read for this column, in priority order (the canonical name first)."""
        return ((self.name, 1.0),) + self.aliases


def _f(name: str, kind: str, *aliases: str | tuple[str, float], unit: str | None = None) -> FieldSpec:
    normalized = tuple((a, 1.0) if isinstance(a, str) else a for a in aliases)
    return FieldSpec(name, kind, normalized, unit)


MODEL_FIELDS = (
    _f("model_name", STR, "model"),
    _f("model_family", STR),
    _f("modality", STR),
    _f("model_source", STR, "source"),
    _f("model_version", STR, "version"),
    _f("parameters_million", FLOAT, unit="M params"),
    _f("model_metadata", JSON),
)

HARDWARE_FIELDS = (
    _f("hardware_type", STR, "hardware"),
    _f("device_name", STR, "device"),
    _f("platform", STR),
    _f("platform_version", STR),
    _f("driver_version", STR),
    _f("memory_gb", FLOAT, unit="GB"),
    _f("compute_units", INT),
    _f("hardware_metadata", JSON),
)

COMMON_FIELDS = (
    _f("timestamp", TIME, "started_at", "run_time", "test_timestamp"),
    _f("time_source", STR),  # set by converters that took the time from a file name
    _f("test_name", STR),
    _f("git_commit", STR),
    _f("git_branch", STR),
    _f("is_simulated", BOOL, "is_simulation"),
    _f("simulation_reason", STR),
)

PERFORMANCE_METRICS = (
    _f("total_time_seconds", FLOAT, "total_time", unit="s"),
    _f("average_latency_ms", FLOAT, "latency_avg", "latency_ms", "latency_mean_ms", unit="ms"),
    _f("latency_p50_ms", FLOAT, "p50_latency_ms", "latency_p50", unit="ms"),
    _f("latency_p90_ms", FLOAT, "p90_latency_ms", "latency_p90", unit="ms"),
    _f("latency_p95_ms", FLOAT, "p95_latency_ms", "latency_p95", unit="ms"),
    _f("latency_p99_ms", FLOAT, "p99_latency_ms", "latency_p99", unit="ms"),
    _f("throughput_items_per_second", FLOAT, "throughput", unit="items/s"),
    _f("memory_peak_mb", FLOAT, "memory_peak", "memory_mb", unit="MB"),
    _f("power_watts", FLOAT, "power_watts_avg", ("average_power_mw", 0.001), ("power_consumption_mw", 0.001), unit="W"),
    _f("energy_joules", FLOAT, ("energy_consumption_mj", 0.001), unit="J"),
    _f("items_per_joule", FLOAT, "energy_efficiency_items_per_joule", unit="items/J"),
)

PERFORMANCE_FIELDS = MODEL_FIELDS + HARDWARE_FIELDS + COMMON_FIELDS + (
    _f("test_case", STR, "benchmark_type"),
    _f("batch_size", INT),
    _f("sequence_length", INT, "seq_len"),
    _f("precision", STR),
    _f("iterations", INT),
    _f("warmup_iterations", INT),
    _f("metrics", JSON),
) + PERFORMANCE_METRICS

BATCH_FIELDS = (
    _f("batch_index", INT),
    _f("batch_size", INT),
    _f("latency_ms", FLOAT, unit="ms"),
    _f("memory_usage_mb", FLOAT, unit="MB"),
    _f("throughput_items_per_second", FLOAT, "throughput", unit="items/s"),
)

POWER_FIELDS = (
    _f("power_watts_avg", FLOAT, "power_watts", ("average_power_mw", 0.001), ("power_consumption_mw", 0.001), unit="W"),
    _f("power_watts_peak", FLOAT, ("peak_power_mw", 0.001), unit="W"),
    _f("power_watts_idle", FLOAT, ("idle_power_mw", 0.001), unit="W"),
    _f("energy_joules", FLOAT, ("energy_consumption_mj", 0.001), unit="J"),
    _f("temperature_celsius", FLOAT, unit="°C"),
    _f("monitoring_duration_ms", FLOAT, unit="ms"),
    _f("items_per_joule", FLOAT, "energy_efficiency_items_per_joule", unit="items/J"),
    _f("thermal_throttling_detected", BOOL),
    _f("battery_impact_percent_per_hour", FLOAT, unit="%/h"),
)

COMPATIBILITY_FIELDS = MODEL_FIELDS + HARDWARE_FIELDS + COMMON_FIELDS + (
    _f("is_compatible", BOOL, "compatible"),
    _f("detection_success", BOOL),
    _f("initialization_success", BOOL),
    _f("error_message", STR, "error"),
    _f("error_type", STR),
    _f("suggested_fix", STR, "workaround"),
    _f("workaround_available", BOOL),
    _f("compatibility_score", FLOAT),
    _f("metadata", JSON, "compatibility_metadata"),
)

INTEGRATION_FIELDS = MODEL_FIELDS + HARDWARE_FIELDS + COMMON_FIELDS + (
    _f("test_module", STR, "module"),
    _f("test_class", STR, "class"),
    _f("status", STR, "result"),
    _f("execution_time_seconds", FLOAT, "duration", "time", unit="s"),
    _f("error_message", STR, "error"),
    _f("error_traceback", STR, "traceback"),
    _f("metadata", JSON),
)

ASSERTION_FIELDS = (
    _f("assertion_name", STR, "name"),
    _f("passed", BOOL, "success"),
    _f("expected_value", JSON, "expected"),
    _f("actual_value", JSON, "actual"),
    _f("message", STR),
)

FAILURE_FIELDS = (
    _f("model_name", STR, "model"),
    _f("model_family", STR),
    _f("test_case", STR),
    _f("hardware_type", STR, "hardware"),
    _f("error_type", STR),
    _f("error_message", STR, "error"),
    _f("error_traceback", STR, "traceback"),
    _f("stage", STR),
    _f("batch_size", INT),
    _f("timestamp", TIME),
    _f("time_source", STR),
    _f("is_simulated", BOOL),
    _f("simulation_reason", STR),
)

def _llm_metric_fields() -> tuple[FieldSpec, ...]:
    return tuple(_f(column, FLOAT, unit=LLM_METRICS[metric].unit) for column, (metric, _) in metric_columns().items())


# An LLM result as ``lib/ingest/llm.py`` writes it from an ``LlmResult`` and the ingest's defaults: already in
# canonical units, so no aliases beyond the shared model/hardware/time fields. The hardware fields describe one
# device (memory_gb is the VRAM of one GPU); how many, at what price, come with the configuration fields.
LLM_SERVING_FIELDS = MODEL_FIELDS + HARDWARE_FIELDS + COMMON_FIELDS + (
    _f("tool", STR),
    _f("tool_version", STR),
    _f("source_record", STR),  # where in the file: "line 3" of JSON lines, "item 2" of a JSON list
    _f("workload_type", STR),
    _f("dataset", STR),
    _f("input_tokens_mean", FLOAT, unit="tokens"),
    _f("output_tokens_mean", FLOAT, unit="tokens"),
    _f("input_tokens_configured", FLOAT, unit="tokens"),
    _f("output_tokens_configured", FLOAT, unit="tokens"),
    _f("batch_size", INT),
    _f("concurrency", INT),
    _f("concurrency_unbounded", BOOL),
    _f("request_rate", FLOAT, unit="requests/s"),
    _f("request_rate_unbounded", BOOL),
    _f("num_prompts", INT),
    _f("completed", INT),
    _f("failed", INT),
    _f("duration_s", FLOAT, unit="s"),
    _f("gpu_count", INT),
    _f("hosted_provider", STR),
    _f("cpu_name", STR),
    _f("system_name", STR),
    _f("cost_per_hour_usd", FLOAT, unit="USD/h"),
    _f("provider", STR),
    _f("instance_type", STR),
    _f("spot", BOOL),
    _f("framework", STR),
    _f("framework_version", STR),
    _f("framework_capabilities", JSON),
    _f("quantization", STR),
    _f("quantization_bits", INT),
    _f("precision", STR),
    _f("weights_format", STR),
    _f("energy_joules", FLOAT, unit="J"),
    _f("power_watts", FLOAT, unit="W"),
    _f("memory_peak_mb", FLOAT, unit="MB"),
    _f("metrics", JSON),
    _f("notes", STR),
    _f("filled_from", JSON),
    _f("tool_extra", JSON),
) + _llm_metric_fields()

FIELDS = {
    "performance": PERFORMANCE_FIELDS,
    "compatibility": COMPATIBILITY_FIELDS,
    "integration": INTEGRATION_FIELDS,
    LLM_SERVING: LLM_SERVING_FIELDS,
}

# Nested lists/objects turned into child rows: category -> (raw key, child fields).
CHILDREN = {
    "performance": {"batch_results": BATCH_FIELDS, "power_metrics": POWER_FIELDS},
    "integration": {"assertions": ASSERTION_FIELDS},
}

# Raw keys consumed by a category besides its fields (never reported as "extra").
CONSUMED = {
    "performance": {"batch_results", "power_metrics"},
    "compatibility": set(),
    "integration": {"assertions"},
    LLM_SERVING: set(),
}

POSITIVE_METRICS = tuple(s.name for s in PERFORMANCE_METRICS)


def known_raw_keys(category: str) -> set[str]:
    keys = {src for spec in FIELDS[category] for src, _ in spec.sources()}
    return keys | CONSUMED[category]
