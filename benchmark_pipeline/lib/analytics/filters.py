"""Filters and metric names shared by the queries, compare and the command line (no pandas: the CLI imports this)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any

# ``compare --metric`` names -> (column, label, higher is better).
METRICS: dict[str, tuple[str, str, bool]] = {
    "throughput": ("throughput_items_per_second", "throughput (items/s)", True),
    "latency": ("latency_ms", "latency p50, else mean (ms)", False),
    "memory": ("memory_peak_mb", "peak memory (MB)", False),
    "power": ("power_watts", "power (W)", False),
    "efficiency": ("items_per_joule", "efficiency (items/J)", True),
}
# The metrics a run-to-run comparison shows, with their direction.
RUN_METRICS: dict[str, bool] = {
    "latency_p50_ms": False, "latency_p99_ms": False, "throughput_items_per_second": True,
    "memory_peak_mb": False, "power_watts": False, "items_per_joule": True,
}


@dataclass(frozen=True)
class Filters:
    """What the user narrowed a report or comparison to."""

    model: str | None = None
    hardware: str | None = None  # a hardware type (any alias) or a device name
    since: date | datetime | None = None
    include_simulated: bool = False

    def since_utc(self) -> datetime | None:
        if self.since is None:
            return None
        if isinstance(self.since, datetime):
            return self.since if self.since.tzinfo else self.since.replace(tzinfo=timezone.utc)
        return datetime.combine(self.since, time.min, tzinfo=timezone.utc)

    def describe(self) -> dict[str, Any]:
        return {"model": self.model, "hardware": self.hardware,
                "since": self.since.isoformat() if self.since else None,
                "include_simulated": self.include_simulated}


def hardware_label_sql(alias: str = "h") -> str:
    # Type first: the same CPU appears as "cpu" and "openvino" and must stay two candidates.
    return f"{alias}.hardware_type || coalesce(': ' || {alias}.device_name, '')"
