"""Every real file of the original system, shape by shape, through ``convert_document``."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from benchmark_pipeline.lib.legacy import convert_document
from benchmark_pipeline.lib.normalize import KNOWN_HARDWARE_TYPES
from benchmark_pipeline_tests.conftest import SHARED, needs_shared

REALDATA = SHARED / "realdata"
pytestmark = needs_shared("realdata")


def _files(shape_dir: str) -> list[Path]:
    return sorted(p for p in (REALDATA / shape_dir).rglob("*") if p.is_file())


def _load(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=str)


def _converted(shape_dir: str):
    """(path, document, conversion) for each parseable file of a manifest shape directory."""
    out = []
    for path in _files(shape_dir):
        try:
            document = _load(path)
        except json.JSONDecodeError:
            continue
        out.append((path, document, convert_document(document, str(path.relative_to(REALDATA)))))
    assert out, f"no files under {shape_dir}"
    return out


RESULT_DIRS = {
    "direct_benchmark": {"direct_benchmark"},
    "hw_benchmark_results": {"hw_benchmark_results"},
    "batch_benchmarks": {"batch_benchmarks"},
    "updater_perf_records_list": {"updater_perf_records_list"},
    "per_model_hw_benchmark_stub": {"per_model_hw_benchmark_stub"},
    "web_platform_result": {"web_platform_result"},
    "benchmark_progress": {"benchmark_progress"},
    "benchmark_suite_results": {"benchmark_suite_results"},
    "model_functionality": {"model_functionality"},
    "hardware_compatibility_matrix": {"hardware_compatibility_matrix"},
    "critical_new_model_tests": {"critical_new_model_tests"},
    "skill_test_results": {"skill_test_results", "skill_test_summary"},
    "skill_perf_metadata_results": {"skill_perf_metadata_results"},
    "hardware_cpu_results": {"hardware_cpu_results"},
    "subprocess_test_wrapper": {"subprocess_test_wrapper"},
    "perf_skill_tests_wrapper": {"perf_skill_tests_wrapper"},
}
NOT_RESULT_DIRS = {
    "api_backend_test_results": {"api_backend_test_results", "unattributed_error_record"},
    "benchmark_config": {"benchmark_config"},
    "benchmark_models_catalog": {"benchmark_models_catalog"},
    "benchmark_summary": {"benchmark_summary"},
    "ipfs_accelerate_test_output_and_cache": {"ipfs_cache_entry", "empty_document", "backend_availability_flags",
                                              "ipfs_accelerate_test_output"},
    "misc_hardware_reports": {"hardware_fix_report", "real_vs_sim_run"},
    "web_platform_summary": {"browser_capabilities", "browser_comparison", "web_platform_comparison",
                             "web_testing_config", "web_platform_batch"},
}


def _check_common(conversion) -> None:
    """What every consumer relies on, whatever the shape."""
    for category, rows in conversion.records.items():
        assert category in {"performance", "compatibility", "integration"}
        for row in rows:
            assert isinstance(row["is_simulated"], bool)
            assert row["is_simulated"] == bool(row.get("simulation_reason"))
            if "timestamp" in row:
                assert row["timestamp"].endswith("Z") and row["time_source"] in {"record", "file_name"}
            if "hardware_type" in row:
                assert row["hardware_type"] in KNOWN_HARDWARE_TYPES
            if category == "performance":
                assert row["model_name"] and row["model_name"].lower() != "unknown"
                assert row.get("average_latency_ms", 0) > 0 or row.get("throughput_items_per_second", 0) > 0
                assert all(v is not None and (isinstance(v, bool) or v != 0.0) for v in row.values())
            if category == "compatibility":
                assert isinstance(row["is_compatible"], bool)
                assert row.get("model_name") or row.get("model_family")
            if category == "integration":
                assert row["status"] in {"pass", "fail", "error", "skip"}
    for failure in conversion.failures:
        assert failure["error_type"] and failure["stage"]
        assert failure.get("model_name") or failure.get("model_family")
        assert isinstance(failure["is_simulated"], bool)


@pytest.mark.parametrize("shape_dir", sorted(RESULT_DIRS))
def test_result_shapes_are_detected_and_well_formed(shape_dir):
    for path, _, conversion in _converted(shape_dir):
        assert conversion.shape in RESULT_DIRS[shape_dir], path
        _check_common(conversion)


@pytest.mark.parametrize("shape_dir", sorted(NOT_RESULT_DIRS))
def test_not_result_shapes_give_no_rows(shape_dir):
    for path, _, conversion in _converted(shape_dir):
        assert conversion.shape in NOT_RESULT_DIRS[shape_dir], path
        _check_common(conversion)
        if not conversion.is_result:
            assert not conversion.records and not conversion.failures
            assert conversion.reason and conversion.reason.startswith("not a result")


def test_direct_benchmark_rows_are_measured_milliseconds():
    rows, failures = [], []
    for _, document, conversion in _converted("direct_benchmark"):
        rows += conversion.records.get("performance", [])
        failures += conversion.failures
        ok = [b for b in document["batch_results"].values() if b.get("success")]
        assert len(conversion.records.get("performance", [])) == len(ok)
    assert len(rows) >= 8 and failures
    for row in rows:
        assert 0.1 < row["average_latency_ms"] < 10_000
        assert row["latency_p50_ms"] <= row["latency_p90_ms"] <= row["latency_p99_ms"]
        assert row["memory_peak_mb"] > 100 and row["is_simulated"] is False
    assert all(f["stage"] == "batch" and f["hardware_type"] == "cpu" for f in failures)


def test_hw_benchmark_latencies_are_converted_from_seconds():
    rows = 0
    for _, document, conversion in _converted("hw_benchmark_results"):
        by_key = {(r["model_name"], r["hardware_type"], r["test_case"]): r for r in conversion.records.get("performance", [])}
        for models in document["benchmarks"].values():
            for model, per_hw in models.items():
                for hw, run in per_hw.items():
                    for config, result in run["benchmark_results"].items():
                        if result.get("status") == "completed":
                            row = by_key[(run["model_name"], hw, config)]
                            assert row["average_latency_ms"] == pytest.approx(result["avg_latency"] * 1000)
                            assert 10 < row["average_latency_ms"] < 1_000_000
                            rows += 1
        failed = [f for f in conversion.failures if f["stage"] == "batch"]
        assert all(f.get("batch_size") and f["hardware_type"] for f in failed)
    assert rows > 100


def test_batch_benchmarks_fall_back_to_stdout_metrics():
    (_, document, conversion), = _converted("batch_benchmarks")
    embedded = conversion.records["performance"]
    stripped = copy.deepcopy(document)
    for run in stripped["results"].values():
        run.pop("benchmark_data")
    from_text = convert_document(stripped, "batch.json").records["performance"]
    assert len(from_text) == len(embedded) == 2
    for text_row in from_text:
        match = next(r for r in embedded if r["model_name"] == text_row["model_name"])
        assert text_row["average_latency_ms"] == pytest.approx(match["average_latency_ms"], abs=0.01)
        assert text_row["memory_peak_mb"] == pytest.approx(match["memory_peak_mb"], abs=0.01)


def test_web_platform_results_are_flagged_simulated():
    for _, _, conversion in _converted("web_platform_result"):
        (row,) = conversion.records["performance"]
        assert row["is_simulated"] and row["hardware_type"] in {"webgpu", "webnn"}


def test_simulated_hardware_list_marks_only_listed_hardware():
    seen = set()
    for _, document, conversion in _converted("model_functionality"):
        listed = document.get("simulated_hardware")
        for row in conversion.records.get("compatibility", []):
            if listed:
                assert row["is_simulated"] == (row["hardware_type"] in {"openvino", "rocm", "mps", "webgpu", "webnn", "qualcomm"})
                seen.add(row["is_simulated"])
            else:
                assert not row["is_simulated"]
    assert seen == {True, False}


def test_mock_markers_flag_skill_rows():
    flagged = 0
    for shape_dir in ("skill_perf_metadata_results", "skill_test_results"):
        for _, _, conversion in _converted(shape_dir):
            for row in conversion.records.get("compatibility", []):
                mocked = any("MOCK" in v for v in row["metadata"]["verdicts"])
                assert row["is_simulated"] == mocked
                flagged += mocked
    assert flagged > 5


def test_per_model_stub_display_names_become_canonical():
    hardware = set()
    for _, document, conversion in _converted("per_model_hw_benchmark_stub"):
        (compat,) = conversion.records["compatibility"]
        assert compat["model_name"] == document["model_path"]
        hardware.add((document["hardware"], compat["hardware_type"]))
    assert ("AMD ROCm", "rocm") in hardware and ("Apple MPS", "mps") in hardware


def test_compatibility_matrix_is_family_level():
    rows = [r for _, _, c in _converted("hardware_compatibility_matrix") for r in c.records["compatibility"]]
    assert rows and all("model_name" not in r and r["model_family"] for r in rows)


def test_benchmark_progress_failures_match_failed_entries():
    for _, document, conversion in _converted("benchmark_progress"):
        assert len(conversion.failures) == len(document["failed_benchmarks"])
        assert not conversion.records
        assert all(f["hardware_type"] in KNOWN_HARDWARE_TYPES and f["model_name"] for f in conversion.failures)


def test_benchmark_suite_performance_crashes_are_failures_not_rows():
    for _, document, conversion in _converted("benchmark_suite_results"):
        crashed = [s for s in document["performance_benchmarks"].values() if s.get("status") == "error"]
        suite_failures = [f for f in conversion.failures if f["stage"] == "benchmark_suite"]
        assert bool(crashed) == bool(suite_failures)
        pairs = [(r["model_name"], r["hardware_type"]) for r in conversion.records.get("compatibility", [])]
        assert len(pairs) == len(set(pairs))


def test_malformed_files_do_not_parse_and_the_flagged_aggregate_is_empty():
    broken = 0
    for path in _files("malformed_or_empty"):
        try:
            document = _load(path)
        except json.JSONDecodeError:
            broken += 1
            continue
        conversion = convert_document(document, path.name)
        assert not conversion.records and not conversion.failures and conversion.reason
    assert broken == 2


def test_detection_ignores_the_file_name():
    (_, document, _), *_ = _converted("direct_benchmark")
    honest = convert_document(document, "direct_benchmark_x_cpu.json")
    for misleading in ("hardware_compatibility_matrix.json", "api_check_results/config.json", "performance.json"):
        other = convert_document(document, misleading)
        assert other.shape == honest.shape == "direct_benchmark"
        assert other.records == honest.records


def test_file_name_only_supplies_a_missing_time():
    document = {"model_families": {"embedding": {"hardware_compatibility": {"cpu": {"compatible": True}}}}}
    stamped = convert_document(document, "runs/matrix_20250303_050233.json").records["compatibility"][0]
    bare = convert_document(document, "matrix.json").records["compatibility"][0]
    assert stamped["timestamp"] == "2025-03-03T05:02:33Z" and stamped["time_source"] == "file_name"
    assert "timestamp" not in bare and "time_source" not in bare


def test_unknown_documents_are_not_given_a_category():
    for document in ({"foo": 1, "bar": [1, 2]}, [1, 2, 3], "text", 42):
        conversion = convert_document(document, "benchmark_performance_results.json")
        assert conversion.shape == "unknown" and not conversion.is_result
        assert not conversion.records and conversion.reason
