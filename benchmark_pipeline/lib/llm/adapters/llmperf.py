"""Ray's llmperf ``*_summary.json``: flat keys, every time in seconds.

Recognised by its ``results_<measure>_<stat>`` keys. Stats are ``results_<measure>_quantiles_pNN``,
``_mean``, ``_min``, ``_max``, ``_stddev``; token-count min/max are written as text ("550"); the error
codes are the text of a Python dict (``"{-100.0: 97}"``), parsed as a literal, never evaluated.

llmperf measures an HTTP API from the outside, so the hardware is whatever serves that API. When the file
says who serves it (the leaderboard's ``framework`` field names the provider: groq, bedrock, anyscale), the
result's hardware is ``hosted:<provider>``; a self-hosted server named there (vllm, tgi, ...) is a framework,
not a provider. llmperf's ``inter_token_latency_s`` includes the first-token wait, so it maps to
``e2el_per_output_token_ms``, not TPOT (see ``metrics``).
"""

from __future__ import annotations

import ast
import re
from typing import Any

from ..errors import LlmFormatError
from ..fields import Record
from ..metrics import VALUE, per_minute_to_per_s, s_to_ms, stat_name
from ..result import ONLINE, LlmResult, MetricsBuilder
from ._common import SELF_HOSTED_FRAMEWORKS, limit_or_unbounded, positive, run_time

NAME = "llmperf"

_KEY = re.compile(r"^results_(.+?)_(?:quantiles_(p\d+(?:\.\d+)?)|(mean|min|max|stddev))$")
# measure -> (our metric, convert)
_MEASURES = {
    "ttft_s": ("ttft_ms", s_to_ms),
    "end_to_end_latency_s": ("e2el_ms", s_to_ms),
    "inter_token_latency_s": ("e2el_per_output_token_ms", s_to_ms),
    "request_output_throughput_token_per_s": ("output_tokens_per_s_per_request", lambda v: v),
}
_MARKERS = ("results_ttft_s_mean", "results_end_to_end_latency_s_mean", "results_num_completed_requests",
            "results_inter_token_latency_s_mean")


def matches(document: Any) -> bool:
    return isinstance(document, dict) and any(key in document for key in _MARKERS)


def _error_codes(r: Record) -> dict[str, int] | None:
    raw = r.raw("results_error_code_frequency")
    if raw is None:
        return None
    if isinstance(raw, dict):
        parsed = raw
    elif isinstance(raw, str):
        try:
            parsed = ast.literal_eval(raw.strip() or "{}")
        except (ValueError, SyntaxError, RecursionError):
            raise r.error("results_error_code_frequency",
                          f"expected the text of a dict of error code -> count, got {raw!r}") from None
    else:
        raise r.error("results_error_code_frequency", f"expected text or an object, got {raw!r}")
    if not isinstance(parsed, dict):
        raise r.error("results_error_code_frequency", f"expected a dict of error code -> count, got {raw!r}")
    codes = {}
    for code, count in parsed.items():
        label = str(int(code)) if isinstance(code, float) and code == int(code) else str(code)
        codes[label] = int(count) if isinstance(count, (int, float)) else count
    return codes


def parse(document: Any, source: str, record: str | None = None) -> list[LlmResult]:
    r = Record(document, source, record)
    notes: list[str] = []
    extra: dict[str, Any] = {}
    for key in ("name", "api", "model_size"):
        if r.raw(key) is not None:
            extra[key] = r.raw(key)
    codes = _error_codes(r)
    if codes:
        extra["error_codes"] = codes

    named = r.text("framework")
    provider = framework = None
    if named:
        if named.strip().lower() in SELF_HOSTED_FRAMEWORKS:
            framework = named.strip().lower()
        else:
            provider = named.strip().lower()
            notes.append(f"hosted API: the file's framework {named!r} names the provider")

    built = MetricsBuilder()
    for key in r.keys():
        match = _KEY.match(key)
        if not match or match.group(1) not in _MEASURES:
            continue
        metric, convert = _MEASURES[match.group(1)]
        stat = stat_name(match.group(2) or match.group(3))
        value = r.number(key)
        built.put(metric, stat, None if value is None else convert(value), origin=key)
    built.put("output_tokens_per_s", VALUE, r.number("results_mean_output_throughput_token_per_s"))
    per_minute = r.number("results_num_completed_requests_per_min")
    built.put("requests_per_s", VALUE, None if per_minute is None else per_minute_to_per_s(per_minute))
    for key in ("results_number_input_tokens_min", "results_number_input_tokens_max",
                "results_number_output_tokens_min", "results_number_output_tokens_max"):
        if r.raw(key) is not None:
            extra[key.removeprefix("results_")] = r.number(key, text_ok=True)
    notes.extend(built.notes)

    completed = r.integer("results_num_completed_requests")
    failed = r.integer("results_number_errors")
    concurrency, unbounded = limit_or_unbounded(r, "num_concurrent_requests")
    result = dict(
        source=source, record=record, tool=NAME, tool_version=r.text("version"), model=r.text("model"),
        hosted_provider=provider, framework=framework, workload_type=ONLINE,
        input_tokens_mean=r.number("results_number_input_tokens_mean"),
        output_tokens_mean=r.number("results_number_output_tokens_mean"),
        input_tokens_configured=positive(r.number("mean_input_tokens")),
        output_tokens_configured=positive(r.number("mean_output_tokens")),
        num_prompts=r.integer("results_num_requests_started"), completed=completed, failed=failed,
        concurrency=concurrency, concurrency_unbounded=unbounded,
        run_timestamp=run_time(r.raw("timestamp"), notes, "timestamp"), extra=extra,
    )
    if completed == 0:
        notes.append("no request completed: no metric is stored")
        reason = "all requests failed" + (f" (error codes {codes})" if codes else "")
        return [LlmResult(**result, failed_run=True, failure=reason, notes=tuple(notes))]
    if not built:
        raise LlmFormatError("no measurement: every results_* latency and throughput value is missing",
                             file=source, record=record)
    if failed:
        notes.append(f"{failed} requests failed; the metrics cover the {completed} that completed")
    return [LlmResult(**result, metrics=built.metrics, notes=tuple(notes))]
