"""Writing a validated batch into the warehouse in one transaction.

Re-ingesting an unchanged file adds nothing; a changed file supersedes its previous version and
replaces its facts; the same bytes at a new path are ledgered as a duplicate with no facts.
Surrogate keys come from sequences; dimension rows are matched on natural keys (model name,
hardware fingerprint).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from datetime import datetime, timezone

import duckdb
import numpy as np
import pandas as pd

from benchmark_pipeline.lib.batch_contract import ABSORBS_COLUMN, CONTEXT_COLUMN, ValidatedBatch
from benchmark_pipeline.lib.llm.hardware import VRAM_OVERHEAD
from benchmark_pipeline.lib.llm.metrics import metric_columns
from benchmark_pipeline.lib.normalize import infer_model_family
from benchmark_pipeline.lib.scope import Scope
from benchmark_pipeline.lib.vocabulary import FACT_TABLES, LLM_SERVING

from .plan import DUPLICATE, INGEST, UNCHANGED, FilePlanner, file_status
from .transaction import registered, transaction

OUTCOME_COLUMNS = ["source_path", "sha256", "category", "detected_type", "status", "reason", "records_total",
                   "records_quarantined", "rows_written", "duplicate_of"]
# The outcome of a file that could not be read (no bytes, so no sha256): reported, never ledgered.
SKIPPED = "skipped"


@dataclass
class LoadResult:
    outcomes: pd.DataFrame  # one row per file: OUTCOME_COLUMNS
    quarantine: pd.DataFrame  # the quarantine rows of this batch (source_path, record_index, field, value, reason)

    def count(self, status: str) -> int:
        return int((self.outcomes["status"] == status).sum())

    @classmethod
    def concat(cls, results: list["LoadResult"]) -> "LoadResult":
        """The result of a load written in chunks."""
        def stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
            non_empty = [f for f in frames if not f.empty]  # pandas warns on concatenating empty frames
            return pd.concat(non_empty, ignore_index=True) if len(non_empty) > 1 else (non_empty or frames)[0]

        return cls(stack([r.outcomes for r in results]), stack([r.quarantine for r in results]))


def read_ledger(conn: duckdb.DuckDBPyConnection, files: pd.DataFrame | None = None) -> pd.DataFrame:
    """source_path, sha256, status and ingest_context of every ledger row, or only of the rows with the path or
    the content of one of ``files`` (a warehouse older than version 8, read by a dry run, has no
    ingest_context: none)."""
    has_context = conn.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'ingestion_ledger' "
        "AND column_name = 'ingest_context'").fetchall()[0][0]
    context = "ingest_context" if has_context else "NULL::VARCHAR AS ingest_context"
    sql = f"SELECT source_path, sha256, status, {context} FROM ingestion_ledger"
    if files is None:
        return conn.execute(sql).df()
    return conn.execute(f"{sql} WHERE source_path IN (SELECT unnest($paths::VARCHAR[])) "
                        "OR sha256 IN (SELECT unnest($shas::VARCHAR[]))",
                        {"paths": files["source_path"].tolist(), "shas": files["sha256"].tolist()}).df()


def outcomes_for(batch: ValidatedBatch, plan: pd.DataFrame) -> pd.DataFrame:
    """Per-file result of an ingest (also what a dry run reports).

    A file that could not be read has no sha256 and may have no plan row: it is ``skipped``, with why.
    """
    files = batch.files.merge(plan, on="file_id", how="left")
    quarantined_records = (
        batch.quarantine.dropna(subset=["record_index"]).drop_duplicates(["file_id", "category", "record_index"])
        .groupby("file_id").size().to_dict()
    )
    written = _rows_per_file(batch).to_dict()
    rows = []
    for f in files.itertuples(index=False):
        n_bad = int(quarantined_records.get(f.file_id, 0))
        if not isinstance(f.sha256, str):
            status, reason = SKIPPED, _reason(f.problem, f.detail, 0, 0)
        elif f.action == UNCHANGED:
            status, reason = UNCHANGED, "already in the ledger"
        elif f.action == DUPLICATE:
            status, reason = DUPLICATE, f"same content as {f.duplicate_of}"
        else:
            status = file_status(f.problem, f.records_total, n_bad, bool(f.is_result))
            reason = _reason(f.problem, f.detail, f.records_total, n_bad, f.note)
        rows.append({
            "source_path": f.source_path, "sha256": f.sha256, "category": f.category,
            "detected_type": f.detected_type, "status": status,
            "reason": reason, "records_total": int(f.records_total), "records_quarantined": n_bad,
            "rows_written": int(written.get(f.file_id, 0)) if f.action == INGEST else 0,
            "duplicate_of": f.duplicate_of,
        })
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS)


def _reason(problem: object, detail: object, total: int, bad: int, note: object = None) -> str | None:
    if isinstance(problem, str):
        return f"{problem}: {detail}" if isinstance(detail, str) else problem
    parts = [note] if isinstance(note, str) else []
    if total == 0 and not parts:
        parts.append("no records")
    if bad:
        parts.append(f"{bad} of {total} records quarantined")
    return "; ".join(parts) or None


def _rows_per_file(batch: ValidatedBatch) -> pd.Series:
    counts = [f["file_id"].value_counts()
              for f in (batch.performance, batch.compatibility, batch.integration, batch.llm_serving, batch.failures)
              if not f.empty]
    return pd.concat(counts).groupby(level=0).sum() if counts else pd.Series(dtype="int64")


class BatchWriter:
    """One all-or-nothing load fed chunk by chunk, so only one chunk's frames need to be in memory.

    Chunks are planned against the ledger as it stands inside the transaction (``FilePlanner``), so a
    batch loaded in chunks ends exactly as the same batch loaded whole. Leaving the ``with`` block
    commits; an exception rolls everything back.
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection, run_id: str, now: datetime | None = None,
                 before_commit: Callable[["BatchWriter"], None] | None = None) -> None:
        self.conn, self.run_id = conn, run_id
        self.now = now or datetime.now(timezone.utc)
        self.planner: FilePlanner | None = None
        self.before_commit = before_commit
        # What the facts written or replaced so far touched (the derived rows to recompute).
        self.touched = Scope(models=frozenset(), platforms=frozenset(), compatibility=False)
        # Whether a file replaced an earlier version (whose facts go): then the change is more than additions.
        self.replaced = False

    def __enter__(self) -> "BatchWriter":
        self._transaction = transaction(self.conn)
        self._transaction.__enter__()
        self.planner = FilePlanner()  # learns the ledger rows each chunk's files need (``write``)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                fill_inferred_families(self.conn)
                if self.before_commit is not None:
                    self.before_commit(self)
            except BaseException as failed:
                self._transaction.__exit__(type(failed), failed, failed.__traceback__)
                raise
        self._transaction.__exit__(exc_type, exc, tb)

    def write(self, batch: ValidatedBatch) -> LoadResult:
        conn, run_id, now = self.conn, self.run_id, self.now
        files = batch.files[batch.files["sha256"].notna()]  # unread files: nothing to plan
        self.planner.learn(read_ledger(conn, files))
        plan = self.planner.plan(files)
        outcomes = outcomes_for(batch, plan)
        ingest_ids = plan.loc[plan["action"] == INGEST, "file_id"]
        replaced_paths = batch.files.merge(plan.loc[plan["replaces"]], on="file_id")["source_path"].tolist()
        absorbed = _absorbed(conn, batch.files, set(outcomes.loc[outcomes["status"].isin(_LANDED), "source_path"]))
        self.replaced |= bool(replaced_paths) or bool(absorbed)
        self.touched = self.touched.union(scope_of_paths(conn, replaced_paths + list(absorbed)))
        _supersede(conn, replaced_paths, run_id, now)
        _take_back_absorbed(conn, absorbed, run_id, now)
        landed = _restrict(batch, set(ingest_ids))
        self.touched = self.touched.union(scope_of_batch(landed))
        write_facts(conn, landed, run_id, now)
        write_quarantine(conn, batch, set(ingest_ids), run_id, now)
        _write_ledger(conn, batch.files, plan, outcomes, run_id, now)
        quarantine = batch.quarantine.merge(batch.files[["file_id", "source_path"]], on="file_id")
        quarantine = quarantine[quarantine["file_id"].isin(set(ingest_ids))]
        return LoadResult(outcomes, quarantine.drop(columns=["file_id", "record_json"]))


