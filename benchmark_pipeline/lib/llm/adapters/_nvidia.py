"""What GenAI-Perf's and AIPerf's profile exports share: stat blocks and DCGM GPU telemetry.

AIPerf grew out of GenAI-Perf and kept its block shape: ``{"unit": "ms", "avg": ..., "p99": ...}`` per
measure, a run-level figure being a block with ``avg`` only. The words mean the same in both, and differ
from vLLM's: their ``inter_token_latency`` is per-request TPOT, while AIPerf's ``inter_chunk_latency`` is
vLLM's ITL. AIPerf 1.3 adds ``count`` and ``sum`` to each block (not statistics of the measure, skipped).

Telemetry comes per GPU, in two layouts: GenAI-Perf's ``telemetry_stats`` is ``{measure: {"unit", <gpu>:
stats}}``, AIPerf's ``telemetry_data.endpoints.<exporter>.gpus.<gpu>`` is ``{gpu_name, metrics: {measure:
{unit, stats}}}``. A DCGM exporter reports every GPU of its node, busy or not, so the GPUs the run used
are those with memory in use or non-zero utilisation (all of them when none shows either, which only a
node-wide idle run would). Energy is a counter since boot: the run's energy is its rise (max - min).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ..fields import Record
from ..metrics import VALUE, UnitError, energy_to_j, memory_to_mb, stat_name, to_ms
from ..result import MetricsBuilder

# tool block -> our metric
BLOCKS = {
    "time_to_first_token": "ttft_ms",
    "time_to_second_token": "ttst_ms",
    "inter_token_latency": "tpot_ms",
    "inter_chunk_latency": "itl_ms",
    "request_latency": "e2el_ms",
    "output_token_throughput_per_user": "output_tokens_per_s_per_user",
    "output_token_throughput_per_request": "output_tokens_per_s_per_request",
    "e2e_output_token_throughput": "output_tokens_per_s_per_request",
    "request_throughput": "requests_per_s",
    "output_token_throughput": "output_tokens_per_s",
    "total_token_throughput": "total_tokens_per_s",
    "goodput": "goodput_requests_per_s",
}
_TIME_METRICS = {"ttft_ms", "ttst_ms", "tpot_ms", "itl_ms", "e2el_ms"}
_RUN_METRICS = {"requests_per_s", "output_tokens_per_s", "total_tokens_per_s", "goodput_requests_per_s"}
_TOKEN_RATE_UNITS = {"tokens/sec", "tokens/s", "tokens/sec/user", "tokens/s/user", "tokens/second"}
_REQUEST_RATE_UNITS = {"requests/sec", "requests/s", "requests/second", "req/s"}
_NOT_STATS = {"unit", "count", "sum"}


def has_blocks(document: dict) -> bool:
    """At least one of the shared measures, written as a block with a unit or an average."""
    return any(isinstance(document.get(name), dict) and ("unit" in document[name] or "avg" in document[name])
               for name in BLOCKS)


def read_blocks(r: Record, built: MetricsBuilder, notes: list[str]) -> None:
    for name, metric in BLOCKS.items():
        block = r.child(name)
        if block is None:
            continue
        if built.has(metric) and name == "e2e_output_token_throughput":
            continue  # a file with both per-request blocks: keep the one named for it
        unit = block.text("unit")
        if unit is None:
            unit = _default_unit(metric)
            notes.append(f"{name}: no unit given, read as {unit} (the tool's documented unit)")
        convert = _converter(block, metric, unit)
        if metric in _RUN_METRICS:
            built.put(metric, VALUE, _maybe(convert, block.number("avg")), origin=name)
            continue
        for key in block.keys():
            if key in _NOT_STATS:
                continue
            stat = stat_name(key)
            if stat is None:
                raise block.error(key, f"{key!r} is not a statistic (expected avg, min, max, std or pNN)")
            built.put(metric, stat, _maybe(convert, block.number(key)), origin=f"{name}.{key}")


def _default_unit(metric: str) -> str:
    if metric in _TIME_METRICS:
        return "ms"
    return "requests/sec" if metric in ("requests_per_s", "goodput_requests_per_s") else "tokens/sec"


def _maybe(convert, value: float | None) -> float | None:
    return None if value is None else convert(value)


def _converter(block: Record, metric: str, unit: str):
    if metric in _TIME_METRICS:
        try:
            to_ms(1.0, unit)
        except UnitError as exc:
            raise block.error("unit", str(exc)) from None
        return lambda value: to_ms(value, unit)
    allowed = _REQUEST_RATE_UNITS if metric in ("requests_per_s", "goodput_requests_per_s") else _TOKEN_RATE_UNITS
    if unit.strip().lower() not in allowed:
        raise block.error("unit", f"unit {unit!r} does not fit {metric} (expected one of {sorted(allowed)})")
    return lambda value: value


def block_avg(r: Record, name: str) -> float | None:
    block = r.child(name)
    return None if block is None else block.number("avg")


@dataclass
class Telemetry:
    gpu_name: str | None = None
    gpu_count: int | None = None
    power_watts: float | None = None
    energy_joules: float | None = None
    memory_peak_mb: float | None = None
    utilization_pct: float | None = None
    notes: list[str] = field(default_factory=list)


def _stats(record: Record, measure: str) -> tuple[str | None, dict[str, float]]:
    block = record.child(measure)
    if block is None:
        return None, {}
    unit = block.text("unit")
    stats = {key: block.number(key) for key in block.keys() if key not in _NOT_STATS}
    return unit, {key: value for key, value in stats.items() if value is not None}


def genai_perf_gpus(r: Record) -> dict[str, tuple[str | None, dict[str, tuple[str | None, dict]]]]:
    """GPU id -> (name, {measure: (unit, stats)}) from GenAI-Perf's ``telemetry_stats``."""
    stats = r.child("telemetry_stats")
    gpus: dict[str, tuple[str | None, dict]] = {}
    if stats is None:
        return gpus
    for measure in stats.keys():
        block = stats.child(measure)
        if block is None:
            continue
        unit = block.text("unit")
        for gpu in block.keys():
            if gpu == "unit":
                continue
            per_gpu = block.child(gpu)
            if per_gpu is None:
                continue
            values = {key: per_gpu.number(key) for key in per_gpu.keys()}
            gpus.setdefault(gpu, (None, {}))[1][measure] = (unit, {k: v for k, v in values.items()
                                                                   if v is not None})
    return gpus


