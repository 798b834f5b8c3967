"""What the REST API asks of the service beyond the CLI's needs: uploads, listings with totals, runs, rankings, health.

Mixed into ``BenchmarkService`` like the analytics and regressions mixins: reads go through ``reader()``,
writes through ``writer()`` (the single-writer lock, migrations, derived tables refreshed in the same
transaction), so a web request reaches the warehouse by exactly the paths the CLI takes.
"""

from __future__ import annotations

import hashlib
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import duckdb

from benchmark_pipeline.lib.vocabulary import CATEGORIES, LEGACY, LLM_SERVING

if TYPE_CHECKING:
    from benchmark_pipeline.lib.llm.defaults import LlmDefaults

UPLOAD_SCHEME = "upload://"
UPLOAD_CATEGORIES = (*CATEGORIES, LEGACY)
# Fact tables a stored record can land in, with their id column (an upload in the original system's shapes
# may land in several).
_FACTS = {"performance": ("performance_results", "result_id"),
          "compatibility": ("hardware_compatibility", "compatibility_id"),
          "integration": ("integration_test_results", "test_result_id"),
          LLM_SERVING: ("llm_serving_results", "result_id")}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class NotFoundError(LookupError):
    """The thing asked for (a run, ...) is not in the warehouse; the message says what is."""


class NotComputedError(LookupError):
    """A derived table the answer comes from has not been built in this warehouse yet."""


@dataclass
class Upload:
    """What became of one uploaded result file (one ledger entry, like a dropped file)."""

    source_path: str  # upload://<category>/<sha256 of the bytes>/<file name>
    status: str  # ledger status; "unchanged (...)" when these bytes under this name were sent before
    detected_type: str | None  # the shape the reader recognised (a category, or the original system's shape)
    reason: str | None  # why nothing or not everything was stored, when that is the case
    stored_ids: dict[str, list[int]] = field(default_factory=dict)  # per category, ids of the stored facts
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # category, record_index, field, value, reason
    duplicate_of: str | None = None  # the same bytes were stored before under this source path

    @property
    def stored(self) -> int:
        return sum(len(ids) for ids in self.stored_ids.values())


def upload_source_path(category: str, file_name: str, data: bytes) -> str:
    """The identity of an upload: its category, the hash of its bytes, and its (sanitised) file name.

    The name stays in the path because the original system's files carry their time stamp in it.
    """
    name = _SAFE_NAME.sub("_", Path(file_name or "upload.json").name).strip("._") or "upload.json"
    return f"{UPLOAD_SCHEME}{category}/{hashlib.sha256(data).hexdigest()}/{name[:200]}"


