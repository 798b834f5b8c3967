"""Which way is worse for a metric, decided from its name.

A change point only says "the level moved"; whether that is a regression depends on the metric:
slower, bigger or hungrier (latency, time, memory, power, energy) is worse, while less work done
(throughput, items per second, items per joule, efficiency) is worse. Names come from the
warehouse columns (``average_latency_ms``, ``throughput_items_per_second``, ``memory_peak_mb``,
``energy_efficiency_items_per_joule``, ``power_consumption_mw`` ...) and from user CSV headers.
"""

from __future__ import annotations

import re

REGRESSION = "regression"
IMPROVEMENT = "improvement"
OUTLIER = "outlier"

# Checked first: rates per unit of cost contain cost words ("energy_efficiency_items_per_joule").
_HIGHER_IS_BETTER = re.compile(
    r"throughput|per_?s(ec(ond)?)?\b|per_?sec|_per_(joule|j|watt|w)\b|per_joule|efficien|"
    r"items_?per|tokens_?per_?s|samples_?per|qps|rps|fps|ops_?per|flops|speedup|bandwidth|hit_?rate|accuracy"
)
_LOWER_IS_BETTER = re.compile(
    r"latency|time|duration|_ms\b|_us\b|_ns\b|_s\b|seconds|memory|mem_|_mem\b|rss|_mb\b|_gb\b|bytes|"
    r"power|energy|watt|_mw\b|joule|_mj\b|temperature|battery|ttft|tpot|p50|p90|p95|p99"
)


def _normalise(name: str) -> str:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def higher_is_better(metric: str) -> bool | None:
    """True for throughput-like names, False for cost-like names, None when the name says neither."""
    name = _normalise(metric)
    if _HIGHER_IS_BETTER.search(name):
        return True
    if _LOWER_IS_BETTER.search(name):
        return False
    return None


def change_kind(metric: str, rel_change: float, default_higher_is_better: bool = True) -> str:
    """``regression`` or ``improvement`` for a relative change of ``metric``.

    Unknown names fall back to ``default_higher_is_better``, which is Otava's default metric
    direction (1: a drop is a regression). A zero change is not a regression.
    """
    better_up = higher_is_better(metric)
    return kind_for(rel_change, default_higher_is_better if better_up is None else better_up)


def kind_for(rel_change: float, better_up: bool) -> str:
    worse = rel_change < 0 if better_up else rel_change > 0
    return REGRESSION if worse else IMPROVEMENT
