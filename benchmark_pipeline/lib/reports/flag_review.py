"""The flag review: one small chart per flagged series, so a person can judge a flag in one look.

A panel shows the series' runs around its flag, the noise band around the level before the change,
the levels before and after, and the size of the change in percent and in multiples of the series'
noise. The band is detection's own rule from ``lib/changepoint/noise.py``, not a second one: the
level before ± the floor a difference had to exceed to count. That floor is ``floor_for`` with
``DEFAULT_CHANGE_NOISE`` for a confirmed change point (the shift robust mode asks of two regimes)
and with ``DEFAULT_OUTLIER_NOISE`` for an outlier or a suspected last run (robust mode judges both
against the outlier floor), the user's threshold for the series or its metric replacing either, as
in detection. The noise is what detection stored with the flag; a flag without one (Otava mode, a
table from before the noise columns) gets ``noise_scale`` of the points drawn, and says so.

One panel per series: a series with several flags is drawn around the one that matters most (its
open regression, else its latest change, else its latest outlier), its other flags marked on the line.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from benchmark_pipeline.lib.analytics import queries as q
from benchmark_pipeline.lib.analytics.table import is_missing
from benchmark_pipeline.lib.changepoint.noise import (
    DEFAULT_CHANGE_NOISE,
    DEFAULT_OUTLIER_NOISE,
    Threshold,
    floor_for,
    noise_scale,
)
from benchmark_pipeline.lib.vocabulary import METRICS as METRIC_INFO

from .tabular import json_value, short_number, signed_percent

MAX_PANELS = 12
POINTS_BEFORE = 40   # runs drawn before the flagged one ...
POINTS_AFTER = 40    # ... and after it
CHANGE_KINDS = ("regression", "improvement")
# What identifies a series in regression_flags when a table has no series_id column.
_IDENTITY = ("model_name", "hardware_id", "batch_size", "sequence_length", "precision", "test_case", "metric")


@dataclass
class FlagPanel:
    """One flagged series: its primary flag, its points around it and the band detection judged it by."""

    series: str
    metric: str
    flag: dict[str, Any]
    kind: str
    confirmation: str
    status: str | None
    is_open: bool
    level_before: float | None
    level_after: float | None
    pct_change: float | None
    noise: float | None
    noise_source: str                    # "detection" or "points shown"
    floor: float | None
    rule: str
    points: pd.DataFrame                 # run_id, result_id, run_time, value, offset (0 = the flagged run)
    marks: pd.DataFrame = field(default_factory=pd.DataFrame)  # the series' other flags on its points
    flags_in_series: int = 1
    series_points: int | None = None     # points of the series the report filters keep
    before_start: Any = None             # where the level before starts (the previous change, else the first point)
    after_end: Any = None                # where the level after ends (the next change, else the last point)

    @property
    def noise_multiple(self) -> float | None:
        """The change (after - before) in multiples of the series' noise; None without a noise."""
        if self.level_before is None or self.level_after is None or not self.noise:
            return None
        return (self.level_after - self.level_before) / self.noise

    @property
    def band(self) -> tuple[float, float] | None:
        if self.level_before is None or self.floor is None:
            return None
        return self.level_before - self.floor, self.level_before + self.floor

    @property
    def change_time(self) -> Any:
        return self.flag.get("run_time")

    @property
    def flagged_value(self) -> float | None:
        hit = self.points[self.points["offset"] == 0] if not self.points.empty else self.points
        return _number(hit["value"].iloc[0]) if len(hit) else None

    @property
    def unit(self) -> str:
        info = METRIC_INFO.get(self.metric)
        return info.unit if info is not None else ""

    @property
    def metric_label(self) -> str:
        info = METRIC_INFO.get(self.metric)
        return info.label if info is not None else self.metric

    @property
    def label(self) -> str:
        """'regression · confirmed · open', 'outlier', 'improvement · suspected', ..."""
        parts = [self.kind]
        if self.kind in CHANGE_KINDS:
            parts.append(self.confirmation)
        if self.status and self.kind == "regression":
            parts.append(self.status)
        return " · ".join(parts)


