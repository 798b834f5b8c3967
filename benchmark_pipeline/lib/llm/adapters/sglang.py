"""SGLang's ``bench_serving``: JSON lines, one run per line, runs appended to the same file.

Recognised by SGLang's own words (``*_e2e_latency_ms``, ``total_output_tokens_retokenized``, ``server_info``,
``random_input_len``); ``detect`` reads the lines (bare ``Infinity`` included) and hands each here.

What varies: older lines have ~18 keys (no mean TTFT, no std/p99, no request throughput, no model
name: the result's model stays empty and is said so); newer ones add std/p90/p95/p99, ``concurrency``
(the measured mean number in flight, kept in ``extra``; the configured limit is ``max_concurrency``), a
large ``server_info`` (model, version, dtype, parallelism: read, not kept) and per-request arrays
(``--output-details``: not stored; their ``errors`` count the failed requests). ``random_input_len`` /
``random_output_len`` are the configured lengths only when the dataset is ``random``, and with
``random_range_ratio`` < 1 the prompts are drawn shorter, so the measured means (total tokens / completed)
are kept apart from the configured ones.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import LlmFormatError
from ..fields import Record
from ..result import ONLINE, LlmResult
from ._common import limit_or_unbounded, mean_per, positive, rate_or_unbounded, summary_metrics
from .vllm_serve import looks_like_sglang

NAME = "sglang_bench_serving"

_SUMMARY_KEY = re.compile(r"^(mean|median|std|min|max|p\d+(?:\.\d+)?)_(ttft_ms|tpot_ms|itl_ms|e2e_latency_ms)$")
_METRIC = {"ttft_ms": "ttft_ms", "tpot_ms": "tpot_ms", "itl_ms": "itl_ms", "e2e_latency_ms": "e2el_ms"}
_RUN_METRICS = {
    "request_throughput": "requests_per_s",
    "input_throughput": "input_tokens_per_s",
    "output_throughput": "output_tokens_per_s",
    "total_throughput": "total_tokens_per_s",
    "max_output_tokens_per_s": "peak_output_tokens_per_s",
}
_PER_REQUEST = ("input_lens", "output_lens", "ttfts", "itls", "generated_texts", "errors")


def matches(document: Any) -> bool:
    if not isinstance(document, dict) or not looks_like_sglang(document):
        return False
    return any(_SUMMARY_KEY.match(key) for key in document) or "output_throughput" in document


def _server_args(server_info: Any) -> tuple[list[dict], list[dict]]:
    """(whole-server argument sets, prefill + decode server sets of a disaggregated router)."""
    if not isinstance(server_info, dict):
        return [], []
    if isinstance(server_info.get("prefill"), list) or isinstance(server_info.get("decode"), list):
        # A prefill/decode router: each listed server has its own arguments and GPUs.
        parts = [s for role in ("prefill", "decode") for s in (server_info.get(role) or [])
                 if isinstance(s, dict)]
        return [], parts
    if "model_path" in server_info or "tp_size" in server_info:
        return [server_info], []
    states = server_info.get("internal_states")
    if isinstance(states, list):
        return [s for s in states if isinstance(s, dict) and ("model_path" in s or "tp_size" in s)][:1], []
    return [], []


def _gpus(args: dict) -> int | None:
    sizes = [args.get("tp_size"), args.get("pp_size") or 1]
    if not all(isinstance(size, int) and size > 0 for size in sizes):
        return None
    count = sizes[0] * sizes[1]
    dp = args.get("dp_size") or 1
    if isinstance(dp, int) and dp > 1 and not args.get("enable_dp_attention"):
        count *= dp  # data-parallel replicas; with DP attention the replicas share the TP GPUs
    return count


def _first(sets: list[dict], *keys: str) -> Any:
    for args in sets:
        for key in keys:
            value = args.get(key)
            if value not in (None, "", "auto"):
                return value
    return None


def parse(document: Any, source: str, record: str | None = None) -> list[LlmResult]:
    r = Record(document, source, record)
    notes: list[str] = []
    extra: dict[str, Any] = {}
    for key in ("tag", "backend", "random_range_ratio", "accept_length"):
        if r.raw(key) is not None:
            extra[key] = r.raw(key)
    measured = r.number("concurrency")
    if measured is not None:
        extra["mean_concurrency_observed"] = measured

    server_info = r.raw("server_info")
    if server_info is not None and not isinstance(server_info, dict):
        raise r.error("server_info", "expected an object")
    whole, parts = _server_args(server_info)
    sets = whole or parts
    model = _first(sets, "served_model_name", "model_path")
    versions = sorted({args["version"] for args in sets if isinstance(args.get("version"), str)})
    version = versions[0] if len(versions) == 1 else None
    if len(versions) > 1:
        notes.append(f"servers run different sglang versions {versions}: framework version left empty")
    if model is None:
        notes.append("the line names no model (older bench_serving lines carry none)")
    gpu_count = None
    if whole:
        gpu_count = _gpus(whole[0])
    elif parts:
        counts = [_gpus(args) for args in parts]
        gpu_count = sum(counts) if counts and all(c is not None for c in counts) else None
        extra["disaggregated"] = {"prefill_servers": len(server_info.get("prefill") or []),
                                  "decode_servers": len(server_info.get("decode") or [])}
    if gpu_count is not None:
        notes.append("gpu_count inferred from server_info parallelism (tp x pp x dp)")
    backend = (r.text("backend") or "").lower()
    framework = backend.split("-")[0] or None
    if framework:
        notes.append(f"framework {framework!r} taken from the client backend {backend!r}")
    quantization = _first(sets, "quantization")

    dataset = r.text("dataset_name")
    completed = r.integer("completed")
    input_configured = output_configured = None
    if dataset == "random":
        input_configured = positive(r.number("random_input_len"))
        output_configured = positive(r.number("random_output_len"))
    elif r.number("sharegpt_output_len") is not None:
        output_configured = positive(r.number("sharegpt_output_len"))
    errors = r.items_list("errors")
    failed = num_prompts = None
    if errors is not None:
        failed = sum(1 for error in errors if error)
        num_prompts = len(errors)
    request_rate, rate_unbounded = rate_or_unbounded(r, "request_rate")
    concurrency, concurrency_unbounded = limit_or_unbounded(r, "max_concurrency")

    built = summary_metrics(r, _SUMMARY_KEY, _METRIC.__getitem__, _RUN_METRICS)
    dropped = [key for key in _PER_REQUEST if key in document]
    if dropped:
        notes.append(f"per-request arrays not stored: {', '.join(dropped)}")
    notes.extend(built.notes)

    result = dict(
        source=source, record=record, tool=NAME, model=model, gpu_count=gpu_count, framework=framework,
        framework_version=version if framework == "sglang" else None, quantization=quantization,
        precision=_first(sets, "dtype"), workload_type=ONLINE, dataset=dataset,
        input_tokens_mean=mean_per(r.number("total_input_tokens"), completed),
        output_tokens_mean=mean_per(r.number("total_output_tokens"), completed),
        input_tokens_configured=input_configured, output_tokens_configured=output_configured,
        num_prompts=num_prompts, completed=completed, failed=failed, request_rate=request_rate,
        request_rate_unbounded=rate_unbounded, concurrency=concurrency,
        concurrency_unbounded=concurrency_unbounded, duration_s=r.number("duration"), extra=extra,
    )
    if completed == 0:
        notes.append("every request failed: no metric is stored")
        return [LlmResult(**result, failed_run=True, failure="no request completed", notes=tuple(notes))]
    if not built:
        raise LlmFormatError("no measurement: no latency or throughput value in the line", file=source,
                             record=record)
    return [LlmResult(**result, metrics=built.metrics, notes=tuple(notes))]
