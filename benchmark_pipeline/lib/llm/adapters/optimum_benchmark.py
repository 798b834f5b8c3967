"""Hugging Face optimum-benchmark: ``benchmark.json`` (``config`` + ``report``) or ``benchmark_report.json``
(the report alone).

A report is a set of sections, each ``{memory, latency, throughput, energy, efficiency}`` with any block
null; which sections exist depends on the scenario: ``load_model``/``load``, then ``prefill``, ``decode``,
``per_token`` for text generation, or ``forward`` for other tasks. Latencies are seconds with their raw
``values``, memory is decimal MB, energy kWh, throughput samples/s or tokens/s as the block's unit says.

How sections map (see ``metrics`` for the meanings): ``prefill`` latency is the batch's time to first
token; ``decode`` throughput is ``decode_tokens_per_s``, and its latency divided by (new tokens - 1) is
TPOT when the config pins the number of new tokens (``min_new_tokens == max_new_tokens`` or
``new_tokens``); ``per_token`` latency is ITL; ``forward`` is ``batch_latency_ms`` and ``samples_per_s``.
Model load time goes to ``extra``; the prefill throughput (batch / prefill latency) says nothing the
latency does not, and is not stored. GPUs are listed in ``config.environment`` for the whole machine:
the run's are those ``backend.device_ids`` selects.
"""

from __future__ import annotations

from typing import Any

from ..errors import LlmFormatError
from ..fields import Record
from ..metrics import VALUE, UnitError, energy_to_j, memory_to_mb, stat_name, to_ms
from ..result import OFFLINE, LlmResult, MetricsBuilder

NAME = "optimum_benchmark"

_BLOCKS = {"memory", "latency", "throughput", "energy", "efficiency", "measures"}
_LOAD_SECTIONS = ("load_model", "load")
_LATENCY_SECTION = {"prefill": "ttft_ms", "per_token": "itl_ms", "forward": "batch_latency_ms"}
_LATENCY_STATS = ("mean", "p50", "p90", "p95", "p99", "stdev", "std", "min", "max")


def _is_report(value: Any) -> bool:
    if not isinstance(value, dict) or not value:
        return False
    sections = [v for v in value.values() if v is not None]
    return bool(sections) and all(isinstance(v, dict) and set(v) <= _BLOCKS and set(v) & {"latency", "memory",
                                                                                          "throughput"}
                                  for v in sections)


def matches(document: Any) -> bool:
    if not isinstance(document, dict):
        return False
    if "report" in document and "config" in document:
        config = document["config"]
        return isinstance(config, dict) and "scenario" in config and "backend" in config and _is_report(
            document["report"])
    return _is_report(document)


def _latency(section: Record, name: str, built: MetricsBuilder, metric: str, scale: float = 1.0) -> bool:
    block = section.child("latency")
    if block is None:
        return False
    unit = block.text("unit") or "s"
    try:
        to_ms(1.0, unit)
    except UnitError as exc:
        raise block.error("unit", str(exc)) from None
    for key in _LATENCY_STATS:
        value = block.number(key)
        if value is not None:
            built.put(metric, stat_name(key), to_ms(value, unit) * scale, origin=f"{name}.latency.{key}")
    values = block.items_list("values")
    if values and not (block.present("min") and block.present("max")):
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numbers:
            built.put(metric, "min", to_ms(min(numbers), unit) * scale)
            built.put(metric, "max", to_ms(max(numbers), unit) * scale)
    return True


def _throughput(section: Record) -> tuple[float | None, str | None]:
    block = section.child("throughput")
    if block is None:
        return None, None
    return block.number("value"), (block.text("unit") or "")