def aiperf_gpus(r: Record) -> dict[str, tuple[str | None, dict[str, tuple[str | None, dict]]]]:
    """GPU id -> (name, {measure: (unit, stats)}) from AIPerf's ``telemetry_data``."""
    data = r.child("telemetry_data")
    gpus: dict[str, tuple[str | None, dict]] = {}
    endpoints = data.child("endpoints") if data is not None else None
    if endpoints is None:
        return gpus
    for endpoint in endpoints.keys():
        exporter = endpoints.child(endpoint)
        devices = exporter.child("gpus") if exporter is not None else None
        if devices is None:
            continue
        for gpu in devices.keys():
            device = devices.child(gpu)
            measures = device.child("metrics") if device is not None else None
            if measures is None:
                continue
            gpus[f"{endpoint}/{gpu}"] = (device.text("gpu_name"),
                                         {m: _stats(measures, m) for m in measures.keys()})
    return gpus


def summarise(gpus: dict[str, tuple[str | None, dict]], where: str) -> Telemetry:
    """Hardware and resource figures of the GPUs the run used."""
    out = Telemetry()
    if not gpus:
        return out

    def stat(measures: dict, measure: str, key: str) -> float | None:
        return measures.get(measure, (None, {}))[1].get(key)

    busy = {gpu: entry for gpu, entry in gpus.items()
            if (stat(entry[1], "gpu_utilization", "max") or stat(entry[1], "gpu_utilization", "avg") or 0) > 0
            or (stat(entry[1], "gpu_memory_used", "max") or stat(entry[1], "gpu_memory_used", "avg") or 0) > 0}
    used = busy or gpus
    out.gpu_count = len(used)
    if busy and len(busy) < len(gpus):
        out.notes.append(f"{where}: {len(gpus)} GPUs reported, {len(busy)} busy (memory in use or utilisation "
                         "above 0); gpu_count and resources cover the busy ones")
    else:
        out.notes.append(f"{where}: gpu_count is the number of GPUs the telemetry reported")
    names = {name for name, _ in used.values() if name}
    if len(names) == 1:
        out.gpu_name = names.pop()

    def total(measure: str, key: str, convert) -> float | None:
        values = []
        for _, measures in used.values():
            unit, stats = measures.get(measure, (None, {}))
            value = stats.get(key)
            if value is None:
                return None
            try:
                values.append(convert(value, unit or ""))
            except UnitError as exc:
                out.notes.append(f"{where}.{measure}: {exc}; not stored")
                return None
        return sum(values) if values else None

    out.power_watts = total("gpu_power_usage", "avg", _watts)
    out.memory_peak_mb = total("gpu_memory_used", "max", memory_to_mb)
    rises = []
    for _, measures in used.values():
        unit, stats = measures.get("energy_consumption", (None, {}))
        if "max" in stats and "min" in stats and unit:
            try:
                rises.append(energy_to_j(stats["max"] - stats["min"], unit))
            except UnitError as exc:
                out.notes.append(f"{where}.energy_consumption: {exc}; not stored")
                rises = []
                break
    if rises and all(rise > 0 for rise in rises):
        out.energy_joules = sum(rises)
        out.notes.append(f"{where}: energy = rise of each busy GPU's energy counter (max - min), summed")
    elif rises:
        out.notes.append(f"{where}: an energy counter did not rise over the run; energy not stored")
    utilisation = [stat(m, "gpu_utilization", "avg") for _, m in used.values()]
    if utilisation and all(u is not None for u in utilisation):
        out.utilization_pct = sum(utilisation) / len(utilisation)
    return out


def _watts(value: float, unit: str) -> float:
    factor = {"w": 1.0, "": 1.0, "mw": 1e-3, "kw": 1e3}.get(unit.strip().lower())
    if factor is None:
        raise UnitError(f"unit {unit!r} is not a power unit (expected W)")
    return value * factor
