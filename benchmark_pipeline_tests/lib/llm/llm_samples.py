"""Small result files in each LLM tool's shape, written by us (not copied from anyone), one per key generation.

The numbers are invented and chosen so the expected canonical values can be computed by hand in the tests.
Each function returns a fresh value, so a test may change it freely.
"""

from __future__ import annotations

import json


# -- vLLM serve ----------------------------------------------------------------------------------------

def vllm_serve_current() -> dict:
    """``vllm bench serve`` of a recent release: failed, e2el, peak throughput, rate "inf"."""
    return {
        "date": "20260301-120000", "endpoint_type": "vllm", "backend": "vllm", "label": None,
        "model_id": "acme/llm-7b", "tokenizer_id": "acme/llm-7b", "num_prompts": 10, "request_rate": "inf",
        "burstiness": 1.0, "max_concurrency": 4, "duration": 2.0, "completed": 9, "failed": 1,
        "total_input_tokens": 900, "total_output_tokens": 450, "request_throughput": 4.5,
        "request_goodput": None, "output_throughput": 225.0, "total_token_throughput": 675.0,
        "max_output_tokens_per_s": 300.0, "max_concurrent_requests": 4, "rtfx": 0.0,
        "mean_ttft_ms": 120.5, "median_ttft_ms": 100.0, "std_ttft_ms": 30.0, "p99_ttft_ms": 250.0,
        "mean_tpot_ms": 12.0, "median_tpot_ms": 11.5, "std_tpot_ms": 1.0, "p99_tpot_ms": 15.0,
        "mean_itl_ms": 11.0, "median_itl_ms": 10.0, "std_itl_ms": 4.0, "p99_itl_ms": 30.0,
        "mean_e2el_ms": 700.0, "median_e2el_ms": 650.0, "std_e2el_ms": 90.0, "p99_e2el_ms": 950.0,
    }


def vllm_serve_legacy() -> dict:
    """``benchmark_serving.py`` of an older release: best_of, no failed/e2el, the "request_goodput:" key,
    the 1e9 sentinel for an unlimited rate, custom percentiles (p90, p99.9)."""
    return {
        "date": "20240901-080000", "backend": "openai-chat", "model_id": "acme/llm-13b",
        "tokenizer_id": "acme/llm-13b", "best_of": 1, "use_beam_search": False, "num_prompts": 20,
        "request_rate": 1000000000.0, "max_concurrency": None, "duration": 10.0, "completed": 18,
        "total_input_tokens": 3600, "total_output_tokens": 1800, "request_throughput": 1.8,
        "request_goodput:": 1.2, "output_throughput": 180.0, "total_token_throughput": 540.0,
        "mean_ttft_ms": 200.0, "median_ttft_ms": 190.0, "std_ttft_ms": 20.0, "p90_ttft_ms": 230.0,
        "p99.9_ttft_ms": 300.0, "mean_tpot_ms": 20.0, "median_tpot_ms": 19.0, "std_tpot_ms": 2.0,
        "p90_tpot_ms": 22.0, "p99.9_tpot_ms": 28.0, "mean_itl_ms": 19.0, "median_itl_ms": 18.0,
        "std_itl_ms": 5.0, "p90_itl_ms": 25.0, "p99.9_itl_ms": 60.0,
    }


def vllm_serve_fork_minimal() -> dict:
    """A fork that keeps only the TTFT/TPOT/ITL blocks; the rate is a number and the limit a 1e9 sentinel."""
    return {
        "date": "20250304-014141", "backend": "vllm", "model_id": "/models/acme-8b", "request_rate": 2.0,
        "max_concurrency": 1000000000, "mean_ttft_ms": 80.0, "median_ttft_ms": 75.0, "p99_ttft_ms": 150.0,
        "mean_tpot_ms": 30.0, "median_tpot_ms": 29.0, "mean_itl_ms": 28.0, "median_itl_ms": 27.0,
    }


