"""NVIDIA AIPerf's ``profile_export_aiperf.json``: ``schema_version`` absent (early releases), "1.0" or "1.3".

Recognised by AIPerf's own top-level keys (``schema_version``, ``aiperf_version``, ``was_cancelled``,
``error_summary``, ``benchmark_duration``, ``telemetry_data``, ...) or by its ``input_config`` layout
(``loadgen`` / ``models``). The measures share GenAI-Perf's block shape (``_nvidia``); 1.3 adds ``count``
and ``sum`` to every block. ``input_config`` was restructured several times, so each setting is looked
up where each generation put it: the model under ``endpoint.model_names`` or ``models.items[].name``,
the load under ``loadgen`` or the ``profiling`` entry of ``phases``.

Extras AIPerf measures that have no canonical meaning here (``http_req_*`` timings, data sizes, prefill
throughput, reasoning token counts, ``time_to_first_output_token``) are not stored. A run where every
request failed has no latency or throughput block at all, only ``error_request_count`` and
``error_summary``: it becomes a failed run that names the errors.
"""

from __future__ import annotations

from typing import Any

from ..errors import LlmFormatError
from ..fields import Record
from ..metrics import VALUE, UnitError, to_s
from ..result import ONLINE, LlmResult, MetricsBuilder
from . import _nvidia
from ._common import limit_or_unbounded, positive, rate_or_unbounded, run_time
from .genai_perf import is_aiperf

NAME = "aiperf"


def matches(document: Any) -> bool:
    if not isinstance(document, dict) or not is_aiperf(document):
        return False
    return _nvidia.has_blocks(document) or "error_request_count" in document or "error_summary" in document


def _model(config: Record | None) -> str | None:
    if config is None:
        return None
    endpoint = config.child("endpoint")
    if endpoint is not None and endpoint.first_text("model_names"):
        return endpoint.first_text("model_names")
    models = config.child("models")
    if models is not None:
        for item in models.items_list("items") or []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                return item["name"]
    return config.first_text("model_names")


def _load(config: Record | None) -> Record | None:
    """Where the run's load settings sit: ``loadgen``, else the profiling phase."""
    if config is None:
        return None
    loadgen = config.child("loadgen")
    if loadgen is not None:
        return loadgen
    phases = config.items_list("phases") or []
    chosen = None
    for index, phase in enumerate(phases):
        if isinstance(phase, dict) and not phase.get("exclude_from_results"):
            if chosen is None or phase.get("name") == "profiling":
                chosen = Record(phase, config.source, config.record, f"{config.path}.phases[{index}]")
    return chosen


def _errors(r: Record) -> list[str]:
    described = []
    for entry in r.items_list("error_summary") or []:
        if not isinstance(entry, dict):
            continue
        details = entry.get("error_details") if isinstance(entry.get("error_details"), dict) else {}
        kind = details.get("type") or details.get("message") or "error"
        code = details.get("code")
        described.append(f"{kind}{f' (HTTP {code})' if code else ''} x{entry.get('count', '?')}")
    return described


