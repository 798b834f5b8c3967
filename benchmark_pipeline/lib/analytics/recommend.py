"""Hardware recommendations: the Pareto-optimal hardware and a TOPSIS ranking per model, batch size and precision.

Default weights favour what a deployment usually commits to first: tail latency and throughput
(0.30 each), then price (0.15) and memory (0.15), then power (0.10). They are a starting point,
not a verdict; callers pass their own for a battery-bound or a cost-bound use.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .costs import cost_per_hour
from .pareto import MAXIMIZE, MINIMIZE, pareto_front
from .topsis import BENEFIT, COST, topsis

# criterion -> (column of hardware_comparison, weight, TOPSIS type)
DEFAULT_CRITERIA: dict[str, tuple[str, float, int]] = {
    "latency_p99_ms": ("median_latency_p99_ms", 0.30, COST),
    "throughput_items_per_second": ("median_throughput_items_per_second", 0.30, BENEFIT),
    "memory_peak_mb": ("median_memory_peak_mb", 0.15, COST),
    "power_watts": ("median_power_watts", 0.10, COST),
    "cost_per_hour_usd": ("cost_per_hour_usd", 0.15, COST),
}
GROUP_KEYS = ["model_name", "batch_size", "precision"]
OUTPUT_COLUMNS = GROUP_KEYS + ["hardware_type", "device_name", "hardware", *DEFAULT_CRITERIA,
                               "pareto_optimal", "topsis_score", "topsis_rank", "criteria_used", "candidates"]


def empty_recommendations() -> pd.DataFrame:
    """No rows, but typed like real ones, so a table created from it takes later rows."""
    text = ["model_name", "precision", "hardware_type", "device_name", "hardware", "criteria_used"]
    dtypes = {c: "string" for c in text} | {"batch_size": "int32", "pareto_optimal": "bool",
                                            "topsis_rank": "Int64", "candidates": "int64"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "float64")) for c in OUTPUT_COLUMNS})


def with_costs(comparison: pd.DataFrame) -> pd.DataFrame:
    out = comparison.copy()
    out["cost_per_hour_usd"] = [
        cost_per_hour(t, d) for t, d in zip(out["hardware_type"], out["device_name"].where(out["device_name"].notna(), None))
    ]
    out["cost_per_hour_usd"] = out["cost_per_hour_usd"].astype("float64")
    return out


def hardware_recommendations(comparison: pd.DataFrame, weights: dict[str, float] | None = None) -> pd.DataFrame:
    """Rank the hardware of each (model, batch size, precision) group of a ``hardware_comparison`` frame."""
    criteria = {name: (col, (weights or {}).get(name, w), t) for name, (col, w, t) in DEFAULT_CRITERIA.items()}
    frame = with_costs(comparison) if "cost_per_hour_usd" not in comparison else comparison.copy()
    if frame.empty:
        return empty_recommendations()
    # Per group only numpy; the frame is assembled once (a frame per group cost ~20 ms each).
    columns = [col for col, _w, _t in criteria.values()]
    matrix_all = frame[columns].to_numpy(dtype=np.float64, na_value=np.nan)
    weights_arr = np.array([w for _c, w, _t in criteria.values()])
    types = np.array([t for _c, _w, t in criteria.values()])
    senses = np.where(types == BENEFIT, MAXIMIZE, MINIMIZE)
    n = len(frame)
    pareto, scores = np.zeros(n, dtype=bool), np.full(n, np.nan)
    ranks, candidates = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    used = np.empty(n, dtype=object)
    for rows in frame.groupby(GROUP_KEYS, dropna=False, sort=False).indices.values():
        matrix = matrix_all[rows]
        result = topsis(matrix, weights_arr, types)
        kept = result.kept
        pareto[rows] = pareto_front(matrix[:, kept], senses[kept]) if kept.any() else True
        scores[rows] = result.scores
        ranks[rows] = result.ranks
        candidates[rows] = len(rows)
        used[rows] = ", ".join(name for name, k in zip(criteria, kept) if k)
    result_frame = frame[GROUP_KEYS + ["hardware_type", "device_name", "hardware"]].reset_index(drop=True)
    for name, (col, _w, _t) in criteria.items():
        result_frame[name] = frame[col].astype("float64").to_numpy()
    result_frame["pareto_optimal"] = pareto
    result_frame["topsis_score"] = scores
    result_frame["topsis_rank"] = pd.array(np.where(ranks > 0, ranks, 0), dtype="Int64")
    result_frame.loc[ranks == 0, "topsis_rank"] = pd.NA
    result_frame["criteria_used"] = used
    result_frame["candidates"] = candidates
    return result_frame.sort_values(GROUP_KEYS + ["topsis_rank", "hardware"], na_position="last",
                                    ignore_index=True)[OUTPUT_COLUMNS]
