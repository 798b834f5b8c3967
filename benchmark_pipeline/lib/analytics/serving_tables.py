"""The LLM answer tables in the warehouse: read the results and taxonomy, write suitability, daily stats, rankings.

The computations are ``serving.py``'s; this module only moves frames in and out of DuckDB. The answer tables
are rewritten whole (they hold one row per model x use case, per model x day, per ranked configuration:
small next to the facts), and only when their inputs changed or a ranking expired: ``refresh_llm_answers``
compares a fingerprint of the inputs with the one stored in ``llm_answers_state``. A reader that finds the
stored fingerprint differs from the facts (a warehouse written by an older release) or the ranking expired
computes the answer afresh from the facts instead of serving the stored one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from benchmark_pipeline.lib.warehouse.transaction import registered

from .serving import (UseCase, daily_stats, fingerprint, latest_points, rank_use_case, suitability, with_derived)

_RESULT_SQL = """
SELECT r.result_id, r.run_time, r.model_id, m.model_name, r.model_version_id, v.quantization, v.bits,
       v.weights_format, r.hardware_config_id, h.hardware_type, h.device_name AS gpu, c.gpu_count,
       c.cost_per_hour_usd, c.provider, c.instance_type, c.spot, r.framework_id, f.name AS framework,
       f.version AS framework_version, r.tool, r.workload_type, r.dataset,
       coalesce(r.input_tokens_configured, round(r.input_tokens_mean)) AS input_tokens,
       coalesce(r.output_tokens_configured, round(r.output_tokens_mean)) AS output_tokens,
       r.concurrency, r.concurrency_unbounded, r.request_rate, r.request_rate_unbounded, r.batch_size,
       r.ttft_ms_mean, r.ttft_ms_p50, r.ttft_ms_p90, r.ttft_ms_p99, r.tpot_ms_mean, r.tpot_ms_p50, r.tpot_ms_p90,
       r.tpot_ms_p99, r.itl_ms_p90, r.e2el_ms_p90, r.e2el_ms_p99, r.output_tokens_per_s_per_user_mean,
       r.output_tokens_per_s, r.total_tokens_per_s, r.requests_per_s, r.energy_joules, r.power_watts, r.duration_s
