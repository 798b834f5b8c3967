"""Synthetic LLM-serving results for the bundled sample, written in the tools' own file formats.

Why made up: the real result files the adapters were built against belong to their owners and may not be
redistributed, yet the sample job, the reports and the dashboard need LLM runs to show. So the sample's runs
are invented here and written exactly as the tools write theirs: vLLM ``bench serve`` with
``--append-result`` (one JSON object per line, a nightly sweep appended to the configuration's file), AIPerf's
``profile_export_aiperf.json`` with DCGM telemetry, and llmperf's ``*_summary.json`` against a hosted API. What
those formats never say (the GPU, its price, the quantization) is in a sidecar ``<file>.meta.json``, as a
person ingesting real files would give it. The sample therefore goes through the same detection, adapters,
sidecar filling and ingest as a real drop.

Why derived from a model and not drawn at random: comparisons on the sample should read the way they would on
real hardware, or they teach the wrong lesson. Each run follows from a few physical quantities (decoding reads
the weights and KV cache once per step, so it is bound by memory bandwidth; prefill is bound by compute; in a
closed loop of ``c`` clients, ``c`` prefills share the GPU during each request's life and queue ahead of a new
one). So TTFT and TPOT grow with concurrency, throughput saturates, AWQ int4 decodes faster than fp16 at low
load but prefills a little slower, the L4 is cheap and slow, a long prompt saturates prefill, and every
statistic of a run agrees with the others (E2E latency = TTFT + TPOT x (output tokens - 1), throughput =
tokens / duration).

Planted for regression detection to find: the H100 configuration moves to a newer vLLM on day
``REGRESSION["from_day"]`` and from then on its TTFT is ``REGRESSION["factor"]`` times what the model gives
(every statistic, both models, every concurrency; the decode is unchanged). Otherwise runs drift by a percent
or two from day to day.

Deterministic for a seed, from a ``random.Random`` of its own: the rest of the sample draws from another one,
whose files must not change when this module does. Pure functions: ``sample_files`` returns (relative path,
text) pairs and the caller writes them.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import NormalDist
from typing import Any

from .defaults import SIDECAR_SUFFIX

LLM_DAYS = 10
CONCURRENCIES = (1, 4, 16, 64)
FRAMEWORK = "vllm==0.11.0"
# The H100 host moves to this vLLM on that day, and its TTFT is ``factor`` times what it was from then on.
REGRESSION = {"config": "h100", "from_day": 7, "factor": 1.3, "framework": "vllm==0.11.1"}
# The folder the sample's LLM files go to, under the sample root.
FOLDER = "llm"

# Fractions of peak a served model reaches: prefill matmuls, batched decode compute, KV-cache reads.
_PREFILL_MFU = 0.50
# Share of the other requests' prefills that stalls a request's decode: chunked prefill runs the rest in the
# same steps as the decode, which is bound by memory bandwidth, not compute.
_PREFILL_EXPOSED = 0.6
_DECODE_MFU = 0.30
_KV_BANDWIDTH = 0.70
_STEP_OVERHEAD_S = 0.0012  # scheduler and sampling per decode step
_REQUEST_OVERHEAD_S = 0.008  # tokenisation, HTTP and the first step's launch per request


@dataclass(frozen=True)
class Gpu:
    name: str  # as nvidia-smi and DCGM print it
    vram_gb: float
    bandwidth_gbs: float  # HBM/GDDR bandwidth
    tflops: float  # dense 16-bit
    tdp_w: float
    idle_w: float


@dataclass(frozen=True)
class Config:
    key: str  # names its files
    gpu: Gpu
    count: int
    cost_per_hour: float  # on-demand list price of the whole instance
    provider: str
    instance_type: str
    link_s: float = 0.0  # tensor-parallel all-reduces per decode step (PCIe, no NVLink)


@dataclass(frozen=True)
class ModelVersion:
    name: str  # the served model name clients send (``--served-model-name``): one model, several versions
    checkpoint: str  # what was loaded, written as the benchmark's tokenizer id
    parameters: float
    quantization: str
    weight_bytes: float
    decode_efficiency: float  # fraction of bandwidth reached streaming the weights (dequantising costs some)
    prefill_factor: float  # prefill time relative to 16-bit weights
    batch_factor: float  # per-sequence decode compute relative to 16-bit weights
    kv_bytes_per_token: float = 2 * 32 * 8 * 128 * 2  # K and V, 32 layers, 8 KV heads of 128, 16-bit


@dataclass(frozen=True)
class Workload:
    label: str
    input_len: int
    output_len: int


L4 = Gpu("NVIDIA L4", 24.0, 300.0, 121.0, 72.0, 16.0)
A100 = Gpu("NVIDIA A100 80GB PCIe", 80.0, 1935.0, 312.0, 300.0, 45.0)
H100 = Gpu("NVIDIA H100 NVL", 94.0, 3900.0, 835.0, 400.0, 60.0)

CONFIGS = {
    "l4": Config("l4", L4, 1, 0.854, "gcp", "g2-standard-8"),
    "a100": Config("a100", A100, 1, 3.673, "azure", "Standard_NC24ads_A100_v4"),
    "2xa100": Config("2xa100", A100, 2, 7.346, "azure", "Standard_NC48ads_A100_v4", link_s=0.0025),
    "h100": Config("h100", H100, 1, 6.98, "azure", "Standard_NC40ads_H100_v5"),
}

# The unquantized versions are served with --dtype float16 and say so as their scheme, "fp16": the ingest derives
# the bits (and so the VRAM estimate) from the scheme's name, and a version without one would have neither.
LLAMA = ModelVersion("llama-3.1-8b-instruct", "meta-llama/Llama-3.1-8B-Instruct", 8.03e9, "fp16", 16.06e9,
                     0.75, 1.0, 1.0)
LLAMA_AWQ = ModelVersion("llama-3.1-8b-instruct", "hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4", 8.03e9,
                         "awq", 5.73e9, 0.62, 1.15, 1.6)
MISTRAL = ModelVersion("mistral-7b-instruct", "mistralai/Mistral-7B-Instruct-v0.3", 7.25e9, "fp16", 14.5e9,
                       0.75, 1.0, 1.0)

PARAMETERS = {version.name: version.parameters for version in (LLAMA, MISTRAL)}

CHAT = Workload("chat", 512, 128)
SUMMARIZE = Workload("summarize", 4096, 256)

# One vLLM results file per (configuration, model version, workload, vLLM version): a sidecar describes a whole
# file, so what it says (the parameter count, the quantization) must hold for every line of it.
SERIES = (
    ("l4", LLAMA_AWQ, CHAT),
    ("a100", LLAMA, CHAT),
    ("a100", MISTRAL, CHAT),
    ("a100", LLAMA_AWQ, CHAT),
    ("h100", LLAMA, CHAT),
    ("h100", MISTRAL, CHAT),
    ("2xa100", LLAMA, SUMMARIZE),
)
# AIPerf runs with GPU telemetry (energy): (configuration, model version, concurrency, day).
AIPERF_RUNS = (("h100", LLAMA, 16, 5), ("l4", LLAMA_AWQ, 16, 5))
# The hosted API llmperf measured: (provider, model, concurrency, day).
HOSTED = ("together", "llama-3.1-8b-instruct", 8, 8)


# -- the performance model ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Run:
    """One closed-loop run's means, seconds, and the share of GPU time its prefills took (``load``)."""

    ttft: float
    tpot: float
    e2el: float
    load: float


