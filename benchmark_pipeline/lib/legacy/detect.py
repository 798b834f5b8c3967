"""Shape detection from the content of a parsed document alone.

The original converter guessed the category from the file name and fell back to "performance"; that is
why it stored a hundred rows of model ``unknown``. Here each shape is recognised by the keys and value types
that make it what it is, the rules are tried most specific first, and a document no rule claims is
``unknown`` — never a default category. The file name is not an argument, so it cannot be consulted.
"""

from __future__ import annotations

from typing import Callable

from benchmark_pipeline.lib.legacy.common import dict_items, outcome, platform_of

UNKNOWN = "unknown"


def _has(doc: dict, *keys: str) -> bool:
    return all(key in doc for key in keys)


def _any(doc: dict, *keys: str) -> bool:
    return any(key in doc for key in keys)


def _values(doc: dict, predicate: Callable[[dict], bool], minimum: int = 1) -> bool:
    """At least ``minimum`` dict values satisfy the predicate."""
    return sum(1 for _, value in dict_items(doc) if predicate(value)) >= minimum


def _outcome_keys(doc: dict) -> tuple[int, int]:
    """(keys whose value is an outcome text, of those how many are prefixed by a platform)."""
    outcomes = [key for key, value in doc.items() if isinstance(value, str) and outcome(value) is not None]
    return len(outcomes), sum(1 for key in outcomes if platform_of(key)[0])


def _is_skill_status(doc: dict) -> bool:
    total, on_platform = _outcome_keys(doc)
    return on_platform >= 2 and total >= 2


def _is_api_status(doc: dict) -> bool:
    total, on_platform = _outcome_keys(doc)
    return on_platform == 0 and total >= 3 and total >= len(doc) / 2


def _list_rules(doc: list) -> str:
    items = [item for item in doc if isinstance(item, dict)]
    if not items or len(items) != len(doc):
        return UNKNOWN
    if all(_has(i, "model_name", "hardware_type") for i in items) and any(
        _any(i, "average_latency_ms", "throughput_items_per_second", "latency_avg", "throughput") for i in items
    ):
        return "updater_perf_records_list"
    if all(_any(i, "fixed_file", "original_file") or _has(i, "file_path", "returncode") for i in items):
        return "hardware_fix_report"
    return UNKNOWN


