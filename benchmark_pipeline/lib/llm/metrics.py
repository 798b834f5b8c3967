"""The LLM-serving metric vocabulary, written once: name, unit, direction, definition, and how each tool maps.

Why a vocabulary of its own: the tools disagree on what their words mean. GenAI-Perf's and AIPerf's
"inter_token_latency" is a per-request average that vLLM and SGLang call TPOT; vLLM's "ITL" is every gap
between streamed chunks; llmperf's "inter_token_latency_s" folds the wait for the first token into the
average. Storing each under the tool's own name would make a cross-tool SLA query compare different
things, so every adapter maps into the names below and says, in the definitions, which tool field
lands where. A tool measure that fits none of these meanings is dropped with a note, never squeezed in.

Representation: a result's ``metrics`` is ``{metric name: {stat: value}}``. Distributions (one value per
request, token or sample) carry the stats the tool reported: ``mean``, ``std``, ``min``, ``max`` and
percentiles written ``p50``, ``p90``, ``p99.9`` (a tool's "median" is ``p50``). Run-level figures (one
number per run: a throughput) carry the single stat ``value``. Units are fixed per metric and converted
once, in the adapter, with the helpers at the end of this module.

Energy, power and memory are not redefined here: they are the project's existing measures
(``vocabulary.METRICS``: ``energy_joules``, ``power_watts``, ``memory_peak_mb``), and an ``LlmResult`` holds
them as fields under those names. Only GPU utilisation is new.

Standard library only, like ``vocabulary``, so any layer (and the CLI's ``--help``) can import it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from benchmark_pipeline.lib.vocabulary import METRICS, Metric

DISTRIBUTION = "distribution"
RUN = "run"
# The stat a run-level metric is stored under.
VALUE = "value"


@dataclass(frozen=True)
class LlmMetric(Metric):
    """A ``vocabulary.Metric`` (column = the metric's name) with its definition and how tools map onto it.

    Being a ``Metric``, an LLM metric goes wherever the project already handles one (regression
    direction, chart titles) without a second code path.
    """

    kind: str = DISTRIBUTION
    definition: str = ""
    tools: str = ""  # which field of which tool maps here, and any difference in definition

    @property
    def name(self) -> str:
        return self.column

    @property
    def lower_is_better(self) -> bool:
        return not self.higher_is_better

    @property
    def direction(self) -> str:
        return "higher_is_better" if self.higher_is_better else "lower_is_better"


def _vocabulary(*metrics: LlmMetric) -> dict[str, LlmMetric]:
    return {m.column: m for m in metrics}


LLM_METRICS: dict[str, LlmMetric] = _vocabulary(
    # -- latencies, per request or per token (ms, lower is better) ----------------------------------
    LlmMetric(
        "ttft_ms", "ms", False, "time to first token", DISTRIBUTION,
        "Per request: from sending the request to receiving the first output token (prefill plus queueing "
        "plus network).",
        "vLLM/SGLang *_ttft_ms; GenAI-Perf/AIPerf time_to_first_token; llmperf results_ttft_s_* (s); MLPerf "
        "'first token latency' (ns; not Offline, where it counts from time zero); optimum-benchmark prefill "
        "latency (s: one generate call producing one token for the whole batch, so the batch's time to first "
        "token, with no queueing).",
    ),
    LlmMetric(
        "ttst_ms", "ms", False, "time to second token", DISTRIBUTION,
        "Per request: from the first output token to the second (the first decode step).",
        "GenAI-Perf/AIPerf time_to_second_token.",
    ),
    LlmMetric(
        "tpot_ms", "ms", False, "time per output token", DISTRIBUTION,
        "Per request: (end-to-end latency - TTFT) / (output tokens - 1), i.e. the request's average decode "
        "step, first token excluded; the stats are over requests.",
        "vLLM/SGLang *_tpot_ms; GenAI-Perf and AIPerf inter_token_latency (their name, our TPOT); MLPerf "
        "'time to output token' / time_per_output_token (ns, first token excluded); optimum-benchmark: "
        "decode latency / (new tokens - 1), derived only when every sequence generates a fixed number of "
        "tokens.",
    ),
    LlmMetric(
        "itl_ms", "ms", False, "inter-token latency", DISTRIBUTION,
        "Every gap between consecutive streamed tokens or chunks, pooled across all requests; the stats are "
        "over gaps, so long requests weigh more than in TPOT, and a chunk of several tokens is one gap.",
        "vLLM/SGLang *_itl_ms; AIPerf inter_chunk_latency; optimum-benchmark per_token latency (s; its first "
        "gap per generate call is the time to first token, which only the tail can show). Not GenAI-Perf's "
        "inter_token_latency (that is TPOT).",
    ),
    LlmMetric(
        "e2el_ms", "ms", False, "end-to-end request latency", DISTRIBUTION,
        "Per request: from sending it to receiving its last token.",
        "vLLM *_e2el_ms; SGLang *_e2e_latency_ms; GenAI-Perf/AIPerf request_latency; llmperf "
        "results_end_to_end_latency_s_* (s); MLPerf Server/Interactive/SingleStream latency (ns). MLPerf "
        "Offline latencies are not this (every sample is issued at time zero, so they measure completion "
        "order) and are dropped.",
    ),
    LlmMetric(
        "e2el_per_output_token_ms", "ms", False, "latency per output token (TTFT included)", DISTRIBUTION,
        "Per request: end-to-end latency / output tokens, the first-token wait included; higher than TPOT by "
        "about TTFT / output tokens.",
        "llmperf results_inter_token_latency_s_* (s): llmperf sums every gap including the first (the TTFT) "
        "and divides by the output tokens, so its 'inter-token latency' is this, not TPOT or ITL.",
    ),
    LlmMetric(
        "batch_latency_ms", "ms", False, "batch latency", DISTRIBUTION,
        "One offline inference call over a whole batch, from submitting it to its last output; the stats are "
        "over repeated calls. For batch size 1 of a generate call it is that request's end-to-end latency.",
        "vLLM benchmark_latency avg_latency/latencies/percentiles (s); optimum-benchmark forward latency (s) "
        "for non-generative tasks.",
    ),
    # -- per-request speeds (tokens/s, higher is better) ---------------------------------------------
    LlmMetric(
        "output_tokens_per_s_per_user", "tokens/s", True, "output tokens per second per user", DISTRIBUTION,
        "Per request: its decode speed, (output tokens - 1) / (end-to-end latency - TTFT), about 1000 / TPOT; "
        "what one user sees once the first token has arrived.",
        "GenAI-Perf/AIPerf output_token_throughput_per_user.",
    ),
    LlmMetric(
        "output_tokens_per_s_per_request", "tokens/s", True, "output tokens per second per request",
        DISTRIBUTION,
        "Per request: output tokens / end-to-end latency, the first-token wait included.",
        "GenAI-Perf output_token_throughput_per_request (older releases); AIPerf e2e_output_token_throughput; "
        "llmperf results_request_output_throughput_token_per_s_*.",
    ),
    # -- run-level throughputs (one value per run, higher is better) ---------------------------------
    LlmMetric(
        "output_tokens_per_s", "tokens/s", True, "output throughput", RUN,
        "All output tokens of the run / the run's duration.",
        "vLLM/SGLang output_throughput; GenAI-Perf/AIPerf output_token_throughput; llmperf "
        "results_mean_output_throughput_token_per_s; MLPerf 'Tokens per second' (Offline; '(inferred)' when "
        "loadgen derived it from samples) and 'Completed tokens per second' (Server).",
    ),
    LlmMetric(
        "input_tokens_per_s", "tokens/s", True, "input throughput", RUN,
        "All input (prompt) tokens of the run / the run's duration.",
        "SGLang input_throughput.",
    ),
    LlmMetric(
        "total_tokens_per_s", "tokens/s", True, "total token throughput", RUN,
        "All input plus output tokens of the run / the run's duration.",
        "vLLM total_token_throughput; SGLang total_throughput; AIPerf total_token_throughput; vLLM "
        "benchmark_throughput tokens_per_second (prompt plus output tokens).",
    ),
    LlmMetric(
        "peak_output_tokens_per_s", "tokens/s", True, "peak output throughput", RUN,
        "The most output tokens produced within any one-second window of the run.",
        "vLLM/SGLang max_output_tokens_per_s.",
    ),
    LlmMetric(
        "decode_tokens_per_s", "tokens/s", True, "decode throughput", RUN,
        "Output tokens per second of the decode phase only (prefill time excluded), whole batch.",
        "optimum-benchmark decode throughput.",
    ),
    LlmMetric(
        "requests_per_s", "requests/s", True, "request throughput", RUN,
        "Successfully completed requests / the run's duration.",
        "vLLM/SGLang request_throughput; GenAI-Perf/AIPerf request_throughput; llmperf "
        "results_num_completed_requests_per_min / 60; MLPerf Server/Interactive 'Completed samples per "
        "second'; vLLM benchmark_throughput requests_per_second.",
    ),
    LlmMetric(
        "goodput_requests_per_s", "requests/s", True, "goodput", RUN,
        "Completed requests that met the run's SLOs (the tool's goodput criteria) / the run's duration.",
        "vLLM request_goodput (an older release wrote the key 'request_goodput:'); AIPerf goodput.",
    ),
    LlmMetric(
        "samples_per_s", "samples/s", True, "sample throughput", RUN,
        "Dataset samples completed per second in a run that issues all its work at once (offline).",
        "MLPerf Offline 'Samples per second'; optimum-benchmark forward throughput for non-generative tasks.",
    ),
    # -- resources --------------------------------------------------------------------------------
    LlmMetric(
        "gpu_utilization_pct", "%", True, "GPU utilisation", RUN,
        "Mean GPU utilisation over the run, averaged over the GPUs the run used; higher means more of the "
        "paid hardware did work.",
        "GenAI-Perf telemetry_stats / AIPerf telemetry_data gpu_utilization (DCGM).",
    ),
)

# The project's existing measures an LLM result also carries (as LlmResult fields of the same name).
RESOURCE_METRICS: dict[str, Metric] = {name: METRICS[name] for name in ("energy_joules", "power_watts",
                                                                         "memory_peak_mb")}

# -- stats --------------------------------------------------------------------------------------------

BASIC_STATS = ("mean", "std", "min", "max")
_PERCENTILE = re.compile(r"p(?:100|[1-9]?\d)(?:\.\d*[1-9])?")


def percentile_stat(q: float | str) -> str:
    """``p`` plus the percentile without trailing zeros: 50 -> ``p50``, "99.90" -> ``p99.9``."""
    number = float(q)
    if not 0 <= number <= 100:
        raise ValueError(f"percentile {q!r} is outside 0..100")
    text = f"{number:.6f}".rstrip("0").rstrip(".")
    return f"p{text}"


def is_stat(name: str, kind: str) -> bool:
    """Whether ``name`` is a stat a metric of ``kind`` may carry."""
    if kind == RUN:
        return name == VALUE
    return name in BASIC_STATS or bool(_PERCENTILE.fullmatch(name))


def stat_name(tool_stat: str) -> str | None:
    """Our stat for a tool's stat word: avg/mean, median/p50, std/stdev/stddev, min, max, pNN, 'NN'."""
    text = tool_stat.strip().lower()
    alias = {"avg": "mean", "mean": "mean", "average": "mean", "median": "p50", "std": "std", "stdev": "std",
             "stddev": "std", "min": "min", "max": "max"}.get(text)
    if alias:
        return alias
    match = re.fullmatch(r"p?(\d+(?:\.\d+)?)", text)
    if match:
        try:
            return percentile_stat(match.group(1))
        except ValueError:
            return None
    return None


# -- units: each adapter converts once, with these -----------------------------------------------------

_MS_PER = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0, "sec": 1000.0, "secs": 1000.0,
           "second": 1000.0, "seconds": 1000.0, "min": 60_000.0}
