"""The words every layer shares, each defined here once: result categories, ledger and quarantine
statuses, the warehouse's stored tables, and the performance metrics with their unit and direction.

This is the bottom of ``lib``: standard library only (the CLI imports it for ``--help``), and it
imports nothing from the project. Ingest, the warehouse, analytics, the CLI and the Dagster
definitions all take their names from here, so a new category, status, table or metric is added in
one place.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- result categories ------------------------------------------------------------------------------

# The kinds of record a result file holds; also the names of the drop folders (data/incoming/<category>/).
# llm_serving: runs of LLM-serving benchmark tools (vLLM, SGLang, GenAI-Perf, AIPerf, llmperf,
# optimum-benchmark, MLPerf loadgen), recognised by content wherever the file lies.
LLM_SERVING = "llm_serving"
CATEGORIES = ("performance", "compatibility", "integration", LLM_SERVING)
# The drop folder of the original system's files, whose shape (and so categories) is told from content.
LEGACY = "legacy"
# The drop folder of LLM-serving result files (data/incoming/llm/); the tool is told from content.
LLM_DROP = "llm"

# -- ledger and quarantine ------------------------------------------------------------------------

# What became of a file version (ingestion_ledger.status).
LEDGER_STATUSES = ("ingested", "partial", "quarantined", "not a result", "duplicate", "superseded", "retracted")
# The statuses of the version a path currently stands for; superseded and retracted versions are history.
ACTIVE_LEDGER_STATUSES = ("ingested", "partial", "quarantined", "not a result", "duplicate")
# What became of a rejected record (quarantine.status).
QUARANTINE_STATUSES = ("open", "replayed", "superseded", "retracted")

# -- warehouse tables ---------------------------------------------------------------------------------

# The tables an ingest writes, with what each holds (shown in the Dagster UI).
WAREHOUSE_TABLES: dict[str, str] = {
    "models": "Model dimension: one row per model name, family given or inferred.",
    "hardware_platforms": "Hardware dimension: one row per type, device and declared details (fingerprint).",
    "test_runs": "Benchmark runs: one per ingested file version and category.",
    "performance_results": "Performance facts: latency percentiles, throughput, memory, power per model x hardware x run.",
    "performance_batch_results": "Per-batch latency and memory of performance results.",
    "power_metrics": "Detailed power, energy and thermal readings of performance results.",
    "hardware_compatibility": "Compatibility facts per model (or model family) x hardware.",
    "integration_test_results": "Integration test outcomes.",
    "integration_test_assertions": "Assertions of integration tests.",
    "llm_serving_results": "LLM-serving facts: one run of one workload (TTFT, TPOT, ITL, end-to-end latency, "
                           "tokens/s, requests/s, goodput, resources) per model version x hardware configuration.",
    "model_versions": "A model as served: quantization, bits, weights format and the VRAM it needs.",
    "hardware_configurations": "What an LLM result ran on as bought: GPU type and count, VRAM, price per hour, "
                               "provider, instance type, spot (hosted APIs as hosted:<provider>).",
    "inference_frameworks": "Inference servers and libraries by name and version, with their capabilities.",
    "benchmark_failures": "Benchmark runs that failed, with their error; never performance rows.",
    "quarantine": "Records and files that failed validation, with reason, kept for replay.",
    "ingestion_ledger": "One row per file version seen: status, reason, rows written.",
}
# Rows that come from one file version, by role: a retract or a superseding version removes all of them.
RESULT_TABLES = ("performance_results", "hardware_compatibility", "integration_test_results", "llm_serving_results",
                 "benchmark_failures")
CHILD_TABLES = ("performance_batch_results", "power_metrics", "integration_test_assertions")  # rows under a result
RUN_TABLES = ("test_runs",)
# In the order a file version's facts are deleted (children before their parents, runs last).
FACT_TABLES = ("performance_results", "performance_batch_results", "power_metrics", "hardware_compatibility",
               "integration_test_results", "integration_test_assertions", "llm_serving_results", "benchmark_failures",
               "test_runs")
# Dimensions of LLM results beside models and hardware_platforms: kept when the facts that named them go.
LLM_DIMENSION_TABLES = ("model_versions", "hardware_configurations", "inference_frameworks")
# What the LLM-serving results answer (lib/analytics/serving.py): the use-case taxonomy (seeded by its
# migration, the one place its SLAs and weights are written) and the tables computed from the facts, rewritten
# whole in the transaction of a write that changed their inputs, or by the llm_answers asset once they expire.
LLM_ANSWER_TABLES: dict[str, str] = {
    "use_case_taxonomy": "Use cases (chatbot, code completion, RAG, summarization, ...): workload, SLA, TOPSIS weights.",
    "model_use_cases": "Per model and use case: share of its configurations that meet the SLA, best figures, rank.",
    "llm_daily_stats": "Per model and UTC day: LLM results, TTFT/TPOT p90 medians, best throughput, $ and tokens/J.",
    "model_rankings": "TOPSIS ranking of serving configurations per use case, with breakdown and expiry.",
    "llm_answers_state": "When the LLM answer tables were computed, from which inputs, and when they expire.",
}
# Written by regression detection, not by an ingest.
REGRESSION_TABLES = ("regression_flags", "regression_acks", "regression_series_state")
# Computed from the facts and recomputed in the transaction of every write, for what it touched
# (lib/analytics/refresh.py), in the order they are built.
DERIVED_TABLES: dict[str, str] = {
    "compatibility_matrix": "Every model and model family x every hardware type: status, score, last tested, errors.",
    "hardware_comparison": "Per model, batch size and precision: each hardware's latest and median metrics and "
                           "speedup over CPU.",
    "model_comparison": "Per hardware, batch size and precision: each model's medians, ranked by throughput.",
    "daily_model_stats": "Per model and UTC day: mean throughput, p95 latency and number of benchmarks.",
    "hardware_recommendations": "Pareto-optimal hardware and TOPSIS rank per model, batch size and precision.",
}

# -- metrics -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """A performance_results measure: its column, unit, which way is better, and a short label."""

    column: str
    unit: str
    higher_is_better: bool
    label: str

    @property
    def title(self) -> str:
        """``label (unit)``, as tables and charts head the column."""
        return f"{self.label} ({self.unit})"


def _metrics(*metrics: Metric) -> dict[str, Metric]:
    return {m.column: m for m in metrics}


# The measures of performance_results, keyed by column.
METRICS: dict[str, Metric] = _metrics(
    Metric("average_latency_ms", "ms", False, "mean latency"),
    Metric("latency_p50_ms", "ms", False, "latency p50"),
    Metric("latency_p90_ms", "ms", False, "latency p90"),
    Metric("latency_p95_ms", "ms", False, "latency p95"),
    Metric("latency_p99_ms", "ms", False, "latency p99"),
    Metric("throughput_items_per_second", "items/s", True, "throughput"),
    Metric("memory_peak_mb", "MB", False, "peak memory"),
    Metric("power_watts", "W", False, "power"),
    Metric("energy_joules", "J", False, "energy"),
    Metric("items_per_joule", "items/J", True, "efficiency"),
)
# Not a column: the typical latency of a result, its p50 where reported, else its mean.
TYPICAL_LATENCY = Metric("latency_ms", "ms", False, "latency p50, else mean")

# ``benchmark-db compare --metric`` names.
COMPARE_METRICS: dict[str, Metric] = {
    "throughput": METRICS["throughput_items_per_second"],
    "latency": TYPICAL_LATENCY,
    "memory": METRICS["memory_peak_mb"],
    "power": METRICS["power_watts"],
    "efficiency": METRICS["items_per_joule"],
}
# What a run-to-run comparison shows.
RUN_METRICS: tuple[Metric, ...] = tuple(METRICS[c] for c in (
    "latency_p50_ms", "latency_p99_ms", "throughput_items_per_second", "memory_peak_mb", "power_watts",
    "items_per_joule",
))
# The series regression detection analyses, one per column.
REGRESSION_METRICS: tuple[Metric, ...] = tuple(METRICS[c] for c in (
    "average_latency_ms", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "throughput_items_per_second",
    "memory_peak_mb", "power_watts", "items_per_joule",
))