def scope_of_batch(batch: ValidatedBatch) -> Scope:
    """The models and platforms whose facts a batch adds (see ``lib/scope.py``).

    Every fact with a model counts, not only performance results: an LLM run or an integration test of a new
    model adds that model's row to the compatibility matrix, and an LLM run on a new GPU its platform.
    """
    frames = [f for f in (batch.performance, batch.llm_serving, batch.integration) if not f.empty]
    models = frozenset(name for f in frames if "model_name" in f for name in f["model_name"].dropna().unique())
    pairs = [f[["hardware_type"]].assign(device_name=f["device_name"] if "device_name" in f else None)
             .drop_duplicates() for f in frames if "hardware_type" in f]  # distinct first: a batch has millions of rows
    platforms = frozenset(
        (t, None if pd.isna(d) else d) for p in pairs for t, d in zip(p["hardware_type"], p["device_name"])
        if isinstance(t, str))
    return Scope(models=models, platforms=platforms, compatibility=not batch.compatibility.empty)


def scope_of_paths(conn: duckdb.DuckDBPyConnection, paths: list[str]) -> Scope:
    """The models and platforms of the facts stored from these files (before they are replaced or retracted)."""
    if not paths:
        return Scope(models=frozenset(), platforms=frozenset(), compatibility=False)
    rows = conn.execute(
        "SELECT DISTINCT m.model_name, h.hardware_type, h.device_name FROM (SELECT model_id, hardware_id FROM "
        "performance_results WHERE source_path IN (SELECT unnest($paths::VARCHAR[])) UNION ALL "
        "SELECT model_id, hardware_id FROM llm_serving_results WHERE source_path IN "
        "(SELECT unnest($paths::VARCHAR[]))) f JOIN models m USING (model_id) JOIN hardware_platforms h "
        "USING (hardware_id)", {"paths": list(paths)}).fetchall()
    compat = conn.execute("SELECT count(*) > 0 FROM hardware_compatibility WHERE source_path IN "
                          "(SELECT unnest($paths::VARCHAR[]))", {"paths": list(paths)}).fetchall()[0][0]
    return Scope(models=frozenset(r[0] for r in rows), platforms=frozenset((r[1], r[2]) for r in rows),
                 compatibility=bool(compat))


def _restrict(batch: ValidatedBatch, file_ids: set[int]) -> ValidatedBatch:
    def keep(frame: pd.DataFrame) -> pd.DataFrame:
        mask = frame["file_id"].isin(file_ids)
        return frame if mask.all() else frame[mask]  # a fresh ingest keeps everything: no copy

    frames = {name: keep(frame) for name, frame in batch.frames().items()}
    return ValidatedBatch(**frames, duplicates_dropped=batch.duplicates_dropped)


def _supersede(conn: duckdb.DuckDBPyConnection, paths: list[str], run_id: str, now: datetime) -> None:
    if not paths:
        return
    with registered(conn, "superseded_paths", pd.DataFrame({"source_path": paths})):
        for table in FACT_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE source_path IN (SELECT source_path FROM superseded_paths)")
        conn.execute("UPDATE quarantine SET status = 'superseded' WHERE status = 'open' "
                     "AND source_path IN (SELECT source_path FROM superseded_paths)")
        conn.execute(
            "UPDATE ingestion_ledger SET status = 'superseded', status_changed_at = ?, "
            "history = coalesce(history || '; ', '') || status || ' -> superseded by run ' || ? "
            "WHERE status IN ('ingested', 'partial', 'quarantined', 'not a result', 'duplicate') "
            "AND source_path IN (SELECT source_path FROM superseded_paths)",
            [now, run_id],
        )


