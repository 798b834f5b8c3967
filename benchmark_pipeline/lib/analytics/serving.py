"""What the LLM-serving results answer: cost per token, energy per token, SLA fits, Pareto fronts, rankings.

Plain functions over a frame of *load points*: one row per serving configuration (model version x hardware
configuration x framework) at one load (tool, workload, lengths, concurrency or rate, batch size), its latest
result in the window. The latest, not a median: a configuration is judged by how it runs now, and a series
that regressed must not look fine because it used to be faster (regression flags show the history).

The criteria a use case's SLA and weights speak of are written once, in ``CRITERIA``; the use cases
themselves (workload, SLA, weights, time to live) are rows of ``use_case_taxonomy``, seeded by migration 9.
Three criteria are derived here rather than stored, because each mixes a fact with a dimension:

- ``user_tokens_per_s``: what one user sees while tokens stream: the tool's mean per-user output speed where
  it reports one, else 1000 / mean TPOT. The latter is never above the true mean speed (the mean of 1/x is at
  least 1/mean x), so an SLA met on it is met.
- ``output_tokens_per_s_per_gpu``: output throughput / GPU count: what a GPU earns, comparable across 1x and
  8x configurations (unknown for hosted APIs, which have no GPU count).
- ``usd_per_million_output_tokens``: cost per hour / (output tokens/s x 3600) x 1e6, at the load measured:
  the configuration is paid by the hour and produces that many tokens in it.
- ``output_tokens_per_joule``: output tokens of the run / its energy, else output tokens/s / mean power.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from benchmark_pipeline.lib.llm.metrics import LLM_METRICS, metric_columns

from .pareto import MAXIMIZE, pareto_front
from .topsis import BENEFIT, COST, topsis


@dataclass(frozen=True)
class Criterion:
    column: str
    unit: str
    higher_is_better: bool
    label: str


def _stored(column: str, label: str) -> Criterion:
    """A stored metric column as a criterion: its unit and direction are the LLM vocabulary's."""
    metric = LLM_METRICS[metric_columns()[column][0]]
    return Criterion(column, metric.unit, metric.higher_is_better, label)


# What SLAs and rankings are written over: stored metric columns and the derived ones above.
CRITERIA: dict[str, Criterion] = {c.column: c for c in (
    _stored("ttft_ms_p50", "TTFT p50"),
    _stored("ttft_ms_p90", "TTFT p90"),
    _stored("ttft_ms_p99", "TTFT p99"),
    _stored("tpot_ms_p50", "TPOT p50"),
    _stored("tpot_ms_p90", "TPOT p90"),
    _stored("tpot_ms_p99", "TPOT p99"),
    _stored("itl_ms_p90", "ITL p90"),
    _stored("e2el_ms_p90", "end-to-end latency p90"),
    _stored("e2el_ms_p99", "end-to-end latency p99"),
    Criterion("user_tokens_per_s", "tokens/s", True, "output tokens/s per user"),
    _stored("output_tokens_per_s", "output tokens/s"),
    Criterion("output_tokens_per_s_per_gpu", "tokens/s", True, "output tokens/s per GPU"),
    _stored("requests_per_s", "requests/s"),
    Criterion("usd_per_million_output_tokens", "USD", False, "$ per million output tokens"),
    Criterion("output_tokens_per_joule", "tokens/J", True, "output tokens per joule"),
)}

# What makes two results the same load point of the same configuration (NULLs equal: see load_points_sql).
POINT_KEYS = ("model_version_id", "hardware_config_id", "framework_id", "tool", "workload_type", "dataset",
              "input_tokens", "output_tokens", "concurrency", "concurrency_unbounded", "request_rate",
              "request_rate_unbounded", "batch_size")
CONFIG_KEYS = ("model_version_id", "hardware_config_id", "framework_id")
# Stored columns the answers read besides the keys.
_FACT_COLUMNS = ("ttft_ms_mean", "ttft_ms_p50", "ttft_ms_p90", "ttft_ms_p99", "tpot_ms_mean", "tpot_ms_p50",
                 "tpot_ms_p90", "tpot_ms_p99", "itl_ms_p90", "e2el_ms_p90", "e2el_ms_p99",
                 "output_tokens_per_s_per_user_mean", "output_tokens_per_s", "total_tokens_per_s", "requests_per_s",
                 "energy_joules", "power_watts", "duration_s")
# Lengths of a request as a workload is matched: what the run asked for, else what it measured.
LENGTH_TOLERANCE = 0.10


