"""vLLM's offline scripts: ``benchmark_latency.py`` / ``vllm bench latency`` and ``benchmark_throughput.py`` /
``vllm bench throughput`` (``--output-json``).

Two small shapes of one family. A latency file is ``avg_latency`` (s), ``latencies`` (s, one per timed
generate call over a whole batch) and ``percentiles`` keyed by the percentile as text ("10", "50", "99"):
that is ``batch_latency_ms``. A throughput file is ``elapsed_time`` (s), ``num_requests``,
``total_num_tokens`` and the two rates, where ``tokens_per_second`` counts prompt plus output tokens
(``total_tokens_per_s``); some forks add ``output_tokens_per_second``. Neither names the model, the
hardware, the batch or the lengths: those stay empty for the caller's flags or sidecar to fill.
"""

from __future__ import annotations

from typing import Any

from ..errors import LlmFormatError
from ..fields import Record
from ..metrics import VALUE, s_to_ms, stat_name
from ..result import OFFLINE, LlmResult, MetricsBuilder

LATENCY = "vllm_bench_latency"
THROUGHPUT = "vllm_bench_throughput"
NAME = "vllm_offline"

_THROUGHPUT_KEYS = ("elapsed_time", "num_requests", "requests_per_second", "tokens_per_second")
_NOT_IN_FILE = "the file names no model, hardware or workload (vLLM's offline scripts write none)"


def _is_latency(document: dict) -> bool:
    return "avg_latency" in document and ("percentiles" in document or "latencies" in document)


def _is_throughput(document: dict) -> bool:
    return all(key in document for key in _THROUGHPUT_KEYS)


def matches(document: Any) -> bool:
    return isinstance(document, dict) and (_is_latency(document) or _is_throughput(document))


def parse(document: Any, source: str, record: str | None = None) -> list[LlmResult]:
    r = Record(document, source, record)
    built = MetricsBuilder()
    notes = [_NOT_IN_FILE]
    if _is_latency(document):
        built.put("batch_latency_ms", "mean", s_to_ms(r.number("avg_latency", required=True)))
        percentiles = r.child("percentiles")
        if percentiles is not None:
            for key in percentiles.keys():
                stat = stat_name(key)
                if stat is None or stat in ("mean", "std"):
                    raise percentiles.error(key, "expected a percentile key such as '50' or '99'")
                built.put("batch_latency_ms", stat, s_to_ms(percentiles.number(key, required=True)))
        latencies = r.items_list("latencies")
        if latencies:
            values = [Record({"v": v}, source, record, f"latencies[{i}]").number("v", required=True)
                      for i, v in enumerate(latencies)]
            built.put("batch_latency_ms", "min", s_to_ms(min(values)))
            built.put("batch_latency_ms", "max", s_to_ms(max(values)))
            notes.append(f"min/max taken from the {len(values)} timed calls in 'latencies'")
        notes.extend(built.notes)
        return [LlmResult(source=source, record=record, tool=LATENCY, workload_type=OFFLINE,
                          metrics=built.metrics, notes=tuple(notes))]

    elapsed = r.number("elapsed_time", required=True)
    requests = r.integer("num_requests", required=True)
    built.put("requests_per_s", VALUE, r.number("requests_per_second", required=True))
    built.put("total_tokens_per_s", VALUE, r.number("tokens_per_second", required=True))
    built.put("output_tokens_per_s", VALUE, r.number("output_tokens_per_second"))
    extra = {"total_num_tokens": r.number("total_num_tokens")} if r.present("total_num_tokens") else {}
    notes.extend(built.notes)
    if requests == 0:
        raise LlmFormatError("num_requests is 0: no request was timed", file=source, record=record,
                             field="num_requests")
    return [LlmResult(source=source, record=record, tool=THROUGHPUT, workload_type=OFFLINE,
                      num_prompts=requests, completed=requests, duration_s=elapsed, metrics=built.metrics,
                      notes=tuple(notes), extra=extra)]