def vllm_serve_all_failed() -> dict:
    sample = vllm_serve_current()
    sample.update(completed=0, failed=10, total_input_tokens=0, total_output_tokens=0, request_throughput=0.0,
                  output_throughput=0.0, total_token_throughput=0.0, max_output_tokens_per_s=0.0,
                  max_concurrency=None)
    for key in list(sample):
        if key.endswith("_ms"):
            sample[key] = 0.0
    return sample


def vllm_latency() -> dict:
    return {"avg_latency": 1.5, "latencies": [1.25, 1.5, 1.75],
            "percentiles": {"10": 1.3, "50": 1.5, "90": 1.7, "99": 1.74}}


def vllm_throughput() -> dict:
    return {"elapsed_time": 40.0, "num_requests": 100, "total_num_tokens": 48000,
            "requests_per_second": 2.5, "tokens_per_second": 1200.0}


# -- SGLang --------------------------------------------------------------------------------------------

def sglang_old_line() -> dict:
    """An older bench_serving line (~18 keys, no model, no mean TTFT)."""
    return {
        "backend": "sglang", "dataset_name": "random", "request_rate": 4.0, "max_concurrency": None,
        "total_input_tokens": 51200, "total_output_tokens": 25600, "total_output_tokens_retokenized": 25590,
        "mean_e2e_latency_ms": 5000.0, "median_e2e_latency_ms": 4800.0, "median_ttft_ms": 90.0,
        "median_itl_ms": 14.0, "output_throughput": 850.0, "sharegpt_output_len": None,
        "random_input_len": 1024, "random_output_len": 512, "random_range_ratio": 1.0, "duration": 30.0,
        "completed": 50,
    }


def sglang_new_line() -> dict:
    """A newer line: std/p95/p99, concurrency, server_info, per-request details with one error."""
    return {
        "tag": "run-b", "backend": "sglang-oai", "dataset_name": "sharegpt", "request_rate": float("inf"),
        "max_concurrency": 16, "sharegpt_output_len": None, "random_input_len": 1024, "random_output_len": 128,
        "random_range_ratio": 0.0,
        "server_info": {"model_path": "acme/llm-70b", "served_model_name": "acme-70b", "dtype": "bfloat16",
                        "quantization": "fp8", "tp_size": 4, "pp_size": 1, "dp_size": 2,
                        "enable_dp_attention": False, "version": "0.5.9"},
        "duration": 10.0, "completed": 3, "total_input_tokens": 300, "total_output_tokens": 90,
        "total_output_tokens_retokenized": 91, "request_throughput": 0.3, "input_throughput": 30.0,
        "output_throughput": 9.0, "total_throughput": 39.0, "mean_e2e_latency_ms": 2000.0,
        "median_e2e_latency_ms": 1900.0, "std_e2e_latency_ms": 100.0, "p90_e2e_latency_ms": 2100.0,
        "p99_e2e_latency_ms": 2200.0, "mean_ttft_ms": 300.0, "median_ttft_ms": 280.0, "std_ttft_ms": float("nan"),
        "p99_ttft_ms": 400.0, "mean_tpot_ms": 50.0, "median_tpot_ms": 49.0, "std_tpot_ms": 2.0,
        "p99_tpot_ms": 55.0, "mean_itl_ms": 48.0, "median_itl_ms": 45.0, "std_itl_ms": 9.0, "p95_itl_ms": 60.0,
        "p99_itl_ms": 80.0, "concurrency": 2.5, "accept_length": None, "max_output_tokens_per_s": 20.0,
        "max_concurrent_requests": 3, "input_lens": [100, 100, 100, 100], "output_lens": [30, 30, 30, 0],
        "ttfts": [0.28, 0.3, 0.32, 0.0], "itls": [[0.05], [0.05], [0.04], []],
        "generated_texts": ["a", "b", "c", ""], "errors": ["", "", "", "timeout"],
    }


def sglang_jsonl(*lines: dict) -> str:
    """JSON lines as bench_serving appends them: Python's writer, so bare ``Infinity`` / ``NaN`` tokens."""
    return "".join(json.dumps(line) + "\n" for line in lines)