@dataclass
class Review:
    panels: list[FlagPanel]
    total_series: int            # flagged series under the report filters
    hidden_open: int             # open-regression series beyond the cap


def build_review(conn: duckdb.DuckDBPyConnection, flags: pd.DataFrame, filters: q.Filters,
                 limit: int = MAX_PANELS) -> Review:
    """Panels for the flagged series, open regressions first (confirmed, then suspected), then the others.

    Within each group the headline metrics come first (throughput, then latencies, ...), then the
    larger change. Points are read with the report's filters but never with simulated rows, which
    detection leaves out.
    """
    flags = _normalised(flags)
    if flags.empty:
        return Review([], 0, 0)
    primary = _primary_flags(flags)
    chosen = primary.head(limit)
    hidden_open = int(primary.iloc[limit:]["open"].sum()) if len(primary) > limit else 0
    anchors = chosen.assign(panel=range(len(chosen)))
    points = q.flagged_points(conn, anchors, replace(filters, include_simulated=False), POINTS_BEFORE, POINTS_AFTER)
    thresholds = _thresholds(conn, chosen)
    panels = []
    for number, (_, flag) in enumerate(chosen.iterrows()):
        own = points[points["panel"] == number].reset_index(drop=True)
        siblings = flags[flags["_series"] == flag["_series"]]
        panels.append(_panel(flag, own, siblings, thresholds.get(flag["_series"])))
    return Review(panels, len(primary), hidden_open)


def _normalised(flags: pd.DataFrame | None) -> pd.DataFrame:
    """The flags with the columns the review reads, whatever the age of the table they came from."""
    if flags is None or flags.empty or "metric" not in flags or "run_time" not in flags:
        return pd.DataFrame()
    out = flags.copy()
    defaults = {"open": False, "confirmation": "confirmed", "status": None, "kind": "regression", "noise": np.nan,
                "noise_floor": np.nan, "mean_before": np.nan, "mean_after": np.nan, "pct_change": np.nan,
                "flag_id": None, "run_id": None, "result_id": None, "sequence_length": None, "precision": None,
                "test_case": None, "hardware": None, "is_latest_change": False}
    for column, value in defaults.items():
        if column not in out:
            out[column] = value
    out = out[out["metric"].isin(METRIC_INFO)].copy()  # a performance_results column, which the points query reads
    out["run_time"] = pd.to_datetime(out["run_time"], utc=True)
    out["open"] = out["open"].fillna(False).astype(bool)
    out["confirmation"] = out["confirmation"].fillna("confirmed")
    if "series_id" in out:
        out["_series"] = out["series_id"].astype(str)
    else:
        out["_series"] = ["|".join("" if is_missing(v) else str(v) for v in row)
                          for row in out[[c for c in _IDENTITY if c in out]].itertuples(index=False)]
    return out.sort_values("run_time", ascending=False, kind="stable").reset_index(drop=True)


def _primary_flags(flags: pd.DataFrame) -> pd.DataFrame:
    """One flag per series (open regression, else latest change, else latest outlier), in review order."""
    ranked = flags.assign(_which=np.where(flags["open"], 0, np.where(flags["kind"].isin(CHANGE_KINDS), 1, 2)))
    ranked = ranked.sort_values(["_which", "run_time"], ascending=[True, False], kind="stable")
    primary = ranked.drop_duplicates("_series").copy()
    order = {m: i for i, m in enumerate(("throughput_items_per_second", "latency_p50_ms", "average_latency_ms",
                                         "latency_p90_ms", "latency_p99_ms", "items_per_joule", "memory_peak_mb",
                                         "power_watts"))}
    primary["_group"] = np.where(primary["open"], np.where(primary["confirmation"] == "suspected", 1, 0), 2)
    primary["_metric"] = primary["metric"].map(order).fillna(len(order))
    primary["_size"] = -primary["pct_change"].abs().fillna(0.0)
    return primary.sort_values(["_group", "_metric", "_size", "run_time"], ascending=[True, True, True, False],
                               kind="stable").reset_index(drop=True)


