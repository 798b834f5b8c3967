"""From a long frame of benchmark points to regression flags: the pure core of ``regression_flags``.

The asset (or the CLI) selects the points; this module only analyses them, so it can be tested
and benchmarked without a warehouse. One call handles many series: points are grouped once with
NumPy (no per-group pandas work) and every series goes through the same detector, optionally on
several processes.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from benchmark_pipeline.lib.changepoint.direction import OUTLIER, change_kind
from benchmark_pipeline.lib.changepoint.robust import Detection, default_max_pvalue, detect
from benchmark_pipeline.lib.changepoint.otava import DEFAULT_MIN_MAGNITUDE, DEFAULT_WINDOW_LEN

POINT_COLUMNS = ("series_key", "metric", "run_id", "run_time", "value")
FLAG_COLUMNS = (
    "series_key", "metric", "kind", "change_index", "run_id", "run_time",
    "mean_before", "stdev_before", "mean_after", "stdev_after", "pct_change", "pvalue", "mode",
    "confirmation", "noise", "noise_floor",
)
CONFIRMED, SUSPECTED = "confirmed", "suspected"


def _segments(points: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Points sorted by (series, metric, run_time) and the row where each series starts."""
    missing = [c for c in POINT_COLUMNS if c not in points.columns]
    if missing:
        raise ValueError(f"points lack column(s): {', '.join(missing)}")
    if points.empty:
        return points.reset_index(drop=True), np.array([], dtype=int)
    codes, _ = pd.factorize(pd.MultiIndex.from_frame(points[["series_key", "metric"]]))
    # The column's own array, not ``to_numpy()``: that turns zone-aware times into one Timestamp object per
    # point (measured: 16 s of a 57 s detection over 2M points).
    keyed = pd.DataFrame({"code": codes, "run_time": points["run_time"].array})
    order = keyed.sort_values(["code", "run_time"], kind="stable").index.to_numpy()
    ordered = points.iloc[order].reset_index(drop=True)
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]) if len(points) else np.array([], int)
    return ordered, starts


def _analyse(chunk: list[tuple[np.ndarray, Any]], mode: str, params: dict[str, Any]) -> list[Detection]:
    out = []
    for values, threshold in chunk:
        options = params if threshold is None else {**params, "threshold": threshold}
        out.append(detect(values, mode=mode, **options))
    return out