# The project's MB is 2**20 bytes (normalize.UNIT_FACTORS takes MiB and MB alike); tools that write "MB"
# and "GB" (optimum-benchmark, DCGM via GenAI-Perf/AIPerf) mean 10**6 and 10**9 bytes.
_BYTES_PER = {"b": 1.0, "bytes": 1.0, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2.0 ** 10,
              "mib": 2.0 ** 20, "gib": 2.0 ** 30}
_PROJECT_MB = 2.0 ** 20
_J_PER = {"mj_milli": 1e-3, "j": 1.0, "kj": 1e3, "mj": 1e6, "wh": 3600.0, "kwh": 3.6e6}


class UnitError(ValueError):
    """A unit the conversion does not know; adapters turn it into an LlmFormatError naming the field."""


def to_ms(value: float, unit: str) -> float:
    """A duration in ``unit`` (ns, us, ms, s, sec, min) as milliseconds."""
    factor = _MS_PER.get(unit.strip())
    if factor is None:
        factor = _MS_PER.get(unit.strip().lower())
    if factor is None:
        raise UnitError(f"unit {unit!r} is not a time unit (expected one of ns, us, ms, s)")
    return value * factor


def s_to_ms(value: float) -> float:
    return value * 1000.0


def ns_to_ms(value: float) -> float:
    return value * 1e-6