def prefill_s(config: Config, model: ModelVersion, input_len: int) -> float:
    flops = 2 * model.parameters * input_len * model.prefill_factor
    link = 0.9 if config.count > 1 else 1.0
    return _REQUEST_OVERHEAD_S + flops / (config.gpu.tflops * 1e12 * config.count * _PREFILL_MFU * link)


def decode_step_s(config: Config, model: ModelVersion, concurrency: int, context: float) -> float:
    """One decode step for ``concurrency`` sequences of ``context`` tokens: the weights once, each KV cache once."""
    bandwidth = config.gpu.bandwidth_gbs * 1e9 * config.count
    weights = model.weight_bytes / (bandwidth * model.decode_efficiency)
    compute = config.gpu.tflops * 1e12 * config.count * _DECODE_MFU
    per_sequence = (context * model.kv_bytes_per_token / (bandwidth * _KV_BANDWIDTH)
                    + 2 * model.parameters * model.batch_factor / compute)
    return _STEP_OVERHEAD_S + config.link_s + weights + (concurrency - 1) * per_sequence


def run(config: Config, model: ModelVersion, workload: Workload, concurrency: int, drift: float = 1.0) -> Run:
    """Means of a run at ``concurrency``: each request lives through its own prefill, the part of the other
    requests' prefills that stalls the batch (closed loop: about ``c - 1`` of them), and its decode steps."""
    prefill = prefill_s(config, model, workload.input_len) * drift
    step = decode_step_s(config, model, concurrency, workload.input_len + workload.output_len / 2) * drift
    e2el = prefill * (1 + (concurrency - 1) * _PREFILL_EXPOSED) + (workload.output_len - 1) * step
    load = concurrency * prefill * _PREFILL_EXPOSED / e2el
    ttft = prefill * (1 + (concurrency - 1) * load / 2)  # on average half the others' prefills queue ahead
    return Run(ttft=ttft, tpot=(e2el - ttft) / (workload.output_len - 1), e2el=e2el, load=load)


