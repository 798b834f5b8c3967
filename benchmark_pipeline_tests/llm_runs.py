"""Five vLLM ``bench serve`` results with sidecars whose LLM answers are computed by hand (used by the service,
CLI, REST, report, Dagster and snapshot tests of the LLM answers). Written by us; the numbers are invented."""

from __future__ import annotations

import json
from pathlib import Path

MODEL = "acme/llm-8b"


def serve_result(concurrency: int, ttft_p90: float | None, tpot_mean: float, output_tps: float) -> dict:
    """A ``vllm bench serve`` result (512 tokens in, 128 out per request) with the stats we need."""
    doc = {"date": "20251105-120000", "backend": "vllm", "model_id": MODEL, "num_prompts": 200, "request_rate": "inf",
           "max_concurrency": concurrency, "duration": 60.0, "completed": 200, "failed": 0,
           "total_input_tokens": 200 * 512, "total_output_tokens": 200 * 128, "random_input_len": None,
           "request_throughput": output_tps / 128, "output_throughput": output_tps,
           "total_token_throughput": output_tps * 5, "mean_ttft_ms": (ttft_p90 or 200) * 0.7,
           "median_ttft_ms": (ttft_p90 or 200) * 0.6, "mean_tpot_ms": tpot_mean, "median_tpot_ms": tpot_mean,
           "p90_tpot_ms": tpot_mean * 1.2, "mean_itl_ms": tpot_mean, "median_itl_ms": tpot_mean}
    del doc["random_input_len"]  # (an SGLang word: keep the file vLLM's)
    if ttft_p90 is not None:
        doc["p90_ttft_ms"] = ttft_p90
    return doc


# (file, gpu, count, $/h, concurrency, TTFT p90, TPOT mean, output tokens/s)
RUNS = [
    # L4, 1 user: 1000/40 = 25 tokens/s per user; 0.80 / (24 x 3600) x 1e6 = $9.259 per million output tokens
    ("l4_c1", "NVIDIA L4", 1, 0.80, 1, 120.0, 40.0, 24.0),
    # L4, 8 users: TTFT p90 350 ms misses a 300 ms SLA
    ("l4_c8", "NVIDIA L4", 1, 0.80, 8, 350.0, 45.0, 150.0),
    # A100, 16 users: 1000/45 = 22.2 per user; 3.67 / (350 x 3600) x 1e6 = $2.913
    ("a100_c16", "NVIDIA A100-SXM4-80GB", 1, 3.67, 16, 250.0, 45.0, 350.0),
    # 2x A100, 32 users: 1000/47.6 = 21.0 per user; 7.34 / (800 x 3600) x 1e6 = $2.549: the cheapest meeting it
    ("a100x2_c32", "NVIDIA A100-SXM4-80GB", 2, 7.34, 32, 280.0, 47.6, 800.0),
    # H100: the file has no TTFT p90 (only mean and median): cannot be judged on it, left out and counted
    ("h100_c64", "NVIDIA H100 80GB HBM3", 1, 6.98, 64, None, 30.0, 1500.0),
]



def write_llm_drops(folder: Path, runs=RUNS, framework: str | None = "vllm==0.6.3") -> list[Path]:
    """The runs as result files in ``folder``, each with its sidecar (GPU, count, price, framework)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, gpu, count, price, concurrency, ttft, tpot, tps in runs:
        path = folder / f"{name}.json"
        path.write_text(json.dumps(serve_result(concurrency, ttft, tpot, tps)))
        sidecar = {"gpu": gpu, "gpu_count": count, "cost_per_hour": price}
        if framework:
            sidecar["framework"] = framework
        (folder / f"{name}.json.meta.json").write_text(json.dumps(sidecar))
        written.append(path)
    return written