class SlaError(ValueError):
    """An SLA the answers cannot read; the message names the term."""


@dataclass(frozen=True)
class Condition:
    column: str
    op: str  # "<=" or ">="
    limit: float

    def __str__(self) -> str:
        return f"{self.column}{self.op}{self.limit:g}"

    def holds(self, values: pd.Series) -> pd.Series:
        return values <= self.limit if self.op == "<=" else values >= self.limit


_TERM = re.compile(r"^\s*([a-z0-9_]+)\s*(<=|>=|<|>)\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*$", re.IGNORECASE)


def parse_sla(text: str) -> list[Condition]:
    """``"ttft_ms_p90<=300, user_tokens_per_s>=20"`` -> conditions. ``<`` and ``>`` read as ``<=`` and ``>=``."""
    conditions = []
    for term in (t for t in (text or "").split(",") if t.strip()):
        match = _TERM.match(term)
        if not match:
            raise SlaError(f"SLA term {term.strip()!r} is not COLUMN<=LIMIT or COLUMN>=LIMIT")
        column, op, limit = match.group(1).lower(), match.group(2), float(match.group(3))
        if column not in CRITERIA:
            raise SlaError(f"SLA term {term.strip()!r}: {column!r} is not one of {', '.join(CRITERIA)}")
        conditions.append(Condition(column, "<=" if op.startswith("<") else ">=", limit))
    return conditions


def sla_from_json(sla: dict[str, dict[str, float]]) -> list[Condition]:
    """A use case's SLA as the taxonomy stores it: ``{column: {"max"|"min": limit}}``."""
    out = []
    for column, bounds in sla.items():
        if column not in CRITERIA:
            raise SlaError(f"use case SLA names {column!r}, which is not one of {', '.join(CRITERIA)}")
        for bound, limit in bounds.items():
            out.append(Condition(column, "<=" if bound == "max" else ">=", float(limit)))
    return out


# -- derived columns ---------------------------------------------------------------------------------


def usd_per_million_tokens(cost_per_hour_usd, tokens_per_s):
    """Dollars per million tokens of a configuration paid by the hour producing ``tokens_per_s``."""
    cost = pd.to_numeric(pd.Series(cost_per_hour_usd), errors="coerce").astype(float)
    rate = pd.to_numeric(pd.Series(tokens_per_s), errors="coerce").astype(float)
    return (cost / (rate * 3600.0) * 1e6).where(rate > 0)


def with_derived(points: pd.DataFrame) -> pd.DataFrame:
    """The load points with the derived criteria (and where user speed came from) added."""
    out = points.copy()
    tool_speed = out["output_tokens_per_s_per_user_mean"].astype(float)
    tpot = out["tpot_ms_mean"].astype(float)
    out["user_tokens_per_s"] = tool_speed.where(tool_speed.notna(), (1000.0 / tpot).where(tpot > 0))
    out["user_tokens_per_s_from"] = np.where(tool_speed.notna(), "tool", np.where(tpot > 0, "1000/tpot_ms_mean", None))
    gpus = out["gpu_count"].astype(float)
    out["output_tokens_per_s_per_gpu"] = (out["output_tokens_per_s"].astype(float) / gpus).where(gpus > 0)
    out["usd_per_million_output_tokens"] = usd_per_million_tokens(out["cost_per_hour_usd"],
                                                                  out["output_tokens_per_s"]).to_numpy()
    tokens = out["output_tokens_per_s"].astype(float) * out["duration_s"].astype(float)
    energy = out["energy_joules"].astype(float)
    power = out["power_watts"].astype(float)
    by_energy = (tokens / energy).where(energy > 0)
    by_power = (out["output_tokens_per_s"].astype(float) / power).where(power > 0)
    out["output_tokens_per_joule"] = by_energy.where(by_energy.notna(), by_power)
    return out