# Ledger statuses of a version that stands on its own: its facts, or its open quarantine rows.
_STANDS_ALONE = ("ingested", "partial", "quarantined")
# Outcomes of a file whose records (some or all) landed.
_LANDED = ("ingested", "partial")


def _absorbed(conn: duckdb.DuckDBPyConnection, files: pd.DataFrame, landed: set[str]) -> dict[str, str]:
    """``{path: path of the file that absorbs it}`` for the files whose own run a file that landed now includes
    (``ABSORBS_COLUMN``: an MLPerf detail log ingested alone, then its summary) and that stand alone in the
    ledger. When both arrive together the detail log is "not a result" from the start; when the summary's
    run is refused, the detail log's stays."""
    if ABSORBS_COLUMN not in files:
        return {}
    absorbing = files[files["source_path"].isin(landed) & files[ABSORBS_COLUMN].notna()]
    if absorbing.empty:
        return {}
    by_path = dict(zip(absorbing[ABSORBS_COLUMN], absorbing["source_path"]))
    standing = conn.execute(
        f"SELECT DISTINCT source_path FROM ingestion_ledger WHERE status IN {_STANDS_ALONE} "
        "AND source_path IN (SELECT unnest($paths::VARCHAR[]))", {"paths": list(by_path)}).fetchall()
    return {row[0]: by_path[row[0]] for row in standing}


def _take_back_absorbed(conn: duckdb.DuckDBPyConnection, absorbed: dict[str, str], run_id: str,
                        now: datetime) -> None:
    """Each absorbed file's own run out (facts deleted, open quarantine rows superseded), and its ledger row
    "not a result" saying which file stores its run now: the run is counted once, from the absorbing file."""
    for path, by in absorbed.items():
        for table in FACT_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE source_path = ?", [path])
        conn.execute("UPDATE quarantine SET status = 'superseded' WHERE status = 'open' AND source_path = ?", [path])
        conn.execute(
            "UPDATE ingestion_ledger SET status = 'not a result', reason = ?, rows_written = 0, "
            "status_changed_at = ?, history = coalesce(history || '; ', '') || status || ' -> not a result: "
            f"its run is stored from ' || ? || ' since run ' || ? WHERE status IN {_STANDS_ALONE} AND source_path = ?",
            [f"its run is stored from {by}, combined with this file", now, by, run_id, path],
        )


# --- dimensions --------------------------------------------------------------------------------

_MODEL_COLUMNS = {"model_name": "model_name", "model_family": "model_family", "modality": "modality",
                  "model_source": "source", "model_version": "version",
                  "parameters_million": "parameters_million", "model_metadata": "metadata"}
_HARDWARE_COLUMNS = ["hardware_type", "device_name", "platform", "platform_version", "driver_version",
                     "memory_gb", "compute_units", "hardware_metadata"]


def hardware_fingerprint(frame: pd.DataFrame) -> pd.Series:
    """Readable identity of a hardware platform: type, device and the declared details.

    Two GPUs that differ in any declared detail get different fingerprints, so they are never merged.
    """
    def part(column: str, fmt: str) -> pd.Series:
        # As Python objects: mapping a nullable-integer column with a missing value would hand the
        # function floats, and the same 40 compute units would print as "40 CU" or "40.0 CU".
        values = frame[column].astype(object)
        text = values.map(lambda v: fmt.format(v) if pd.notna(v) else "", na_action="ignore")
        return text.fillna("").astype(str)

    pieces = [
        frame["hardware_type"].astype(str),
        part("device_name", "{}").replace("", "unnamed device"),
        part("memory_gb", "{:g} GB"),
        part("compute_units", "{} CU"),
        part("driver_version", "driver {}"),
    ]
    joined = pieces[0]
    for piece in pieces[1:]:
        joined = joined + np.where(piece != "", " | " + piece, "")
    return joined


def _upsert_models(conn: duckdb.DuckDBPyConnection, frames: list[pd.DataFrame]) -> None:
    parts = [f[list(_MODEL_COLUMNS)] for f in frames if not f.empty]
    if not parts:
        return
    models = pd.concat(parts, ignore_index=True).dropna(subset=["model_name"])
    if models.empty:
        return
    models = _first_per_group(models, "model_name", list(_MODEL_COLUMNS)[1:]).sort_index().reset_index()
    models = models.rename(columns=_MODEL_COLUMNS)
    with registered(conn, "stage_models", models):
        conn.execute(
            "INSERT INTO models (model_name, model_family, modality, source, version, parameters_million, metadata) "
            "SELECT s.model_name, s.model_family, s.modality, s.source, s.version, s.parameters_million, s.metadata "
            "FROM stage_models s ANTI JOIN models m USING (model_name)"
        )
        conn.execute(
            "UPDATE models SET model_family = coalesce(models.model_family, s.model_family), "
            "modality = coalesce(models.modality, s.modality), "
            "parameters_million = coalesce(models.parameters_million, s.parameters_million) "
            "FROM stage_models s WHERE models.model_name = s.model_name AND ("
            "(models.model_family IS NULL AND s.model_family IS NOT NULL) OR "
            "(models.modality IS NULL AND s.modality IS NOT NULL) OR "
            "(models.parameters_million IS NULL AND s.parameters_million IS NOT NULL))"
        )