def _chunks(items: Sequence[Any], count: int) -> Iterator[list[Any]]:
    size = max(1, -(-len(items) // count))
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def detect_flags(
    points: pd.DataFrame,
    mode: str = "robust",
    window_len: int = DEFAULT_WINDOW_LEN,
    max_pvalue: float | None = None,
    min_magnitude: float = DEFAULT_MIN_MAGNITUDE,
    workers: int = 1,
    thresholds: dict[Any, Any] | None = None,
    **robust_options: Any,
) -> pd.DataFrame:
    """Change points and outliers of every (series_key, metric) series, one row per flag.

    ``points`` has columns series_key, metric, run_id, run_time, value (NaN values are skipped).
    Rows in the result:

    - ``kind`` regression / improvement: ``change_index`` is the position (0-based, over that
      series' non-NaN points in run_time order) of the first run of the new regime; ``run_id`` and
      ``run_time`` are that run's; before/after are the regimes on either side (outliers left out
      in robust mode); ``pvalue`` is the t-test between them; ``pct_change`` is after vs before.
    - ``kind`` outlier (robust mode): the run GESD left out; ``mean_before``/``stdev_before`` are
      the regime it sits in, ``mean_after`` is its own value, ``stdev_after`` and ``pvalue`` are NaN.

    - In robust mode a last run beyond the series' noise floor becomes a regression or improvement
      with ``confirmation`` "suspected" (the next run decides); every other flag is "confirmed"
      once a run after it exists (a change point on the very last run stays "suspected").
      ``noise`` is the series' run-to-run spread, ``noise_floor`` the size an outlier had to exceed.

    ``thresholds`` maps a series_key to a ``noise.Threshold`` that replaces robust mode's default
    floors for that series. ``workers > 1`` spreads series over that many processes (worth it
    from a few thousand series).
    """
    if max_pvalue is None:
        max_pvalue = default_max_pvalue(mode)
    params = {"window_len": window_len, "max_pvalue": max_pvalue, "min_magnitude": min_magnitude, **robust_options}
    clean = points[points["value"].notna()] if "value" in points.columns else points
    ordered, starts = _segments(clean)
    values = ordered["value"].to_numpy(dtype=np.float64)
    bounds = np.r_[starts, len(ordered)]
    keys = ordered["series_key"].to_numpy()
    chosen = thresholds or {}
    if chosen and mode != "robust":
        raise ValueError("thresholds only apply to robust mode (otava mode stays exactly Otava)")
    series = [(values[a:b], chosen.get(keys[a])) for a, b in zip(bounds[:-1], bounds[1:])]

    if workers > 1 and len(series) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            parts = pool.map(_analyse, _chunks(series, workers * 4), [mode] * (workers * 4), [params] * (workers * 4))
            detections = [d for part in parts for d in part]
    else:
        detections = _analyse(series, mode, params)

    metrics = ordered["metric"].to_numpy()
    run_ids = ordered["run_id"].to_numpy()
    run_times = ordered["run_time"].array  # indexed per flag only: no Timestamp object per point
    rows: list[tuple] = []
    for start, stop, found in zip(bounds[:-1], bounds[1:], detections):
        if not found.change_points and not found.outliers and found.suspect is None:
            continue
        key, metric = keys[start], metrics[start]
        extra = (found.noise, found.outlier_floor)
        left_out = set(found.outliers)
        last_usable = next((i for i in range(stop - start - 1, -1, -1) if i not in left_out), -1)
        for cp in found.change_points:
            at = start + cp.index
            st = cp.stats
            confirmation = CONFIRMED if cp.index < last_usable else SUSPECTED
            rows.append((
                key, metric, change_kind(str(metric), st.rel_change), cp.index, run_ids[at], run_times[at],
                st.mean_before, st.std_before, st.mean_after, st.std_after, st.pct_change, st.pvalue, mode,
                confirmation, *extra,
            ))
        rows.extend(_outlier_rows(found, values[start:stop], start, key, metric, run_ids, run_times, mode))
        if found.suspect is not None:
            rows.append(_suspect_row(found, values[start:stop], start, key, metric, run_ids, run_times, mode))
    frame = pd.DataFrame.from_records(rows, columns=list(FLAG_COLUMNS))
    if not rows:
        frame = frame.astype({"change_index": "int64", "pvalue": "float64", "pct_change": "float64"})
    return frame.sort_values(["series_key", "metric", "change_index", "kind"], kind="stable").reset_index(drop=True)


def _outlier_rows(found: Detection, values: np.ndarray, start: int, key, metric, run_ids, run_times, mode: str):
    if not found.outliers:
        return []
    keep = np.ones(len(values), dtype=bool)
    keep[found.outliers] = False
    bounds = [0, *found.change_indexes, len(values)]
    rows = []
    for idx in found.outliers:
        segment = np.searchsorted(bounds, idx, side="right") - 1
        lo, hi = bounds[segment], bounds[segment + 1]
        regime = values[lo:hi][keep[lo:hi]]
        mean = float(regime.mean()) if len(regime) else float("nan")
        std = float(regime.std()) if len(regime) else float("nan")
        value = float(values[idx])
        pct = (value / mean - 1.0) * 100.0 if mean else 0.0
        rows.append((key, metric, OUTLIER, idx, run_ids[start + idx], run_times[start + idx],
                     mean, std, value, float("nan"), pct, float("nan"), mode, CONFIRMED,
                     found.noise, found.outlier_floor))
    return rows


def _suspect_row(found: Detection, values: np.ndarray, start: int, key, metric, run_ids, run_times, mode: str):
    """The last run, beyond the noise floor of the regime before it: a change or an outlier, not known yet."""
    idx = int(found.suspect)
    begin = found.change_indexes[-1] if found.change_points else 0
    skip = set(found.outliers) | {idx}
    regime = np.array([values[i] for i in range(begin, idx) if i not in skip])
    mean = float(regime.mean()) if len(regime) else float("nan")
    std = float(regime.std()) if len(regime) else float("nan")
    value = float(values[idx])
    rel = value / mean - 1.0 if mean else 0.0
    return (key, metric, change_kind(str(metric), rel), idx, run_ids[start + idx], run_times[start + idx],
            mean, std, value, float("nan"), rel * 100.0, float("nan"), mode, SUSPECTED,
            found.noise, found.outlier_floor)