def regressed(result: Run, factor: float) -> Run:
    """The TTFT regression: the first token waits longer, the decode is as fast as before."""
    extra = result.ttft * (factor - 1)
    return Run(ttft=result.ttft + extra, tpot=result.tpot, e2el=result.e2el + extra, load=result.load)


_NORMAL = NormalDist()


def spread(mean: float, sigma: float, percentiles: tuple[float, ...]) -> dict[str, float]:
    """Statistics of a log-normal distribution with this mean: latencies are skewed right, never negative."""
    median = mean * math.exp(-sigma * sigma / 2)
    stats = {"mean": mean, "median": median, "std": mean * math.sqrt(math.exp(sigma * sigma) - 1),
             "min": median * math.exp(sigma * _NORMAL.inv_cdf(0.002)),
             "max": median * math.exp(sigma * _NORMAL.inv_cdf(0.998))}
    for p in percentiles:
        stats[f"p{p:g}"] = median * math.exp(sigma * _NORMAL.inv_cdf(p / 100))
    return stats


def sigmas(result: Run) -> dict[str, float]:
    """How wide each distribution is: queueing widens TTFT most, prefills interleaved into decode widen ITL."""
    return {"ttft": 0.10 + 0.6 * result.load, "tpot": 0.03 + 0.15 * result.load,
            "itl": 0.20 + 0.6 * result.load, "e2el": 0.04 + 0.2 * result.load}


def num_prompts(concurrency: int) -> int:
    return max(32, 8 * concurrency)


def duration_s(result: Run, prompts: int, concurrency: int) -> float:
    """Closed loop: ``prompts / c`` rounds of one request's life, plus the ramp-down of the last round."""
    return prompts / concurrency * result.e2el * 1.02 + result.ttft


# -- vLLM bench serve --------------------------------------------------------------------------------------

_VLLM_PERCENTILES = (90.0, 99.0)  # --metric-percentiles 90,99 (mean, median and std are always written)


def vllm_run(config: Config, model: ModelVersion, workload: Workload, concurrency: int, result: Run,
             finished: datetime) -> dict[str, Any]:
    """One line of ``vllm bench serve --save-result --append-result --percentile-metrics ttft,tpot,itl,e2el
    --metric-percentiles 90,99 --label <workload> --metadata dataset_name=random`` (vLLM writes no dataset
    name of its own; ``--metadata`` keys land at the top level)."""
    prompts = num_prompts(concurrency)
    duration = duration_s(result, prompts, concurrency)
    width = sigmas(result)
    means = {"ttft": result.ttft, "tpot": result.tpot, "itl": result.tpot * 0.99, "e2el": result.e2el}
    distributions = {metric: spread(mean * 1000, width[metric], _VLLM_PERCENTILES) for metric, mean in means.items()}
    output_throughput = prompts * workload.output_len / duration
    peak = max(output_throughput * 1.06, min(concurrency, prompts) * 1000 / distributions["tpot"]["median"])
    document: dict[str, Any] = {
        "date": finished.strftime("%Y%m%d-%H%M%S"), "endpoint_type": "vllm", "backend": "vllm",
        "label": workload.label, "model_id": model.name, "tokenizer_id": model.checkpoint, "num_prompts": prompts,
        "dataset_name": "random", "request_rate": "inf", "burstiness": 1.0, "max_concurrency": concurrency,
        "duration": duration, "completed": prompts, "failed": 0,
        "total_input_tokens": prompts * workload.input_len, "total_output_tokens": prompts * workload.output_len,
        "request_throughput": prompts / duration, "request_goodput": None, "output_throughput": output_throughput,
        "total_token_throughput": prompts * (workload.input_len + workload.output_len) / duration,
        "max_output_tokens_per_s": float(round(peak)),  # tokens in the busiest second
        "max_concurrent_requests": min(concurrency, prompts),
    }
    for metric, stats in distributions.items():
        for stat in ("mean", "median", "std", *(f"p{p:g}" for p in _VLLM_PERCENTILES)):
            document[f"{stat}_{metric}_ms"] = stats[stat]
    return _rounded(document)