def _first_per_group(frame: pd.DataFrame, key: str, columns: list[str]) -> pd.DataFrame:
    """``frame.groupby(key)[columns].first()`` (first non-missing value per group), indexed by ``key``.

    Columns missing everywhere, most of the optional ones in practice, are filled instead of grouped:
    grouping a million rows of empty text columns was a large share of a load.
    """
    present = [c for c in columns if frame[c].notna().any()]
    if present:
        first = frame.groupby(key, sort=False)[present].first()
    else:
        first = pd.DataFrame(index=pd.Index(frame[key].drop_duplicates(), name=key))
    for column in columns:
        if column not in present:
            first[column] = pd.Series(index=first.index, dtype=frame[column].dtype)
    return first[columns]


def fill_inferred_families(conn: duckdb.DuckDBPyConnection) -> None:
    """Models still without a family get the one their name implies.

    Run once per load, after all its facts: a family given by any record of the load wins over the
    inferred one, however the load was split into chunks.
    """
    names = [row[0] for row in conn.execute("SELECT model_name FROM models WHERE model_family IS NULL").fetchall()]
    inferred = pd.DataFrame({"model_name": names, "model_family": [infer_model_family(n) for n in names]},
                            columns=["model_name", "model_family"]).dropna()
    if inferred.empty:
        return
    with registered(conn, "stage_families", inferred):
        conn.execute("UPDATE models SET model_family = s.model_family FROM stage_families s "
                     "WHERE models.model_name = s.model_name")


_FINGERPRINT_COLUMNS = ["hardware_type", "device_name", "memory_gb", "compute_units", "driver_version"]


