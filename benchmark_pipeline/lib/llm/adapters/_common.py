"""What several adapters need alike: run dates, unbounded rates, token means, framework names."""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Callable

from benchmark_pipeline.lib.normalize import parse_timestamp

from ..fields import Record
from ..metrics import VALUE, is_unbounded, stat_name
from ..result import MetricsBuilder

# Inference servers a benchmark client may name; anything else a hosted-API client names is a provider.
SELF_HOSTED_FRAMEWORKS = frozenset({
    "vllm", "sglang", "tgi", "text-generation-inference", "triton", "tensorrt-llm", "tensorrtllm", "trtllm",
    "trt", "lmdeploy", "llama.cpp", "llamacpp", "ollama", "deepspeed-mii", "mii", "scalellm", "ray-serve",
    "nim", "dynamo", "mlc-llm", "exllamav2", "transformers",
})

_COMPACT = re.compile(r"(\d{8})[-_T]?(\d{6})")
_ZONED = re.compile(r"(?:[Zz]|[+-]\d{2}:?\d{2})$")


def run_time(value: object, notes: list[str], field: str) -> datetime | None:
    """A run's start from ISO text, epoch seconds, or vLLM's ``YYYYMMDD-HHMMSS``; naive times taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        match = _COMPACT.fullmatch(value.strip())
        if match:
            try:
                moment = datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S")
            except ValueError:
                moment = None
            if moment is not None:
                notes.append(f"{field}: a local time without zone, taken as UTC")
                return moment.replace(tzinfo=timezone.utc)
    moment = parse_timestamp(value)
    if moment is None:
        notes.append(f"{field}: {value!r} is not a time; run timestamp left empty")
    elif isinstance(value, str) and ":" in value and not _ZONED.search(value.strip()):
        notes.append(f"{field}: a time without zone, taken as UTC")
    return moment


def rate_or_unbounded(record: Record, key: str) -> tuple[float | None, bool]:
    """(request rate, unbounded) from a number, ``"inf"``, ``Infinity`` or a >= 1e9 sentinel."""
    raw = record.raw(key)
    if raw is None:
        return None, False
    if is_unbounded(raw):
        return None, True
    value = record.number(key, text_ok=True)
    if value is None or value < 0:
        raise record.error(key, f"expected a request rate (a number, 'inf' or Infinity), got {raw!r}")
    return value, False


def limit_or_unbounded(record: Record, key: str) -> tuple[int | None, bool]:
    """(concurrency, unbounded) from a count, null (not limited) or a >= 1e9 sentinel."""
    raw = record.raw(key)
    if isinstance(raw, list) and len(raw) == 1:  # GenAI-Perf writes [16] for a single concurrency
        raw = raw[0]
        record = Record({key: raw}, record.source, record.record, record.path)
    if raw is None:
        return None, False
    if is_unbounded(raw):
        return None, True
    value = record.integer(key, text_ok=True)
    if value is None or value < 0:
        raise record.error(key, f"expected a concurrency (a whole number), got {raw!r}")
    return value, False


def mean_per(total: float | None, count: int | None) -> float | None:
    if total is None or not count:
        return None
    return total / count


def finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def positive(value: float | None) -> float | None:
    """Configured lengths: tools write -1 or 0 for "not set"."""
    return value if value is not None and value > 0 else None


def summary_metrics(record: Record, summary_key: re.Pattern[str], metric_of: Callable[[str], str],
                    run_metrics: dict[str, str]) -> MetricsBuilder:
    """The metrics of a vLLM-family summary (vLLM ``bench serve`` and SGLang ``bench_serving`` share the layout):
    ``<stat>_<metric>`` keys matched by ``summary_key`` (group 1 the statistic, group 2 the tool's metric, named
    ours by ``metric_of``) and one key per run-level figure."""
    built = MetricsBuilder()
    for key in record.keys():
        match = summary_key.match(key)
        if match:
            stat = stat_name(match.group(1))
            if stat is None:
                raise record.error(key, f"{match.group(1)!r} is not a statistic")
            built.put(metric_of(match.group(2)), stat, record.number(key), origin=key)
    for key, metric in run_metrics.items():
        built.put(metric, VALUE, record.number(key), origin=key)
    return built
