"""Hourly prices for hardware, from the committed ``hardware_costs.csv``.

The warehouse has no price column and results rarely carry one, so this table is an assumption
kept in the repository: approximate on-demand cloud list prices (USD per device-hour, mid 2025),
matched by hardware type and a case-insensitive glob on the device name, first match wins. CPUs,
Apple, mobile and browser backends have no meaningful hourly price and stay unknown; an unknown
price drops the cost criterion for that comparison instead of pretending it is free.
"""

from __future__ import annotations

import csv
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path

COSTS_CSV = Path(__file__).with_name("hardware_costs.csv")


@lru_cache(maxsize=4)
def load_costs(path: Path = COSTS_CSV) -> tuple[tuple[str, str, float], ...]:
    with open(path, newline="", encoding="utf-8") as fh:
        return tuple((row["hardware_type"].strip().lower(), row["device_pattern"].strip().lower(),
                      float(row["cost_per_hour_usd"])) for row in csv.DictReader(fh))


def cost_per_hour(hardware_type: str | None, device_name: str | None, path: Path = COSTS_CSV) -> float | None:
    if not hardware_type or not device_name:
        return None
    device = device_name.lower()
    for hw_type, pattern, cost in load_costs(path):
        if hw_type == hardware_type.lower() and fnmatchcase(device, pattern):
            return cost
    return None
