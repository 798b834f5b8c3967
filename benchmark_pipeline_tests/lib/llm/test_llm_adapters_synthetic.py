"""Each adapter over files we wrote in its tool's shape, one per key generation and quirk (MANIFEST of
../shared/llm_results); runs everywhere, ../shared or not. Expected values are worked out by hand in the
comments."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from benchmark_pipeline.lib.llm.detect import read_llm_folder, read_llm_results
from benchmark_pipeline.lib.llm.errors import LlmFormatError
from benchmark_pipeline_tests.lib.llm import llm_samples as s


def write(tmp_path: Path, name: str, payload) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload), encoding="utf-8")
    return path


def one(tmp_path: Path, name: str, payload):
    results = read_llm_results(write(tmp_path, name, payload))
    assert len(results) == 1
    return results[0]


# -- vLLM serve ----------------------------------------------------------------------------------------

def test_vllm_serve_current(tmp_path):
    r = one(tmp_path, "serve.json", s.vllm_serve_current())
    assert (r.tool, r.model, r.framework) == ("vllm_bench_serve", "acme/llm-7b", "vllm")
    assert r.request_rate is None and r.request_rate_unbounded  # "inf"
    assert (r.concurrency, r.num_prompts, r.completed, r.failed) == (4, 10, 9, 1)
    assert r.input_tokens_mean == 100.0 and r.output_tokens_mean == 50.0  # 900 / 9, 450 / 9
    assert r.value("ttft_ms", "mean") == 120.5 and r.value("ttft_ms", "p50") == 100.0  # median -> p50
    assert r.value("e2el_ms", "p99") == 950.0 and r.value("itl_ms", "std") == 4.0
    assert r.value("output_tokens_per_s", "value") == 225.0 and r.value("peak_output_tokens_per_s", "value") == 300
    assert r.value("requests_per_s", "value") == 4.5 and "goodput_requests_per_s" not in r.metrics  # null
    assert r.run_timestamp == datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc) and r.duration_s == 2.0
    assert r.extra["max_concurrent_requests"] == 4 and not r.failed_run


def test_vllm_serve_legacy_keys_goodput_colon_and_sentinel(tmp_path):
    r = one(tmp_path, "legacy.json", s.vllm_serve_legacy())
    assert r.value("goodput_requests_per_s", "value") == 1.2  # from "request_goodput:"
    assert r.request_rate is None and r.request_rate_unbounded  # 1e9
    assert r.concurrency is None and not r.concurrency_unbounded  # null: no limit given
    assert r.failed == 2 and any("num_prompts - completed" in n for n in r.notes)  # 20 - 18, no 'failed' key
    assert r.value("ttft_ms", "p90") == 230.0 and r.value("ttft_ms", "p99.9") == 300.0
    assert "e2el_ms" not in r.metrics and r.framework is None  # openai-chat names an API, not a server
    assert r.extra["best_of"] == 1


def test_vllm_serve_fork_with_only_latency_blocks(tmp_path):
    r = one(tmp_path, "fork.json", s.vllm_serve_fork_minimal())
    assert set(r.metrics) == {"ttft_ms", "tpot_ms", "itl_ms"}
    assert r.request_rate == 2.0 and r.concurrency is None and r.concurrency_unbounded  # 1e9 sentinel
    assert r.completed is None and r.duration_s is None and r.input_tokens_mean is None


def test_vllm_serve_all_failed_is_a_failure_not_zeros(tmp_path):
    r = one(tmp_path, "failed.json", s.vllm_serve_all_failed())
    assert r.failed_run and r.metrics == {} and r.failure == "all 10 requests failed"
    assert r.completed == 0 and r.failed == 10


def test_vllm_latency_script_seconds_to_ms(tmp_path):
    r = one(tmp_path, "latency.json", s.vllm_latency())
    assert r.tool == "vllm_bench_latency" and r.workload_type == "offline" and r.model is None
    assert r.metrics["batch_latency_ms"] == {"mean": 1500.0, "p10": 1300.0, "p50": 1500.0, "p90": 1700.0,
                                             "p99": 1740.0, "min": 1250.0, "max": 1750.0}


def test_vllm_throughput_script(tmp_path):
    r = one(tmp_path, "throughput.json", s.vllm_throughput())
    assert r.tool == "vllm_bench_throughput" and r.duration_s == 40.0 and r.completed == 100
    assert r.value("total_tokens_per_s", "value") == 1200.0  # prompt + output tokens / s
    assert r.value("requests_per_s", "value") == 2.5 and "output_tokens_per_s" not in r.metrics


# -- SGLang --------------------------------------------------------------------------------------------

def test_sglang_lines_with_bare_infinity(tmp_path):
    text = s.sglang_jsonl(s.sglang_old_line(), s.sglang_new_line())
    assert "Infinity" in text and "NaN" in text  # not strict JSON, as bench_serving writes it
    old, new = read_llm_results(write(tmp_path, "runs.jsonl", text))
    assert (old.record, new.record) == ("line 1", "line 2")

    assert old.model is None and any("names no model" in n for n in old.notes)
    assert old.request_rate == 4.0 and old.value("ttft_ms", "p50") == 90.0 and "mean" not in old.metrics["ttft_ms"]
    assert old.value("e2el_ms", "mean") == 5000.0  # mean_e2e_latency_ms
    assert old.input_tokens_configured == 1024 and old.input_tokens_mean == 1024.0  # 51200 / 50

    assert new.model == "acme-70b" and new.framework == "sglang" and new.framework_version == "0.5.9"
    assert new.gpu_count == 8  # tp 4 x pp 1 x dp 2
    assert (new.quantization, new.precision) == ("fp8", "bfloat16")
    assert new.request_rate is None and new.request_rate_unbounded and new.concurrency == 16
    assert new.num_prompts == 4 and new.failed == 1 and new.completed == 3  # one non-empty error
    assert new.input_tokens_configured is None and new.output_tokens_configured is None  # sharegpt
    assert (new.input_tokens_mean, new.output_tokens_mean) == (100.0, 30.0)
    assert "std" not in new.metrics["ttft_ms"] and any("non-finite" in n for n in new.notes)
    assert new.value("itl_ms", "p95") == 60.0 and new.value("input_tokens_per_s", "value") == 30.0
    assert new.extra["mean_concurrency_observed"] == 2.5


def test_sglang_all_failed_line(tmp_path):
    line = s.sglang_old_line()
    line.update(completed=0, output_throughput=0.0, median_ttft_ms=0.0)
    r = one(tmp_path, "failed.jsonl", s.sglang_jsonl(line))
    assert r.failed_run and r.metrics == {}


# -- GenAI-Perf ----------------------------------------------------------------------------------------

def test_genai_perf_old_export(tmp_path):
    r = one(tmp_path, "profile_export_genai_perf.json", s.genai_perf_old())
    assert (r.tool, r.model, r.concurrency, r.request_rate) == ("genai_perf", "acme/llm-8b", 2, None)
    assert r.framework is None  # backend 'tensorrtllm' is a default under the OpenAI service kind
    assert r.value("tpot_ms", "mean") == 16.0  # GenAI-Perf's inter_token_latency is TPOT
    assert "itl_ms" not in r.metrics
    assert r.value("output_tokens_per_s_per_request", "p50") == 54.0
    assert r.value("e2el_ms", "p25") == 850.0 and r.value("requests_per_s", "value") == 2.0
    assert (r.input_tokens_configured, r.output_tokens_configured) == (200, 50)
    assert r.input_tokens_mean == 200.0 and r.completed is None


def test_genai_perf_new_export_with_telemetry(tmp_path):
    r = one(tmp_path, "profile_export_genai_perf.json", s.genai_perf_new())
    assert r.model == "acme-llm-70b" and r.framework == "vllm"  # Triton service kind: backend names it
    assert r.concurrency == 8  # perf_analyzer.stimulus.concurrency, written [8]
    assert r.completed == 40 and r.value("ttft_ms", "p1") == 120.0 and r.value("ttst_ms", "mean") == 9.0
    assert r.value("output_tokens_per_s_per_user", "p50") == 128.0
    assert (r.input_tokens_configured, r.output_tokens_configured) == (512, 150)
    # telemetry: gpu0 busy, gpu1 idle -> one GPU counted
    assert r.gpu_count == 1 and r.power_watts == 300.0
    assert r.energy_joules == pytest.approx(6000.0)  # counter rise 0.006 MJ
    assert r.memory_peak_mb == pytest.approx(72e9 / 2 ** 20)  # 72 GB (decimal)
    assert r.value("gpu_utilization_pct", "value") == 80.0


# -- AIPerf --------------------------------------------------------------------------------------------

def test_aiperf_without_schema_version(tmp_path):
    r = one(tmp_path, "profile_export_aiperf.json", s.aiperf_early())
    assert (r.tool, r.tool_version, r.model) == ("aiperf", None, "acme/llm-20b")
    assert r.value("tpot_ms", "mean") == 20.0 and r.value("itl_ms", "mean") == 21.0  # inter_chunk_latency
    assert r.value("output_tokens_per_s_per_request", "mean") == 47.5  # e2e_output_token_throughput
    assert r.value("total_tokens_per_s", "value") == 395.0 and r.duration_s == 10.0
    assert (r.concurrency, r.num_prompts, r.completed) == (2, 10, 10)
    assert (r.input_tokens_configured, r.output_tokens_configured) == (300, 100)
    assert r.gpu_name == "NVIDIA H100 80GB HBM3" and r.gpu_count == 1
    assert r.energy_joules == pytest.approx(4000.0) and r.power_watts == 400.0
    assert r.memory_peak_mb == pytest.approx(75e9 / 2 ** 20)
    assert r.run_timestamp == datetime(2026, 1, 15, 6, 27, 34, tzinfo=timezone.utc)
    assert not any(name.startswith("http") for name in r.metrics)


def test_aiperf_schema_1_0_with_failures(tmp_path):
    r = one(tmp_path, "profile_export_aiperf.json", s.aiperf_v1_0())
    assert (r.tool_version, r.extra["schema_version"]) == ("0.8.0", "1.0")
    assert (r.completed, r.failed, r.num_prompts) == (8, 2, 10)
    assert r.request_rate == 0.5 and r.concurrency is None and not r.failed_run
    assert r.extra["errors"] == ["TimeoutError x2"] and r.extra["tokenizer"] == "gpt2"


def test_aiperf_schema_1_3_count_and_sum_are_not_stats(tmp_path):
    r = one(tmp_path, "profile_export_aiperf.json", s.aiperf_v1_3())
    assert r.model == "acme-4b" and r.concurrency == 16  # the profiling phase, not the warmup
    assert set(r.metrics["ttft_ms"]) == {"mean", "p50", "p90", "p99"}
    assert r.value("goodput_requests_per_s", "value") == 0.9 and r.extra["good_request_fraction"] == 0.9
    assert r.extra["run_info"] == {"sweep_id": "s-1", "trial": 0} and r.gpu_count is None


def test_aiperf_all_failed(tmp_path):
    r = one(tmp_path, "profile_export_aiperf.json", s.aiperf_all_failed())
    assert r.failed_run and r.metrics == {} and r.failed == 5 and r.concurrency == 4
    assert r.failure == "all 5 requests failed: HTTPError (HTTP 503) x5"


# -- llmperf -------------------------------------------------------------------------------------------

def test_llmperf_seconds_text_counts_error_dict_and_provider(tmp_path):
    r = one(tmp_path, "acme_summary.json", s.llmperf_summary())
    assert r.hosted_provider == "acmecloud" and r.hardware == "hosted:acmecloud"
    assert r.value("ttft_ms", "mean") == 250.0 and r.value("ttft_ms", "p90") == pytest.approx(300.0)
    assert r.value("e2el_ms", "max") == 4000.0 and r.value("e2el_ms", "std") == pytest.approx(200.0)
    assert r.value("e2el_per_output_token_ms", "p50") == 12.5  # llmperf's inter_token_latency_s
    assert "tpot_ms" not in r.metrics
    assert r.value("requests_per_s", "value") == 0.5  # 30 per minute
    assert r.value("output_tokens_per_s", "value") == 400.0
    assert r.extra["error_codes"] == {"-100": 2} and (r.completed, r.failed, r.num_prompts) == (8, 2, 10)
    assert r.extra["number_input_tokens_min"] == 540.0  # "540"
    assert r.run_timestamp == datetime.fromtimestamp(1704851704, tz=timezone.utc)


def test_llmperf_self_hosted_framework_and_all_failed(tmp_path):
    assert one(tmp_path, "a.json", s.llmperf_summary(framework="vllm")).framework == "vllm"
    r = one(tmp_path, "b.json", s.llmperf_summary(framework=None, completed=0, errors=5))
    assert r.failed_run and r.metrics == {} and r.hosted_provider is None and "-100" in r.failure


def test_llmperf_error_dict_that_is_not_a_dict(tmp_path):
    sample = s.llmperf_summary()
    sample["results_error_code_frequency"] = "{-100.0: 97"
    with pytest.raises(LlmFormatError) as raised:
        read_llm_results(write(tmp_path, "x_summary.json", sample))
    assert raised.value.field == "results_error_code_frequency" and "x_summary.json" in str(raised.value)


# -- optimum-benchmark ---------------------------------------------------------------------------------

def test_optimum_benchmark_generation(tmp_path):
    r = one(tmp_path, "benchmark.json", s.optimum_text_generation())
    assert (r.model, r.framework, r.framework_version) == ("acme/llm-8b-awq", "pytorch", "2.5.0")
    assert (r.quantization, r.quantization_bits, r.precision) == ("awq", 4, "float16")
    assert (r.gpu_name, r.gpu_count) == ("NVIDIA L4", 2)  # device_ids "0,1" of the 3 listed
    assert (r.batch_size, r.input_tokens_configured, r.output_tokens_configured) == (2, 128, 33)
    assert r.value("ttft_ms", "mean") == pytest.approx(25.0)  # prefill (0.02 + 0.03) / 2 s
    assert r.value("tpot_ms", "mean") == pytest.approx(25.0)  # decode 0.8 s / (33 - 1)
    assert r.value("tpot_ms", "p50") == pytest.approx(30.0)  # 0.96 s / 32
    assert r.value("itl_ms", "mean") == pytest.approx(25.0)  # per_token
    assert r.value("decode_tokens_per_s", "value") == 80.0
    assert r.memory_peak_mb == pytest.approx(5000.0)  # 5242.88 decimal MB
    assert r.energy_joules == pytest.approx(108.0)  # (0.00001 + 0.00002) kWh
    assert r.extra["model_load_s"] == 12.0 and r.tool_version == "0.5.0"


def test_optimum_benchmark_report_alone_forward(tmp_path):
    r = one(tmp_path, "benchmark_report.json", s.optimum_forward_report())
    assert r.model is None and any("without its config" in n for n in r.notes)
    assert r.value("batch_latency_ms", "mean") == pytest.approx(500.0)
    assert r.value("samples_per_s", "value") == 128.0 and r.memory_peak_mb is None


def test_optimum_benchmark_with_every_block_null_is_refused(tmp_path):
    report = {"forward": {"memory": None, "latency": None, "throughput": None, "energy": None,
                          "efficiency": None},
              "load": {"memory": {"unit": "MB", "max_ram": 1.0}, "latency": None, "throughput": None,
                       "energy": None, "efficiency": None}}
    with pytest.raises(LlmFormatError, match="no measurement"):
        read_llm_results(write(tmp_path, "benchmark_report.json", report))


# -- MLPerf --------------------------------------------------------------------------------------------

def test_mlperf_server_summary_ns_and_spacing(tmp_path):
    r = one(tmp_path, "/".join(s.MLPERF_RUN_DIR) + "/mlperf_log_summary.txt", s.MLPERF_SERVER_SUMMARY)
    assert (r.model, r.system_name, r.extra["accuracy_target"]) == ("llama2-70b", "4xH100-SXM_TRT", "99")
    assert (r.gpu_name, r.gpu_count) == ("H100-SXM", 4)  # from the system name
    assert r.workload_type == "online" and r.request_rate == 10.6
    assert r.value("requests_per_s", "value") == 10.5
    assert r.value("output_tokens_per_s", "value") == 3000.25  # "Completed tokens per second: 3000.25"
    assert r.value("e2el_ms", "mean") == 30000.0 and r.value("e2el_ms", "p99.9") == 85000.0
    assert r.value("ttft_ms", "p90") == 400.0 and r.value("tpot_ms", "p99") == 190.0
    assert r.extra["ttft_constraint_ms"] == 2000.0 and r.extra["result_validity"] == "VALID"


def test_mlperf_offline_summary(tmp_path):
    r = one(tmp_path, "mlperf_log_summary.txt", s.MLPERF_OFFLINE_SUMMARY)
    assert r.workload_type == "offline" and r.request_rate_unbounded and r.num_prompts == 48000
    assert r.value("samples_per_s", "value") == 80.5
    assert r.value("output_tokens_per_s", "value") == 24000.5 and any("inferred" in n for n in r.notes)
    assert "e2el_ms" not in r.metrics  # Offline latencies are completion times
    assert r.model is None and any("submission layout" in n for n in r.notes)


def test_mlperf_detail_alone(tmp_path):
    r = one(tmp_path, "/".join(s.MLPERF_RUN_DIR) + "/mlperf_log_detail.txt", s.mlperf_server_detail())
    assert r.tool_version == "5.0 @ abcdef" and r.duration_s == pytest.approx(600.5)
    assert r.run_timestamp == datetime(2025, 2, 1, 10, tzinfo=timezone.utc) and r.num_prompts == 6300
    assert r.value("ttft_ms", "p50") == 240.0 and r.value("tpot_ms", "p90") == 170.0
    assert r.value("tpot_ms", "mean") == 150.0 and r.value("e2el_ms", "p90") == 60000.0
    assert any("loadgen errors" in n for n in r.notes)


def test_mlperf_summary_and_detail_of_one_run_become_one_result(tmp_path):
    run = tmp_path.joinpath(*s.MLPERF_RUN_DIR)
    write(run, "mlperf_log_summary.txt", s.MLPERF_SERVER_SUMMARY)
    write(run, "mlperf_log_detail.txt", s.mlperf_server_detail())
    (r,) = read_llm_folder([tmp_path])
    assert r.extra["log"] == "summary+detail" and r.source.endswith("mlperf_log_summary.txt")
    assert r.value("ttft_ms", "p90") == 400.0  # from the summary
    assert r.value("ttft_ms", "p50") == 240.0  # only the detail has it
    assert r.tool_version == "5.0 @ abcdef" and r.duration_s == pytest.approx(600.5) and r.num_prompts == 6300


def test_mlperf_logs_of_different_runs_stay_apart(tmp_path):
    run = tmp_path.joinpath(*s.MLPERF_RUN_DIR)
    write(run, "mlperf_log_summary.txt", s.MLPERF_SERVER_SUMMARY)
    write(run, "mlperf_log_detail.txt", s.mlperf_server_detail(completed_per_s=12.0))
    results = read_llm_folder([tmp_path])
    assert len(results) == 2 and all(any("kept apart" in n for n in r.notes) for r in results)


def test_mlperf_system_description_outranks_the_system_name(tmp_path):
    run = tmp_path.joinpath(*s.MLPERF_RUN_DIR)
    write(run, "mlperf_log_summary.txt", s.MLPERF_SERVER_SUMMARY)
    write(tmp_path / "closed" / "Acme" / "systems", "4xH100-SXM_TRT.json", s.MLPERF_SYSTEM)
    (r,) = read_llm_results(run / "mlperf_log_summary.txt")
    assert (r.gpu_name, r.gpu_count, r.cpu_name) == ("NVIDIA H100-SXM-80GB", 4, "Acme Xeon")
    assert r.framework == "TensorRT-LLM 0.12"


def test_mlperf_interactive_directory_over_server_in_the_log(tmp_path):
    parts = list(s.MLPERF_RUN_DIR)
    parts[5] = "Interactive"
    r = one(tmp_path, "/".join(parts) + "/mlperf_log_summary.txt", s.MLPERF_SERVER_SUMMARY)
    assert r.extra["scenario"] == "Interactive" and r.workload_type == "online"


def test_mlperf_summary_without_scenario_is_refused(tmp_path):
    text = s.MLPERF_SERVER_SUMMARY.replace("Scenario : Server\n", "")
    with pytest.raises(LlmFormatError, match="Scenario"):
        read_llm_results(write(tmp_path, "mlperf_log_summary.txt", text))


def test_mlperf_summary_with_a_broken_number_names_the_line(tmp_path):
    text = s.MLPERF_SERVER_SUMMARY.replace("Mean latency (ns)               : 30000000000",
                                           "Mean latency (ns)               : 3e1O")
    with pytest.raises(LlmFormatError) as raised:
        read_llm_results(write(tmp_path, "mlperf_log_summary.txt", text))
    assert raised.value.record == "line 20" and raised.value.field == "mean latency (ns)"
