"""NVIDIA GenAI-Perf's ``profile_export_genai_perf.json``, every release.

Recognised by its stat blocks (see ``_nvidia``) when none of AIPerf's markers is present. Older releases
list p99..p25 with ``output_token_throughput_per_request`` and a flat ``input_config`` (``model`` as a list,
``concurrency``, ``request_rate``, ``synthetic_input_tokens_mean``, ``output_tokens_mean``, ``service_kind``,
``backend``); newer ones add p1/p5/p10, ``time_to_second_token``, ``output_token_throughput_per_user``,
``request_count``, a nested ``input_config`` (``model_names``, ``endpoint``, ``input.synthetic_tokens``,
``output_tokens``, ``perf_analyzer.stimulus``) and optional per-GPU ``telemetry_stats``. Both layouts are
read field by field, whichever is present.

GenAI-Perf records neither the run's time nor its duration nor failed requests: those stay empty.
``input_config.backend`` names the server only for Triton (``service_kind: triton``); with the OpenAI
service kind it is a default that says nothing, so it is not taken as the framework.
"""

from __future__ import annotations

from typing import Any

from ..errors import LlmFormatError
from ..fields import Record
from ..metrics import VALUE
from ..result import ONLINE, LlmResult, MetricsBuilder
from . import _nvidia
from ._common import limit_or_unbounded, positive, rate_or_unbounded

NAME = "genai_perf"

# Keys only AIPerf writes at the top level of its export.
AIPERF_MARKERS = ("schema_version", "aiperf_version", "benchmark_id", "was_cancelled", "error_summary",
                  "benchmark_duration", "telemetry_data", "error_request_count")


def is_aiperf(document: dict) -> bool:
    if any(key in document for key in AIPERF_MARKERS):
        return True
    config = document.get("input_config")
    return isinstance(config, dict) and ("loadgen" in config or "models" in config)


def matches(document: Any) -> bool:
    return isinstance(document, dict) and _nvidia.has_blocks(document) and not is_aiperf(document)


def _config_value(config: Record | None, *paths: tuple[str, ...]) -> tuple[Record, str] | None:
    """The first (record, key) among dotted paths into input_config that holds a value."""
    for path in paths:
        node = config
        for step in path[:-1]:
            node = node.child(step) if node is not None else None
        if node is not None and node.raw(path[-1]) is not None:
            return node, path[-1]
    return None


def parse(document: Any, source: str, record: str | None = None) -> list[LlmResult]:
    r = Record(document, source, record)
    notes: list[str] = []
    config = r.child("input_config")
    if config is None:
        notes.append("no input_config: model and load settings unknown")
    extra: dict[str, Any] = {}

    model = None
    if config is not None:
        model = config.first_text("model") or config.first_text("model_names") or config.text(
            "formatted_model_name")
    concurrency = request_rate = None
    concurrency_unbounded = rate_unbounded = False
    found = _config_value(config, ("concurrency",), ("perf_analyzer", "stimulus", "concurrency"))
    if found:
        concurrency, concurrency_unbounded = limit_or_unbounded(*found)
    found = _config_value(config, ("request_rate",), ("perf_analyzer", "stimulus", "request_rate"))
    if found:
        request_rate, rate_unbounded = rate_or_unbounded(*found)
    found = _config_value(config, ("synthetic_input_tokens_mean",), ("input", "synthetic_tokens", "mean"))
    input_configured = positive(found[0].number(found[1])) if found else None
    found = _config_value(config, ("output_tokens_mean",), ("output_tokens", "mean"))
    output_configured = positive(found[0].number(found[1])) if found else None
    found = _config_value(config, ("request_count",), ("perf_analyzer", "stimulus", "request_count"))
    num_prompts = positive(found[0].integer(found[1])) if found else None
    found = _config_value(config, ("service_kind",), ("endpoint", "service_kind"))
    service_kind = found[0].text(found[1]) if found else None
    found = _config_value(config, ("backend",), ("endpoint", "backend"))
    backend = found[0].text(found[1]) if found else None
    framework = backend.lower() if backend and service_kind == "triton" else None
    for key in ("endpoint_type", "streaming", "prompt_source", "tokenizer", "input_dataset"):
        if config is not None and config.raw(key) is not None and not isinstance(config.raw(key), dict):
            extra[key] = config.raw(key)
    if service_kind:
        extra["service_kind"] = service_kind

    built = MetricsBuilder()
    _nvidia.read_blocks(r, built, notes)
    telemetry = _nvidia.summarise(_nvidia.genai_perf_gpus(r), "telemetry_stats")
    if telemetry.utilization_pct is not None:
        built.put("gpu_utilization_pct", VALUE, telemetry.utilization_pct)
    notes.extend(built.notes + telemetry.notes)
    count = _nvidia.block_avg(r, "request_count")
    completed = int(count) if count is not None else None
    if not built:
        raise LlmFormatError("no measurement: none of the latency or throughput blocks "
                             f"({', '.join(_nvidia.BLOCKS)}) has a value", file=source, record=record)
    return [LlmResult(
        source=source, record=record, tool=NAME, model=model, gpu_name=telemetry.gpu_name,
        gpu_count=telemetry.gpu_count, framework=framework, workload_type=ONLINE,
        input_tokens_mean=_nvidia.block_avg(r, "input_sequence_length"),
        output_tokens_mean=_nvidia.block_avg(r, "output_sequence_length"),
        input_tokens_configured=input_configured, output_tokens_configured=output_configured,
        num_prompts=int(num_prompts) if num_prompts else None, completed=completed, concurrency=concurrency,
        concurrency_unbounded=concurrency_unbounded, request_rate=request_rate,
        request_rate_unbounded=rate_unbounded, metrics=built.metrics, energy_joules=telemetry.energy_joules,
        power_watts=telemetry.power_watts, memory_peak_mb=telemetry.memory_peak_mb, notes=tuple(notes),
        extra=extra,
    )]
