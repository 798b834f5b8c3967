"""``LlmResult``: one run of one workload, whatever tool measured it, in the vocabulary's names and units.

It is what every adapter returns and all the warehouse needs to know about an LLM file, so it validates
itself: metric names and stats must be the vocabulary's, values finite, and a failed run carries no
metric at all (a run where every request failed is a failure, never a zero measurement). Everything a
file lacks stays ``None``; filling it (ingest flags, sidecars) is the caller's job, and ``notes`` tell it
what the adapter inferred or dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Mapping

from .metrics import LLM_METRICS, is_stat

ONLINE = "online"  # requests arrive over time, bounded by a request rate and/or a concurrency
OFFLINE = "offline"  # all the work is submitted at once (a batch, an MLPerf Offline query)
WORKLOAD_TYPES = (ONLINE, OFFLINE)


@dataclass(frozen=True)
class LlmResult:
    # -- where it came from
    source: str
    tool: str  # e.g. "vllm_bench_serve", "aiperf", "mlperf_loadgen"
    tool_version: str | None = None
    record: str | None = None  # "line 3" of a JSONL file, "item 2" of a JSON list; None for a whole file
    # -- what ran where
    model: str | None = None  # as the file spells it
    gpu_name: str | None = None
    gpu_count: int | None = None
    hosted_provider: str | None = None  # a hosted API measured from outside (llmperf against a provider)
    cpu_name: str | None = None
    system_name: str | None = None  # a submission's system name (MLPerf), kept verbatim
    framework: str | None = None
    framework_version: str | None = None
    quantization: str | None = None  # scheme: awq, gptq, fp8, ...
    quantization_bits: int | None = None
    precision: str | None = None  # compute dtype: bfloat16, float16, ...
    # -- the workload
    workload_type: str | None = None  # ONLINE or OFFLINE
    dataset: str | None = None
    input_tokens_mean: float | None = None  # measured mean prompt length
    output_tokens_mean: float | None = None  # measured mean output length
    input_tokens_configured: float | None = None  # what the run asked for
    output_tokens_configured: float | None = None
    batch_size: int | None = None
    concurrency: int | None = None  # the configured limit; None when unlimited or not given
    concurrency_unbounded: bool = False
    request_rate: float | None = None  # requests/s; None when unlimited ("inf", Infinity, >= 1e9) or not given
    request_rate_unbounded: bool = False  # True when the file said the rate was unlimited
    num_prompts: int | None = None  # requests the run issued (or planned to)
    completed: int | None = None
    failed: int | None = None
    run_timestamp: datetime | None = None
    duration_s: float | None = None
    # -- measurements
    metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    energy_joules: float | None = None
    power_watts: float | None = None  # mean over the run, summed over the GPUs used
    memory_peak_mb: float | None = None  # peak GPU memory, summed over the GPUs used (MB = 2**20 bytes)
    failed_run: bool = False
    failure: str | None = None  # why the run counts as failed
    notes: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)  # tool-specific context kept verbatim

    def __post_init__(self) -> None:
        metrics = {name: dict(stats) for name, stats in self.metrics.items()}
        for name, stats in metrics.items():
            metric = LLM_METRICS.get(name)
            if metric is None:
                raise ValueError(f"{name!r} is not an LLM metric of the vocabulary")
            for stat, value in stats.items():
                if not is_stat(stat, metric.kind):
                    raise ValueError(f"{stat!r} is not a stat of {name} ({metric.kind})")
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise ValueError(f"{name}.{stat} must be a finite number, got {value!r}")
                stats[stat] = float(value)
        metrics = {name: stats for name, stats in metrics.items() if stats}
        if self.failed_run and metrics:
            raise ValueError("a failed run carries no metrics (every request failed: no measurement)")
        for name in ("energy_joules", "power_watts", "memory_peak_mb", "duration_s"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, float)) or not math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if self.workload_type is not None and self.workload_type not in WORKLOAD_TYPES:
            raise ValueError(f"workload_type {self.workload_type!r} is not one of {WORKLOAD_TYPES}")
        object.__setattr__(self, "metrics", metrics)
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "extra", dict(self.extra))

    def value(self, metric: str, stat: str) -> float | None:
        """One number, or None when the run did not report it."""
        return self.metrics.get(metric, {}).get(stat)

    @property
    def gpu_utilization_pct(self) -> float | None:
        """Mean GPU utilisation, kept with the run-level metrics (``gpu_utilization_pct``)."""
        return self.value("gpu_utilization_pct", "value")

    @property
    def hardware(self) -> str | None:
        """What the result ran on, as one label: ``hosted:<provider>``, the GPU, the system, else the CPU."""
        if self.hosted_provider:
            return f"hosted:{self.hosted_provider}"
        return self.gpu_name or self.system_name or self.cpu_name

    def with_changes(self, **changes: Any) -> "LlmResult":
        return replace(self, **changes)


class MetricsBuilder:
    """Collects ``metric -> stat -> value`` while an adapter reads a file; drops what cannot be stored, noting it.

    A NaN or infinite statistic (a tool's std over one request, say) is not a measurement; dropping it with
    a note keeps the rest of the run instead of refusing the file.
    """

    def __init__(self) -> None:
        self.metrics: dict[str, dict[str, float]] = {}
        self.notes: list[str] = []

    def put(self, metric: str, stat: str, value: float | None, *, origin: str = "") -> None:
        if value is None:
            return
        if not math.isfinite(value):
            self.notes.append(f"{origin or metric + '.' + stat}: non-finite value {value!r} dropped")
            return
        if metric not in LLM_METRICS:
            raise KeyError(metric)
        if not is_stat(stat, LLM_METRICS[metric].kind):
            raise KeyError(f"{metric}.{stat}")
        self.metrics.setdefault(metric, {})[stat] = float(value)

    def has(self, metric: str) -> bool:
        return bool(self.metrics.get(metric))

    def __bool__(self) -> bool:
        return any(self.metrics.values())
