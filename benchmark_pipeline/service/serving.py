"""LLM-serving answers through the service: SLA fits, costs, Pareto fronts, rankings per use case.

Readers answer from the facts as they are (the load points are few: one per configuration and load);
rankings come from ``model_rankings`` while it is fresh, else they are computed afresh by the reader and
the answer says why (``cached: false`` with the reason). Recomputing the stored tables is a write: every
ingest does it in its own transaction when the LLM facts changed, and ``refresh_llm_answers`` (the Dagster
``llm_answers`` asset, ``benchmark-db llm refresh``) does it when they expire.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Any, Callable

import duckdb
import pandas as pd

from benchmark_pipeline.lib.analytics import serving
from benchmark_pipeline.lib.analytics import serving_tables as tables
from benchmark_pipeline.lib.analytics.serving import SlaError, Workload
from benchmark_pipeline.lib.names import UnknownNameError, unknown_name_message


class LlmAnswersUnavailable(RuntimeError):
    """The warehouse predates the LLM answer tables (schema version 9)."""


_POINT_COLUMNS = ("model_name", "quantization", "bits", "gpu", "gpu_count", "provider", "instance_type", "framework",
                  "framework_version", "tool", "workload_type", "dataset", "input_tokens", "output_tokens",
                  "concurrency", "request_rate", "batch_size", "run_time", "result_id", "cost_per_hour_usd",
                  *serving.CRITERIA, "user_tokens_per_s_from")


class ServingMixin:
    """Mixed into ``BenchmarkService``: needs ``reader()`` and ``writer()``."""

    reader: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
    writer: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]

    def _points(self, conn: duckdb.DuckDBPyConnection, workload: Workload, since: datetime | None,
                until: datetime | None) -> pd.DataFrame:
        _require(conn)
        results = tables.results_frame(conn, since=since, until=until)
        if workload.model:
            _require_model(workload.model, results["model_name"].unique())
        return serving.select(serving.latest_points(results), workload)

    def llm_use_cases(self) -> list[dict[str, Any]]:
        """The use-case taxonomy: workload, SLA and default weights of each use case."""
        with self.reader() as conn:
            _require(conn)
            return tables.use_case_rows(conn)

    def llm_sla(self, sla: str, workload: Workload = Workload(), since: datetime | None = None,
                until: datetime | None = None, limit: int = 10) -> dict[str, Any]:
        """The cheapest configuration (per million output tokens) whose latest result meets ``sla``
        (``"ttft_ms_p90<=300,user_tokens_per_s>=20"``); ``SlaError`` names a term it cannot read."""
        conditions = serving.parse_sla(sla)
        if not conditions:
            raise SlaError("an SLA needs at least one term, e.g. ttft_ms_p90<=300,user_tokens_per_s>=20")
        with self.reader() as conn:
            points = self._points(conn, workload, since, until)
        return {"workload": workload.describe(), **serving.sla_answer(points, conditions, limit=limit)}

    def llm_costs(self, workload: Workload = Workload(), since: datetime | None = None,
                  until: datetime | None = None) -> pd.DataFrame:
        """Every load point's price, throughput, $ per million output tokens and tokens per joule, cheapest first."""
        with self.reader() as conn:
            return serving.cost_table(self._points(conn, workload, since, until))

    def llm_pareto(self, workload: Workload = Workload(), since: datetime | None = None,
                   until: datetime | None = None) -> dict[str, Any]:
        """Output tokens/s per GPU against tokens/s per user, with the points on the front marked."""
        with self.reader() as conn:
            points, left_out = serving.pareto_points(self._points(conn, workload, since, until))
        return {"workload": workload.describe(), "left_out": left_out,
                "points": serving.point_records(points, _POINT_COLUMNS + ("on_front",))}

    def llm_rankings(self, use_case: str, limit: int = 20, now: datetime | None = None) -> dict[str, Any]:
        """TOPSIS ranking of serving configurations for a use case, from ``model_rankings`` while it is fresh."""
        now = now or datetime.now(timezone.utc)
        with self.reader() as conn:
            _require(conn)
            cases = {c.name: c for c in tables.use_cases(conn)}
            if use_case not in cases:
                raise UnknownNameError(unknown_name_message("use case", use_case, sorted(cases)))
            state = tables.freshness(conn, now)
            points = serving.latest_points(tables.results_frame(conn))
            if state.fresh:
                stored = conn.execute(
                    "SELECT result_id, rank_position, composite_score, score_breakdown, criteria_dropped "
                    "FROM model_rankings WHERE use_case = ? ORDER BY rank_position NULLS LAST, result_id",
                    [use_case]).df()
                rows = points.merge(stored, on="result_id")
                rows["score_breakdown"] = rows["score_breakdown"].map(serving.json_value)
                ranked = rows[rows["rank_position"].notna()].astype({"rank_position": "int64"}).sort_values(
                    ["rank_position", "result_id"])
                unranked = rows[rows["rank_position"].isna()].sort_values("result_id")
                unranked = unranked.assign(lacks=[b["lacks"] for b in unranked["score_breakdown"]])
                dropped = serving.json_value(stored["criteria_dropped"].iloc[0]) if len(stored) else []
                calculated, expires = state.calculated_at, state.expires_at
            else:
                ranked, dropped, unranked = serving.rank_use_case(points, cases[use_case])
                calculated, expires = now, now + cases[use_case].ttl
        rows = serving.point_records(ranked.head(limit), ("rank_position", "composite_score", "score_breakdown")
                                     + _POINT_COLUMNS)
        return {"use_case": use_case, "cached": state.fresh, "reason": state.reason,
                "calculated_at": _iso(calculated), "expires_at": _iso(expires), "candidates": int(len(ranked)),
                "criteria_dropped": dropped, "weights": cases[use_case].weights, "rankings": rows,
                "unranked": serving.point_records(unranked, ("lacks",) + _POINT_COLUMNS)}

    def llm_suitability(self, model: str | None = None) -> pd.DataFrame:
        """Per model and use case: share of configurations meeting the SLA, best figures, rank (stored table)."""
        with self.reader() as conn:
            _require(conn)
            where, params = ("WHERE lower(m.model_name) = lower(?)", [model]) if model else ("", [])
            return _of_known_model(conn, model, conn.execute(
                "SELECT m.model_name, u.use_case, u.suitability_score, u.recommended, u.priority, "
                "u.configurations_tested, u.configurations_meeting_sla, u.performance_summary, u.calculated_at "
                f"FROM model_use_cases u JOIN models m USING (model_id) {where} "
                "ORDER BY m.model_name, u.use_case", params).df())

    def llm_daily_stats(self, model: str | None = None) -> pd.DataFrame:
        with self.reader() as conn:
            _require(conn)
            where, params = ("WHERE lower(m.model_name) = lower(?)", [model]) if model else ("", [])
            return _of_known_model(conn, model, conn.execute(
                "SELECT m.model_name, d.* EXCLUDE (model_id) FROM llm_daily_stats d JOIN models m USING (model_id) "
                f"{where} ORDER BY m.model_name, d.stats_date", params).df())

    def refresh_llm_answers(self, force: bool = False, now: datetime | None = None) -> tables.LlmRefresh:
        """Recompute the stored LLM answers if their inputs changed or they expired (always with ``force``)."""
        with self.writer() as conn:
            return tables.refresh_llm_answers(conn, now or datetime.now(timezone.utc), force=force)


def _require_model(model: str, known: Iterable[str]) -> None:
    """A model named in a question must have LLM-serving results (any case): otherwise the question has a
    typo, and an empty answer would read as "no configuration qualifies"."""
    known = sorted(set(known))
    if not any(name.lower() == model.lower() for name in known):
        raise UnknownNameError(unknown_name_message("model with LLM-serving results", model, known))


def _of_known_model(conn: duckdb.DuckDBPyConnection, model: str | None, rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` of a stored answer narrowed to ``model``; when there are none, the model must still exist."""
    if model and rows.empty:
        _require_model(model, (name for (name,) in conn.execute(
            "SELECT DISTINCT m.model_name FROM llm_serving_results JOIN models m USING (model_id)").fetchall()))
    return rows


def _require(conn: duckdb.DuckDBPyConnection) -> None:
    if not tables.has_llm_tables(conn):
        raise LlmAnswersUnavailable("this warehouse predates the LLM-serving answers (schema version 9); any write "
                                    "brings it up to date: run `benchmark-db refresh`")


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return pd.Timestamp(value).tz_convert("UTC").isoformat() if pd.Timestamp(value).tzinfo else \
        pd.Timestamp(value).isoformat()
