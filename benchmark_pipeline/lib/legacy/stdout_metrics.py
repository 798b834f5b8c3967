"""Metrics printed as text by the original benchmark scripts, for files that kept only their stdout.

The direct-benchmark script prints one line per batch size::

    Batch 1: Latency 24.80ms, Throughput 40.33 items/s, Memory 535.57MB

Units are read from the text and converted by ``normalize``; a line without a unit is not guessed at.
"""

from __future__ import annotations

import re

from benchmark_pipeline.lib import normalize

_BATCH_LINE = re.compile(r"^\s*Batch\s+(?P<batch>\d+)\s*:(?P<rest>.*)$", re.IGNORECASE | re.MULTILINE)
_LATENCY = re.compile(r"Latency\s*[:=]?\s*(?P<value>[\d.]+(?:e-?\d+)?)\s*(?P<unit>ms|s|us)\b", re.IGNORECASE)
_THROUGHPUT = re.compile(r"Throughput\s*[:=]?\s*(?P<value>[\d.]+(?:e-?\d+)?)\s*(?:items|samples)?\s*/\s*s", re.IGNORECASE)
_MEMORY = re.compile(r"Memory\s*[:=]?\s*(?P<value>[\d.]+(?:e-?\d+)?)\s*(?P<unit>MB|GB|KB|MiB|GiB)\b", re.IGNORECASE)
_UNIT_CASE = {"ms": "ms", "s": "s", "us": "us", "mb": "MB", "gb": "GB", "kb": "KB", "mib": "MiB", "gib": "GiB"}


def parse_batch_lines(text: object) -> dict[int, dict[str, float]]:
    """``{batch_size: {average_latency_ms, throughput_items_per_second, memory_peak_mb}}`` found in text."""
    if not isinstance(text, str):
        return {}
    found: dict[int, dict[str, float]] = {}
    for line in _BATCH_LINE.finditer(text):
        rest = line.group("rest")
        metrics: dict[str, float] = {}
        if latency := _LATENCY.search(rest):
            unit = _UNIT_CASE[latency.group("unit").lower()]
            metrics["average_latency_ms"] = normalize.convert_unit(float(latency.group("value")), unit, "ms")
        if throughput := _THROUGHPUT.search(rest):
            metrics["throughput_items_per_second"] = float(throughput.group("value"))
        if memory := _MEMORY.search(rest):
            unit = _UNIT_CASE[memory.group("unit").lower()]
            metrics["memory_peak_mb"] = normalize.convert_unit(float(memory.group("value")), unit, "MB")
        metrics = {key: value for key, value in metrics.items() if value > 0}
        if metrics:
            found[int(line.group("batch"))] = metrics
    return found