def _with_fingerprint(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame.assign(fingerprint=pd.Series(dtype="string"))
    has_hw = frame["hardware_type"].notna()
    fingerprint = pd.Series(pd.NA, index=frame.index, dtype="string")
    if has_hw.any():
        # A batch has few distinct platforms: fingerprint each once, then map back by row.
        with_hw = frame.loc[has_hw, _FINGERPRINT_COLUMNS] if not has_hw.all() else frame[_FINGERPRINT_COLUMNS]
        first, codes = _distinct_rows(with_hw)
        distinct = hardware_fingerprint(with_hw.iloc[first]).to_numpy()
        fingerprint[has_hw] = distinct[codes]
    out = frame.copy(deep=False)  # shares the columns; only the new one is allocated
    out["fingerprint"] = fingerprint
    return out


def _distinct_rows(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The position of each distinct row's first occurrence, and each row's distinct-row number.

    One pass of per-column codes instead of a groupby and a drop_duplicates over the whole frame (a
    million rows of a handful of platforms); missing values count as one value, as in a groupby with
    ``dropna=False``.
    """
    combined, distinct = np.zeros(len(frame), dtype=np.int64), 1
    for column in frame.columns:
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=False)
        if distinct * (len(uniques) + 1) >= 2**62:  # renumber before the codes could overflow
            combined, seen = pd.factorize(combined)
            distinct = len(seen)
        combined = combined * (len(uniques) + 1) + codes
        distinct *= len(uniques) + 1
    _values, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # number the distinct rows in order of appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse]


def _upsert_hardware(conn: duckdb.DuckDBPyConnection, frames: list[pd.DataFrame]) -> None:
    """New platforms in, by ``hardware_key`` (the warehouse's macro over the typed columns); then
    ``stage_hardware_ids`` maps this batch's fingerprints (labels, unique within the batch) to ids."""
    parts = [f[["fingerprint"] + _HARDWARE_COLUMNS] for f in frames if not f.empty]
    hardware = (pd.concat(parts, ignore_index=True).dropna(subset=["fingerprint"]) if parts
                else pd.DataFrame(columns=["fingerprint"] + _HARDWARE_COLUMNS))
    hardware = hardware.drop_duplicates("fingerprint").rename(columns={"hardware_metadata": "metadata"})
    with registered(conn, "stage_hardware", hardware):
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE stage_platforms AS SELECT *, hardware_key(hardware_type, device_name, "
            "memory_gb, compute_units, driver_version) AS hardware_key FROM stage_hardware"
        )
    conn.execute(
        "INSERT INTO hardware_platforms (hardware_key, fingerprint, hardware_type, device_name, platform, "
        "platform_version, driver_version, memory_gb, compute_units, metadata) "
        "SELECT hardware_key, fingerprint, hardware_type, device_name, platform, platform_version, driver_version, "
        "memory_gb, compute_units, metadata FROM stage_platforms s ANTI JOIN hardware_platforms h USING (hardware_key)"
    )
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE stage_hardware_ids AS SELECT s.fingerprint, h.hardware_id, h.hardware_key "
        "FROM stage_platforms s JOIN hardware_platforms h USING (hardware_key)"
    )
    conn.execute("DROP TABLE stage_platforms")


# --- facts -------------------------------------------------------------------------------------

_PROVENANCE = "f.source_path, f.sha256, ?, ?, coalesce(s.is_simulated, false), s.simulation_reason"
_PROVENANCE_COLUMNS = "source_path, source_sha256, ingestion_run_id, ingested_at, is_simulated, simulation_reason"


def write_facts(conn: duckdb.DuckDBPyConnection, batch: ValidatedBatch, run_id: str, now: datetime) -> None:
    """Dimensions and facts of every record in the batch, no ledger (quarantine replay lands records with it)."""
    perf = _with_fingerprint(batch.performance)
    compat = _with_fingerprint(batch.compatibility)
    integ = _with_fingerprint(batch.integration)
    llm = _with_fingerprint(batch.llm_serving)
    _upsert_models(conn, [perf, compat, integ, llm])
    _upsert_hardware(conn, [perf, compat, integ, llm])
    try:
        with registered(conn, "stage_files", batch.files[["file_id", "source_path", "sha256"]]):
            runs = _write_test_runs(conn, {"performance": perf, "compatibility": compat, "integration": integ,
                                           LLM_SERVING: llm}, run_id, now)
            with registered(conn, "stage_runs", runs):
                params = [run_id, now]
                if not perf.empty:
                    _insert_performance(conn, perf, batch, params)
                if not compat.empty:
                    _insert_compatibility(conn, compat, params)
                if not integ.empty:
                    _insert_integration(conn, integ, batch, params)
                if not llm.empty:
                    _insert_llm_serving(conn, llm, params)
                if not batch.failures.empty:
                    _insert_failures(conn, batch.failures, params)
    finally:
        conn.execute("DROP TABLE IF EXISTS stage_hardware_ids")


def _insert_compatibility(conn: duckdb.DuckDBPyConnection, compat: pd.DataFrame, params: list) -> None:
    with registered(conn, "s", compat):
        conn.execute(
            "INSERT INTO hardware_compatibility (compatibility_id, run_id, model_id, model_family, hardware_id, "
            "is_compatible, detection_success, initialization_success, error_message, error_type, suggested_fix, "
            "workaround_available, compatibility_score, metadata, run_time, time_source, extra, record_index, "
            f"{_PROVENANCE_COLUMNS}) "
            "SELECT nextval('seq_compatibility_id'), r.run_id, m.model_id, "
            "CASE WHEN m.model_id IS NULL THEN s.model_family END, h.hardware_id, "
            "coalesce(s.is_compatible, false), s.detection_success, s.initialization_success, s.error_message, "
            "s.error_type, s.suggested_fix, s.workaround_available, "
            "coalesce(s.compatibility_score, CASE WHEN s.is_compatible THEN 1.0 ELSE 0.0 END), s.metadata, "
            f"s.run_time, s.time_source, s.extra, s.record_index, {_PROVENANCE} "
            "FROM s JOIN stage_files f USING (file_id) JOIN stage_runs r ON r.file_id = s.file_id "
            "AND r.test_type = 'compatibility' LEFT JOIN models m ON m.model_name = s.model_name "
            "JOIN stage_hardware_ids h ON h.fingerprint = s.fingerprint ORDER BY s.file_id, s.record_index",
            params,
        )


def _insert_failures(conn: duckdb.DuckDBPyConnection, failures: pd.DataFrame, params: list) -> None:
    with registered(conn, "s", failures):
        conn.execute(
            "INSERT INTO benchmark_failures (failure_id, run_id, model_name, hardware_type, error_type, "
            "error_message, error_traceback, stage, batch_size, run_time, time_source, record_index, "
            f"{_PROVENANCE_COLUMNS}) SELECT nextval('seq_failure_id'), NULL, "
            "coalesce(s.model_name, s.model_family), s.hardware_type, s.error_type, s.error_message, "
            "s.error_traceback, s.stage, s.batch_size, s.run_time, s.time_source, s.record_index, "
            f"{_PROVENANCE} FROM s JOIN stage_files f USING (file_id) ORDER BY s.file_id, s.record_index",
            params,
        )


def _write_test_runs(conn: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame], run_id: str,
                     now: datetime) -> pd.DataFrame:
    """One test run per file and test type; returns (file_id, test_type, run_id) for the facts to join."""
    runs = []
    for test_type, frame in frames.items():
        if frame.empty:
            continue
        grouped = frame.groupby("file_id")
        summary = grouped.agg(started_at=("run_time", "min"), completed_at=("run_time", "max"),
                              record_count=("record_index", "size"))
        summary = summary.join(_first_per_group(frame, "file_id", ["test_name", "git_commit", "git_branch",
                                                                   "time_source"])).reset_index()
        summary["test_type"] = test_type
        runs.append(summary)
    if not runs:
        return pd.DataFrame({"file_id": pd.Series(dtype="int64"), "test_type": pd.Series(dtype="string"),
                             "run_id": pd.Series(dtype="int64")})
    stage = pd.concat(runs, ignore_index=True)
    with registered(conn, "stage_runs_raw", stage):
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE stage_runs_ids AS SELECT nextval('seq_run_id') AS run_id, r.*, "
            "f.source_path, f.sha256 FROM stage_runs_raw r JOIN stage_files f USING (file_id)"
        )
        conn.execute(
            "INSERT INTO test_runs (run_id, test_name, test_type, started_at, completed_at, time_source, git_commit, "
            "git_branch, record_count, source_path, source_sha256, ingestion_run_id, ingested_at) "
            "SELECT run_id, coalesce(test_name, regexp_extract(source_path, '[^/]+$')), test_type, started_at, "
            "completed_at, time_source, git_commit, git_branch, record_count, source_path, sha256, ?, ? "
            "FROM stage_runs_ids",
            [run_id, now],
        )
    ids = conn.execute("SELECT file_id, test_type, run_id FROM stage_runs_ids").df()
    conn.execute("DROP TABLE stage_runs_ids")
    return ids


# What the performance inserts read from the staged frame: DuckDB scans every column of a registered
# frame, and the unused text columns (mostly empty) would double the cost of the scan.
_PERF_STAGE_COLUMNS = [
    "file_id", "record_index", "model_name", "fingerprint", "test_case", "batch_size", "sequence_length", "precision",
    "run_time", "time_source", "total_time_seconds", "average_latency_ms", "latency_p50_ms", "latency_p90_ms",
    "latency_p95_ms", "latency_p99_ms", "throughput_items_per_second", "memory_peak_mb", "power_watts",
    "energy_joules", "items_per_joule", "iterations", "warmup_iterations", "metrics", "extra", "is_simulated",
    "simulation_reason",
]


