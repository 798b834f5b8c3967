"""Keep the derived tables current: rebuild them whole, or recompute only the rows a change touched.

Each table is partitioned by what it ranks within (see ``lib/scope.py``), so a change to model M on
platform P is reflected exactly by deleting and recomputing M's rows of the per-model tables and P's
rows of the per-platform table; untouched rows are left as they are. A change that only added one
ingestion run's facts narrows that to the groups and days of that run's results (``queries.OF_GROUPS``).
The caller runs this inside the transaction that changed the facts, so a reader sees facts and derived
tables of the same moment.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterator

import duckdb
import pandas as pd

from benchmark_pipeline.lib.scope import Scope
from benchmark_pipeline.lib.vocabulary import DERIVED_TABLES
from benchmark_pipeline.lib.warehouse.transaction import registered

from . import queries as q
from .recommend import hardware_recommendations
from .serving_tables import LlmRefresh, has_llm_tables, refresh_llm_answers

# A scope touching more models than this is rebuilt whole: one pass over the facts beats many per-model ones.
MAX_SCOPED_MODELS = 50
MAX_SCOPED_PLATFORMS = 50

SqlBuilder = Callable[..., tuple[str, dict[str, Any]]]
# table -> (query builder taking filters and scope, the key its rows are partitioned by)
PER_MODEL: dict[str, SqlBuilder] = {"hardware_comparison": q.hardware_comparison_sql,
                                    "daily_model_stats": q.daily_model_stats_sql}
PER_PLATFORM: dict[str, SqlBuilder] = {"model_comparison": q.model_comparison_sql}
DERIVED_ORDER = tuple(DERIVED_TABLES)


@dataclass
class RefreshReport:
    rebuilt: list[str] = field(default_factory=list)  # replaced whole
    updated: dict[str, int] = field(default_factory=dict)  # table -> rows recomputed
    skipped: list[str] = field(default_factory=list)  # nothing they depend on changed
    scope: Scope = field(default_factory=Scope.everything)  # what the write touched (what was refreshed for)
    llm: LlmRefresh | None = None  # the LLM answer tables: recomputed when their inputs changed or expired
    seconds: float = 0.0  # how long it took (an ingest reports it apart from the load)


def refresh_derived(conn: duckdb.DuckDBPyConnection, scope: Scope = Scope.everything(),
                    now: datetime | None = None) -> RefreshReport:
    """Bring every derived table up to date with the facts for ``scope`` (everything by default).

    The LLM answer tables are not partitioned by scope: they are recomputed whole whenever the LLM facts
    or the taxonomy differ from what they were computed from (a fingerprint check, cheap when nothing did).
    """
    started = time.perf_counter()
    report = RefreshReport(scope=scope)
    whole = (scope.is_everything or len(scope.models or ()) > MAX_SCOPED_MODELS
             or len(scope.platforms or ()) > MAX_SCOPED_PLATFORMS)
    stored = q.stored_columns(conn)
    missing = {t for t in DERIVED_ORDER if t not in stored}

    # Rows per model and family x hardware type: any new model or platform adds rows, so any change rebuilds it
    # (it is small: subjects x hardware types, computed from the compatibility facts only).
    if whole or "compatibility_matrix" in missing or scope.compatibility or scope.models or scope.platforms:
        _replace(conn, "compatibility_matrix", q.compatibility_matrix_sql())
        report.rebuilt.append("compatibility_matrix")
    else:
        report.skipped.append("compatibility_matrix")

    missing |= {t for t in PER_MODEL | PER_PLATFORM if t not in missing and q.is_outdated(conn, t, stored[t])}
    with _added_groups(conn, None if whole else scope.added_by) as added_days:
        for table, builder in {**PER_MODEL, **PER_PLATFORM}.items():
            keys = scope.models if table in PER_MODEL else scope.platforms
            if whole or table in missing:
                _replace(conn, table, builder())
                report.rebuilt.append(table)
            elif not keys:
                report.skipped.append(table)
            elif added_days is not None:
                report.updated[table] = _recompute_groups(conn, table, added_days)
            else:
                _delete_scoped(conn, table, keys, per_model=table in PER_MODEL)
                sql, params = builder(scope=scope)
                report.updated[table] = _insert(conn, table, sql, params)

    if whole or "hardware_recommendations" in missing:
        _replace_frame(conn, "hardware_recommendations",
                       hardware_recommendations(conn.execute("SELECT * FROM hardware_comparison").df()))
        report.rebuilt.append("hardware_recommendations")
    elif scope.models:
        _delete_scoped(conn, "hardware_recommendations", scope.models, per_model=True)
        comparison = conn.execute("SELECT * FROM hardware_comparison WHERE model_name IN "
                                  "(SELECT unnest($m::VARCHAR[]))", {"m": sorted(scope.models)}).df()
        ranked = hardware_recommendations(comparison)
        report.updated["hardware_recommendations"] = _insert_frame(conn, "hardware_recommendations", ranked)
    else:
        report.skipped.append("hardware_recommendations")
    if has_llm_tables(conn):
        report.llm = refresh_llm_answers(conn, now or datetime.now(timezone.utc))
    report.seconds = time.perf_counter() - started
    return report


@contextmanager
def _added_groups(conn: duckdb.DuckDBPyConnection, run_id: str | None) -> Iterator[tuple[date, date] | None]:
    """With ``run_id`` (a change that only added that run's facts), the groups and days its results fall in as
    the temporary tables ``q.GROUPS`` and ``q.DAYS`` (typed as stored), dropped after; yields the first and
    last of those days (None without ``run_id``)."""
    if run_id is None:
        yield None
        return
    conn.execute(f"CREATE OR REPLACE TEMP TABLE refresh_added AS {q.added_rows_sql()}", {"run": run_id})
    try:
        conn.execute(f"CREATE OR REPLACE TEMP TABLE {q.GROUPS} AS "
                     f"SELECT DISTINCT {', '.join(q.GROUP_COLUMNS)} FROM refresh_added")
        conn.execute(f"CREATE OR REPLACE TEMP TABLE {q.DAYS} AS SELECT DISTINCT model_name, day FROM refresh_added")
        first, last = conn.execute(f"SELECT min(day), max(day) FROM {q.DAYS}").fetchone()
        yield (first, last) if first is not None else (date.min, date.min)
    finally:
        for table in ("refresh_added", q.GROUPS, q.DAYS):
            conn.execute(f"DROP TABLE IF EXISTS temp.{table}")


def _recompute_groups(conn: duckdb.DuckDBPyConnection, table: str, days: tuple[date, date]) -> int:
    """Replace ``table``'s rows of the groups (or days) added with their recomputation; the rows written."""
    build, replaced = q.OF_GROUPS[table]
    sql, params = build(days)
    conn.execute(f"CREATE OR REPLACE TEMP TABLE refresh_rows AS {sql}", params)  # may read the table itself
    try:
        conn.execute(f"DELETE FROM {table} s WHERE {replaced}")
        return _insert(conn, table, "SELECT * FROM refresh_rows", {})
    finally:
        conn.execute("DROP TABLE IF EXISTS temp.refresh_rows")


def _replace(conn: duckdb.DuckDBPyConnection, table: str, query: tuple[str, dict[str, Any]]) -> None:
    sql, params = query
    conn.execute(f"CREATE OR REPLACE TABLE {table} AS {sql}", params)


def _insert(conn: duckdb.DuckDBPyConnection, table: str, sql: str, params: dict[str, Any]) -> int:
    return int(conn.execute(f"INSERT INTO {table} BY NAME {sql}", params).fetchall()[0][0])


def _delete_scoped(conn: duckdb.DuckDBPyConnection, table: str, keys, per_model: bool) -> None:
    if per_model:
        conn.execute(f"DELETE FROM {table} WHERE model_name IN (SELECT unnest($k::VARCHAR[]))", {"k": sorted(keys)})
        return
    pairs = sorted(keys, key=lambda p: (p[0], p[1] or ""))
    conn.execute(
        f"DELETE FROM {table} WHERE (hardware_type, coalesce(device_name, '')) IN "
        "(SELECT (t, d) FROM (SELECT unnest($t::VARCHAR[]) AS t, unnest($d::VARCHAR[]) AS d))",
        {"t": [t for t, _ in pairs], "d": [d or "" for _, d in pairs]},
    )


def _replace_frame(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    with registered(conn, "refresh_frame", frame):
        conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM refresh_frame")


def _insert_frame(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    if frame.empty:
        return 0
    with registered(conn, "refresh_frame", frame):
        return int(conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM refresh_frame").fetchall()[0][0])