# -- GenAI-Perf ----------------------------------------------------------------------------------------

def _block(unit: str, avg: float, **stats: float) -> dict:
    return {"unit": unit, "avg": avg, **stats}


def genai_perf_old() -> dict:
    """Older export: p99..p25, output_token_throughput_per_request, flat input_config."""
    return {
        "request_throughput": _block("requests/sec", 2.0),
        "request_latency": _block("ms", 900.0, p99=990.0, p95=980.0, p90=970.0, p75=950.0, p50=900.0, p25=850.0,
                                  max=999.0, min=800.0, std=40.0),
        "time_to_first_token": _block("ms", 100.0, p99=190.0, p90=150.0, p50=95.0, p25=80.0, max=200.0,
                                      min=50.0, std=20.0),
        "inter_token_latency": _block("ms", 16.0, p99=20.0, p50=15.5, min=12.0, max=21.0, std=1.5),
        "output_token_throughput": _block("tokens/sec", 100.0),
        "output_token_throughput_per_request": _block("tokens/sec", 55.0, p50=54.0, min=40.0, max=70.0),
        "output_sequence_length": _block("tokens", 50.0, p50=50.0),
        "input_sequence_length": _block("tokens", 200.0, p50=200.0),
        "input_config": {"model": ["acme/llm-8b"], "backend": "tensorrtllm", "service_kind": "openai",
                         "endpoint_type": "chat", "streaming": True, "concurrency": 2, "request_rate": None,
                         "num_prompts": 100, "synthetic_input_tokens_mean": 200, "output_tokens_mean": 50,
                         "prompt_source": "synthetic"},
    }


def genai_perf_new() -> dict:
    """Newer export: p1/p5/p10, time_to_second_token, per-user throughput, request_count, nested
    input_config (Triton service kind), and telemetry_stats for two GPUs of which one is idle."""
    return {
        "request_throughput": _block("requests/sec", 4.0),
        "request_latency": _block("ms", 1500.0, p1=900.0, p5=1000.0, p10=1100.0, p50=1450.0, p99=2400.0),
        "request_count": {"unit": "count", "avg": 40.0},
        "time_to_first_token": _block("ms", 250.0, p1=120.0, p50=240.0, p90=320.0, p99=400.0),
        "time_to_second_token": _block("ms", 9.0, p50=8.5),
        "inter_token_latency": _block("ms", 8.0, p50=7.8, p90=9.0),
        "output_token_throughput": _block("tokens/sec", 600.0),
        "output_token_throughput_per_user": _block("tokens/sec/user", 125.0, p50=128.0),
        "output_sequence_length": _block("tokens", 150.0),
        "input_sequence_length": _block("tokens", 500.0),
        "telemetry_stats": {
            "gpu_power_usage": {"unit": "W", "gpu0": {"avg": 300.0, "max": 350.0}, "gpu1": {"avg": 60.0}},
            "energy_consumption": {"unit": "MJ", "gpu0": {"avg": 10.003, "min": 10.0, "max": 10.006},
                                   "gpu1": {"avg": 3.0, "min": 3.0, "max": 3.001}},
            "gpu_utilization": {"unit": "%", "gpu0": {"avg": 80.0, "max": 95.0}, "gpu1": {"avg": 0.0, "max": 0.0}},
            "gpu_memory_used": {"unit": "GB", "gpu0": {"avg": 70.0, "max": 72.0},
                                "gpu1": {"avg": 0.0, "max": 0.0}},
        },
        "input_config": {
            "model_names": ["acme-llm-70b"],
            "endpoint": {"backend": "vllm", "service_kind": "triton", "url": "localhost:8001"},
            "input": {"synthetic_tokens": {"mean": 512, "stddev": 0}, "num_dataset_entries": 100},
            "output_tokens": {"mean": 150, "stddev": 0},
            "perf_analyzer": {"stimulus": {"concurrency": [8]}},
        },
    }