def sidecar(config: Config, model: ModelVersion, framework: str, *, gpu_named_in_file: bool = False
            ) -> dict[str, Any]:
    """What the files do not say about the deployment, in the sidecar's keys (``lib/llm/defaults.py``).

    Only keys the ingest will use: a GPU name that states its memory ("80GB") gives it, AWQ names its own bits
    and weights format, and a file whose telemetry names the GPU keeps it (a sidecar GPU would be unused)."""
    out: dict[str, Any] = {}
    if not gpu_named_in_file:
        out.update(gpu=config.gpu.name, gpu_count=config.count)
    if "GB" not in config.gpu.name:
        out["vram_gb"] = config.gpu.vram_gb
    out.update(framework=framework, quantization=model.quantization)
    if model.quantization == "fp16":
        out["format"] = "safetensors"
    out.update(parameters=model.parameters, cost_per_hour=config.cost_per_hour, provider=config.provider,
               instance_type=config.instance_type, spot=False)
    return out


# -- AIPerf ---------------------------------------------------------------------------------------------------

_AIPERF_PERCENTILES = (1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0)


def _block(unit: str, mean: float, sigma: float | None = None) -> dict[str, Any]:
    """An AIPerf measure: ``avg`` alone for a run-level figure, the distribution's stats otherwise."""
    if sigma is None:
        return {"unit": unit, "avg": mean}
    stats = spread(mean, sigma, _AIPERF_PERCENTILES)
    block = {"unit": unit, "avg": stats["mean"]}
    block.update({f"p{p:g}": stats[f"p{p:g}"] for p in _AIPERF_PERCENTILES})
    block.update(min=stats["min"], max=stats["max"], std=stats["std"])
    return block


def aiperf_run(config: Config, model: ModelVersion, workload: Workload, concurrency: int, result: Run,
               started: datetime, counter_mj: float, benchmark_id: str) -> dict[str, Any]:
    """``profile_export_aiperf.json`` (schema 1.0) of ``aiperf profile --concurrency c --request-count n
    --gpu-telemetry``: the run's measures and one DCGM exporter's view of the GPUs it used."""
    prompts = num_prompts(concurrency) * 2
    duration = duration_s(result, prompts, concurrency)
    width = sigmas(result)
    tokens_out = prompts * workload.output_len
    tokens_all = prompts * (workload.input_len + workload.output_len)
    utilisation = min(97.0, 50.0 + 35.0 * min(1.0, concurrency / 16) + 15 * result.load)
    power = config.gpu.idle_w + (config.gpu.tdp_w - config.gpu.idle_w) * utilisation / 100 * 0.9
    energy_mj = power * duration / 1e6
    used_gb = 0.9 * config.gpu.vram_gb * 2 ** 30 / 1e9  # vLLM's default --gpu-memory-utilization 0.9
    gpus = {}
    for index in range(config.count):
        gpus[f"gpu_{index}"] = {"gpu_name": config.gpu.name, "metrics": {
            "gpu_power_usage": {"unit": "W", "avg": power, "min": config.gpu.idle_w * 1.4, "max": power * 1.12},
            "energy_consumption": {"unit": "MJ", "avg": counter_mj + energy_mj / 2, "min": counter_mj,
                                   "max": counter_mj + energy_mj},
            "gpu_utilization": {"unit": "%", "avg": utilisation, "min": 0.0, "max": 100.0},
            "gpu_memory_used": {"unit": "GB", "avg": used_gb, "min": used_gb, "max": used_gb},
        }}
    document = {
        "schema_version": "1.0", "aiperf_version": "0.3.0", "benchmark_id": benchmark_id,
        "request_throughput": _block("requests/sec", prompts / duration),
        "request_latency": _block("ms", result.e2el * 1000, width["e2el"]),
        "request_count": _block("requests", float(prompts)),
        "time_to_first_token": _block("ms", result.ttft * 1000, width["ttft"]),
        "time_to_second_token": _block("ms", result.tpot * 1000 * 1.03, width["itl"]),
        "inter_token_latency": _block("ms", result.tpot * 1000, width["tpot"]),
        "inter_chunk_latency": _block("ms", result.tpot * 1000 * 0.99, width["itl"]),
        "output_token_throughput": _block("tokens/sec", tokens_out / duration),
        "total_token_throughput": _block("tokens/sec", tokens_all / duration),
        "output_token_throughput_per_user": _block("tokens/sec/user", 1000 / (result.tpot * 1000), width["tpot"]),
        "output_sequence_length": _block("tokens", float(workload.output_len)),
        "input_sequence_length": _block("tokens", float(workload.input_len)),
        "benchmark_duration": _block("sec", duration),
        "telemetry_data": {"endpoints": {"localhost:9400": {"gpus": gpus}}},
        "input_config": {
            "endpoint": {"model_names": [model.name]},
            "input": {"prompt": {"input_tokens": {"mean": workload.input_len, "stddev": 0},
                                 "output_tokens": {"mean": workload.output_len, "stddev": 0}}},
            "loadgen": {"concurrency": concurrency, "request_count": prompts},
            "tokenizer": {"name": model.checkpoint},
        },
        "was_cancelled": False,
        "error_summary": [],
        "start_time": started.replace(tzinfo=None).isoformat(),
    }
    return _rounded(document)