def parse(document: Any, source: str, record: str | None = None) -> list[LlmResult]:
    r = Record(document, source, record)
    notes: list[str] = []
    extra: dict[str, Any] = {}
    if "report" in document:
        report, config = r.child("report", required=True), r.child("config", required=True)
    else:
        report, config = r, None
        notes.append("a report without its config: model, hardware and workload are in benchmark_config.json "
                      "or benchmark.json")
    backend = config.child("backend") if config else None
    scenario = config.child("scenario") if config else None
    environment = config.child("environment") if config else None

    new_tokens = None
    batch_size = input_len = None
    if scenario is not None:
        shapes = scenario.child("input_shapes")
        if shapes is not None:
            batch_size = shapes.integer("batch_size")
            input_len = shapes.number("sequence_length")
        generate = scenario.child("generate_kwargs")
        new_tokens = scenario.integer("new_tokens")
        if new_tokens is None and generate is not None:
            most, least = generate.integer("max_new_tokens"), generate.integer("min_new_tokens")
            if most is not None and most == least:
                new_tokens = most
        if scenario.text("name"):
            extra["scenario"] = scenario.text("name")

    built = MetricsBuilder()
    memory_peaks: list[float] = []
    energy_j = 0.0
    energy_sections: list[str] = []
    for name in report.keys():
        section = report.child(name)
        if section is None:
            continue
        memory = section.child("memory")
        if memory is not None:
            peak = memory.number("max_process_vram")
            if peak is None:
                peak = memory.number("max_global_vram")
            if peak is not None:
                try:
                    memory_peaks.append(memory_to_mb(peak, memory.text("unit") or "MB"))
                except UnitError as exc:
                    raise memory.error("unit", str(exc)) from None
        if name in _LOAD_SECTIONS:
            load = section.child("latency")
            if load is not None and load.number("mean") is not None:
                extra["model_load_s"] = to_ms(load.number("mean"), load.text("unit") or "s") / 1000.0
            continue
        energy = section.child("energy")
        if energy is not None and energy.number("total") is not None:
            try:
                energy_j += energy_to_j(energy.number("total"), energy.text("unit") or "kWh")
            except UnitError as exc:
                raise energy.error("unit", str(exc)) from None
            energy_sections.append(name)
        value, unit = _throughput(section)
        if name in _LATENCY_SECTION:
            _latency(section, name, built, _LATENCY_SECTION[name])
        if name == "decode":
            if new_tokens is not None and new_tokens > 1:
                if _latency(section, name, built, "tpot_ms", scale=1.0 / (new_tokens - 1)):
                    notes.append(f"tpot = decode latency / (new tokens - 1) = / {new_tokens - 1}")
            elif section.child("latency") is not None:
                notes.append("decode latency not stored: the number of new tokens is not pinned, so TPOT "
                             "cannot be derived from it")
            if value is not None:
                if unit.lower() not in ("tokens/s", "tokens/sec"):
                    raise section.child("throughput").error("unit", f"decode throughput in {unit!r}, expected "
                                                                    "tokens/s")
                built.put("decode_tokens_per_s", VALUE, value)
        elif name == "forward" and value is not None:
            if unit.lower() not in ("samples/s", "samples/sec"):
                raise section.child("throughput").error("unit", f"forward throughput in {unit!r}, expected "
                                                                "samples/s")
            built.put("samples_per_s", VALUE, value)
        elif name == "prefill" and value is not None:
            notes.append("prefill throughput not stored (batch size / prefill latency)")
        elif name not in _LATENCY_SECTION and name != "decode":
            notes.append(f"section {name!r} has no canonical meaning here; not stored")
    notes.extend(built.notes)

    model = device = gpu_name = cpu_name = None
    gpu_count = None
    framework = framework_version = quantization = precision = None
    bits = None
    if backend is not None:
        model = backend.text("model")
        device = backend.text("device")
        framework, framework_version = backend.text("name"), backend.text("version")
        quantization = backend.text("quantization_scheme")
        scheme = backend.child("quantization_config")
        if scheme is not None and scheme.raw("bits") is not None:
            bits = scheme.integer("bits")
        precision = backend.text("torch_dtype") or backend.text("dtype")
        for key in ("task", "library", "model_type"):
            if backend.text(key):
                extra[key] = backend.text(key)
    if environment is not None:
        cpu_name = (environment.text("cpu") or "").strip() or None
        for key in ("transformers_version", "python_version"):
            if environment.text(key):
                extra[key] = environment.text(key)
        names = [g for g in environment.items_list("gpu") or [] if isinstance(g, str)]
        if device and device.startswith(("cuda", "rocm")):
            ids = backend.raw("device_ids") if backend is not None else None
            chosen = _select(names, ids)
            gpu_count = len(chosen) if chosen else environment.integer("gpu_count")
            used = {name for name in (chosen if chosen is not None else names) if name}
            gpu_name = used.pop() if len(used) == 1 else None
            if ids is not None:
                notes.append(f"GPUs: those device_ids {ids!r} selects among the {len(names)} the machine lists")
    if not built:
        raise LlmFormatError("no measurement: every section's latency and throughput is null (expected "
                             "prefill/decode/per_token or forward)", file=source, record=record)
    return [LlmResult(
        source=source, record=record, tool=NAME,
        tool_version=environment.text("optimum_benchmark_version") if environment else None, model=model,
        gpu_name=gpu_name, gpu_count=gpu_count, cpu_name=cpu_name if gpu_name is None else None,
        framework=framework, framework_version=framework_version, quantization=quantization,
        quantization_bits=bits, precision=precision, workload_type=OFFLINE, batch_size=batch_size,
        input_tokens_configured=input_len, output_tokens_configured=float(new_tokens) if new_tokens else None,
        metrics=built.metrics, memory_peak_mb=max(memory_peaks) if memory_peaks else None,
        energy_joules=energy_j if energy_sections else None,
        notes=tuple(notes + ([f"energy: sum of {', '.join(energy_sections)} (kWh to J)"] if energy_sections
                             else [])),
        extra=extra,
    )]


def _select(names: list[str], ids: Any) -> list[str] | None:
    """The GPU names ``device_ids`` ("2,4", [1], 0) picks, or None when it picks nothing readable."""
    if ids is None:
        return None
    if isinstance(ids, str):
        parts = [p.strip() for p in ids.split(",") if p.strip()]
    elif isinstance(ids, list):
        parts = [str(p) for p in ids]
    else:
        parts = [str(ids)]
    if not all(p.isdigit() for p in parts):
        return None
    return [names[int(p)] if int(p) < len(names) else "" for p in parts] if names else [""] * len(parts)