# -- AIPerf --------------------------------------------------------------------------------------------

def _aiperf_measures(count_sum: bool = False) -> dict:
    def block(unit, avg, **stats):
        out = _block(unit, avg, **stats)
        if count_sum:
            out.update(count=10, sum=avg * 10)
        return out

    return {
        "request_throughput": {"unit": "requests/sec", "avg": 1.0},
        "request_latency": block("ms", 2000.0, p50=1900.0, p90=2500.0, min=1000.0, max=3000.0, std=300.0),
        "time_to_first_token": block("ms", 100.0, p50=95.0, p90=130.0, p99=160.0),
        "time_to_second_token": block("ms", 10.0, p50=9.5),
        "inter_token_latency": block("ms", 20.0, p50=19.5, p90=22.0),
        "inter_chunk_latency": block("ms", 21.0, p50=19.0, p99=45.0),
        "output_token_throughput": {"unit": "tokens/sec", "avg": 95.0},
        "output_token_throughput_per_user": block("tokens/sec/user", 50.0, p50=51.0),
        "e2e_output_token_throughput": block("tokens/sec/user", 47.5, p50=48.0),
        "output_sequence_length": block("tokens", 95.0),
        "input_sequence_length": block("tokens", 300.0),
        "http_req_duration": block("ms", 2001.0),
        "benchmark_duration": {"unit": "sec", "avg": 10.0},
        "total_token_throughput": {"unit": "tokens/sec", "avg": 395.0},
    }


def aiperf_early() -> dict:
    """Before schema_version: telemetry_data with one busy GPU of two, loadgen in input_config."""
    out = _aiperf_measures()
    out.update({
        "request_count": {"unit": "requests", "avg": 10.0}, "error_request_count": None,
        "goodput": None, "was_cancelled": False, "error_summary": [],
        "start_time": "2026-01-15T06:27:34.000000", "end_time": "2026-01-15T06:27:44.000000",
        "telemetry_data": {"summary": {}, "endpoints": {"dcgm:9400": {"gpus": {
            "gpu_0": {"gpu_name": "NVIDIA H100 80GB HBM3", "metrics": {
                "gpu_power_usage": {"unit": "W", "avg": 400.0, "min": 100.0, "max": 600.0},
                "energy_consumption": {"unit": "MJ", "avg": 500.002, "min": 500.0, "max": 500.004},
                "gpu_utilization": {"unit": "%", "avg": 60.0, "max": 100.0},
                "gpu_memory_used": {"unit": "GB", "avg": 70.0, "max": 75.0}}},
            "gpu_1": {"gpu_name": "NVIDIA H100 80GB HBM3", "metrics": {
                "gpu_power_usage": {"unit": "W", "avg": 70.0, "min": 69.0, "max": 71.0},
                "energy_consumption": {"unit": "MJ", "avg": 300.0, "min": 300.0, "max": 300.0007},
                "gpu_utilization": {"unit": "%", "avg": 0.0, "max": 0.0},
                "gpu_memory_used": {"unit": "GB", "avg": 0.0, "max": 0.0}}},
        }}}},
        "input_config": {"endpoint": {"model_names": ["acme/llm-20b"], "type": "chat", "streaming": True},
                         "input": {"prompt": {"input_tokens": {"mean": 300, "stddev": 0},
                                              "output_tokens": {"mean": 100, "stddev": 0}}},
                         "loadgen": {"concurrency": 2, "request_count": 10}},
    })
    return out


def aiperf_v1_0() -> dict:
    """schema 1.0: versions, a request rate instead of a concurrency, some failed requests."""
    out = _aiperf_measures()
    out.update({
        "schema_version": "1.0", "aiperf_version": "0.8.0", "benchmark_id": "b-1",
        "request_count": {"unit": "requests", "avg": 8.0}, "error_request_count": {"unit": "requests", "avg": 2.0},
        "was_cancelled": False, "start_time": "2026-04-27T13:20:11Z",
        "error_summary": [{"error_details": {"type": "TimeoutError", "message": "TimeoutError()"}, "count": 2}],
        "input_config": {"endpoint": {"model_names": ["acme-3b-gguf:q4_k_m"], "type": "chat"},
                         "loadgen": {"request_rate": 0.5, "request_count": 10},
                         "tokenizer": {"name": "gpt2"}},
    })
    return out


