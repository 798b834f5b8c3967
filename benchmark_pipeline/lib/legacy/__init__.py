"""Conversion of the original system's result files into our canonical updater records.

Pure code: a parsed JSON document goes in, a ``Conversion`` comes out; validation, quarantine, the ledger and
the warehouse are the ingestion layer's business. The shape is detected from content only; the file name is
used for nothing but a ``YYYYMMDD_HHMMSS`` time stamp when the data carries no time of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from benchmark_pipeline.lib import normalize
from benchmark_pipeline.lib.legacy.adapters import benchmarks, functionality, skills
from benchmark_pipeline.lib.legacy.common import Context, Output
from benchmark_pipeline.lib.legacy.detect import UNKNOWN, detect_shape
from benchmark_pipeline.lib.legacy.simulation import SimulationMarkers

__all__ = ["Conversion", "convert_document", "detect_shape", "ADAPTERS", "NOT_RESULTS"]


@dataclass(frozen=True)
class Conversion:
    shape: str
    is_result: bool
    records: dict[str, list[dict]] = field(default_factory=dict)
    failures: list[dict] = field(default_factory=list)
    reason: str | None = None


ADAPTERS: dict[str, Callable[[object, Context], Output]] = {
    "direct_benchmark": benchmarks.direct_benchmark,
    "hw_benchmark_results": benchmarks.hw_benchmark_results,
    "batch_benchmarks": benchmarks.batch_benchmarks,
    "updater_perf_records_list": benchmarks.updater_perf_records_list,
    "per_model_hw_benchmark_stub": benchmarks.per_model_hw_benchmark_stub,
    "web_platform_result": benchmarks.web_platform_result,
    "web_platform_batch": benchmarks.web_platform_batch,
    "benchmark_progress": benchmarks.benchmark_progress,
    "benchmark_suite_results": functionality.benchmark_suite_results,
    "model_functionality": functionality.model_functionality,
    "hardware_compatibility_matrix": functionality.hardware_compatibility_matrix,
    "critical_new_model_tests": functionality.critical_new_model_tests,
    "skill_test_results": skills.skill_test_results,
    "skill_perf_metadata_results": skills.skill_perf_metadata_results,
    "hardware_cpu_results": skills.hardware_cpu_results,
    "subprocess_test_wrapper": skills.subprocess_test_wrapper,
    "perf_skill_tests_wrapper": skills.perf_skill_tests_wrapper,
    "real_vs_sim_run": skills.real_vs_sim_run,
}

# Shapes recognised on purpose as not being results, with the reason the ledger shows.
NOT_RESULTS: dict[str, str] = {
    "empty_document": "empty JSON object",
    "benchmark_config": "run configuration (models, batch sizes, hardware to try), not results",
    "benchmark_models_catalog": "model catalog, not results",
    "benchmark_summary": "derived summary of hw_benchmark_results (means over mixed batch sizes); the runs are stored from their own files",
    "aggregated_benchmarks": "aggregate with only empty sections",
    "skill_test_summary": "counts of skill tests per family, no per-run data",
    "ipfs_cache_entry": "IPFS cache entry with a placeholder CID, not a benchmark",
    "backend_availability_flags": "backend availability flags, not results",
    "ipfs_accelerate_test_output": "IPFS-accelerate backend test output (tracebacks of the test harness), no model or hardware",
    "hardware_fix_report": "hardware-fix / coverage / test-generation report about test files, not results",
    "api_backend_test_results": "API-backend (remote service) test output, not model x hardware benchmark data",
    "unattributed_error_record": "error record without model or hardware to attribute it to",
    "browser_capabilities": "browser capability probe, not results",
    "browser_comparison": "browser feature comparison without model x hardware measurements",
    "web_platform_comparison": "hand-written web platform summary (aggregates only), not per-run results",
    "web_testing_config": "web testing environment configuration",
}


def convert_document(document: object, source_name: str) -> Conversion:
    """Convert one parsed document; ``source_name`` only supplies a file-name time stamp."""
    shape = detect_shape(document)
    if shape in NOT_RESULTS:
        return Conversion(shape=shape, is_result=False, reason=f"not a result: {NOT_RESULTS[shape]}")
    adapter = ADAPTERS.get(shape)
    if adapter is None:
        return Conversion(shape=UNKNOWN, is_result=False,
                          reason=f"unrecognised document ({_describe(document)}); no shape rule matched")
    file_time = normalize.timestamp_from_file_name(source_name)
    ctx = Context(
        file_time=normalize.format_timestamp(file_time) if file_time else None,
        markers=SimulationMarkers.from_document(document),
    )
    out = adapter(document, ctx)
    records = {category: rows for category, rows in out.records.items() if rows}
    reason = out.reason
    if out.skipped:
        note = f"{out.skipped} performance row(s) without model, hardware or a positive latency/throughput left out"
        reason = f"{reason}; {note}" if reason else note
    if not records and not out.failures and reason is None:
        reason = "result-shaped document with no run in it"
    return Conversion(shape=shape, is_result=True, records=records, failures=out.failures, reason=reason)


def _describe(document: object) -> str:
    if isinstance(document, dict):
        keys = sorted(map(str, document))
        return "object with keys " + ", ".join(keys[:8]) + (", ..." if len(keys) > 8 else "")
    if isinstance(document, list):
        return f"list of {len(document)} item(s)"
    return type(document).__name__