def _insert_performance(conn: duckdb.DuckDBPyConnection, perf: pd.DataFrame, batch: ValidatedBatch,
                        params: list) -> None:
    with registered(conn, "s", perf[_PERF_STAGE_COLUMNS]):
        staged = (
            "SELECT nextval('seq_result_id') AS result_id, r.run_id, m.model_id, h.hardware_id, s.*, "
            "f.source_path, f.sha256 "
            "FROM s JOIN stage_files f USING (file_id) JOIN stage_runs r ON r.file_id = s.file_id "
            "AND r.test_type = 'performance' JOIN models m ON m.model_name = s.model_name "
            "JOIN stage_hardware_ids h ON h.fingerprint = s.fingerprint ORDER BY s.file_id, s.record_index"
        )
        # The child rows need the new result ids: only then is the staged result kept as a table.
        has_children = not (batch.batch_results.empty and batch.power_metrics.empty)
        if has_children:
            conn.execute(f"CREATE OR REPLACE TEMP TABLE stage_perf AS {staged}")
        conn.execute(
            "INSERT INTO performance_results (result_id, run_id, model_id, hardware_id, test_case, batch_size, "
            "sequence_length, precision, run_time, time_source, total_time_seconds, average_latency_ms, "
            "latency_p50_ms, latency_p90_ms, latency_p95_ms, latency_p99_ms, throughput_items_per_second, "
            "memory_peak_mb, power_watts, energy_joules, items_per_joule, iterations, warmup_iterations, metrics, "
            f"extra, record_index, {_PROVENANCE_COLUMNS}) "
            "SELECT result_id, run_id, model_id, hardware_id, coalesce(test_case, 'default'), coalesce(batch_size, 1), "
            "sequence_length, precision, run_time, time_source, total_time_seconds, average_latency_ms, "
            "latency_p50_ms, latency_p90_ms, latency_p95_ms, latency_p99_ms, throughput_items_per_second, "
            "memory_peak_mb, power_watts, energy_joules, items_per_joule, iterations, warmup_iterations, metrics, "
            "extra, record_index, source_path, sha256, ?, ?, coalesce(is_simulated, false), simulation_reason "
            f"FROM {'stage_perf' if has_children else '(' + staged + ')'}",
            params,
        )
    if not has_children:
        return
    if not batch.batch_results.empty:
        with registered(conn, "c", batch.batch_results):
            conn.execute(
                "INSERT INTO performance_batch_results (batch_id, result_id, batch_index, batch_size, latency_ms, "
                f"memory_usage_mb, throughput_items_per_second, {_PROVENANCE_COLUMNS}) "
                "SELECT nextval('seq_batch_id'), p.result_id, coalesce(c.batch_index, c.child_index), "
                "coalesce(c.batch_size, p.batch_size), c.latency_ms, c.memory_usage_mb, c.throughput_items_per_second, "
                "p.source_path, p.sha256, ?, ?, coalesce(p.is_simulated, false), p.simulation_reason "
                "FROM c JOIN stage_perf p USING (file_id, record_index) ORDER BY p.result_id, c.child_index",
                params,
            )
    if not batch.power_metrics.empty:
        with registered(conn, "c", batch.power_metrics):
            conn.execute(
                "INSERT INTO power_metrics (metric_id, result_id, run_id, model_id, hardware_id, power_watts_avg, "
                "power_watts_peak, power_watts_idle, energy_joules, temperature_celsius, monitoring_duration_ms, "
                f"items_per_joule, thermal_throttling_detected, battery_impact_percent_per_hour, {_PROVENANCE_COLUMNS}) "
                "SELECT nextval('seq_power_metric_id'), p.result_id, p.run_id, p.model_id, p.hardware_id, "
                "c.power_watts_avg, c.power_watts_peak, c.power_watts_idle, c.energy_joules, c.temperature_celsius, "
                "c.monitoring_duration_ms, c.items_per_joule, c.thermal_throttling_detected, "
                "c.battery_impact_percent_per_hour, p.source_path, p.sha256, ?, ?, coalesce(p.is_simulated, false), "
                "p.simulation_reason FROM c JOIN stage_perf p USING (file_id, record_index) ORDER BY p.result_id",
                params,
            )
    conn.execute("DROP TABLE stage_perf")


def _insert_integration(conn: duckdb.DuckDBPyConnection, integ: pd.DataFrame, batch: ValidatedBatch,
                        params: list) -> None:
    with registered(conn, "s", integ):
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE stage_integ AS SELECT nextval('seq_test_result_id') AS test_result_id, "
            "r.run_id, m.model_id, h.hardware_id, s.*, f.source_path, f.sha256 "
            "FROM s JOIN stage_files f USING (file_id) JOIN stage_runs r ON r.file_id = s.file_id "
            "AND r.test_type = 'integration' LEFT JOIN models m ON m.model_name = s.model_name "
            "LEFT JOIN stage_hardware_ids h ON h.fingerprint = s.fingerprint ORDER BY s.file_id, s.record_index"
        )
    conn.execute(
        "INSERT INTO integration_test_results (test_result_id, run_id, test_module, test_class, test_name, status, "
        "execution_time_seconds, hardware_id, model_id, error_message, error_traceback, metadata, run_time, "
        f"time_source, extra, record_index, {_PROVENANCE_COLUMNS}) "
        "SELECT test_result_id, run_id, test_module, test_class, test_name, status, execution_time_seconds, "
        "hardware_id, model_id, error_message, error_traceback, metadata, run_time, time_source, extra, "
        "record_index, source_path, sha256, ?, ?, coalesce(is_simulated, false), simulation_reason FROM stage_integ",
        params,
    )
    if not batch.assertions.empty:
        with registered(conn, "c", batch.assertions):
            conn.execute(
                "INSERT INTO integration_test_assertions (assertion_id, test_result_id, assertion_index, "
                f"assertion_name, passed, expected_value, actual_value, message, {_PROVENANCE_COLUMNS}) "
                "SELECT nextval('seq_assertion_id'), p.test_result_id, c.child_index, "
                "coalesce(c.assertion_name, 'assertion_' || c.child_index), c.passed, c.expected_value, "
                "c.actual_value, c.message, p.source_path, p.sha256, ?, ?, coalesce(p.is_simulated, false), "
                "p.simulation_reason FROM c JOIN stage_integ p USING (file_id, record_index) "
                "ORDER BY p.test_result_id, c.child_index",
                params,
            )
    conn.execute("DROP TABLE stage_integ")