# -- filters -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """Which load points a question is about; every field optional."""

    model: str | None = None
    workload_type: str | None = None  # online / offline
    dataset: str | None = None
    input_tokens: float | None = None  # matched within LENGTH_TOLERANCE
    output_tokens: float | None = None
    input_range: tuple[float, float] | None = None  # a use case's [min, max]
    output_range: tuple[float, float] | None = None

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def select(points: pd.DataFrame, workload: Workload) -> pd.DataFrame:
    """The load points ``workload`` names."""
    keep = pd.Series(True, index=points.index)
    if workload.model:
        keep &= points["model_name"].str.lower() == workload.model.lower()
    for column in ("workload_type", "dataset"):
        wanted = getattr(workload, column)
        if wanted:
            keep &= points[column].fillna("").str.lower() == wanted.lower()
    for column, wanted, bounds in (("input_tokens", workload.input_tokens, workload.input_range),
                                   ("output_tokens", workload.output_tokens, workload.output_range)):
        values = points[column].astype(float)
        if wanted is not None:
            keep &= (values - wanted).abs() <= LENGTH_TOLERANCE * wanted
        if bounds is not None:
            keep &= values.between(bounds[0], bounds[1])
    return points[keep]


# -- answers -----------------------------------------------------------------------------------------

_SHOWN = ("model_name", "quantization", "bits", "gpu", "gpu_count", "provider", "instance_type", "framework",
          "framework_version", "tool", "workload_type", "dataset", "input_tokens", "output_tokens", "concurrency",
          "request_rate", "batch_size", "run_time", "result_id")


def point_records(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN -> None, times as ISO text)."""
    wanted = [c for c in columns if c in frame.columns]
    out = []
    for row in frame[wanted].to_dict("records"):
        clean = {}
        for key, value in row.items():
            if isinstance(value, float) and math.isnan(value):
                value = None
            elif value is pd.NaT or value is None:
                value = None
            elif isinstance(value, pd.Timestamp):
                value = value.isoformat()
            elif isinstance(value, np.generic):
                value = value.item()
            clean[key] = value
        out.append(clean)
    return out


def sla_answer(points: pd.DataFrame, conditions: list[Condition], limit: int = 10) -> dict[str, Any]:
    """The load points that meet every condition, cheapest per million output tokens first.

    A point lacking a value a condition needs cannot be judged: it is left out and counted per column, so
    the answer says on how much evidence it rests. Points that meet the SLA but have no price are listed
    after the priced ones and counted; they are never "cheapest".
    """
    judged = points.copy()
    missing: dict[str, int] = {}
    lacking = pd.Series(False, index=judged.index)
    for condition in conditions:
        absent = judged[condition.column].isna()
        if absent.any():
            missing[str(condition.column)] = int(absent.sum())
        lacking |= absent
    judged = judged[~lacking]
    meets = pd.Series(True, index=judged.index)
    for condition in conditions:
        meets &= condition.holds(judged[condition.column].astype(float))
    meeting = judged[meets].sort_values(["usd_per_million_output_tokens", "output_tokens_per_s_per_gpu"],
                                        ascending=[True, False], na_position="last")
    priced = meeting[meeting["usd_per_million_output_tokens"].notna()]
    columns = _SHOWN + tuple(CRITERIA) + ("cost_per_hour_usd", "user_tokens_per_s_from")
    return {
        "sla": [str(c) for c in conditions],
        "considered": int(len(points)),
        "left_out": int(lacking.sum()),
        "left_out_missing": missing,
        "judged": int(len(judged)),
        "meeting": int(len(meeting)),
        "meeting_unpriced": int(len(meeting) - len(priced)),
        "cheapest": point_records(priced.head(1), columns)[0] if len(priced) else None,
        "points": point_records(meeting.head(limit), columns),
    }


def cost_table(points: pd.DataFrame) -> pd.DataFrame:
    """Per load point: price, throughput, $ per million output tokens and tokens per joule, cheapest first."""
    columns = [c for c in _SHOWN + ("cost_per_hour_usd", "output_tokens_per_s", "output_tokens_per_s_per_gpu",
                                    "usd_per_million_output_tokens", "output_tokens_per_joule", "energy_joules",
                                    "power_watts") if c in points.columns]
    return points[columns].sort_values(["usd_per_million_output_tokens", "output_tokens_per_s"],
                                       ascending=[True, False], na_position="last")


def pareto_points(points: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Points on the front of output tokens/s per GPU against tokens/s per user (both higher is better).

    The classic serving trade-off: more concurrency earns a GPU more tokens but gives each user fewer.
    Points lacking either value are left out and counted. Returns (points with ``on_front``, left out).
    """
    axes = ["user_tokens_per_s", "output_tokens_per_s_per_gpu"]
    complete = points.dropna(subset=axes)
    out = complete.copy()
    out["on_front"] = pareto_front(complete[axes].to_numpy(dtype=float), [MAXIMIZE, MAXIMIZE]) if len(complete) \
        else pd.Series(dtype=bool)
    return out.sort_values("user_tokens_per_s"), int(len(points) - len(complete))


