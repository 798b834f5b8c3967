"""The real result files in ../shared/llm_results (not redistributable, so absent on a user's clone): each one
parses or is refused naming what is missing, and a few values per format are checked against the file by
hand (the literal in each assertion was read from the file; the factor says the unit conversion).

The folder is listed when pytest collects (``pytest_generate_tests``), never when this module is imported.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from benchmark_pipeline.lib.llm.detect import read_llm_folder, read_llm_results
from benchmark_pipeline.lib.llm.errors import LlmFormatError
from benchmark_pipeline.lib.llm.metrics import memory_to_mb
from benchmark_pipeline_tests.conftest import SHARED, needs_shared

LLM_RESULTS = SHARED / "llm_results"
pytestmark = needs_shared("llm_results")
FORMATS = ("vllm_serve", "vllm_throughput_latency", "sglang", "genai_perf", "aiperf", "llmperf",
           "optimum_benchmark", "mlperf")


def pytest_generate_tests(metafunc):
    if "shared_file" in metafunc.fixturenames:
        files = sorted(p for p in LLM_RESULTS.rglob("*") if p.is_file() and p.name != "MANIFEST.md") \
            if LLM_RESULTS.is_dir() else []
        metafunc.parametrize("shared_file", files, ids=[f"{p.parent.name}/{p.name[:80]}" for p in files])


def test_every_shared_file_parses_or_is_refused_with_its_reason(shared_file):
    try:
        results = read_llm_results(shared_file)
    except LlmFormatError as refused:
        assert refused.file == str(shared_file) and refused.problem
        return
    assert results, shared_file
    for result in results:
        assert result.failed_run or result.metrics, (shared_file, result.record)
        assert result.tool and result.source == str(shared_file)


def test_the_folders_are_the_manifests_formats():
    assert {p.name for p in LLM_RESULTS.iterdir() if p.is_dir()} == set(FORMATS)


def _file(folder: str, fragment: str):
    (path,) = [p for p in (LLM_RESULTS / folder).iterdir() if fragment in p.name]
    return path


def _one(folder: str, fragment: str):
    (result,) = read_llm_results(_file(folder, fragment))
    return result


def test_vllm_serve_by_hand():
    r = _one("vllm_serve", "horizontal_scaling__bm_results__rayoss251-x2__part1__conc128")
    assert r.value("ttft_ms", "mean") == 2542.9967760377212  # "mean_ttft_ms": 2542.9967760377212 (ms)
    assert r.value("itl_ms", "p50") == 27.701870421878994  # "median_itl_ms"
    assert r.value("output_tokens_per_s", "value") == 2192.3008919688355  # "output_throughput" (tok/s)
    assert r.request_rate is None and r.request_rate_unbounded  # "request_rate": 1000000000.0
    assert (r.num_prompts, r.completed, r.failed, r.concurrency) == (1280, 958, 322, 128)
    assert r.duration_s == 109.24595290608704  # "duration" (s)

    r = _one("vllm_serve", "bm_results_snapshot__qwen32b")
    assert r.request_rate == 1.0 and r.concurrency is None and r.concurrency_unbounded  # 1000000000
    assert r.model == "openai/gpt-oss-120b"  # the file's model_id, whatever the directory says

    r = _one("vllm_serve", "vllm_sweep_v0.25.1")
    assert r.request_rate_unbounded and r.value("e2el_ms", "mean") == 340.3411977451469  # "mean_e2el_ms"
    assert r.extra["max_num_seqs"] == 4 and r.extra["run_number"] == 0

    r = _one("vllm_serve", "bench_serve_all_requests_failed")
    assert r.failed_run and r.metrics == {} and (r.completed, r.failed) == (0, 8)

    r = _one("vllm_serve", "nv-action")
    assert r.value("tpot_ms", "p99") == 50.32315672169644 and r.request_rate == 1.0 and r.completed is None


def test_vllm_latency_and_throughput_by_hand():
    r = _one("vllm_throughput_latency", "latency_llama8B")
    assert r.value("batch_latency_ms", "mean") == pytest.approx(7.1091228867570555 * 1000)  # "avg_latency" (s)
    assert r.value("batch_latency_ms", "p99") == pytest.approx(7.868931790143251 * 1000)  # percentiles["99"]
    assert r.value("batch_latency_ms", "max") == pytest.approx(7.935083007439971 * 1000)  # max of latencies

    r = _one("vllm_throughput_latency", "vllm-benchmarks__benchmarks__results__throughput")
    assert r.value("total_tokens_per_s", "value") == 1198.996134490826  # "tokens_per_second"
    assert r.value("requests_per_s", "value") == 2.781764499305893 and r.completed == 200
    assert r.duration_s == 71.89681227505207  # "elapsed_time" (s)


def test_sglang_by_hand():
    results = read_llm_results(_file("sglang", "llama_3_3_70b_online_output"))
    assert len(results) == 7  # seven appended runs
    assert [r.request_rate for r in results] == [1.0, 2.0, 4.0, 8.0, 16.0, 4.0, 8.0]
    assert results[0].value("ttft_ms", "p50") == 85.74514742940664  # "median_ttft_ms"
    assert results[0].value("e2el_ms", "mean") == 7840.616212638561  # "mean_e2e_latency_ms"
    assert results[5].dataset == "sharegpt" and results[5].input_tokens_configured is None
    assert results[5].record == "line 6"

    r = _one("sglang", "agg_n100_in128_out128_c8")
    assert r.request_rate is None and r.request_rate_unbounded  # bare Infinity
    assert r.value("ttft_ms", "mean") == 28.385840514674783 and r.value("itl_ms", "p95") == 17.85111976787448
    assert (r.model, r.framework_version, r.concurrency) == ("Qwen/Qwen2.5-3B-Instruct", "0.5.5.post3", 8)
    assert r.input_tokens_mean == pytest.approx(6145 / 100)  # total_input_tokens / completed

    r = _one("sglang", "Scicom-AI")
    assert r.gpu_count == 8 and r.precision == "bfloat16"  # server_info tp_size 8, dtype
    assert r.failed == 0 and r.num_prompts == 100  # 100 empty error strings


def test_genai_perf_by_hand():
    r = _one("genai_perf", "concurrency10")
    assert r.value("ttft_ms", "mean") == 145.52817012999998  # time_to_first_token.avg (ms)
    assert r.value("tpot_ms", "p99") == 15.316776419999997  # inter_token_latency.p99 is TPOT
    assert r.value("output_tokens_per_s", "value") == 667.5573827440704  # output_token_throughput
    assert r.value("output_tokens_per_s_per_request", "mean") == 66.78505761717635
    assert (r.model, r.concurrency, r.output_tokens_configured) == ("meta/llama3-8b-instruct", 10, 50)

    r = _one("genai_perf", "wellflat")
    assert r.value("ttst_ms", "mean") == 8.629121772727274 and r.completed == 66  # request_count.avg
    assert r.model == "openai/gpt-oss-20b"


def test_aiperf_by_hand():
    r = _one("aiperf", "wellflat")
    assert r.extra["schema_version"] is None and r.tool_version is None
    assert r.value("tpot_ms", "mean") == 18.03231861805396  # inter_token_latency.avg
    assert r.value("itl_ms", "mean") == 18.01533642036886  # inter_chunk_latency.avg
    assert r.duration_s == 519.597973721  # benchmark_duration (sec)
    assert (r.gpu_name, r.gpu_count) == ("NVIDIA A100-SXM4-80GB", 1)  # 1 of 8 GPUs busy
    # gpu_0 energy_consumption max - min, in MJ: 1444.0182106460002 - 1443.963410859
    assert r.energy_joules == pytest.approx((1444.0182106460002 - 1443.963410859) * 1e6)
    assert r.memory_peak_mb == pytest.approx(memory_to_mb(73.24617932800001, "GB"))
    assert r.power_watts == pytest.approx(94.61787741935483)

    r = _one("aiperf", "akamaslabs")
    assert (r.tool_version, r.extra["schema_version"], r.concurrency) == ("0.11.0", "1.3", 16)
    assert r.value("ttft_ms", "p99") == 66.76023583999999 and "count" not in r.metrics["ttft_ms"]
    assert r.value("goodput_requests_per_s", "value") == 6.814794988917071
    assert r.run_timestamp == datetime(2026, 9, 30, 16, 53, 39, 902853, tzinfo=timezone.utc)

    r = _one("aiperf", "databloom")
    assert (r.completed, r.failed, r.tool_version) == (10, 10, "0.8.0")
    assert r.extra["errors"] == ["TimeoutError x10"] and not r.failed_run


def test_llmperf_by_hand():
    r = _one("llmperf", "groq_70b")
    assert r.hardware == "hosted:groq"
    assert r.value("ttft_ms", "mean") == pytest.approx(0.22786034579078357 * 1000)  # results_ttft_s_mean (s)
    assert r.value("e2el_ms", "p99") == pytest.approx(0.9922714155726133 * 1000)
    assert r.value("e2el_per_output_token_ms", "mean") == pytest.approx(0.005384122478382455 * 1000)
    assert r.value("requests_per_s", "value") == pytest.approx(176.73895115400083 / 60)  # per minute
    assert r.value("output_tokens_per_s", "value") == 441.84737788500206
    assert r.extra["number_input_tokens_min"] == 550.0  # "550"

    r = _one("llmperf", "bedrock_13b")
    assert r.hardware == "hosted:bedrock" and r.extra["error_codes"] == {"-100": 97}  # "{-100.0: 97}"
    assert (r.completed, r.failed) == (53, 97)

    r = _one("llmperf", "apeterson7")
    assert r.hosted_provider is None and r.completed == 2


def test_optimum_benchmark_by_hand():
    r = _one("optimum_benchmark", "llama_awq")
    assert r.value("ttft_ms", "mean") == pytest.approx(0.03244741096496582 * 1000)  # prefill latency (s)
    assert r.value("tpot_ms", "mean") == pytest.approx(1.4620818969726563 * 1000 / 63)  # decode / (64 - 1)
    assert r.value("decode_tokens_per_s", "value") == 43.089241533217766
    assert r.value("itl_ms", "p99") == pytest.approx(0.03272397735595703 * 1000)  # per_token p99
    assert (r.quantization, r.quantization_bits, r.gpu_count) == ("awq", 4, 1)  # device_ids "1"
    assert r.memory_peak_mb == pytest.approx(8118.075392e6 / 2 ** 20)  # max_process_vram, decimal MB

    r = _one("optimum_benchmark", "llama70b_compile")
    assert (r.gpu_name, r.gpu_count, r.precision) == ("NVIDIA A100-SXM4-80GB", 2, "bfloat16")  # "2,4"

    r = _one("optimum_benchmark", "huggingface__optimum-benchmark__benchmark@")
    assert r.value("batch_latency_ms", "mean") == pytest.approx(11.329571039485746 * 1000)  # forward (s)
    assert r.value("samples_per_s", "value") == 5.648934083819028 and r.gpu_name is None
    assert r.batch_size == 64 and r.cpu_name.startswith("Intel(R) Xeon(R) Platinum 8259CL")


def test_mlperf_by_hand():
    r = _one("mlperf", "Interactive")
    assert r.extra["scenario"] == "Interactive" and r.request_rate == 29.5  # target_qps
    assert r.value("tpot_ms", "p99") == pytest.approx(39507635 / 1e6)  # ns
    assert r.value("requests_per_s", "value") == 29.41  # Completed samples per second
    assert (r.model, r.gpu_name, r.gpu_count) == ("llama2-70b", "MI300X", 8)

    r = _one("mlperf", "8xMI300X_2xEPYC-9374F")
    assert r.value("samples_per_s", "value") == 80.15 and r.value("output_tokens_per_s", "value") == 23514.8
    assert "e2el_ms" not in r.metrics and r.workload_type == "offline"

    r = _one("mlperf", "Intel__results__1-node-2S-GNR-PyTorch__gptj-99__Offline__performance__run_1__"
                       "mlperf_log_summary")
    assert r.value("output_tokens_per_s", "value") == 498.316  # Tokens per second (inferred)
    assert r.gpu_name is None and r.system_name == "1-node-2S-GNR-PyTorch"


def test_mlperf_summary_and_detail_of_the_same_run_combine():
    results = read_llm_folder([LLM_RESULTS / "mlperf"])
    assert len(results) == 6  # 8 logs: 6 summaries, 2 of them with their detail log
    (gh200,) = [r for r in results if "GH200" in r.source]
    assert gh200.extra["log"] == "summary+detail"
    assert gh200.value("ttft_ms", "mean") == pytest.approx(279691518 / 1e6)  # Mean First Token latency (ns)
    assert gh200.tool_version == "4.1 @ 3fb6c3e1f6"  # loadgen_version, only in the detail log
    assert gh200.duration_s == pytest.approx(3702.101)  # power_begin 08:56:59.984 .. power_end 09:58:42.085
    assert gh200.num_prompts == 49152 and gh200.value("requests_per_s", "value") == 13.33