class WebMixin:
    """Mixed into ``BenchmarkService``: needs ``db_path``, ``reader()``, ``writer()``, ``resolve_names`` and
    ``_batch_writer``."""

    db_path: Path
    reader: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
    writer: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]

    # -- writing ---------------------------------------------------------------------------------

    def ingest_upload(self, category: str, file_name: str, data: bytes, run_id: str | None = None,
                      refresh: bool = True, llm: "LlmDefaults | None" = None) -> Upload:
        """Store an uploaded result file as if it had been dropped: same reader, converter, validation and ledger.

        ``category`` ``legacy`` runs the original system's converter, which recognises the shape from the
        content; an LLM tool's file is recognised by content whatever the category, and ``llm`` fills what it
        does not say, as ``ingest``'s options do (an upload has no sidecar). The bytes' hash is part of the
        identity, so uploading the same file again stores nothing; one refused for what it lacked is taken
        again when sent with other options, while a stored one keeps the options it was stored with.
        """
        import pandas as pd

        from benchmark_pipeline.lib.ingest.batch import read_and_validate

        from .core import new_run_id

        if category not in UPLOAD_CATEGORIES:
            raise ValueError(f"unknown category {category!r}; choose one of {', '.join(UPLOAD_CATEGORIES)}")
        source_path = upload_source_path(category, file_name, data)
        now = datetime.now(timezone.utc)
        files = pd.DataFrame({"source_path": [source_path], "category": [category]})
        batch = read_and_validate(files, now, payloads={source_path: data}, llm_defaults=llm)
        refreshed: list = []
        with self.writer() as conn:
            with self._batch_writer(conn, run_id or new_run_id("upload"), now, refresh, refreshed) as writer:
                result = writer.write(batch)
            outcome = result.outcomes.iloc[0].to_dict() if not result.outcomes.empty else {}
            status = str(outcome.get("status") or "unchanged")
            duplicate_of = outcome.get("duplicate_of") if isinstance(outcome.get("duplicate_of"), str) else None
            reason = outcome.get("reason") if isinstance(outcome.get("reason"), str) else None
            if status == "unchanged":
                row = conn.execute("SELECT status, reason, detected_type FROM ingestion_ledger WHERE source_path = ? "
                                   "ORDER BY ledger_id DESC LIMIT 1", [source_path]).fetchall()
                if row:
                    status, reason = f"unchanged ({row[0][0]})", row[0][1]
                    outcome.setdefault("detected_type", row[0][2])
            stored_from = duplicate_of or source_path
            stored_ids = {}
            for name, (table, id_column) in _FACTS.items():
                ids = [int(r[0]) for r in conn.execute(
                    f"SELECT {id_column} FROM {table} WHERE source_path = ? ORDER BY record_index, {id_column}",
                    [stored_from]).fetchall()]
                if ids:
                    stored_ids[name] = ids
            quarantined = [
                {"category": r[0], "record_index": None if r[1] is None else int(r[1]), "field": r[2], "value": r[3],
                 "reason": r[4]}
                for r in conn.execute(
                    "SELECT category, record_index, field, value, reason FROM quarantine "
                    "WHERE source_path = ? AND status = 'open' ORDER BY record_index NULLS FIRST, field",
                    [stored_from]).fetchall()]
        detected = outcome.get("detected_type")
        return Upload(source_path, status, detected if isinstance(detected, str) else None, reason, stored_ids,
                      quarantined, duplicate_of)

    # -- reading ---------------------------------------------------------------------------------

    def find_results(self, category: str, limit: int = 100, after_id: int | None = None,
                     **filters: Any) -> list[dict[str, Any]]:
        """``results`` with the model and hardware filters checked first: an unknown name is an
        ``UnknownNameError`` naming the closest known ones, not an empty page."""
        from benchmark_pipeline.lib.analytics.results import ResultFilters, query_results

        with self.reader() as conn:
            model, hardware = self.resolve_names(conn, filters.get("model"), filters.get("hardware"),
                                                 known_types_ok=True, fingerprints_ok=False)
            filters = {**filters, "model": model, "hardware": hardware}
            return query_results(conn, category, ResultFilters(**filters), limit, after_id)

    def list_models(self, limit: int = 100, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Models by name with how many performance results and platforms each has; and how many models in all."""
        with self.reader() as conn:
            total = int(conn.execute("SELECT count(*) FROM models").fetchall()[0][0])
            cursor = conn.execute("""
                SELECT m.model_name, m.model_family, m.modality, count(p.result_id) AS performance_results,
                       count(DISTINCT p.hardware_id) AS hardware_platforms, max(p.run_time) AS last_run
                FROM models m LEFT JOIN performance_results p USING (model_id)
                GROUP BY m.model_id, m.model_name, m.model_family, m.modality
                ORDER BY m.model_name, m.model_id LIMIT ? OFFSET ?""", [limit, offset])
            return _records(cursor), total

    def list_hardware(self, limit: int = 100, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Hardware platforms (type and device) with how many results and models each has; and how many in all."""
        from benchmark_pipeline.lib.analytics.filters import hardware_label_sql

        with self.reader() as conn:
            total = int(conn.execute("SELECT count(*) FROM hardware_platforms").fetchall()[0][0])
            cursor = conn.execute(f"""
                SELECT h.hardware_id, h.hardware_type, h.device_name, {hardware_label_sql()} AS hardware,
                       h.platform, h.memory_gb, count(p.result_id) AS performance_results,
                       count(DISTINCT p.model_id) AS models, max(p.run_time) AS last_run
                FROM hardware_platforms h LEFT JOIN performance_results p USING (hardware_id)
                GROUP BY h.hardware_id, h.hardware_type, h.device_name, h.platform, h.memory_gb
                ORDER BY h.hardware_type, h.device_name NULLS FIRST, h.hardware_id LIMIT ? OFFSET ?""",
                                  [limit, offset])
            return _records(cursor), total

    def run_details(self, run_id: int) -> dict[str, Any]:
        """One test run: where it came from, and how many results of each category it holds."""
        with self.reader() as conn:
            cursor = conn.execute("""
                SELECT run_id, test_name, test_type, started_at, completed_at, git_commit, git_branch, record_count,
                       source_path, ingestion_run_id, ingested_at
                FROM test_runs WHERE run_id = ?""", [run_id])
            rows = _records(cursor)
            if not rows:
                last = conn.execute("SELECT max(run_id), count(*) FROM test_runs").fetchall()[0]
                known = f"run ids go up to {last[0]} ({last[1]} runs)" if last[1] else "no runs are stored yet"
                raise NotFoundError(f"no run {run_id} in the warehouse; {known}")
            run = rows[0]
            counts = {}
            for name, (table, _id) in _FACTS.items():
                counts[name] = int(conn.execute(f"SELECT count(*) FROM {table} WHERE run_id = ?",
                                                [run_id]).fetchall()[0][0])
            run["results"] = counts
            run["models"] = [r[0] for r in conn.execute(
                "SELECT DISTINCT m.model_name FROM performance_results p JOIN models m USING (model_id) "
                "WHERE p.run_id = ? UNION SELECT DISTINCT m.model_name FROM hardware_compatibility c "
                "JOIN models m USING (model_id) WHERE c.run_id = ? ORDER BY 1", [run_id, run_id]).fetchall()]
            return run

    def rankings(self, model: str | None = None, hardware: str | None = None, batch_size: int | None = None,
                 precision: str | None = None, pareto_only: bool = False, limit: int = 100,
                 offset: int = 0, since: datetime | None = None,
                 until: datetime | None = None) -> tuple[list[dict[str, Any]], int]:
        """Hardware ranked per model, batch size and precision (TOPSIS over the Pareto front); and how many rows
        match in all.

        Over all time the ranking is read from ``hardware_recommendations``, which every write keeps current. With
        ``since``/``until`` it is recomputed the same way from the results with ``since <= run_time < until``
        (the medians it ranks are of those results only), as a report with ``--since`` does.
        """
        from benchmark_pipeline.lib.analytics.filters import Filters
        from benchmark_pipeline.lib.analytics.queries import fetch, hardware_comparison_sql
        from benchmark_pipeline.lib.analytics.recommend import hardware_recommendations
        from benchmark_pipeline.lib.normalize import canonical_hardware_type
        from benchmark_pipeline.lib.warehouse.transaction import registered

        from .analytics import facts_between

        with self.reader() as conn:
            model, hardware = self.resolve_names(conn, model, hardware, known_types_ok=True)
            where, params = ["true"], {}
            if model:
                where.append("lower(model_name) = lower($model)")
                params["model"] = model
            if hardware:
                where.append("(hardware_type = $hw_type OR lower(device_name) = lower($hw))")
                params |= {"hw_type": canonical_hardware_type(hardware) or hardware.lower(), "hw": hardware}
            if batch_size is not None:
                where.append("batch_size = $batch_size")
                params["batch_size"] = batch_size
            if precision:
                where.append("precision = $precision")
                params["precision"] = precision
            if pareto_only:
                where.append("pareto_optimal")
            clause = " AND ".join(where)
            if since is None and until is None:
                _require_table(conn, "hardware_recommendations")
                return _ranking_page(conn, "hardware_recommendations", clause, params, limit, offset)
            # The ranking is per model: ranking only the model asked for gives its rows as ranking them all would.
            with facts_between(conn, since, until):
                comparison = fetch(conn, hardware_comparison_sql(Filters(model=model)))
            with registered(conn, "rankings_in_range", hardware_recommendations(comparison)):
                return _ranking_page(conn, "rankings_in_range", clause, params, limit, offset)

    def compatibility_cells(self, level: str | None = None, subject: str | None = None,
                            hardware_type: str | None = None, limit: int = 500,
                            offset: int = 0, since: datetime | None = None,
                            until: datetime | None = None) -> tuple[list[dict[str, Any]], int]:
        """Cells of the compatibility matrix (per model or model family, per hardware type); and how many in all.

        Over all time the cells are read from ``compatibility_matrix``. With ``since``/``until`` they are computed
        the same way from the compatibility tests with ``since <= run_time < until``: a cell with no test in
        the range is untested, and a family known only from tests outside it has no row.
        """
        from benchmark_pipeline.lib.analytics.filters import Filters
        from benchmark_pipeline.lib.analytics.queries import compatibility_matrix_sql
        from benchmark_pipeline.lib.normalize import canonical_hardware_type

        from .analytics import facts_between

        with self.reader() as conn:
            where, params = ["true"], {}
            if level:
                where.append("level = $level")
                params["level"] = level
            if subject:
                where.append("lower(subject) = lower($subject)")
                params["subject"] = subject
            if hardware_type:
                where.append("hardware_type = $hardware_type")
                params["hardware_type"] = canonical_hardware_type(hardware_type) or hardware_type.lower()
            clause = " AND ".join(where)
            source = "compatibility_matrix"
            if since is None and until is None:
                _require_table(conn, source)
            else:
                sql, matrix_params = compatibility_matrix_sql(Filters())
                source, params = f"({sql})", {**matrix_params, **params}
            with facts_between(conn, since, until):
                total = int(conn.execute(f"SELECT count(*) FROM {source} WHERE {clause}", params).fetchall()[0][0])
                cursor = conn.execute(f"""
                    SELECT level, subject, model_family, hardware_type, status, score, tests, compatible_tests,
                           last_tested, error_summary
                    FROM {source} WHERE {clause}
                    ORDER BY level, subject, hardware_type LIMIT $limit OFFSET $offset""",
                                      {**params, "limit": limit, "offset": offset})
                return _records(cursor), total

    def health(self) -> dict[str, Any]:
        """Whether the warehouse opens, its schema version, the last ingest and how many regressions are open.

        ``WarehouseMissingError`` when there is no warehouse yet; ``WarehouseBusyError`` when writers kept it.
        """
        from benchmark_pipeline.lib.warehouse.regressions import FLAGS_SCHEMA_VERSION, list_flags
        from benchmark_pipeline.lib.warehouse.schema import SCHEMA_VERSION, current_version

        with self.reader() as conn:
            version = int(current_version(conn))
            tables = {r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
            last_at = last_run = None
            if "ingestion_ledger" in tables:
                row = conn.execute("SELECT status_changed_at, ingestion_run_id FROM ingestion_ledger "
                                   "ORDER BY status_changed_at DESC, ledger_id DESC LIMIT 1").fetchall()
                if row:
                    last_at, last_run = row[0]
            open_regressions = None
            if version >= FLAGS_SCHEMA_VERSION and "regression_flags" in tables:
                open_regressions = len(list_flags(conn, only_open=True))
            results = (int(conn.execute("SELECT count(*) FROM performance_results").fetchall()[0][0])
                       if "performance_results" in tables else 0)
        return {"schema_version": version, "code_schema_version": SCHEMA_VERSION, "last_ingest_at": last_at,
                "last_ingest_run": last_run, "open_regressions": open_regressions, "performance_results": results}


def _records(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def _ranking_page(conn: duckdb.DuckDBPyConnection, source: str, clause: str, params: dict[str, Any], limit: int,
                  offset: int) -> tuple[list[dict[str, Any]], int]:
    total = int(conn.execute(f"SELECT count(*) FROM {source} WHERE {clause}", params).fetchall()[0][0])
    cursor = conn.execute(f"""
        SELECT model_name, batch_size, precision, hardware_type, device_name, hardware, topsis_rank,
               topsis_score, pareto_optimal, latency_p99_ms, throughput_items_per_second, memory_peak_mb,
               power_watts, cost_per_hour_usd, candidates, criteria_used
        FROM {source} WHERE {clause}
        ORDER BY model_name, batch_size, precision, topsis_rank NULLS LAST, hardware
        LIMIT $limit OFFSET $offset""", {**params, "limit": limit, "offset": offset})
    return _records(cursor), total


def _require_table(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    found = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchall()
    if not found[0][0]:
        raise NotComputedError(f"{table} has not been built in this warehouse yet; it is computed by every "
                               "ingest, or run `benchmark-db refresh`")
