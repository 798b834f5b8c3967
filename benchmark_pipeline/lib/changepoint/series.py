"""Warehouse series for regression flags: which series to re-analyse, and what a flag row holds.

Pure (pandas + hashlib): the SQL that reads points and fingerprints lives in
``benchmark_pipeline.lib.warehouse.regressions``; this module decides from those frames, so the
incremental rule and the open/recovered rules are testable without DuckDB.

Incrementality: every series carries a fingerprint (point count, largest result_id, an
order-independent hash of its (result_id, run_time, value) triples). A result added, superseded
(re-ingested rows get new result_ids) or retracted changes at least one of the three, so comparing
today's fingerprints with the ones stored at the last detection finds exactly the series to redo.
The detection parameters are hashed too: changing them re-analyses everything.

Two fact tables feed the same detector, state and flags: ``performance_results`` and
``llm_serving_results``. A ``SeriesSource`` says, per table, which metric columns are series and what
identifies a series; everything downstream (fingerprints, flags, acks, thresholds) is shared.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from benchmark_pipeline.lib import vocabulary
from benchmark_pipeline.lib.changepoint.direction import IMPROVEMENT, OUTLIER, REGRESSION, kind_for
from benchmark_pipeline.lib.changepoint.flags import SUSPECTED, detect_flags
from benchmark_pipeline.lib.changepoint.robust import DEFAULT_MIN_RUN
from benchmark_pipeline.lib.llm.metrics import LLM_METRICS, metric_columns

PERFORMANCE_RESULTS = "performance_results"
LLM_SERVING_RESULTS = "llm_serving_results"


@dataclass(frozen=True)
class SeriesSource:
    """One fact table as regression detection reads it.

    ``key`` are the arguments of the warehouse macro ``key_macro`` (migrations 7 and 10) in its order,
    ``metric`` following them: the typed values a series id is hashed from, so the id depends neither on
    surrogate ids nor on how anything is printed. ``labels`` are descriptive columns carried into its
    flags that the key does not already hold (the hardware's id and names, the model version's id).
    """

    fact_table: str
    metrics: tuple[str, ...]
    key_macro: str
    key: tuple[str, ...]
    labels: tuple[str, ...]


_HARDWARE_LABELS = ("hardware_id", "hardware_fingerprint", "hardware_type", "device_name")

PERFORMANCE = SeriesSource(
    PERFORMANCE_RESULTS,
    tuple(m.column for m in vocabulary.REGRESSION_METRICS),
    "series_key",
    ("model_name", "hardware_key", "batch_size", "sequence_length", "precision", "test_case"),
    _HARDWARE_LABELS,
)

# The LLM columns analysed: what a serving SLA or a capacity plan is written against, one or two stats
# per metric rather than all eight, because each column is a series of its own and the stats of one
# distribution move together (a TTFT regression shows in p50, p90 and p99 alike; more would only say it
# again). TTFT p50/p90/p99: the typical wait for the first token and its tail, where queueing and prefill
# regressions show first. TPOT p50/p90 and ITL p90: decode speed per request and the stutter between
# streamed chunks. End-to-end p90: what a whole request costs. Output, total tokens/s and requests/s: the
# capacity a deployment is paid for. Output tokens/s per user (mean): the speed one reader sees. Left out:
# min/max/std (one unlucky request), the rest of the vocabulary (reported by few tools, so series with a
# point here and there), price (a configuration's cost is an input, not a measurement that regresses)
# and energy, power and memory (performance_results' names; a metric threshold must mean one thing).
LLM_REGRESSION_COLUMNS = (
    "ttft_ms_p50", "ttft_ms_p90", "ttft_ms_p99",
    "tpot_ms_p50", "tpot_ms_p90",
    "itl_ms_p90",
    "e2el_ms_p90",
    "output_tokens_per_s", "total_tokens_per_s", "requests_per_s",
    "output_tokens_per_s_per_user_mean",
)

LLM = SeriesSource(
    LLM_SERVING_RESULTS,
    LLM_REGRESSION_COLUMNS,
    "llm_series_key",
    ("model_name", "quantization", "bits", "weights_format", "precision", "hardware_key", "gpu_count", "framework",
     "tool", "workload_type", "dataset", "input_tokens_configured", "output_tokens_configured", "concurrency",
     "concurrency_unbounded", "request_rate", "request_rate_unbounded", "batch_size"),
    (*_HARDWARE_LABELS, "model_version_id"),
)
SOURCES = (PERFORMANCE, LLM)

# Every column analysed, one series each (per configuration). Names are unique across the two tables, so a
# threshold set for a metric means one measure.
METRICS = tuple(m for source in SOURCES for m in source.metrics)

# The vocabulary entry of every analysed column: its unit, label and which way is better.
METRIC_INFO: dict[str, vocabulary.Metric] = {
    **{m: vocabulary.METRICS[m] for m in PERFORMANCE.metrics},
    **{column: LLM_METRICS[metric_columns()[column][0]] for column in LLM.metrics},
}
FINGERPRINT_COLUMNS = ("point_count", "max_result_id", "points_hash")
# What an LLM flag says about its configuration (NULL on performance flags): the LLM key's typed values
# the performance flag columns do not already have, and the model version's id.
LLM_FLAG_COLUMNS = (
    "model_version_id", "quantization", "bits", "weights_format", "gpu_count", "framework", "tool", "workload_type",
    "dataset", "input_tokens_configured", "output_tokens_configured", "concurrency", "concurrency_unbounded",
    "request_rate", "request_rate_unbounded",
)
FLAG_TABLE_COLUMNS = (
    "flag_id", "series_id", "model_name", "hardware_id", "hardware_fingerprint", "hardware_type", "device_name",
    "batch_size", "sequence_length", "precision", "test_case", "metric", "kind", "direction", "change_index",
    "run_id", "result_id", "run_time", "mean_before", "stdev_before", "mean_after", "stdev_after", "pct_change",
    "pvalue", "is_latest_change", "recovered", "series_points", "mode", "detected_at",
    "confirmation", "noise", "noise_floor", "fact_table", *LLM_FLAG_COLUMNS,
)
# The columns a flag takes from its series (the rest describe the change).
SERIES_COLUMNS = tuple(
    c for c in FLAG_TABLE_COLUMNS
    if c in {"metric", "fact_table"} or any(c in s.key or c in s.labels for s in SOURCES)
)
CHANGE_KINDS = (REGRESSION, IMPROVEMENT)

# How far back a warehouse series is analysed: its latest HISTORY points. A series of nightly runs keeps
# growing, and re-detecting it whole on every drop made a drop's cost grow with the warehouse (300 touched
# series of 7,000 points: 28 s of detection into 10M rows, against 1 s for the same drop into 100k rows).
# 500 points are 16 months of nightly runs or weeks of per-commit runs: what "what got slower" is asked
# about. A change further back is history (trends and ``compare`` show it), no longer a flag. The detector
# itself is unchanged (``regressions detect`` over a file still reads every point), and the value is hashed
# into every series' parameters, so changing it re-analyses everything.
DEFAULT_HISTORY = 500


def params_hash(mode: str, include_simulated: bool, options: dict[str, Any]) -> str:
    """Stored with each series' fingerprint: other parameters, other flags, so everything is redone."""
    payload = json.dumps({"mode": mode, "include_simulated": include_simulated, **options}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def flag_id(series_id: str, run_key: str, kind: str) -> str:
    """Same series, same first bad run, same kind: same id, whatever else re-detection recomputes.

    ``run_key`` is the run's file content (its sha256; a file holds one run per test type, and one
    series is of one test type), not the run's surrogate id: a file retracted and ingested again gets
    new run ids, and its acknowledged regression must stay acknowledged (``regression_acks`` is keyed
    by flag id). Migration 0011 computes the same formula in SQL.
    """
    return hashlib.sha256(f"{series_id}\x1f{run_key}\x1f{kind}".encode()).hexdigest()[:16]


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

    ``points``: series_id, metric, run_id, run_key (see ``flag_id``), result_id, run_time, value, ordered by
    (series_id, run_time, result_id) so ties in run_time resolve the same way on every run (the
    detector's own sort is stable). ``series``: one row per series_id with the key and label
    columns, and ``point_count`` (the whole series') where ``points`` holds only its latest points
    (``DEFAULT_HISTORY``): change indexes and ``series_points`` then count from the series' first point.
    ``previous_detected_at`` keeps a re-found flag's first detection time.
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
    found["kind"] = _judged_by_vocabulary(found)
    starts = points.groupby("series_id", sort=False).indices
    result_ids = points["result_id"].to_numpy()
    run_keys = points["run_key"].to_numpy()
    values = points["value"].to_numpy(dtype=np.float64)
    whole = series.set_index("series_id")["point_count"].to_dict() if "point_count" in series else {}

    rows = []
    for sid, group in found.groupby("series_id", sort=False):
        positions = starts[sid]
        outliers = set(group.loc[group["kind"] == OUTLIER, "change_index"].astype(int))
        changes = group[group["kind"].isin(CHANGE_KINDS)]
        settled = changes[changes["confirmation"] != SUSPECTED]
        latest = int(settled["change_index"].max()) if not settled.empty else -1
        total = max(len(positions), int(whole.get(sid, len(positions))))
        skipped = total - len(positions)  # points before the analysed history
        for rec in group.itertuples(index=False):
            idx = int(rec.change_index)
            suspected = rec.confirmation == SUSPECTED
            is_change = rec.kind in CHANGE_KINDS
            recovered = bool(is_change and not suspected and idx == latest and _recovered(
                values[positions], idx, outliers, rec.mean_before, rec.mean_after, min_run))
            rows.append({
                "series_id": sid, "kind": rec.kind, "change_index": skipped + idx, "run_id": int(rec.run_id),
                "result_id": int(result_ids[positions[idx]]), "run_key": run_keys[positions[idx]],
                "run_time": rec.run_time,
                "mean_before": rec.mean_before, "stdev_before": rec.stdev_before, "mean_after": rec.mean_after,
                "stdev_after": rec.stdev_after, "pct_change": rec.pct_change, "pvalue": rec.pvalue,
                "direction": "up" if rec.mean_after > rec.mean_before else "down",
                "is_latest_change": bool(is_change and (suspected or idx == latest)), "recovered": recovered,
                "series_points": total, "mode": mode, "confirmation": rec.confirmation,
                "noise": rec.noise, "noise_floor": rec.noise_floor,
            })
    flags = pd.DataFrame(rows)
    flags["flag_id"] = [flag_id(s, r, k) for s, r, k in zip(flags["series_id"], flags["run_key"], flags["kind"])]
    earlier = previous_detected_at or {}
    flags["detected_at"] = [earlier.get(f, now) for f in flags["flag_id"]]
    keys = series.reindex(columns=["series_id", *SERIES_COLUMNS]).drop_duplicates("series_id")
    flags = flags.merge(keys, on="series_id", how="left", validate="many_to_one")
    return flags[list(FLAG_TABLE_COLUMNS)]


def higher_is_better(metric: str) -> bool | None:
    """Whether a rise of ``metric`` is good, from its vocabulary entry; None for a column not analysed here."""
    info = METRIC_INFO.get(metric)
    return None if info is None else info.higher_is_better


def metric_direction(metric: str) -> str | None:
    """``higher_is_better`` or ``lower_is_better`` (the LLM vocabulary's words), None for an unknown column."""
    better = higher_is_better(metric)
    return None if better is None else "higher_is_better" if better else "lower_is_better"


def _judged_by_vocabulary(found: pd.DataFrame) -> pd.Series:
    """The kinds of ``found`` with every change judged by its metric's vocabulary direction.

    ``detect_flags`` reads a direction from the metric's name, which is all a raw file's header gives
    (``regressions detect``). A warehouse column has a vocabulary entry, the one place its direction is
    written (``vocabulary.METRICS``, ``llm.metrics.LLM_METRICS``), so that entry decides here: TTFT up and
    tokens/s down are regressions because the vocabulary says so, not because the names happen to match a
    pattern. Outliers have no direction to judge; a column without an entry keeps the name's verdict.
    """
    kinds = found["kind"].copy()
    for position, (kind, metric, pct) in enumerate(zip(found["kind"], found["metric"], found["pct_change"])):
        better = higher_is_better(str(metric))
        if kind in CHANGE_KINDS and better is not None:
            kinds.iloc[position] = kind_for(pct / 100.0, better)
    return kinds


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