def _thresholds(conn: duckdb.DuckDBPyConnection, chosen: pd.DataFrame) -> dict[str, Threshold]:
    """The user's threshold in force for each chosen series (its own, else its metric's), as detection reads it."""
    if "series_id" not in chosen or not q.table_exists(conn, "regression_thresholds"):
        return {}
    from benchmark_pipeline.lib.warehouse.regressions import series_thresholds

    return series_thresholds(conn, chosen[["series_id", "metric"]])


def _panel(flag: pd.Series, points: pd.DataFrame, siblings: pd.DataFrame, threshold: Threshold | None) -> FlagPanel:
    kind = str(flag["kind"])
    confirmation = str(flag["confirmation"])
    before, after = _number(flag["mean_before"]), _number(flag["mean_after"])
    noise, source = _number(flag["noise"]), "detection"
    if noise is None and len(points) >= 3:
        noise, source = noise_scale(points["value"].to_numpy(dtype=np.float64)), "points shown"
    # A suspected last run and an outlier were judged against the outlier floor; a change point against the shift.
    by_outlier_floor = kind not in CHANGE_KINDS or confirmation == "suspected"
    floor: float | None
    if by_outlier_floor and _number(flag["noise_floor"]) is not None and source == "detection":
        floor = _number(flag["noise_floor"])  # stored by detection: exactly what the run was judged by
    elif noise is not None and before is not None:
        level = _number(points["series_median"].iloc[0]) if len(points) else None
        floor = floor_for(threshold, DEFAULT_OUTLIER_NOISE if by_outlier_floor else DEFAULT_CHANGE_NOISE,
                          before if level is None else level, noise)
    else:
        floor = None
    default = DEFAULT_OUTLIER_NOISE if by_outlier_floor else DEFAULT_CHANGE_NOISE
    rule = threshold.describe() if threshold is not None else f"{default:g}× noise"
    changes = siblings[siblings["kind"].isin(CHANGE_KINDS) & (siblings["confirmation"] != "suspected")]
    earlier = changes.loc[changes["run_time"] < flag["run_time"], "run_time"]
    later = changes.loc[changes["run_time"] > flag["run_time"], "run_time"]
    times = points["run_time"] if len(points) else pd.Series(dtype="datetime64[ns, UTC]")
    before_start = max([t for t in (earlier.max() if len(earlier) else None, times.min() if len(times) else None)
                        if t is not None and not pd.isna(t)], default=None)
    after_end = None
    if len(times):
        after_end = times.max() if not len(later) else times[times < later.min()].max()
    others = siblings[siblings["flag_id"] != flag["flag_id"]] if flag["flag_id"] is not None else siblings.iloc[0:0]
    marks = q.mark_flags(points, others, str(flag["metric"])) if len(points) and len(others) else pd.DataFrame()
    series = str(points["series"].iloc[0]) if len(points) else _series_label(flag)
    return FlagPanel(
        series=series, metric=str(flag["metric"]), flag=flag.to_dict(), kind=kind, confirmation=confirmation,
        status=None if is_missing(flag["status"]) else str(flag["status"]), is_open=bool(flag["open"]),
        level_before=before, level_after=after, pct_change=_number(flag["pct_change"]),
        noise=noise, noise_source=source, floor=floor, rule=rule,
        points=points[[c for c in ("run_id", "result_id", "run_time", "value", "offset") if c in points]],
        marks=marks, flags_in_series=len(siblings),
        series_points=int(points["series_points"].iloc[0]) if len(points) else None,
        before_start=before_start, after_end=after_end,
    )


