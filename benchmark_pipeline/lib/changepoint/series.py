"""Warehouse series for regression flags: which series to re-analyse, and what a flag row holds.

Pure (pandas + hashlib): the SQL that reads points and fingerprints lives in
``benchmark_pipeline.lib.warehouse.regressions``; this module decides from those frames, so the
incremental rule and the open/recovered rules are testable without DuckDB.

Incrementality: every series carries a fingerprint (point count, largest result_id, an
order-independent hash of its (result_id, run_time, value) triples). A result added, superseded
(re-ingested rows get new result_ids) or retracted changes at least one of the three, so comparing
today's fingerprints with the ones stored at the last detection finds exactly the series to redo.
The detection parameters are hashed too: changing them re-analyses everything.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from benchmark_pipeline.lib.changepoint.direction import IMPROVEMENT, OUTLIER, REGRESSION
from benchmark_pipeline.lib.changepoint.flags import SUSPECTED, detect_flags
from benchmark_pipeline.lib.changepoint.robust import DEFAULT_MIN_RUN

# performance_results columns analysed, one series each; the names decide the direction.
METRICS = (
    "average_latency_ms",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "throughput_items_per_second",
    "memory_peak_mb",
    "power_watts",
    "items_per_joule",
)
KEY_COLUMNS = (
    "model_name", "hardware_fingerprint", "batch_size", "sequence_length", "precision", "test_case", "metric",
)
# Descriptive columns carried from the series into its flags (not part of the key).
LABEL_COLUMNS = ("hardware_id", "hardware_type", "device_name")
FINGERPRINT_COLUMNS = ("point_count", "max_result_id", "points_hash")
FLAG_TABLE_COLUMNS = (
    "flag_id", "series_id", "model_name", "hardware_id", "hardware_fingerprint", "hardware_type", "device_name",
    "batch_size", "sequence_length", "precision", "test_case", "metric", "kind", "direction", "change_index",
    "run_id", "result_id", "run_time", "mean_before", "stdev_before", "mean_after", "stdev_after", "pct_change",
    "pvalue", "is_latest_change", "recovered", "series_points", "mode", "detected_at",
    "confirmation", "noise", "noise_floor",
)
CHANGE_KINDS = (REGRESSION, IMPROVEMENT)


def params_hash(mode: str, include_simulated: bool, options: dict[str, Any]) -> str:
    """Stored with each series' fingerprint: other parameters, other flags, so everything is redone."""
    payload = json.dumps({"mode": mode, "include_simulated": include_simulated, **options}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def flag_id(series_id: str, run_id: int, kind: str) -> str:
    """Same series, same first bad run, same kind: same id, whatever else re-detection recomputes."""
    return hashlib.sha256(f"{series_id}\x1f{int(run_id)}\x1f{kind}".encode()).hexdigest()[:16]


def series_to_analyse(
    current: pd.DataFrame, state: pd.DataFrame, params: str | dict[str, str],
) -> tuple[list[str], list[str]]:
    """(series to re-analyse, series that no longer have points), from fingerprints now and at last run.

    ``current``: series_id + FINGERPRINT_COLUMNS of every series in the warehouse now;
    ``state``: the same plus params_hash, as stored by the previous detection. ``params`` is the
    parameters' hash now, one for all series or one per series_id (a series with its own
    threshold has its own parameters; series missing from the dict use ``params[""]``).
    """
    cols = ["series_id", *FINGERPRINT_COLUMNS]
    now = current[cols].astype({"point_count": "int64", "max_result_id": "int64", "points_hash": "uint64"})
    before = state[[*cols, "params_hash"]].astype(
        {"point_count": "int64", "max_result_id": "int64", "points_hash": "uint64"}
    )
    joined = now.merge(before, on="series_id", how="left", suffixes=("", "_before"), indicator=True)
    fresh = joined["_merge"] == "left_only"
    moved = np.zeros(len(joined), dtype=bool)
    for col in FINGERPRINT_COLUMNS:
        moved |= (joined[col] != joined[f"{col}_before"]).to_numpy()
    if isinstance(params, dict):
        wanted = joined["series_id"].map(lambda sid: params.get(sid, params.get("", "")))
    else:
        wanted = params
    moved |= (joined["params_hash"] != wanted).to_numpy()
    changed = sorted(joined.loc[fresh.to_numpy() | moved, "series_id"])
    removed = sorted(set(before["series_id"]) - set(now["series_id"]))
    return changed, removed


def build_flags(
    points: pd.DataFrame,
    series: pd.DataFrame,
    mode: str,
    now: datetime,
    min_run: int = DEFAULT_MIN_RUN,
    previous_detected_at: dict[str, Any] | None = None,
    **detect_options: Any,
) -> pd.DataFrame:
    """Flag rows (``FLAG_TABLE_COLUMNS``) for the series in ``points``.

    ``points``: series_id, metric, run_id, result_id, run_time, value, already ordered by
    (series_id, run_time, result_id) so ties in run_time resolve the same way on every run (the
    detector's own sort is stable). ``series``: one row per series_id with the key and label
    columns. ``previous_detected_at`` keeps a re-found flag's first detection time.
    """
    points = points[points["value"].notna()].reset_index(drop=True)
    frame = points.rename(columns={"series_id": "series_key"})
    if mode == "robust":
        detect_options = {"min_run": min_run, **detect_options}
    found = detect_flags(frame[["series_key", "metric", "run_id", "run_time", "value"]], mode=mode, **detect_options)
    # A suspected last run is a change the persistence rule has not confirmed: it counts as the
    # series' latest change (so it can be open) unless a confirmed change sits on the same run.
    if found.empty:
        return pd.DataFrame(columns=list(FLAG_TABLE_COLUMNS))

    found = found.rename(columns={"series_key": "series_id"})
    starts = points.groupby("series_id", sort=False).indices
    result_ids = points["result_id"].to_numpy()
    values = points["value"].to_numpy(dtype=np.float64)

    rows = []
    for sid, group in found.groupby("series_id", sort=False):
        positions = starts[sid]
        outliers = set(group.loc[group["kind"] == OUTLIER, "change_index"].astype(int))
        changes = group[group["kind"].isin(CHANGE_KINDS)]
        settled = changes[changes["confirmation"] != SUSPECTED]
        latest = int(settled["change_index"].max()) if not settled.empty else -1
        for rec in group.itertuples(index=False):
            idx = int(rec.change_index)
            suspected = rec.confirmation == SUSPECTED
            is_change = rec.kind in CHANGE_KINDS
            recovered = bool(is_change and not suspected and idx == latest and _recovered(
                values[positions], idx, outliers, rec.mean_before, rec.mean_after, min_run))
            rows.append({
                "series_id": sid, "kind": rec.kind, "change_index": idx, "run_id": int(rec.run_id),
                "result_id": int(result_ids[positions[idx]]), "run_time": rec.run_time,
                "mean_before": rec.mean_before, "stdev_before": rec.stdev_before, "mean_after": rec.mean_after,
                "stdev_after": rec.stdev_after, "pct_change": rec.pct_change, "pvalue": rec.pvalue,
                "direction": "up" if rec.mean_after > rec.mean_before else "down",
                "is_latest_change": bool(is_change and (suspected or idx == latest)), "recovered": recovered,
                "series_points": len(positions), "mode": mode, "confirmation": rec.confirmation,
                "noise": rec.noise, "noise_floor": rec.noise_floor,
            })
    flags = pd.DataFrame(rows)
    flags["flag_id"] = [flag_id(s, r, k) for s, r, k in zip(flags["series_id"], flags["run_id"], flags["kind"])]
    earlier = previous_detected_at or {}
    flags["detected_at"] = [earlier.get(f, now) for f in flags["flag_id"]]
    keys = series[["series_id", *KEY_COLUMNS, *LABEL_COLUMNS]].drop_duplicates("series_id")
    flags = flags.merge(keys, on="series_id", how="left", validate="many_to_one")
    return flags[list(FLAG_TABLE_COLUMNS)]


def _recovered(values: np.ndarray, change: int, outliers: set[int], before: float, after: float, min_run: int) -> bool:
    """The latest ``min_run`` runs after a change are all back nearer the old level than the new.

    The persistence rule holds back a change until it has lasted ``min_run`` runs, and a short
    tail may not reach the p-value yet: a fix landing in the last runs would otherwise leave the
    regression it fixes open until the detector can prove the return. Outlier runs do not count.
    """
    k = max(1, min_run)
    after_change = [values[i] for i in range(change, len(values)) if i not in outliers]
    if len(after_change) < 2 * k:
        return False  # only the runs that established the new level: nothing after them yet
    return all(abs(v - before) < abs(v - after) for v in after_change[-k:])