# What the LLM inserts read from the staged frame, besides the metric columns.
_LLM_COLUMNS = [
    "tool", "tool_version", "source_record", "workload_type", "dataset", "input_tokens_mean", "output_tokens_mean",
    "input_tokens_configured", "output_tokens_configured", "batch_size", "concurrency", "request_rate",
    "num_prompts", "completed", "failed", "duration_s",
]
_LLM_STAGE_COLUMNS = [
    "file_id", "record_index", "model_name", "fingerprint", "run_time", "time_source", *_LLM_COLUMNS,
    "concurrency_unbounded", "request_rate_unbounded", "gpu_count", "memory_gb", "cost_per_hour_usd", "provider",
    "instance_type", "spot", "framework", "framework_version", "framework_capabilities", "quantization",
    "quantization_bits", "precision", "weights_format", *metric_columns(), "energy_joules", "power_watts",
    "memory_peak_mb", "metrics", "notes", "filled_from", "tool_extra", "extra", "is_simulated", "simulation_reason",
]
# VRAM a model version needs, GB of 2**30 bytes: lib/llm/hardware.py vram_required_gb over the models table.
_VRAM_SQL = f"m.parameters_million * 1e6 * {{bits}} / 8 * {VRAM_OVERHEAD!r} / {2 ** 30}"


def _insert_llm_serving(conn: duckdb.DuckDBPyConnection, llm: pd.DataFrame, params: list) -> None:
    """LLM runs with their dimensions: the model as served, the hardware as configured, the framework.

    Each dimension row is found by its key macro (migrations 0008, 0009) over typed values and names, never surrogate ids, so the same version,
    configuration or framework named by any later file is the same row.
    """
    with registered(conn, "s", llm[_LLM_STAGE_COLUMNS]):
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE stage_llm AS SELECT nextval('seq_llm_result_id') AS result_id, r.run_id, "
            "m.model_id, h.hardware_id, s.*, f.source_path, f.sha256, "
            "model_version_key(m.model_name, s.quantization, s.quantization_bits, s.weights_format, s.precision) "
            "AS version_key, hardware_config_key(h.hardware_key, s.gpu_count, s.provider, s.instance_type, s.spot, "
            "s.cost_per_hour_usd) AS config_key, CASE WHEN s.framework IS NOT NULL THEN "
            "framework_key(s.framework, s.framework_version) END AS framework_key "
            "FROM s JOIN stage_files f USING (file_id) JOIN stage_runs r ON r.file_id = s.file_id "
            f"AND r.test_type = '{LLM_SERVING}' JOIN models m ON m.model_name = s.model_name "
            "JOIN stage_hardware_ids h ON h.fingerprint = s.fingerprint ORDER BY s.file_id, s.record_index"
        )
    conn.execute(
        "INSERT INTO inference_frameworks (framework_key, name, version, capabilities) "
        "SELECT framework_key, any_value(framework), any_value(framework_version), "
        "first(framework_capabilities ORDER BY result_id) FILTER (WHERE framework_capabilities IS NOT NULL) "
        "FROM stage_llm WHERE framework_key IS NOT NULL AND framework_key NOT IN "
        "(SELECT framework_key FROM inference_frameworks) GROUP BY framework_key ORDER BY min(result_id)"
    )
    conn.execute(
        "UPDATE inference_frameworks SET capabilities = s.capabilities FROM (SELECT framework_key, "
        "first(framework_capabilities ORDER BY result_id) AS capabilities FROM stage_llm WHERE "
        "framework_capabilities IS NOT NULL GROUP BY framework_key) s "
        "WHERE inference_frameworks.framework_key = s.framework_key AND inference_frameworks.capabilities IS NULL"
    )
    conn.execute(
        "INSERT INTO model_versions (version_key, model_id, quantization, bits, weights_format, precision, "
        "vram_required_gb) SELECT l.version_key, any_value(l.model_id), any_value(l.quantization), "
        f"any_value(l.quantization_bits), any_value(l.weights_format), any_value(l.precision), "
        f"any_value({_VRAM_SQL.format(bits='l.quantization_bits')}) "
        "FROM stage_llm l JOIN models m USING (model_id) WHERE l.version_key NOT IN "
        "(SELECT version_key FROM model_versions) GROUP BY l.version_key ORDER BY min(l.result_id)"
    )
    # A version stored before its model's size was known gets its VRAM once the size is.
    conn.execute(
        f"UPDATE model_versions SET vram_required_gb = {_VRAM_SQL.format(bits='model_versions.bits')} FROM models m "
        "WHERE m.model_id = model_versions.model_id AND model_versions.vram_required_gb IS NULL "
        "AND model_versions.bits IS NOT NULL AND m.parameters_million IS NOT NULL"
    )
    conn.execute(
        "INSERT INTO hardware_configurations (config_key, hardware_id, gpu_count, vram_total_gb, cost_per_hour_usd, "
        "provider, instance_type, spot) SELECT config_key, any_value(hardware_id), any_value(gpu_count), "
        "any_value(memory_gb * gpu_count), any_value(cost_per_hour_usd), any_value(provider), "
        "any_value(instance_type), any_value(spot) FROM stage_llm WHERE config_key NOT IN "
        "(SELECT config_key FROM hardware_configurations) GROUP BY config_key ORDER BY min(result_id)"
    )
    columns = ", ".join(_LLM_COLUMNS + list(metric_columns()))
    picked = ", ".join(f"l.{c}" for c in _LLM_COLUMNS + list(metric_columns()))
    conn.execute(
        "INSERT INTO llm_serving_results (result_id, run_id, model_id, hardware_id, model_version_id, "
        f"hardware_config_id, framework_id, run_time, time_source, {columns}, concurrency_unbounded, "
        "request_rate_unbounded, energy_joules, power_watts, memory_peak_mb, metrics, notes, filled_from, extra, "
        f"record_index, {_PROVENANCE_COLUMNS}) "
        "SELECT l.result_id, l.run_id, l.model_id, l.hardware_id, v.model_version_id, c.hardware_config_id, "
        f"fw.framework_id, l.run_time, l.time_source, {picked}, coalesce(l.concurrency_unbounded, false), "
        "coalesce(l.request_rate_unbounded, false), l.energy_joules, l.power_watts, l.memory_peak_mb, "
        "coalesce(l.metrics, '{}'), l.notes, l.filled_from, CASE WHEN l.extra IS NULL THEN l.tool_extra "
        "WHEN l.tool_extra IS NULL THEN l.extra ELSE json_merge_patch(l.tool_extra, l.extra) END, l.record_index, "
        "l.source_path, l.sha256, ?, ?, coalesce(l.is_simulated, false), l.simulation_reason "
        "FROM stage_llm l JOIN model_versions v ON v.version_key = l.version_key "
        "JOIN hardware_configurations c ON c.config_key = l.config_key "
        "LEFT JOIN inference_frameworks fw ON fw.framework_key = l.framework_key ORDER BY l.result_id",
        params,
    )
    conn.execute("DROP TABLE stage_llm")


