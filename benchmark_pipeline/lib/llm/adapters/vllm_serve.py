"""vLLM's serving benchmark: ``benchmark_serving.py`` (legacy), ``vllm bench serve`` and ``vllm bench sweep`` runs.

One JSON object per run. Recognised by its summary keys ``<stat>_<ttft|tpot|itl|e2el>_ms``, which every
generation writes, and told from SGLang (whose keys look alike) by SGLang's own words (``e2e_latency``,
``retokenized`` counts, ``server_info``, ``random_input_len``).

What varies, and how it is read: older files have ``best_of`` and no ``failed``, ``label``,
``endpoint_type`` or e2el (missing keys stay empty; ``failed`` is inferred as ``num_prompts - completed``
and said so); one release wrote ``"request_goodput:"`` with a stray colon (read as goodput); some forks keep
only the TTFT/TPOT/ITL blocks (a result with lengths and counts empty); percentiles are whatever
``--metric-percentiles`` asked for (any ``pNN`` key is read). ``request_rate`` is a number, ``"inf"`` or the
sentinel 1e9, ``max_concurrency`` null, a number or 1e9: the limits are None and ``*_unbounded`` says
whether the file declared "no limit". A run with ``completed == 0`` is a failed run with no metrics, even
though the file writes 0.0 for every one. The per-request arrays ``--save-detailed`` adds (``ttfts``,
``itls``, ... in seconds) are not stored: the summary stats already are.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import LlmFormatError
from ..fields import Record
from ..result import ONLINE, LlmResult
from ._common import limit_or_unbounded, mean_per, rate_or_unbounded, run_time, summary_metrics

NAME = "vllm_bench_serve"

_SUMMARY_KEY = re.compile(r"^(mean|median|std|min|max|p\d+(?:\.\d+)?)_(ttft|tpot|itl|e2el)_ms$")
# Words only SGLang's bench_serving writes.
SGLANG_MARKERS = ("total_output_tokens_retokenized", "server_info", "random_input_len", "sharegpt_output_len")
_PER_REQUEST = ("input_lens", "output_lens", "ttfts", "itls", "generated_texts", "errors", "start_times")
_RUN_METRICS = {
    "request_throughput": "requests_per_s",
    "request_goodput": "goodput_requests_per_s",
    "request_goodput:": "goodput_requests_per_s",  # an older release's key, colon included
    "output_throughput": "output_tokens_per_s",
    "total_token_throughput": "total_tokens_per_s",
    "max_output_tokens_per_s": "peak_output_tokens_per_s",
}
_EXTRA = ("label", "burstiness", "endpoint_type", "max_concurrent_requests", "run_number", "max_num_seqs",
          "tokenizer_id", "best_of", "use_beam_search")
_API_FLAVOURS = ("openai",)  # backends that name an API shape, not the server behind it


def looks_like_sglang(document: dict[str, Any]) -> bool:
    return any(key in document for key in SGLANG_MARKERS) or any(
        key.endswith("_e2e_latency_ms") for key in document)


def matches(document: Any) -> bool:
    if not isinstance(document, dict) or looks_like_sglang(document):
        return False
    return sum(1 for key in document if _SUMMARY_KEY.match(key)) >= 2


def parse(document: Any, source: str, record: str | None = None) -> list[LlmResult]:
    r = Record(document, source, record)
    notes: list[str] = []
    extra = {key: r.raw(key) for key in _EXTRA if r.raw(key) is not None}

    model = r.text("model_id") or r.text("model_name") or r.text("model")
    backend = r.text("backend")
    framework = None
    if backend and not backend.lower().startswith(_API_FLAVOURS):
        framework = backend.lower()
        notes.append(f"framework {framework!r} taken from the client backend {backend!r}")
    if backend:
        extra["backend"] = backend

    num_prompts = r.integer("num_prompts")
    completed = r.integer("completed")
    failed = r.integer("failed")
    if failed is None and num_prompts is not None and completed is not None:
        failed = num_prompts - completed
        notes.append(f"failed = num_prompts - completed = {failed} (the file has no 'failed')")
    request_rate, rate_unbounded = rate_or_unbounded(r, "request_rate")
    concurrency, concurrency_unbounded = limit_or_unbounded(r, "max_concurrency")

    built = summary_metrics(r, _SUMMARY_KEY, lambda metric: f"{metric}_ms", _RUN_METRICS)
    dropped = [key for key in _PER_REQUEST if key in document]
    if dropped:
        notes.append(f"per-request arrays not stored: {', '.join(dropped)}")
    notes.extend(built.notes)

    result = dict(
        source=source, record=record, tool=NAME, model=model, framework=framework, workload_type=ONLINE,
        dataset=r.text("dataset_name"), num_prompts=num_prompts, completed=completed, failed=failed,
        request_rate=request_rate, request_rate_unbounded=rate_unbounded, concurrency=concurrency,
        concurrency_unbounded=concurrency_unbounded, duration_s=r.number("duration"),
        input_tokens_mean=mean_per(r.number("total_input_tokens"), completed),
        output_tokens_mean=mean_per(r.number("total_output_tokens"), completed),
        run_timestamp=run_time(r.raw("date"), notes, "date"), extra=extra,
    )
    if completed == 0:
        notes.append("every request failed: the file's zero metrics are not measurements and are not stored")
        return [LlmResult(**result, failed_run=True, notes=tuple(notes),
                          failure=f"all {failed if failed is not None else num_prompts} requests failed")]
    if not built:
        raise LlmFormatError("no measurement: every <stat>_<ttft|tpot|itl|e2el>_ms value is null",
                             file=source, record=record)
    if completed is not None and ("total_input_tokens" in document or "total_output_tokens" in document):
        notes.append("input/output token means = total tokens / completed requests")
    return [LlmResult(**result, metrics=built.metrics, notes=tuple(notes))]
