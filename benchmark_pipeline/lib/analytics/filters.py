"""Filters and metric names shared by the queries, compare and the command line (no pandas: the CLI imports this)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any

from benchmark_pipeline.lib import vocabulary

# ``compare --metric`` names -> (column, label, higher is better), from the shared metric vocabulary.
METRICS: dict[str, tuple[str, str, bool]] = {
    name: (m.column, m.title, m.higher_is_better) for name, m in vocabulary.COMPARE_METRICS.items()
}
# The metrics a run-to-run comparison shows, with their direction.
RUN_METRICS: dict[str, bool] = {m.column: m.higher_is_better for m in vocabulary.RUN_METRICS}


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