def table(review: Review) -> pd.DataFrame:
    """One row per drawn panel, every number at full precision (the JSON table)."""
    rows = []
    for p in review.panels:
        band = p.band
        rows.append({
            "series": p.series, "metric": p.metric, "kind": p.kind, "confirmation": p.confirmation,
            "status": p.status, "open": p.is_open, "flag_id": p.flag.get("flag_id"), "run_id": p.flag.get("run_id"),
            "run_time": p.change_time, "level_before": p.level_before, "level_after": p.level_after,
            "pct_change": p.pct_change, "noise": p.noise, "noise_multiple": p.noise_multiple,
            "band_low": band[0] if band else None, "band_high": band[1] if band else None,
            "band_rule": p.rule, "noise_source": p.noise_source, "points_shown": len(p.points),
            "series_points": p.series_points, "flags_in_series": p.flags_in_series,
        })
    return pd.DataFrame(rows, columns=["series", "metric", "kind", "confirmation", "status", "open", "flag_id",
                                       "run_id", "run_time", "level_before", "level_after", "pct_change", "noise",
                                       "noise_multiple", "band_low", "band_high", "band_rule", "noise_source",
                                       "points_shown", "series_points", "flags_in_series"])


def shown(review: Review) -> pd.DataFrame:
    """The compact line per flag that markdown and HTML print."""
    rows = []
    for p in review.panels:
        multiple = p.noise_multiple
        change = signed_percent(p.pct_change)
        if multiple is not None:
            change += f" · {short_number(abs(multiple))}× noise"
        band = f"± {short_number(p.floor)} ({p.rule})" if p.floor is not None else ""
        rows.append({"series": p.series, "metric": p.metric, "flag": p.label, "flagged run": p.change_time,
                     "before": p.level_before, "after": p.level_after, "change": change, "band": band,
                     "flag id": p.flag.get("flag_id")})
    return pd.DataFrame(rows, columns=["series", "metric", "flag", "flagged run", "before", "after", "change", "band",
                                       "flag id"])


def panels_json(review: Review) -> list[dict[str, Any]]:
    """The ``flag_review`` array of the JSON report: per series the flag, the band and the points drawn."""
    out = []
    for p in review.panels:
        band = p.band
        out.append({
            "series": p.series, "metric": p.metric, "unit": p.unit,
            "flag_id": json_value(p.flag.get("flag_id")), "kind": p.kind, "confirmation": p.confirmation,
            "status": p.status, "open": p.is_open, "run_id": json_value(p.flag.get("run_id")),
            "run_time": json_value(p.change_time),
            "level_before": p.level_before, "level_after": p.level_after, "pct_change": p.pct_change,
            "noise": p.noise, "noise_source": p.noise_source, "noise_multiple": _number(p.noise_multiple),
            "band": None if band is None else {"low": band[0], "high": band[1], "floor": p.floor, "rule": p.rule},
            "flags_in_series": p.flags_in_series,
            "points": {"run_time": [json_value(t) for t in p.points["run_time"]],
                       "value": [json_value(v) for v in p.points["value"]],
                       "run_id": [json_value(r) for r in p.points["run_id"]],
                       "offset": [json_value(o) for o in p.points["offset"]]},
        })
    return out


def _series_label(flag: pd.Series) -> str:
    parts = [str(flag.get("model_name")), str(flag.get("hardware") or flag.get("device_name") or "")]
    if not is_missing(flag.get("batch_size")):
        parts.append(f"b{int(flag['batch_size'])}")
    if isinstance(flag.get("precision"), str):
        parts.append(flag["precision"])
    if not is_missing(flag.get("sequence_length")):
        parts.append(f"s{int(flag['sequence_length'])}")
    return " · ".join(parts)


def _number(value: Any) -> float | None:
    """A finite float, else None."""
    if is_missing(value):
        return None
    number = float(value)
    return number if np.isfinite(number) else None