def aiperf_v1_3() -> dict:
    """schema 1.3: count and sum in every block, models.items, the load in phases, run_info, goodput."""
    out = _aiperf_measures(count_sum=True)
    out.update({
        "schema_version": "1.3", "aiperf_version": "0.11.0", "benchmark_id": "b-2",
        "request_count": {"unit": "requests", "avg": 10.0}, "goodput": {"unit": "requests/sec", "avg": 0.9},
        "good_request_fraction": {"unit": "ratio", "avg": 0.9}, "was_cancelled": False, "error_summary": [],
        "start_time": "2026-09-30T16:53:39.902853", "run_info": {"sweep_id": "s-1", "trial": 0},
        "telemetry_data": {"summary": {}, "endpoints": {}, "error_summary": []},
        "input_config": {"models": {"strategy": "round_robin", "items": [{"name": "acme-4b"}]},
                         "phases": [{"name": "warmup", "type": "concurrency", "exclude_from_results": True,
                                     "concurrency": 1},
                                    {"name": "profiling", "type": "concurrency", "exclude_from_results": False,
                                     "concurrency": 16, "duration": 300.0}],
                         "tokenizer": {"name": "acme/tokenizer"}},
    })
    return out


def aiperf_all_failed() -> dict:
    """Every request failed: no latency or throughput block at all, only error counts and error_summary."""
    return {
        "schema_version": "1.3", "aiperf_version": "0.11.0", "benchmark_id": "b-3",
        "error_request_count": {"unit": "requests", "avg": 5.0, "count": 1, "sum": 5.0},
        "was_cancelled": False, "start_time": "2026-10-01T00:00:00Z",
        "error_summary": [{"error_details": {"type": "HTTPError", "code": 503, "message": "unavailable"},
                           "count": 5}],
        "input_config": {"endpoint": {"model_names": ["acme-4b"]}, "loadgen": {"concurrency": 4}},
    }


# -- llmperf -------------------------------------------------------------------------------------------

def llmperf_summary(framework: str | None = "acmecloud", completed: int = 8, errors: int = 2) -> dict:
    out = {
        "version": "2023-08-31", "name": "acme_summary", "model": "acme/llm-70b", "mean_input_tokens": 550,
        "stddev_input_tokens": 0, "mean_output_tokens": 150, "stddev_output_tokens": 10,
        "num_concurrent_requests": 5, "timestamp": 1704851704,
        "results_num_requests_started": completed + errors, "results_error_rate": errors / (completed + errors),
        "results_number_errors": errors,
        "results_error_code_frequency": "{-100.0: %d}" % errors if errors else "{}",
        "results_num_completed_requests": completed, "results_num_completed_requests_per_min": 30.0,
        "results_mean_output_throughput_token_per_s": 400.0,
        "results_number_input_tokens_mean": 551.0, "results_number_input_tokens_min": "540",
        "results_number_input_tokens_max": "560", "results_number_output_tokens_mean": 149.0,
        "results_number_output_tokens_min": "140", "results_number_output_tokens_max": "155",
    }
    for measure, base in (("ttft_s", 0.25), ("end_to_end_latency_s", 2.0), ("inter_token_latency_s", 0.0125),
                          ("request_output_throughput_token_per_s", 75.0)):
        out.update({f"results_{measure}_quantiles_p50": base, f"results_{measure}_quantiles_p90": base * 1.2,
                    f"results_{measure}_mean": base, f"results_{measure}_min": base / 2,
                    f"results_{measure}_max": base * 2, f"results_{measure}_stddev": base / 10})
    if framework is not None:
        out["framework"] = framework
    return out