# -- llmperf against a hosted API ------------------------------------------------------------------------------

_LLMPERF_PERCENTILES = (25.0, 50.0, 75.0, 90.0, 95.0, 99.0)


def llmperf_summary(provider: str, model: str, workload: Workload, concurrency: int, started: datetime,
                    rng: random.Random) -> dict[str, Any]:
    """llmperf's ``token_benchmark_ray.py`` summary: seconds throughout, the provider in ``framework`` (the
    leaderboard's convention), measured from outside, so the network is in every latency."""
    completed = 100
    ttft = 0.30 * rng.gauss(1.0, 0.03)  # the provider's queue and the round trip
    tpot = 0.0065 * rng.gauss(1.0, 0.03)
    output_mean = workload.output_len - 1.6  # no ignore_eos: a few answers end early
    e2el = ttft + (output_mean - 1) * tpot
    document: dict[str, Any] = {
        "version": "2023-08-31", "name": f"{model}_{workload.input_len}_{workload.output_len}_summary",
        "model": model, "mean_input_tokens": workload.input_len, "mean_output_tokens": workload.output_len,
        "num_concurrent_requests": concurrency,
    }
    for measure, mean, sigma in (("inter_token_latency_s", e2el / output_mean, 0.12),
                                 ("ttft_s", ttft, 0.35), ("end_to_end_latency_s", e2el, 0.12),
                                 ("request_output_throughput_token_per_s", output_mean / e2el, 0.12)):
        stats = spread(mean, sigma, _LLMPERF_PERCENTILES)
        for p in _LLMPERF_PERCENTILES:
            document[f"results_{measure}_quantiles_p{p:g}"] = stats[f"p{p:g}"]
        for stat, key in (("mean", "mean"), ("min", "min"), ("max", "max"), ("std", "stddev")):
            document[f"results_{measure}_{key}"] = stats[stat]
    document.update({
        "results_number_input_tokens_mean": workload.input_len + 0.4,
        "results_number_input_tokens_min": str(workload.input_len - 3),
        "results_number_input_tokens_max": str(workload.input_len + 4),
        "results_number_output_tokens_mean": output_mean,
        "results_number_output_tokens_min": str(workload.output_len - 31),
        "results_number_output_tokens_max": str(workload.output_len),
        "results_num_requests_started": completed, "results_number_errors": 0,
        "results_error_code_frequency": "{}",
        "results_mean_output_throughput_token_per_s": concurrency * output_mean / e2el * 0.95,
        "results_num_completed_requests": completed,
        "results_num_completed_requests_per_min": concurrency * 60 / e2el * 0.95,
        "framework": provider, "timestamp": int(started.timestamp()),
    })
    return _rounded(document)


