"""Adapters for the shapes that hold measured (or claimed) performance numbers."""

from __future__ import annotations

import re

from benchmark_pipeline.lib import normalize
from benchmark_pipeline.lib.legacy import stdout_metrics
from benchmark_pipeline.lib.legacy.common import (
    COMPATIBILITY,
    PERFORMANCE,
    Context,
    Output,
    dict_items,
    failure,
    integer,
    latency_percentiles_ms,
    model_name,
    positive,
    row,
    seconds_to_ms,
    truth,
)

_UPDATER_KEYS = (
    "device_name", "platform", "driver_version", "memory_gb", "compute_units", "test_case", "batch_size",
    "sequence_length", "precision", "total_time_seconds", "average_latency_ms", "latency_p50_ms",
    "latency_p90_ms", "latency_p95_ms", "latency_p99_ms", "throughput_items_per_second", "memory_peak_mb",
    "power_watts", "energy_joules", "items_per_joule", "iterations", "warmup_iterations", "metrics",
    "batch_results", "test_name", "git_commit", "git_branch",
)


def direct_benchmark(doc: dict, ctx: Context) -> Output:
    """One row per successful batch size; per-iteration ``latencies_ms`` give the percentiles."""
    out = Output()
    model = model_name(doc.get("model"))
    for key, batch in (doc.get("batch_results") or {}).items():
        if not isinstance(batch, dict):
            continue
        batch_size = integer(batch.get("batch_size")) or integer(key)
        hardware = batch.get("device") or doc.get("hardware")
        time = (batch.get("timestamp"), doc.get("timestamp"))
        if truth(batch.get("success")) is False or batch.get("error"):
            out.failures.append(failure(
                ctx, model=model, hardware=hardware, stage="batch", message=batch.get("error"),
                batch_size=batch_size, time=time,
            ))
            continue
        samples = batch.get("latencies_ms") or []
        out.add(PERFORMANCE, row(
            ctx, model=model, hardware=hardware, time=time,
            test_case="direct_benchmark", batch_size=batch_size,
            average_latency_ms=positive(batch.get("avg_latency_ms")),
            throughput_items_per_second=positive(batch.get("throughput_items_per_second")),
            memory_peak_mb=positive(batch.get("memory_mb")),
            iterations=len(samples) or None,
            **latency_percentiles_ms(samples),
        ))
    if truth(doc.get("success")) is False and not out.failures:
        out.failures.append(failure(
            ctx, model=model, hardware=doc.get("hardware"), stage="benchmark", message=doc.get("error"),
            time=(doc.get("timestamp"),),
        ))
    return out


_CONFIG_PART = re.compile(r"(?:^|_)(batch|seq)_(\d+)")


def hw_benchmark_results(doc: dict, ctx: Context) -> Output:
    """Runner output with latencies in SECONDS; each ``batch_B[_seq_S]`` entry becomes one row in ms."""
    out = Output()
    cuda = _first_cuda_device(doc.get("hardware_details"))
    system = doc.get("system_info") if isinstance(doc.get("system_info"), dict) else {}
    for category, models in dict_items(doc.get("benchmarks")):
        for model_key, per_hardware in dict_items(models):
            for hardware_key, run in dict_items(per_hardware):
                model = model_name(run.get("model_name"), model_key)
                hardware = run.get("hardware") or hardware_key
                device = cuda if normalize.canonical_hardware_type(hardware) == "cuda" else {}
                common = dict(
                    model=model, hardware=hardware, modality=normalize.modality_from_category(category),
                    platform=system.get("os"), device_name=device.get("name"),
                    memory_gb=positive(device.get("total_memory")),
                    compute_units=integer(device.get("multi_processor_count")),
                )
                time = (run.get("timestamp"), doc.get("timestamp"))
                for config, result in dict_items(run.get("benchmark_results")):
                    parts = dict(_CONFIG_PART.findall(config))
                    batch_size, seq = integer(parts.get("batch")), integer(parts.get("seq"))
                    if result.get("status") != "completed" or result.get("error"):
                        out.failures.append(failure(
                            ctx, model=model, hardware=hardware, stage="batch", message=result.get("error"),
                            batch_size=batch_size, test_case=config, time=time,
                        ))
                        continue
                    samples_ms = [seconds_to_ms(v) for v in result.get("latencies") or []]
                    extra = {
                        "model_load_time_seconds": positive(run.get("model_load_time")),
                        "completed_iterations": positive(result.get("completed_iterations")),
                        "timed_out": 1.0 if result.get("timeout") is True else None,
                    }
                    out.add(PERFORMANCE, row(
                        ctx, **common, time=time, test_case=config, batch_size=batch_size,
                        sequence_length=seq,
                        average_latency_ms=seconds_to_ms(result.get("avg_latency")),
                        throughput_items_per_second=positive(result.get("throughput")),
                        total_time_seconds=positive(result.get("total_time")),
                        iterations=integer(result.get("iterations")),
                        metrics={k: v for k, v in extra.items() if v is not None},
                        **latency_percentiles_ms(samples_ms),
                    ))
                if run.get("status") not in (None, "completed") and not run.get("benchmark_results"):
                    out.failures.append(failure(
                        ctx, model=model, hardware=hardware, stage="benchmark", message=run.get("error"),
                        time=time,
                    ))
    return out