# -- optimum-benchmark ---------------------------------------------------------------------------------

def _latency(values: list[float]) -> dict:
    mean = sum(values) / len(values)
    return {"unit": "s", "values": values, "count": len(values), "total": sum(values), "mean": mean,
            "p50": sorted(values)[len(values) // 2], "p90": max(values), "p95": max(values), "p99": max(values),
            "stdev": 0.01, "stdev_": 1.0}


def optimum_text_generation() -> dict:
    """benchmark.json of a generation run: config + report with load/prefill/decode/per_token, null blocks."""
    memory = lambda process: {"unit": "MB", "max_ram": 1000.0, "max_global_vram": process + 500.0,  # noqa: E731
                              "max_process_vram": process, "max_reserved": process - 100.0,
                              "max_allocated": process - 200.0}
    return {
        "config": {
            "name": "acme_awq",
            "backend": {"name": "pytorch", "version": "2.5.0", "model": "acme/llm-8b-awq", "task": "text-generation",
                        "library": "transformers", "device": "cuda", "device_ids": "0,1", "torch_dtype": "float16",
                        "quantization_scheme": "awq", "quantization_config": {"bits": 4, "group_size": 128}},
            "scenario": {"name": "inference", "iterations": 10, "input_shapes": {"batch_size": 2,
                                                                                 "sequence_length": 128},
                         "new_tokens": None, "generate_kwargs": {"max_new_tokens": 33, "min_new_tokens": 33}},
            "launcher": {"name": "process"},
            "environment": {"cpu": " Acme CPU", "gpu": ["NVIDIA L4", "NVIDIA L4", "NVIDIA L4"], "gpu_count": 3,
                            "optimum_benchmark_version": "0.5.0", "transformers_version": "4.47.1"},
        },
        "report": {
            "load_model": {"memory": memory(4_000.0), "latency": _latency([12.0]), "throughput": None,
                           "energy": None, "efficiency": None},
            "prefill": {"memory": memory(5_000.0), "latency": _latency([0.02, 0.03]),
                        "throughput": {"unit": "samples/s", "value": 80.0},
                        "energy": {"unit": "kWh", "cpu": 0.0, "gpu": 0.00001, "ram": 0.0, "total": 0.00001},
                        "efficiency": None},
            "decode": {"memory": memory(5_242.88), "latency": _latency([0.64, 0.96]),
                       "throughput": {"unit": "tokens/s", "value": 80.0},
                       "energy": {"unit": "kWh", "cpu": 0.0, "gpu": 0.00002, "ram": 0.0, "total": 0.00002},
                       "efficiency": {"unit": "tokens/kWh", "value": 1.0}},
            "per_token": {"memory": None, "latency": _latency([0.02, 0.025, 0.03]), "throughput": None,
                          "energy": None, "efficiency": None},
            "generate": None,
        },
    }


def optimum_forward_report() -> dict:
    """benchmark_report.json alone, a non-generative run: load and forward, memory null."""
    return {
        "load": {"memory": None, "latency": _latency([5.0]), "throughput": None, "energy": None,
                 "efficiency": None},
        "forward": {"memory": None, "latency": _latency([0.5, 0.5, 0.5]),
                    "throughput": {"unit": "samples/s", "value": 128.0}, "energy": None, "efficiency": None},
    }


# -- MLPerf loadgen ------------------------------------------------------------------------------------

MLPERF_SERVER_SUMMARY = """================================================
MLPerf Results Summary
================================================
SUT name : AcmeSUT
Scenario : Server
Mode     : PerformanceOnly
Completed samples per second    : 10.5
Completed tokens per second: 3000.25
Result is : VALID
  Performance constraints satisfied : Yes
TTFT Early Stopping Result:
 * Run successful.

================================================
Additional Stats
================================================
Scheduled samples per second : 10.6
Min latency (ns)                : 500000000
Max latency (ns)                : 90000000000
Mean latency (ns)               : 30000000000
50.00 percentile latency (ns)   : 28000000000
99.90 percentile latency (ns)   : 85000000000

Completed tokens per second                 : 3000.25
Min First Token latency (ns)                : 20000000
Mean First Token latency (ns)               : 250000000
90.00 percentile first token latency (ns)   : 400000000
99.00 percentile first token latency (ns)   : 600000000

Min Time to Output Token (ns)                : 30000000
Mean Time to Output Token (ns)               : 150000000
99.00 percentile time to output token (ns)   : 190000000

================================================
Test Parameters Used
================================================
samples_per_query : 1
target_qps : 10.6
ttft_latency (ns): 2000000000
tpot_latency (ns): 200000000
min_duration (ms): 600000

No warnings encountered during test.

No errors encountered during test.
"""

MLPERF_OFFLINE_SUMMARY = """================================================
MLPerf Results Summary
================================================
SUT name : PySUT
Scenario : Offline
Mode     : PerformanceOnly
Samples per second: 80.5
Tokens per second (inferred): 24000.5
Result is : VALID
  Min duration satisfied : Yes

================================================
Additional Stats
================================================
Min latency (ns)                : 1000000000
Mean latency (ns)               : 500000000000
99.00 percentile latency (ns)   : 900000000000

================================================
Test Parameters Used
================================================
samples_per_query : 48000
target_qps : 80
"""


def mlperf_server_detail(completed_per_s: float = 10.5) -> str:
    """The detail log of the Server run above (``:::MLLOG`` lines)."""
    entries = [
        ("loadgen_version", "5.0 @ abcdef"), ("test_datetime", "2025-02-01T10:00:00Z"),
        ("sut_name", "AcmeSUT"), ("requested_scenario", "Server"), ("effective_scenario", "Server"),
        ("effective_test_mode", "PerformanceOnly"), ("effective_target_qps", 10.6),
        ("effective_samples_per_query", 1), ("requested_server_ttft_latency", 2000000000),
        ("requested_server_tpot_latency", 200000000),
        ("power_begin", "02-01-2025 10:00:01.000"), ("power_end", "02-01-2025 10:10:01.500"),
        ("result_validity", "VALID"), ("result_query_count", 6300),
        ("result_scheduled_samples_per_sec", 10.6), ("result_completed_samples_per_sec", completed_per_s),
        ("result_min_latency_ns", 500000000), ("result_mean_latency_ns", 30000000000),
        ("result_50.00_percentile_latency_ns", 28000000000), ("result_90.00_percentile_latency_ns", 60000000000),
        ("result_first_token_mean_latency_ns", 250000000),
        ("result_first_token_50.00_percentile_latency_ns", 240000000),
        ("result_time_per_output_token_90.00_percentile_ns", 170000000),
        ("result_time_to_output_token_mean", 150000000), ("result_completed_tokens_per_second", 3000.25),
    ]
    lines = []
    for key, value in entries:
        lines.append(":::MLLOG " + json.dumps({"key": key, "value": value, "time_ms": 1.0,
                                               "namespace": "mlperf::logging", "event_type": "POINT_IN_TIME",
                                               "metadata": {"is_error": False, "is_warning": False}}))
    lines.append(":::MLLOG " + json.dumps({"key": "error_runtime", "value": "a query timed out",
                                           "metadata": {"is_error": True, "is_warning": False}}))
    return "\n".join(lines) + "\n"


MLPERF_SYSTEM = {"system_name": "Acme box", "accelerator_model_name": "NVIDIA H100-SXM-80GB",
                 "accelerators_per_node": 4, "number_of_nodes": 1, "host_processor_model_name": "Acme Xeon",
                 "framework": "TensorRT-LLM 0.12"}

# A path in the submission layout: <division>/<submitter>/results/<system>/<benchmark>/<scenario>/performance/run_1
MLPERF_RUN_DIR = ("closed", "Acme", "results", "4xH100-SXM_TRT", "llama2-70b-99", "Server", "performance", "run_1")