def parse(document: Any, source: str, record: str | None = None) -> list[LlmResult]:
    r = Record(document, source, record)
    notes: list[str] = []
    extra: dict[str, Any] = {}
    schema = r.text("schema_version")
    extra["schema_version"] = schema
    if schema is None:
        notes.append("no schema_version: an early AIPerf export")
    for key in ("benchmark_id", "was_cancelled"):
        if r.raw(key) is not None:
            extra[key] = r.raw(key)
    if r.raw("was_cancelled") is True:
        notes.append("the run was cancelled before its planned end")
    run_info = r.child("run_info")
    if run_info is not None:
        extra["run_info"] = {key: run_info.raw(key) for key in ("sweep_id", "trial", "run_label",
                                                                 "variation_label") if run_info.raw(key) is not None}

    config = r.child("input_config")
    model = _model(config)
    load = _load(config)
    concurrency = request_rate = None
    concurrency_unbounded = rate_unbounded = False
    num_prompts = None
    if load is not None:
        concurrency, concurrency_unbounded = limit_or_unbounded(load, "concurrency")
        rate_key = next((key for key in ("request_rate", "rate") if load.raw(key) is not None), None)
        if rate_key:
            request_rate, rate_unbounded = rate_or_unbounded(load, rate_key)
        num_prompts = load.integer("request_count")
    input_configured = output_configured = None
    prompt = config.child("input").child("prompt") if config is not None and config.child("input") else None
    if prompt is not None:
        for key in ("input_tokens", "output_tokens"):
            lengths = prompt.child(key)
            value = positive(lengths.number("mean")) if lengths is not None else None
            if key == "input_tokens":
                input_configured = value
            else:
                output_configured = value
    tokenizer = config.child("tokenizer") if config is not None else None
    if tokenizer is not None and tokenizer.text("name"):
        extra["tokenizer"] = tokenizer.text("name")

    duration_s = None
    duration = r.child("benchmark_duration")
    if duration is not None and duration.number("avg") is not None:
        try:
            duration_s = to_s(duration.number("avg"), duration.text("unit") or "sec")
        except UnitError as exc:
            raise duration.error("unit", str(exc)) from None
    count = _nvidia.block_avg(r, "request_count")
    errors = _nvidia.block_avg(r, "error_request_count")
    completed = int(count) if count is not None else None
    failed = int(errors) if errors is not None else None
    if failed is not None and completed is not None and num_prompts is None:
        num_prompts = completed + failed
    fraction = _nvidia.block_avg(r, "good_request_fraction")
    if fraction is not None:
        extra["good_request_fraction"] = fraction
    error_text = _errors(r)
    if error_text:
        extra["errors"] = error_text

    built = MetricsBuilder()
    _nvidia.read_blocks(r, built, notes)
    telemetry = _nvidia.summarise(_nvidia.aiperf_gpus(r), "telemetry_data")
    if telemetry.utilization_pct is not None:
        built.put("gpu_utilization_pct", VALUE, telemetry.utilization_pct)
    notes.extend(built.notes + telemetry.notes)
    input_mean = _nvidia.block_avg(r, "input_sequence_length")
    if input_mean is None and completed:
        total = _nvidia.block_avg(r, "total_isl")
        input_mean = total / completed if total is not None else None
    result = dict(
        source=source, record=record, tool=NAME, tool_version=r.text("aiperf_version"), model=model,
        gpu_name=telemetry.gpu_name, gpu_count=telemetry.gpu_count, workload_type=ONLINE,
        input_tokens_mean=input_mean, output_tokens_mean=_nvidia.block_avg(r, "output_sequence_length"),
        input_tokens_configured=input_configured, output_tokens_configured=output_configured,
        num_prompts=num_prompts, completed=completed, failed=failed, concurrency=concurrency,
        concurrency_unbounded=concurrency_unbounded, request_rate=request_rate,
        request_rate_unbounded=rate_unbounded, run_timestamp=run_time(r.raw("start_time"), notes, "start_time"),
        duration_s=duration_s, energy_joules=telemetry.energy_joules, power_watts=telemetry.power_watts,
        memory_peak_mb=telemetry.memory_peak_mb, extra=extra,
    )
    if completed == 0 or (completed is None and not built and (failed or error_text)):
        if built:
            notes.append("metrics present although no request completed: not stored")
        result.update(energy_joules=None, power_watts=None, memory_peak_mb=None)
        reason = f"all {failed if failed is not None else '?'} requests failed"
        return [LlmResult(**result, failed_run=True, failure=reason + (f": {'; '.join(error_text)}"
                                                                         if error_text else ""),
                          notes=tuple(notes))]
    if not built:
        raise LlmFormatError("no measurement: none of the latency or throughput blocks has a value",
                             file=source, record=record)
    if failed:
        notes.append(f"{failed} requests failed; the metrics cover the {completed} that completed")
    return [LlmResult(**result, metrics=built.metrics, notes=tuple(notes))]