def to_s(value: float, unit: str) -> float:
    return to_ms(value, unit) / 1000.0


def memory_to_mb(value: float, unit: str) -> float:
    """Memory in ``unit`` as the project's MB (2**20 bytes). ``MB``/``GB`` are decimal (10**6, 10**9 bytes)."""
    factor = _BYTES_PER.get(unit.strip().lower())
    if factor is None:
        raise UnitError(f"unit {unit!r} is not a memory unit (expected bytes, MB, GB, MiB or GiB)")
    return value * factor / _PROJECT_MB


def energy_to_j(value: float, unit: str) -> float:
    """Energy in ``unit`` as joules. ``MJ`` is megajoules (DCGM counters as GenAI-Perf/AIPerf export them)."""
    text = unit.strip()
    key = "mj_milli" if text == "mJ" else text.lower()
    factor = _J_PER.get(key)
    if factor is None:
        raise UnitError(f"unit {unit!r} is not an energy unit (expected J, kJ, MJ, mJ, Wh or kWh)")
    return value * factor


def per_minute_to_per_s(value: float) -> float:
    return value / 60.0


# Rates at or above this are "no limit": vLLM writes 1e9 for an unbounded request rate or concurrency.
UNBOUNDED_SENTINEL = 1e9


def is_unbounded(value: object) -> bool:
    """Whether a request rate or concurrency means "no limit": inf, "inf", "Infinity", or >= 1e9."""
    if isinstance(value, str):
        return value.strip().lower() in {"inf", "+inf", "infinity", "+infinity"}
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isinf(value) or value >= UNBOUNDED_SENTINEL