# --- ledger and quarantine ---------------------------------------------------------------------

def _write_ledger(conn: duckdb.DuckDBPyConnection, files: pd.DataFrame, plan: pd.DataFrame,
                  outcomes: pd.DataFrame, run_id: str, now: datetime) -> None:
    # The kubo-v1 CID computed from the bytes the ingest read.
    with_cid = files[["source_path", "size_bytes", "file_id", "problem", "detail"]].assign(
        cid=files["cid"].astype(object),
        ingest_context=(files[CONTEXT_COLUMN] if CONTEXT_COLUMN in files else pd.Series(None, index=files.index))
        .astype(object))
    unchanged = outcomes["status"] == UNCHANGED
    if unchanged.any() and with_cid["cid"].notna().any():
        # An unchanged version already has its row; fill its CID if it was ledgered before CIDs were kept.
        with registered(conn, "stage_cids", outcomes.loc[unchanged, ["source_path", "sha256"]].merge(
                    with_cid[["source_path", "cid"]].dropna(), on="source_path")):
            conn.execute(
                "UPDATE ingestion_ledger SET cid = s.cid FROM stage_cids s WHERE ingestion_ledger.cid IS NULL "
                "AND ingestion_ledger.source_path = s.source_path AND ingestion_ledger.sha256 = s.sha256"
            )
    changed = outcomes[~unchanged & (outcomes["status"] != SKIPPED)].merge(with_cid, on="source_path")
    if changed.empty:
        return
    with registered(conn, "stage_ledger", changed):
        # A version that was superseded or retracted and now comes back gets its ledger row back.
        conn.execute(
            "UPDATE ingestion_ledger SET status = s.status, reason = s.reason, records_total = s.records_total, "
            "records_quarantined = s.records_quarantined, rows_written = s.rows_written, duplicate_of = s.duplicate_of, "
            "status_changed_at = ?, ingestion_run_id = ?, cid = coalesce(ingestion_ledger.cid, s.cid), "
            "ingest_context = s.ingest_context, "
            "history = coalesce(history || '; ', '') || ingestion_ledger.status || ' -> ' || s.status || ' by run ' || ? "
            "FROM stage_ledger s WHERE ingestion_ledger.source_path = s.source_path "
            "AND ingestion_ledger.sha256 = s.sha256",
            [now, run_id, run_id],
        )
        conn.execute(
            "INSERT INTO ingestion_ledger (source_path, sha256, size_bytes, detected_type, status, reason, "
            "records_total, records_quarantined, rows_written, duplicate_of, first_seen_at, status_changed_at, "
            "ingestion_run_id, cid, ingest_context) SELECT s.source_path, s.sha256, s.size_bytes, s.detected_type, "
            "s.status, s.reason, s.records_total, s.records_quarantined, s.rows_written, s.duplicate_of, ?, ?, ?, s.cid, "
            "s.ingest_context "
            "FROM stage_ledger s ANTI JOIN ingestion_ledger l USING (source_path, sha256) ORDER BY s.file_id",
            [now, now, run_id],
        )


def write_quarantine(conn: duckdb.DuckDBPyConnection, batch: ValidatedBatch, file_ids: set[int],
                     run_id: str, now: datetime) -> None:
    """Quarantine rows of the ingested files: record problems and whole-file problems."""
    files = batch.files[batch.files["file_id"].isin(file_ids)]
    record_rows = batch.quarantine[batch.quarantine["file_id"].isin(file_ids)]
    file_rows = files[files["problem"].notna()].assign(
        category=files["category"], record_index=pd.NA, field=None, value=None,
        reason=files["problem"] + ": " + files["detail"].fillna(""), record_json=None,
    )[["file_id", "category", "record_index", "field", "value", "reason", "record_json"]]
    rows = pd.concat([r for r in (record_rows, file_rows) if not r.empty], ignore_index=True) \
        if not (record_rows.empty and file_rows.empty) else None
    if rows is None:
        return
    rows = rows.merge(files[["file_id", "source_path", "sha256"]], on="file_id")
    rows["record_index"] = rows["record_index"].astype("Int64")
    with registered(conn, "stage_quarantine", rows):
        conn.execute(
            "INSERT INTO quarantine (quarantine_id, source_path, source_sha256, category, record_index, field, value, "
            "reason, record, ingestion_run_id, quarantined_at) SELECT nextval('seq_quarantine_id'), source_path, "
            "sha256, category, record_index, field, value, reason, record_json, ?, ? FROM stage_quarantine "
            "ORDER BY file_id, record_index",
            [run_id, now],
        )