# -- use cases: candidates, TOPSIS, suitability ------------------------------------------------------


@dataclass(frozen=True)
class UseCase:
    name: str
    input_range: tuple[float, float]
    output_range: tuple[float, float]
    sla: list[Condition]
    weights: dict[str, float]
    ttl: timedelta

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "UseCase":
        characteristics = json_value(row["characteristics"])
        weights = {k: float(v) for k, v in json_value(row["default_weights"]).items()}
        unknown = sorted(set(weights) - set(CRITERIA))
        if unknown:
            raise SlaError(f"use case {row['use_case']!r} weighs unknown criteria {unknown}")
        return cls(row["use_case"], tuple(characteristics["input_tokens"]), tuple(characteristics["output_tokens"]),
                   sla_from_json(json_value(row["sla"])), weights, timedelta(seconds=int(row["ranking_ttl_s"])))

    def workload(self) -> Workload:
        return Workload(input_range=self.input_range, output_range=self.output_range)


def json_value(value: Any) -> Any:
    """A JSON column as DuckDB hands it back: text, or already a Python value."""
    return json.loads(value) if isinstance(value, str) else value


def use_case_candidates(points: pd.DataFrame, use_case: UseCase) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each configuration's best load point for the use case: within its workload, meeting its SLA, the most
    output tokens/s per GPU (else output tokens/s). Returns (candidates, every configuration tested with
    whether it has such a point)."""
    in_workload = select(points, use_case.workload())
    judged = in_workload.copy()
    ok = pd.Series(True, index=judged.index)
    for condition in use_case.sla:
        ok &= condition.holds(judged[condition.column].astype(float)).fillna(False).astype(bool)
    judged["meets_sla"] = ok
    keys = list(CONFIG_KEYS)
    tested = (judged.assign(framework_id=judged["framework_id"].fillna(-1))
              .groupby(keys, dropna=False)["meets_sla"].any().reset_index())
    meeting = judged[judged["meets_sla"]].copy()
    meeting["_speed"] = meeting["output_tokens_per_s_per_gpu"].fillna(meeting["output_tokens_per_s"])
    meeting = meeting.sort_values(["_speed", "result_id"], ascending=[False, False])
    best = meeting.assign(_fw=meeting["framework_id"].fillna(-1)).drop_duplicates(
        subset=["model_version_id", "hardware_config_id", "_fw"]).drop(columns=["_speed", "_fw"])
    return best, tested


# A weighted criterion at least this share of a use case's candidates have is kept, and a candidate lacking it
# is left unranked (and said so); a criterion fewer have (energy, usually) is dropped for all. Dropping a
# criterion whenever one candidate lacks it would let a single unpriced hosted API remove cost from everyone's
# ranking; keeping it and ranking the rest compares like with like.
KEEP_CRITERION_SHARE = 0.5


def rank_use_case(points: pd.DataFrame, use_case: UseCase) -> tuple[pd.DataFrame, list[str], pd.DataFrame]:
    """TOPSIS over the use case's candidates with its default weights.

    Returns the ranked candidates with ``composite_score``, ``rank_position`` and ``score_breakdown`` (per
    criterion: value, unit, direction, weight used), best first; the criteria dropped because most candidates
    lack them; and the candidates left unranked because they lack a kept criterion, each with ``lacks``.
    """
    candidates, _ = use_case_candidates(points, use_case)
    criteria = [c for c in use_case.weights if use_case.weights[c] > 0]
    present = candidates[criteria].notna() if criteria else pd.DataFrame(index=candidates.index)
    kept = [c for c in criteria if len(candidates) and present[c].mean() >= KEEP_CRITERION_SHARE]
    dropped = [c for c in criteria if c not in kept]
    complete = present[kept].all(axis=1) if kept else pd.Series(False, index=candidates.index)
    unranked = candidates[~complete].copy()
    unranked["lacks"] = [[c for c in kept if not present.at[i, c]] or ["every weighted criterion"]
                         for i in unranked.index]
    rankable = candidates[complete]
    if rankable.empty:
        return rankable.assign(composite_score=[], rank_position=[], score_breakdown=[]), dropped, unranked
    types = [BENEFIT if CRITERIA[c].higher_is_better else COST for c in kept]
    result = topsis(rankable[kept].to_numpy(dtype=float), [use_case.weights[c] for c in kept], types)
    total = sum(use_case.weights[c] for c in kept)
    ranked = rankable.assign(composite_score=result.scores, rank_position=result.ranks)
    ranked["score_breakdown"] = [
        {c: {"value": float(row[c]), "unit": CRITERIA[c].unit,
             "direction": "higher_is_better" if CRITERIA[c].higher_is_better else "lower_is_better",
             "weight": use_case.weights[c] / total}
         for c in kept}
        for row in rankable[kept].to_dict("records")]
    return ranked.sort_values(["rank_position", "result_id"]), dropped, unranked


def suitability(points: pd.DataFrame, use_case: UseCase, ranked: pd.DataFrame) -> pd.DataFrame:
    """Per model: share of its tested configurations that meet the use case, its best figures and best rank."""
    best, tested = use_case_candidates(points, use_case)
    if tested.empty:
        return pd.DataFrame(columns=["model_id", "use_case", "suitability_score", "recommended", "priority",
                                     "configurations_tested", "configurations_meeting_sla", "performance_summary"])
    model_of = points.drop_duplicates("model_version_id").set_index("model_version_id")["model_id"]
    tested = tested.assign(model_id=tested["model_version_id"].map(model_of))
    rows = []
    for model_id, group in tested.groupby("model_id"):
        mine = best[best["model_id"] == model_id]
        ranks = ranked.loc[ranked["model_id"] == model_id, "rank_position"]
        priority = int(ranks.min()) if len(ranks) else None
        summary = {"best_ttft_ms_p90": _min(mine, "ttft_ms_p90"), "best_user_tokens_per_s": _max(mine, "user_tokens_per_s"),
                   "best_usd_per_million_output_tokens": _min(mine, "usd_per_million_output_tokens")}
        meeting = int(group["meets_sla"].sum())
        rows.append({"model_id": int(model_id), "use_case": use_case.name,
                     "suitability_score": meeting / len(group),
                     "recommended": bool(meeting and priority is not None and priority <= 3), "priority": priority,
                     "configurations_tested": int(len(group)), "configurations_meeting_sla": meeting,
                     "performance_summary": json.dumps(summary)})
    return pd.DataFrame(rows)


def _min(frame: pd.DataFrame, column: str) -> float | None:
    value = frame[column].min() if len(frame) else float("nan")
    return None if pd.isna(value) else float(value)


def _max(frame: pd.DataFrame, column: str) -> float | None:
    value = frame[column].max() if len(frame) else float("nan")
    return None if pd.isna(value) else float(value)


def daily_stats(results: pd.DataFrame) -> pd.DataFrame:
    """Per model and UTC day over every result (not only the latest per point): counts and best figures."""
    if results.empty:
        return pd.DataFrame(columns=["model_id", "stats_date", "results", "configurations", "median_ttft_ms_p90",
                                     "median_tpot_ms_p90", "max_output_tokens_per_s",
                                     "min_usd_per_million_output_tokens", "max_output_tokens_per_joule"])
    frame = results.assign(stats_date=pd.to_datetime(results["run_time"], utc=True).dt.date,
                           _config=results["model_version_id"].astype(str) + "/"
                           + results["hardware_config_id"].astype(str) + "/"
                           + results["framework_id"].astype("Int64").astype(str))
    grouped = frame.groupby(["model_id", "stats_date"])
    return grouped.agg(results=("result_id", "size"), configurations=("_config", "nunique"),
                       median_ttft_ms_p90=("ttft_ms_p90", "median"), median_tpot_ms_p90=("tpot_ms_p90", "median"),
                       max_output_tokens_per_s=("output_tokens_per_s", "max"),
                       min_usd_per_million_output_tokens=("usd_per_million_output_tokens", "min"),
                       max_output_tokens_per_joule=("output_tokens_per_joule", "max")).reset_index()


def fingerprint(parts: list[Any]) -> str:
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()[:16]


def latest_points(results: pd.DataFrame) -> pd.DataFrame:
    """The latest result of each load point (``results`` carries POINT_KEYS, run_time, result_id)."""
    if results.empty:
        return results
    keys = [results[k].astype(object).where(results[k].notna(), "\x00") for k in POINT_KEYS]
    order = results.assign(_key=pd.Series(list(zip(*keys)), index=results.index))
    order = order.sort_values(["run_time", "result_id"], ascending=[False, False])
    return order.drop_duplicates("_key").drop(columns="_key").sort_values("result_id")