# -- the sample --------------------------------------------------------------------------------------------

def framework_on(config_key: str, day: int) -> str:
    if config_key == REGRESSION["config"] and day >= REGRESSION["from_day"]:
        return str(REGRESSION["framework"])
    return FRAMEWORK


def sample_files(start: datetime, seed: int = 7, days: int = LLM_DAYS) -> list[tuple[str, str]]:
    """(path relative to the sample root, file text) of every LLM file of the sample, sidecars included.

    ``start`` is the first day's 03:00 run, one day apart after it; the vLLM sweeps of every configuration
    start then, the AIPerf and llmperf runs an hour later.
    """
    rng = random.Random(f"llm-serving-sample:{seed}")
    files: list[tuple[str, str]] = []
    drift: dict[tuple[str, str, int], float] = {}

    def drift_of(config_key: str, model: ModelVersion, day: int) -> float:
        key = (config_key, model.checkpoint, day)
        if key not in drift:
            drift[key] = rng.gauss(1.0, 0.015)
        return drift[key]

    for config_key, model, workload in SERIES:
        config = CONFIGS[config_key]
        by_framework: dict[str, list[str]] = {}
        for day in range(days):
            moment = start + timedelta(days=day)
            framework = framework_on(config_key, day)
            for concurrency in CONCURRENCIES:
                result = run(config, model, workload, concurrency,
                             drift_of(config_key, model, day) * rng.gauss(1.0, 0.01))
                if framework == REGRESSION["framework"]:
                    result = regressed(result, float(REGRESSION["factor"]))
                moment += timedelta(seconds=duration_s(result, num_prompts(concurrency), concurrency) + 20)
                line = vllm_run(config, model, workload, concurrency, result, moment)
                by_framework.setdefault(framework, []).append(json.dumps(line))
        for framework, lines in by_framework.items():
            path = (f"{FOLDER}/vllm_bench_serve/{config_key}_{model.name}-{model.quantization}_{workload.label}_"
                    f"{framework.replace('==', '-')}.jsonl")
            files.append((path, "\n".join(lines) + "\n"))
            files.append(_sidecar_file(path, sidecar(config, model, framework)))

    for config_key, model, concurrency, day in AIPERF_RUNS:
        config = CONFIGS[config_key]
        started = start + timedelta(days=day, hours=1)
        result = run(config, model, CHAT, concurrency, drift_of(config_key, model, day) * rng.gauss(1.0, 0.01))
        framework = framework_on(config_key, day)
        if framework == REGRESSION["framework"]:
            result = regressed(result, float(REGRESSION["factor"]))
        document = aiperf_run(config, model, CHAT, concurrency, result, started,
                              counter_mj=round(rng.uniform(200.0, 2000.0), 3),
                              benchmark_id=f"{rng.getrandbits(128):032x}")
        path = (f"{FOLDER}/aiperf/{config_key}_{model.name}-{model.quantization}_{CHAT.label}_c{concurrency}/"
                "profile_export_aiperf.json")
        files.append((path, json.dumps(document, indent=2) + "\n"))
        files.append(_sidecar_file(path, sidecar(config, model, framework, gpu_named_in_file=True)))

    provider, model_name, concurrency, day = HOSTED
    document = llmperf_summary(provider, model_name, CHAT, concurrency, start + timedelta(days=day, hours=1), rng)
    path = f"{FOLDER}/llmperf/{provider}_{model_name}_{CHAT.input_len}_{CHAT.output_len}_summary.json"
    files.append((path, json.dumps(document, indent=4) + "\n"))
    # Only the size: the provider's hardware, price per hour and quantization are not known from outside.
    files.append(_sidecar_file(path, {"parameters": PARAMETERS[model_name]}))
    return files


def _sidecar_file(path: str, content: dict[str, Any]) -> tuple[str, str]:
    return path + SIDECAR_SUFFIX, json.dumps(content, indent=2) + "\n"


def _rounded(value: Any, key: str | None = None) -> Any:
    """Six significant digits: what a reader can use, and a sample that stays small. Not energy counters:
    they count from the GPU's boot, and the run's energy is a small difference of two large readings."""
    if isinstance(value, float):
        return round(value, 9) if key == "energy_consumption" else float(f"{value:.6g}")
    if isinstance(value, dict):
        return {name: _rounded(item, key if key == "energy_consumption" else name) for name, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value