# -- warehouse columns ---------------------------------------------------------------------------------

# The stats of a distribution that get a column of their own in llm_serving_results: what SLAs and
# rankings ask for. Every other stat a file reports (p1, p25, p99.9, ...) is kept in the row's metrics JSON.
COLUMN_STATS = ("mean", "std", "min", "max", "p50", "p90", "p95", "p99")


def column_name(metric: str, stat: str) -> str:
    """The warehouse column of one metric and stat: the metric's name for a run-level figure, else
    ``<metric>_<stat>`` (``ttft_ms_p90``, ``output_tokens_per_s_per_user_mean``)."""
    if LLM_METRICS[metric].kind == RUN:
        return metric
    return f"{metric}_{stat}".replace(".", "_")


def metric_columns() -> dict[str, tuple[str, str]]:
    """Every metric column of llm_serving_results, in vocabulary order: column -> (metric, stat).

    The migration that creates the table is static SQL; a test holds its columns to this list, so a
    metric added here without a migration (or the other way round) fails at once.
    """
    columns: dict[str, tuple[str, str]] = {}
    for name, metric in LLM_METRICS.items():
        for stat in ((VALUE,) if metric.kind == RUN else COLUMN_STATS):
            columns[column_name(name, stat)] = (name, stat)
    return columns


def describe() -> str:
    """The vocabulary as text (name, unit, direction, definition, tool mapping), for docs and ``--help``."""
    lines = []
    for metric in LLM_METRICS.values():
        lines.append(f"{metric.column} ({metric.unit}, {metric.direction}, {metric.kind}): {metric.definition}")
        lines.append(f"    from: {metric.tools}")
    return "\n".join(lines)