# (shape, rule) pairs, most specific first. Each rule reads content only.
_RULES: list[tuple[str, Callable[[dict], bool]]] = [
    ("empty_document", lambda d: not d),
    ("direct_benchmark", lambda d: isinstance(d.get("batch_results"), dict) and _has(d, "model", "hardware")),
    ("hw_benchmark_results", lambda d: isinstance(d.get("benchmarks"), dict) and _any(d, "hardware_info", "system_info")),
    ("benchmark_suite_results", lambda d: _any(d, "functionality_verification", "performance_benchmarks")
        and isinstance(d.get("models"), dict)),
    ("model_functionality", lambda d: isinstance(d.get("model_results"), dict) and isinstance(d.get("detailed_results"), list)),
    ("hardware_compatibility_matrix", lambda d: isinstance(d.get("model_families"), dict)
        and _values(d["model_families"], lambda v: "hardware_compatibility" in v)),
    ("benchmark_summary", lambda d: isinstance(d.get("model_families"), dict)
        and _values(d["model_families"], lambda v: "hardware_results" in v)),
    ("benchmark_progress", lambda d: _any(d, "failed_benchmarks", "completed_benchmarks")),
    ("batch_benchmarks", lambda d: isinstance(d.get("results"), dict) and isinstance(d.get("models"), list)
        and _values(d["results"], lambda v: _any(v, "stdout", "benchmark_data"))),
    ("per_model_hw_benchmark_stub", lambda d: _has(d, "model", "hardware", "compatible")
        and isinstance(d.get("batch_sizes"), dict)),
    ("critical_new_model_tests", lambda d: (isinstance(d.get("model_results"), dict)
        and _values(d["model_results"], lambda v: _has(v, "status", "return_code")))
        or (isinstance(d.get("tests"), list) and "summary" in d
            and all(isinstance(t, dict) and _has(t, "model", "status") for t in d["tests"]))),
    ("web_platform_result", lambda d: isinstance(d.get("metrics"), dict) and _has(d, "platform", "model_name")
        and _any(d, "is_simulation", "implementation_type", "platform_support")),
    ("web_platform_batch", lambda d: isinstance(d.get("results"), list) and "platform" in d and d["results"]
        and all(isinstance(r, dict) and _has(r, "platform", "metrics") for r in d["results"])),
    ("perf_skill_tests_wrapper", lambda d: isinstance(d.get("skill_tests"), dict)),
    ("subprocess_test_wrapper", lambda d: _has(d, "test_file", "return_code", "elapsed_time")),
    ("skill_perf_metadata_results", lambda d: isinstance(d.get("metadata"), dict) and "test_file" in d["metadata"]
        and isinstance(d.get("results"), dict)),
    ("skill_test_summary", lambda d: _has(d, "by_family", "total_models")),
    ("skill_test_results", lambda d: _is_skill_status(d)
        or (isinstance(d.get("status"), dict) and _is_skill_status(d["status"]))
        or (isinstance(d.get("metadata"), dict) and isinstance(d.get("results"), dict))
        or (isinstance(d.get("tests"), dict) and _has(d, "model", "summary")
            and _values(d["tests"], lambda v: "status" in v))),
    ("hardware_cpu_results", lambda d: all(k.startswith("test_") for k in d)
        and _values(d, _is_skill_status)),
    # --- documents that are not results ---
    ("benchmark_config", lambda d: isinstance(d.get("hardware_types"), list) and isinstance(d.get("batch_sizes"), list)),
    ("benchmark_models_catalog", lambda d: _values(d, lambda v: _has(v, "name", "family", "modality"), minimum=3)),
    ("aggregated_benchmarks", lambda d: _has(d, "inference", "training", "hardware_compatibility")),
    ("ipfs_cache_entry", lambda d: _has(d, "cid", "name", "data")),
    ("backend_availability_flags", lambda d: len(d) >= 3 and all(v is None or isinstance(v, bool) for v in d.values())),
    ("ipfs_accelerate_test_output", lambda d: _values(d, lambda v: any(k.startswith("test_") for k in v))
        and all(isinstance(v, dict) and all(isinstance(x, str) for x in v.values()) for v in d.values())),
    ("hardware_fix_report", lambda d: _any(d, "files_fixed", "files_details", "total_issues_fixed", "files_analyzed",
                                          "platform_coverage", "generation_stats")),
    ("real_vs_sim_run", lambda d: _has(d, "model", "platform", "success") and _any(d, "error", "execution_time")),
    ("api_backend_test_results", lambda d: _any(d, "apis", "api", "api_models", "known_models", "available_apis",
                                               "temperature_results", "successful_requests")
        or (isinstance(d.get("tests"), dict) and _values(d["tests"], lambda v: _any(v, "exit_code", "strategy")
                                                         or _values(v, lambda w: "exit_code" in w)))
        or (isinstance(d.get("models"), list) and any(isinstance(m, dict) and "response_time" in m for m in d["models"]))
        or _is_api_status(d)),
    ("unattributed_error_record", lambda d: _has(d, "error", "traceback") and not _any(d, "model", "model_name")),
    ("browser_capabilities", lambda d: "browser" in d and _any(d, "webgpu", "webnn", "wasm")),
    ("browser_comparison", lambda d: isinstance(d.get("tests"), list) and "model" in d
        and all(isinstance(t, dict) and "browser" in t for t in d["tests"])),
    ("web_platform_comparison", lambda d: _has(d, "results_by_modality", "summary")),
    ("web_testing_config", lambda d: isinstance(d.get("browsers"), dict) and _any(d, "webgpu_available", "webnn_available")),
]


def detect_shape(document: object) -> str:
    """Name of the shape ``document`` has, or ``unknown``."""
    if isinstance(document, list):
        return _list_rules(document)
    if not isinstance(document, dict):
        return UNKNOWN
    for shape, rule in _RULES:
        try:
            if rule(document):
                return shape
        except (TypeError, AttributeError):
            continue  # a value of an unexpected type: this rule does not match
    return UNKNOWN