FROM llm_serving_results r
JOIN models m USING (model_id)
JOIN model_versions v USING (model_version_id)
JOIN hardware_configurations c USING (hardware_config_id)
JOIN hardware_platforms h ON h.hardware_id = c.hardware_id
LEFT JOIN inference_frameworks f USING (framework_id)
WHERE {where}
ORDER BY r.result_id
"""


def has_llm_tables(conn: duckdb.DuckDBPyConnection) -> bool:
    return bool(conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                             "AND table_name IN ('llm_serving_results', 'use_case_taxonomy')").fetchone()[0] == 2)


def results_frame(conn: duckdb.DuckDBPyConnection, since: datetime | None = None, until: datetime | None = None,
                  include_simulated: bool = False) -> pd.DataFrame:
    """Every LLM result in the window with its dimensions and the derived criteria."""
    where, params = ["true"], {}
    if not include_simulated:
        where.append("NOT r.is_simulated")
    if since is not None:
        where.append("r.run_time >= $since")
        params["since"] = since
    if until is not None:
        where.append("r.run_time < $until")
        params["until"] = until
    frame = conn.execute(_RESULT_SQL.format(where=" AND ".join(where)), params).df()
    return with_derived(frame)


def use_cases(conn: duckdb.DuckDBPyConnection) -> list[UseCase]:
    rows = conn.execute("SELECT * FROM use_case_taxonomy ORDER BY use_case").df().to_dict("records")
    return [UseCase.from_row(row) for row in rows]


def use_case_rows(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT use_case, category, subcategory, pipeline_tag, description, characteristics, sla, "
                        "default_weights, ranking_ttl_s FROM use_case_taxonomy ORDER BY use_case").df()
    out = rows.to_dict("records")
    for row in out:
        for key in ("characteristics", "sla", "default_weights"):
            row[key] = json.loads(row[key])
        row["ranking_ttl_s"] = int(row["ranking_ttl_s"])
    return out


def inputs_fingerprint(conn: duckdb.DuckDBPyConnection) -> str:
    """What the answers depend on: the real results (by id and ingest time), the priced configurations and the
    taxonomy. A retraction, a new result or a changed use case each change it."""
    facts = conn.execute("SELECT count(*), coalesce(max(result_id), 0), coalesce(sum(result_id), 0)::VARCHAR, "
                         "max(ingested_at)::VARCHAR FROM llm_serving_results WHERE NOT is_simulated").fetchone()
    taxonomy = conn.execute("SELECT string_agg(concat_ws('|', use_case, characteristics, sla, default_weights, "
                            "ranking_ttl_s), ';' ORDER BY use_case) FROM use_case_taxonomy").fetchone()
    return fingerprint([list(facts), taxonomy[0]])


@dataclass
class Answers:
    """Every LLM answer table, computed at one moment from one set of inputs."""

    calculated_at: datetime
    inputs_fingerprint: str
    rankings: pd.DataFrame
    suitability: pd.DataFrame
    daily: pd.DataFrame
    expires_at: datetime
    dropped: dict[str, list[str]] = field(default_factory=dict)  # use case -> criteria left out


_RANKING_COLUMNS = ["use_case", "rank_position", "composite_score", "model_id", "model_version_id",
                    "hardware_config_id", "framework_id", "result_id", "concurrency", "request_rate",
                    "score_breakdown", "criteria_dropped", "candidates", "calculated_at", "expires_at",
                    "inputs_fingerprint"]


def compute_answers(conn: duckdb.DuckDBPyConnection, now: datetime) -> Answers:
    results = results_frame(conn)
    points = latest_points(results)
    cases = use_cases(conn)
    stamp = inputs_fingerprint(conn)
    rankings, fits, dropped = [], [], {}
    for case in cases:
        ranked, left, unranked = rank_use_case(points, case)
        dropped[case.name] = left
        # Unranked candidates are stored too, without rank or score, their breakdown saying what they lack.
        parts = [part for part in (
            ranked.assign(score_breakdown=[json.dumps(b) for b in ranked["score_breakdown"]]),
            unranked.assign(rank_position=pd.NA, composite_score=float("nan"),
                            score_breakdown=[json.dumps({"lacks": lacks}) for lacks in unranked["lacks"]]),
        ) if len(part)]
        if parts:
            rows = pd.concat(parts) if len(parts) > 1 else parts[0]
            rankings.append(rows.assign(
                use_case=case.name, criteria_dropped=json.dumps(left), candidates=len(ranked), calculated_at=now,
                expires_at=now + case.ttl, inputs_fingerprint=stamp)[_RANKING_COLUMNS])
        fits.append(suitability(points, case, ranked))
    expires = min((now + c.ttl for c in cases), default=now)
    ranking_frame = pd.concat(rankings, ignore_index=True) if rankings else pd.DataFrame(columns=_RANKING_COLUMNS)
    fit_frame = pd.concat([f for f in fits if len(f)], ignore_index=True) if any(len(f) for f in fits) \
        else pd.DataFrame()
    return Answers(now, stamp, ranking_frame, fit_frame.assign(calculated_at=now) if len(fit_frame) else fit_frame,
                   daily_stats(results).assign(calculated_at=now), expires, dropped)


@dataclass(frozen=True)
class Freshness:
    fresh: bool
    reason: str  # "fresh", "never computed", "inputs changed", "expired"
    calculated_at: datetime | None
    expires_at: datetime | None


def freshness(conn: duckdb.DuckDBPyConnection, now: datetime) -> Freshness:
    """Whether the stored answers stand for the facts as they are now."""
    row = conn.execute("SELECT inputs_fingerprint, calculated_at, expires_at FROM llm_answers_state").fetchone()
    if row is None:
        return Freshness(False, "never computed", None, None)
    stored, calculated, expires = row
    if stored != inputs_fingerprint(conn):
        return Freshness(False, "inputs changed", calculated, expires)
    if expires <= now:
        return Freshness(False, "expired", calculated, expires)
    return Freshness(True, "fresh", calculated, expires)


@dataclass(frozen=True)
class LlmRefresh:
    recomputed: bool
    reason: str
    rankings: int = 0
    suitability: int = 0
    daily: int = 0


def refresh_llm_answers(conn: duckdb.DuckDBPyConnection, now: datetime, force: bool = False) -> LlmRefresh:
    """Rewrite the answer tables if their inputs changed or they expired (or ``force``). Run inside the
    caller's write transaction, so readers see facts and answers of one moment."""
    state = freshness(conn, now)
    if state.fresh and not force:
        return LlmRefresh(False, state.reason)
    answers = compute_answers(conn, now)
    _replace(conn, "model_rankings", answers.rankings)
    _replace(conn, "model_use_cases", answers.suitability)
    _replace(conn, "llm_daily_stats", answers.daily)
    conn.execute("DELETE FROM llm_answers_state")
    conn.execute("INSERT INTO llm_answers_state VALUES (1, ?, ?, ?)",
                 [answers.inputs_fingerprint, answers.calculated_at, answers.expires_at])
    return LlmRefresh(True, "forced" if state.fresh else state.reason, len(answers.rankings),
                      len(answers.suitability), len(answers.daily))


def _replace(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    conn.execute(f"DELETE FROM {table}")
    if frame.empty:
        return
    with registered(conn, "answers_frame", frame):
        conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM answers_frame")