def batch_benchmarks(doc: dict, ctx: Context) -> Output:
    """A driver over direct benchmarks: use the embedded result when kept, else the metrics in stdout."""
    out = Output()
    for model_key, run in dict_items(doc.get("results")):
        embedded = run.get("benchmark_data")
        if isinstance(embedded, dict) and embedded.get("batch_results"):
            out.extend(direct_benchmark(embedded, ctx))
            continue
        model = model_name(run.get("model"), model_key)
        hardware = run.get("hardware") or doc.get("hardware")
        time = (run.get("timestamp"), doc.get("timestamp"))
        parsed = stdout_metrics.parse_batch_lines(run.get("stdout"))
        for batch_size, metrics in parsed.items():
            out.add(PERFORMANCE, row(
                ctx, model=model, hardware=hardware, time=time, test_case="direct_benchmark",
                batch_size=batch_size, **metrics,
            ))
        if truth(run.get("success")) is False:
            out.failures.append(failure(
                ctx, model=model, hardware=hardware, stage="benchmark",
                message=run.get("error") or run.get("stderr"), traceback=run.get("stderr"), time=time,
            ))
        elif not parsed:
            out.reason = "a run kept neither benchmark_data nor 'Batch N: Latency ...' lines in its stdout"
    return out


def updater_perf_records_list(doc: list, ctx: Context) -> Output:
    """Already in the updater format: keep its fields, canonicalise hardware and time."""
    out = Output()
    for item in doc:
        if not isinstance(item, dict):
            continue
        fields = {key: item[key] for key in _UPDATER_KEYS if key in item}
        fields["average_latency_ms"] = positive(item.get("average_latency_ms", item.get("latency_avg")))
        fields["throughput_items_per_second"] = positive(
            item.get("throughput_items_per_second", item.get("throughput"))
        )
        fields["memory_peak_mb"] = positive(item.get("memory_peak_mb", item.get("memory_peak")))
        out.add(PERFORMANCE, row(
            ctx, model=model_name(item.get("model_name")), hardware=item.get("hardware_type"),
            family=item.get("model_family"), modality=item.get("modality"),
            time=(item.get("timestamp"),), **fields,
        ))
    return out


def per_model_hw_benchmark_stub(doc: dict, ctx: Context) -> Output:
    """Display-named hardware ("AMD ROCm"); one compatibility row plus a row per batch size it reports."""
    out = Output()
    model = model_name(doc.get("model_path"), doc.get("model"), doc.get("model_key"))
    hardware = doc.get("hardware_key") or doc.get("hardware")
    common = dict(model=model, hardware=hardware, modality=normalize.modality_from_category(doc.get("model_category")),
                  time=(doc.get("timestamp"),))
    compatible = truth(doc.get("compatible"))
    if compatible is not None:
        out.add(COMPATIBILITY, row(
            ctx, **common, is_compatible=compatible, compatibility_score=1.0 if compatible else 0.0,
            metadata={"hardware_display_name": doc.get("hardware"), "model_display_name": doc.get("model")},
        ))
    for key, batch in dict_items(doc.get("batch_sizes")):
        batch_size = integer(key)
        if truth(batch.get("success")) is False:
            out.failures.append(failure(ctx, model=model, hardware=hardware, stage="batch",
                                        message=batch.get("error"), batch_size=batch_size, time=common["time"]))
            continue
        out.add(PERFORMANCE, row(
            ctx, **common, test_case=doc.get("model_category"), batch_size=batch_size,
            average_latency_ms=positive(batch.get("latency_ms")),
            throughput_items_per_second=positive(batch.get("throughput")),
            memory_peak_mb=positive(batch.get("memory_usage_mb")),
        ))
    return out


def web_platform_result(doc: dict, ctx: Context) -> Output:
    """One browser run (WebGPU/WebNN); its numbers are flagged simulated when the file says so."""
    out = Output()
    ctx = ctx.with_markers(doc)
    model = model_name(doc.get("model_name"), doc.get("model_key"))
    hardware = doc.get("platform")
    time = (doc.get("timestamp"),)
    if doc.get("status") not in ("success", "completed", "passed"):
        out.failures.append(failure(ctx, model=model, hardware=hardware, stage="web_platform",
                                    message=doc.get("error") or f"status {doc.get('status')!r}", time=time))
        return out
    metrics = doc.get("metrics") if isinstance(doc.get("metrics"), dict) else {}
    out.add(PERFORMANCE, row(
        ctx, model=model, hardware=hardware, modality=doc.get("modality"), time=time,
        test_case=doc.get("implementation_type") or "web_platform",
        average_latency_ms=positive(metrics.get("inference_time_ms")),
        throughput_items_per_second=positive(metrics.get("throughput_items_per_second")),
        memory_peak_mb=positive(metrics.get("memory_mb")),
        metrics={"load_time_ms": v} if (v := positive(metrics.get("load_time_ms"))) else None,
    ))
    return out


def web_platform_batch(doc: dict, ctx: Context) -> Output:
    """A list of web-platform runs written together: each is converted like a single result file."""
    out = Output()
    for item in doc.get("results") or []:
        if isinstance(item, dict):
            out.extend(web_platform_result(item, ctx))
    return out


def benchmark_progress(doc: dict, ctx: Context) -> Output:
    """Progress of a benchmark campaign: only its failed entries carry data (as failures)."""
    out = Output()
    for item in doc.get("failed_benchmarks") or []:
        if not isinstance(item, dict):
            continue
        out.failures.append(failure(
            ctx, model=model_name(item.get("model_name"), item.get("model"), item.get("model_type")),
            hardware=item.get("hardware_type") or item.get("hardware"), stage="benchmark",
            message=item.get("error"), traceback=item.get("stderr") or None, error_type=item.get("error_type"),
            time=(item.get("timestamp"), doc.get("timestamp")),
        ))
    if not out.failures:
        out.reason = "progress file lists no failed benchmark (completed runs are stored by their own result files)"
    return out


def _first_cuda_device(details: object) -> dict:
    devices = details.get("cuda_devices") if isinstance(details, dict) else None
    return devices[0] if isinstance(devices, list) and devices and isinstance(devices[0], dict) else {}
