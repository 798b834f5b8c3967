"""The bundled sample data set: deterministic, small, and shaped like real drops.

Several models and families on five hardware platforms (two different CUDA GPUs), three weeks of
daily runs, one genuine regression that persists (bert-base-uncased on the A100 gets ~25 % slower
from day 14), one single-point outlier (t5-small on the CPU, day 9), compatibility and integration
results with assertions, and power readings for the GPU runs. Under ``llm/``, LLM-serving results over the
last ten days in the tools' own formats (``lib/llm/synthetic.py``: vLLM, AIPerf and llmperf files with their
sidecars), with their own planted regression.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchmark_pipeline.lib.llm import synthetic

START = datetime(2025, 11, 1, 2, 0, tzinfo=timezone.utc)
DAYS = 21
REGRESSION = {"model": "bert-base-uncased", "device": "NVIDIA A100-SXM4-80GB", "from_day": 14, "factor": 1.25}
OUTLIER = {"model": "t5-small", "hardware_type": "cpu", "day": 9, "factor": 3.0}

MODELS = [
    # name, family, modality, parameters (M), base latency ms on the CPU at batch 1
    ("bert-base-uncased", "bert", "text", 110, 42.0),
    ("t5-small", "t5", "text", 60, 55.0),
    ("vit-base-patch16-224", "vit", "image", 86, 65.0),
    ("whisper-tiny", "whisper", "audio", 39, 120.0),
    ("llama-3.2-1b", "llama", "text", 1236, 480.0),
]

HARDWARE = [
    # type, device, memory GB, compute units, driver, speed-up vs CPU, watts (None = not measured)
    ("cpu", "Intel Xeon Platinum 8380", 256.0, 40, None, 1.0, None),
    ("cuda", "NVIDIA A100-SXM4-80GB", 80.0, 108, "535.104.05", 9.0, 310.0),
    ("cuda", "NVIDIA GeForce RTX 4090", 24.0, 128, "550.54.14", 7.5, 380.0),
    ("rocm", "AMD Instinct MI250X", 128.0, 220, "6.0.2", 6.0, 420.0),
    ("mps", "Apple M2 Ultra", 192.0, 76, None, 3.0, None),
]

BATCH_SIZES = (1, 8)
# Accelerators run fp16 and fp32 (fp32 rows give the like-for-like speed-up against the CPU); the CPU fp32.
PRECISION_FACTOR = {"fp16": 1.0, "fp32": 1.8}


def _variants(hw_type: str) -> list[tuple[int, str]]:
    precisions = ("fp32",) if hw_type == "cpu" else ("fp16", "fp32")
    return [(batch, precision) for batch in BATCH_SIZES for precision in precisions]


def _performance_records(day: int, rng: random.Random) -> list[dict]:
    when = START + timedelta(days=day)
    records = []
    for name, family, modality, params, cpu_ms in MODELS:
        for hw_type, device, memory, units, driver, speedup, watts in HARDWARE:
            if name.startswith("llama") and hw_type == "mps":
                continue  # out of memory in the compatibility results: never benchmarked
            for batch, precision in _variants(hw_type):
                latency = cpu_ms / speedup * (1 + 0.55 * (batch - 1) / 7) * PRECISION_FACTOR[precision]
                if name == REGRESSION["model"] and device == REGRESSION["device"] and day >= REGRESSION["from_day"]:
                    latency *= REGRESSION["factor"]
                if name == OUTLIER["model"] and hw_type == OUTLIER["hardware_type"] and day == OUTLIER["day"]:
                    latency *= OUTLIER["factor"]
                latency *= rng.gauss(1.0, 0.015)
                throughput = batch * 1000.0 / latency
                record = {
                    "model_name": name, "model_family": family, "modality": modality,
                    "parameters_million": params, "hardware_type": hw_type, "device_name": device,
                    "memory_gb": memory, "compute_units": units, "batch_size": batch, "precision": precision,
                    "sequence_length": 128 if modality == "text" else None,
                    "test_case": "inference", "iterations": 100, "warmup_iterations": 10,
                    "average_latency_ms": round(latency, 3),
                    "latency_p50_ms": round(latency * 0.98, 3),
                    "latency_p90_ms": round(latency * 1.08, 3),
                    "latency_p99_ms": round(latency * 1.21, 3),
                    "throughput_items_per_second": round(throughput, 3),
                    "memory_peak_mb": round(params * (4.2 if precision == "fp32" else 2.1) * (1 + batch / 16) + 350, 1),
                    "git_commit": f"{0xabc000 + day:06x}", "git_branch": "main", "test_name": "nightly",
                }
                if driver:
                    record["driver_version"] = driver
                if record["sequence_length"] is None:
                    del record["sequence_length"]
                if watts is not None:
                    power_mw = watts * 1000 * rng.gauss(1.0, 0.02)
                    record["power_metrics"] = {
                        "average_power_mw": round(power_mw, 1), "peak_power_mw": round(power_mw * 1.3, 1),
                        "idle_power_mw": round(watts * 180, 1), "temperature_celsius": round(rng.uniform(55, 78), 1),
                        "energy_efficiency_items_per_joule": round(throughput / (power_mw / 1000), 4),
                    }
                if day % 7 != 3:  # one day a week the records carry no time: the file name's stamp is used
                    record["timestamp"] = (when + timedelta(minutes=len(records))).isoformat().replace("+00:00", "Z")
                records.append(record)
    return records


def _compatibility_records() -> list[dict]:
    records = []
    for name, family, modality, _, _ in MODELS:
        for hw_type, device, memory, units, driver, _, _ in HARDWARE:
            record = {"model_name": name, "model_family": family, "modality": modality,
                      "hardware_type": hw_type, "device_name": device, "memory_gb": memory,
                      "compute_units": units, "is_compatible": True, "detection_success": True,
                      "initialization_success": True, "timestamp": "2025-11-01T01:00:00Z"}
            if driver:
                record["driver_version"] = driver
            if name.startswith("llama") and hw_type == "mps":
                record.update(is_compatible=False, initialization_success=False, error_type="OutOfMemoryError",
                              error_message="MPS backend out of memory (allocated 30.2 GB)",
                              suggested_fix="use int4 quantization", workaround_available=True)
            if name.startswith("whisper") and hw_type == "rocm":
                record.update(compatibility_score=0.5, error_type="PartialSupport",
                              error_message="flash attention kernels unavailable; falls back to eager attention")
            records.append(record)
    for hw_type in ("webgpu", "webnn"):
        records.append({"model_family": "whisper", "hardware_type": hw_type, "is_compatible": False,
                        "error_type": "UnsupportedOperator", "error_message": "conv1d with dilation not supported",
                        "timestamp": "2025-11-01T01:00:00Z"})
    return records


def _integration_records(day: int) -> list[dict]:
    when = (START + timedelta(days=day, hours=1)).isoformat().replace("+00:00", "Z")
    tests = []
    for name, _, _, _, _ in MODELS:
        for hw_type, device, memory, units, driver, _, _ in HARDWARE[:3]:
            failed = name.startswith("llama") and hw_type == "cpu" and day == 14
            test = {
                "test_module": "tests.test_inference", "test_class": "TestEndToEnd",
                "test_name": f"test_generate[{name}-{hw_type}]", "status": "fail" if failed else "pass",
                "execution_time_seconds": 2.5 if hw_type != "cpu" else 11.0, "model_name": name,
                "hardware_type": hw_type, "device_name": device, "memory_gb": memory, "compute_units": units,
                "timestamp": when,
                "assertions": [
                    {"assertion_name": "output_shape", "passed": True, "expected_value": [1, 768],
                     "actual_value": [1, 768]},
                    {"assertion_name": "max_abs_diff_vs_reference", "passed": not failed, "expected_value": "<1e-3",
                     "actual_value": 0.31 if failed else 0.0004,
                     "message": "numerical drift after kernel update" if failed else ""},
                ],
            }
            if driver:
                test["driver_version"] = driver
            if failed:
                test["error_message"] = "AssertionError: max_abs_diff 0.31 > 1e-3"
            tests.append(test)
    tests.append({"test_module": "tests.test_api", "test_name": "test_health", "status": "pass",
                  "execution_time_seconds": 0.02, "timestamp": when})
    tests.append({"test_module": "tests.test_api", "test_name": "test_batch_upload", "status": "skip",
                  "execution_time_seconds": 0.0, "timestamp": when,
                  "error_message": "object store not configured in CI"})
    return tests


def write_sample(out_dir: Path, seed: int = 7) -> list[Path]:
    """Write the sample drop layout (performance/, compatibility/, integration/, llm/) under ``out_dir``."""
    rng = random.Random(seed)
    written = []

    def dump(relative: str, payload: object) -> None:
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        written.append(path)

    for day in range(DAYS):
        stamp = (START + timedelta(days=day)).strftime("%Y%m%d_%H%M%S")
        dump(f"performance/{stamp[:6]}/nightly_{stamp}.json", _performance_records(day, rng))
        if day % 7 == 0:
            dump(f"integration/integration_{stamp}.json", _integration_records(day))
    dump("compatibility/compatibility_matrix_20251101_010000.json", _compatibility_records())
    # The LLM runs take the sample's last days, an hour after the nightly runs; their generator draws from its
    # own random stream, so adding or changing them leaves every file above as it was.
    llm_start = START + timedelta(days=DAYS - synthetic.LLM_DAYS, hours=1)
    for relative, text in synthetic.sample_files(llm_start, seed=seed):
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
