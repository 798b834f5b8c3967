"""The service: every way into the warehouse (CLI, Dagster assets, Python API, REST) goes through here.

It owns the reader/writer discipline (readers open read-only and never take the writer lock; a writer
holds the OS lock beside the DuckDB file for its whole transaction) and what a write brings along: the
derived tables recomputed for what the write touched, inside the same transaction, so no caller can
leave them stale.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import duckdb
import pandas as pd

from benchmark_pipeline.config import Settings
from benchmark_pipeline.lib.analytics.refresh import RefreshReport, refresh_derived
from benchmark_pipeline.lib.batch_contract import ValidatedBatch
from benchmark_pipeline.lib.ingest.batch import discover, read_and_validate
from benchmark_pipeline.lib.ingest.limits import DEFAULT_MAX_FILE_MB, MB
from benchmark_pipeline.lib.ingest.parallel import CHUNK_BYTES, ValidatedChunks, paused_gc
from benchmark_pipeline.lib.llm.defaults import LlmDefaults
from benchmark_pipeline.lib.scope import Scope
from benchmark_pipeline.lib.warehouse.connection import (DEFAULT_LOCK_TIMEOUT_S, LockWait, WriterConnect,
                                                         disk_full_error, is_disk_full, open_reader, open_writer)
from benchmark_pipeline.lib.warehouse.load import BatchWriter, LoadResult, outcomes_for, read_ledger, scope_of_paths
from benchmark_pipeline.lib.warehouse.plan import FilePlanner, relative_spellings
from benchmark_pipeline.lib.warehouse.retract import (Retraction, adopt_relative_paths, check_active, check_ledgered,
                                                      ledger_candidates, retract)
from benchmark_pipeline.lib.warehouse.transaction import transaction

from .analytics import AnalyticsMixin
from .maintenance import MaintenanceMixin
from .regressions import RegressionsMixin
from .replay import ReplayResult, list_quarantine, replay
from .serving import ServingMixin
from .snapshots import SnapshotsMixin
from .web import WebMixin

# Records submitted through the API are ledgered under this scheme: the identity of a submission is the
# hash of its canonical JSON, so sending the same records again stores nothing twice.
SUBMISSION_SCHEME = "api://"
LEDGER_COLUMNS = ("status", "rows_written", "records_quarantined", "source_path", "sha256", "reason", "duplicate_of")
FACT_ID_COLUMNS = {"performance": ("performance_results", "result_id"),
                   "compatibility": ("hardware_compatibility", "compatibility_id"),
                   "integration": ("integration_test_results", "test_result_id")}


@dataclass
class IngestReport:
    result: LoadResult
    skipped: list[tuple[str, str]]
    dry_run: bool
    run_id: str
    failures_by_path: dict[str, int]
    refresh: RefreshReport | None = None
    # Only new facts, all under ``run_id`` (no file replaced an earlier version): what changed is exactly
    # the series of the rows of this run, which lets regression detection look at those alone.
    additions_only: bool = False

    @property
    def has_quarantine(self) -> bool:
        return bool(self.result.outcomes["status"].isin(["quarantined", "partial"]).any())


@dataclass
class Submission:
    """What became of records submitted through the API (one submission = one ledger entry)."""

    source_path: str  # api://<category>/<sha256 of the canonical JSON>
    status: str  # ledger status: ingested, partial, quarantined, or unchanged when sent before
    stored_ids: list[int]  # ids of the stored facts, in record order
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # record_index, field, value, reason

    @property
    def ok(self) -> bool:
        return not self.quarantined and bool(self.stored_ids)


def new_run_id(prefix: str = "cli") -> str:
    return f"{prefix}-{uuid.uuid4()}"


def canonical_json(records: Any) -> bytes:
    """The bytes a submission is identified by: sorted keys, no whitespace, UTF-8."""
    import orjson

    return orjson.dumps(records, option=orjson.OPT_SORT_KEYS)


class BenchmarkService(AnalyticsMixin, RegressionsMixin, ServingMixin, SnapshotsMixin, MaintenanceMixin, WebMixin):
    """One warehouse file and the rules for reaching it.

    ``connect_writer(db_path, timeout_s)`` opens the writer's read-write connection once the lock is
    held (Dagster passes dagster-duckdb's); the lock, migrations and transactions stay the service's.
    """

    def __init__(self, db_path: str | Path, *, read_timeout_s: float | None = None,
                 lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S, connect_writer: WriterConnect | None = None,
                 max_file_mb: float = DEFAULT_MAX_FILE_MB) -> None:
        self.db_path = Path(db_path)
        self.read_timeout_s = read_timeout_s
        self.lock_timeout_s = lock_timeout_s
        self.connect_writer = connect_writer
        self.max_file_mb = max_file_mb  # an ingest refuses larger files unread

    @classmethod
    def from_settings(cls, settings: Settings) -> "BenchmarkService":
        return cls(settings.db_path, read_timeout_s=settings.read_timeout_s, lock_timeout_s=settings.lock_timeout_s,
                   max_file_mb=settings.max_file_mb)

    # -- connections -----------------------------------------------------------------------------

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Read-only, no writer lock; waits out a writer's transaction (bounded by the read timeout)."""
        with open_reader(self.db_path, self.read_timeout_s) as conn:
            yield conn

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The single writer: the OS lock beside the file, then a migrated read-write connection."""
        with open_writer(self.db_path, self.lock_timeout_s, self.connect_writer) as conn:
            yield conn

    # -- ingest ----------------------------------------------------------------------------------

    def ingest_paths(
        self, paths: Iterable[str], category: str | None = None, dry_run: bool = False,
        progress: Callable[[int, int], None] | None = None, workers: int | None = None,
        chunk_bytes: int = CHUNK_BYTES, run_id: str | None = None, refresh: bool = True,
        also_refresh: Scope | None = None, lenient: bool = False, on_lock_wait: LockWait | None = None,
        llm: LlmDefaults | None = None,
    ) -> IngestReport:
        """Discover, validate and (unless ``dry_run``) load files, then bring the derived data up to date.

        Files are validated in chunks on ``workers`` processes (default: one per core) while this process
        writes the chunks already validated, all in one transaction; the derived tables are recomputed for
        what the load touched (and ``also_refresh``) before it commits. A dry run opens the warehouse
        read-only, if at all. ``lenient`` skips missing paths and files outside a category folder (with a
        reason in ``skipped``) instead of refusing the whole ingest: what a watched drop folder needs.

        Files larger than ``max_file_mb`` are skipped unread. A file is ledgered under its absolute real
        path; rows older ingests ledgered under a path relative to this working directory are taken over
        first (``adopt_relative_paths``). ``on_lock_wait(holder, timeout_s)`` is called if the writer lock
        is busy (see ``writer_lock``). A full disk raises ``WarehouseDiskFullError`` saying where.

        LLM-serving result files are recognised by content in any folder; ``llm`` fills what such a file does
        not say (its GPU, GPU count, framework, quantization, price), never what it does. A file refused for
        something missing is processed again when ingested with other ``llm`` values.
        """
        run_id = run_id or new_run_id()
        max_bytes = int(self.max_file_mb * MB)
        discovered = discover(paths, category, missing_ok=lenient, unknown_category_ok=lenient,
                              max_file_bytes=max_bytes)
        identities = discovered.files["source_path"].tolist()
        cwd = str(Path.cwd().resolve())
        now = datetime.now(timezone.utc)
        results: list[LoadResult] = []
        failures: Counter[str] = Counter()
        refreshed: list[RefreshReport] = []
        additions_only = False
        chunks = ValidatedChunks(discovered.files, now, workers, chunk_bytes, progress, max_file_bytes=max_bytes,
                                 llm_defaults=llm)
        with _disk_full_named(self.db_path), paused_gc(), chunks:
            if dry_run:
                ledger = pd.DataFrame(columns=["source_path", "sha256", "status"])
                if self.db_path.exists():
                    with self.reader() as conn:
                        ledger = read_ledger(conn)
                moves = relative_spellings(ledger["source_path"], identities, cwd)  # as the writer would adopt them
                ledger["source_path"] = [moves.get(path, path) for path in ledger["source_path"]]
                planner = FilePlanner(ledger)
                for batch in chunks:
                    quarantine = batch.quarantine.merge(batch.files[["file_id", "source_path"]], on="file_id")
                    results.append(LoadResult(outcomes_for(batch, planner.plan(batch.files)),
                                              quarantine.drop(columns=["file_id", "record_json"])))
                    failures.update(_failures_by_path(batch))
            else:
                with open_writer(self.db_path, self.lock_timeout_s, self.connect_writer, on_lock_wait) as conn, \
                        transaction(conn):
                    adopted = adopt_relative_paths(conn, identities, cwd, run_id, now)
                    with self._batch_writer(conn, run_id, now, refresh, refreshed,
                                            adopted if also_refresh is None else also_refresh.union(adopted)) as writer:
                        for batch in chunks:
                            results.append(writer.write(batch))
                            failures.update(_failures_by_path(batch))
                    additions_only = not writer.replaced
        return IngestReport(LoadResult.concat(results), discovered.skipped, dry_run, run_id, dict(failures),
                            refreshed[0] if refreshed else None, additions_only=not dry_run and additions_only)

    def ingest_records(self, category: str, records: list[dict[str, Any]] | dict[str, Any],
                       run_id: str | None = None, refresh: bool = True) -> Submission:
        """Store records as if they had been dropped as one file: same validation, quarantine and ledger.

        The submission's identity is the hash of its canonical JSON (``api://<category>/<sha256>``), so a
        retried call stores nothing twice and answers with the ids stored the first time.
        """
        if category not in FACT_ID_COLUMNS:
            raise ValueError(f"unknown category {category!r}; choose one of {', '.join(FACT_ID_COLUMNS)}")
        data = canonical_json(records)
        source_path = f"{SUBMISSION_SCHEME}{category}/{hashlib.sha256(data).hexdigest()}"
        files = pd.DataFrame({"source_path": [source_path], "category": [category]})
        now = datetime.now(timezone.utc)
        batch = read_and_validate(files, now, payloads={source_path: data})
        refreshed: list[RefreshReport] = []
        with self.writer() as conn:
            with self._batch_writer(conn, run_id or new_run_id("api"), now, refresh, refreshed) as writer:
                result = writer.write(batch)
            return self._submission(conn, FACT_ID_COLUMNS[category], source_path, result)

    def _submission(self, conn: duckdb.DuckDBPyConnection, facts: tuple[str, str], source_path: str,
                    result: LoadResult) -> Submission:
        table, id_column = facts
        status = str(result.outcomes["status"].iloc[0]) if not result.outcomes.empty else "unchanged"
        ids = [int(r[0]) for r in conn.execute(
            f"SELECT {id_column} FROM {table} WHERE source_path = ? ORDER BY record_index", [source_path]).fetchall()]
        rows = conn.execute(
            "SELECT record_index, field, value, reason FROM quarantine WHERE source_path = ? AND status = 'open' "
            "ORDER BY record_index NULLS FIRST", [source_path]).fetchall()
        quarantined = [{"record_index": None if r[0] is None else int(r[0]), "field": r[1], "value": r[2],
                        "reason": r[3]} for r in rows]
        if status == "unchanged":
            ledger = conn.execute("SELECT status FROM ingestion_ledger WHERE source_path = ? "
                                  "ORDER BY ledger_id DESC LIMIT 1", [source_path]).fetchall()
            status = f"unchanged ({ledger[0][0]})" if ledger else status
        return Submission(source_path, status, ids, quarantined)

    @contextmanager
    def _batch_writer(self, conn: duckdb.DuckDBPyConnection, run_id: str, now: datetime, refresh: bool,
                      refreshed: list[RefreshReport], also_refresh: Scope | None = None) -> Iterator[BatchWriter]:
        def bring_derived_along(writer: BatchWriter) -> None:
            # An empty scope still builds derived tables that do not exist yet.
            scope = writer.touched if also_refresh is None else writer.touched.union(also_refresh)
            if not writer.replaced and (also_refresh is None or also_refresh.is_empty):
                scope = replace(scope, added_by=writer.run_id)  # only this run's additions: narrow to their groups
            refreshed.append(refresh_derived(conn, scope))

        with BatchWriter(conn, run_id, now, before_commit=bring_derived_along if refresh else None) as writer:
            yield writer

    # -- taking back, second chances, what happened -----------------------------------------------

    def retract(self, paths: list[str], reason: str | None = None, run_id: str | None = None) -> list[Retraction]:
        """Take files' active versions out (facts deleted, ledger says why); all paths or none."""
        run_id = run_id or new_run_id("retract")
        with self.writer() as conn, transaction(conn):
            check_active(conn, paths)
            done = []
            for path in paths:
                scope = scope_of_paths(conn, ledger_candidates(path))
                done.append(retract(conn, path, run_id, reason))
                refresh_derived(conn, scope)
        return done

    def replay(self, file: str | None = None, run_id: str | None = None) -> ReplayResult:
        """Re-validate open quarantined records (of one ledgered file) with today's code; land those that pass."""
        with self.writer() as conn:
            if file:
                check_ledgered(conn, file)
            return replay(conn, file, run_id or new_run_id("replay"))

    def quarantine(self, file: str | None = None, status: str | None = "open") -> pd.DataFrame:
        """Quarantine rows (``status`` None: all of them), optionally of one ledgered file."""
        with self.reader() as conn:
            if file:
                check_ledgered(conn, file)
            return list_quarantine(conn, file, status)

    def ledger(self, status: str | None = None) -> tuple[list[str], list[tuple]]:
        """The ledger's rows (``LEDGER_COLUMNS``), oldest first, optionally of one status."""
        sql = f"SELECT {', '.join(LEDGER_COLUMNS)} FROM ingestion_ledger"
        params = [status] if status else []
        with self.reader() as conn:
            rows = conn.execute(sql + (" WHERE status = ?" if status else "") + " ORDER BY ledger_id", params).fetchall()
        return list(LEDGER_COLUMNS), rows

    # -- derived data ----------------------------------------------------------------------------

    def refresh(self, scope: Scope = Scope.everything()) -> RefreshReport:
        """Recompute the derived tables (all of them by default) in one transaction."""
        with self.writer() as conn, transaction(conn):
            return refresh_derived(conn, scope)


def ingest_paths(paths: Iterable[str], db_path: Path, category: str | None = None, dry_run: bool = False,
                 progress: Callable[[int, int], None] | None = None, workers: int | None = None,
                 chunk_bytes: int = CHUNK_BYTES, refresh: bool = True, llm: LlmDefaults | None = None) -> IngestReport:
    """``BenchmarkService(db_path).ingest_paths(...)``: the one-call form scripts and tests use."""
    return BenchmarkService(db_path).ingest_paths(paths, category, dry_run, progress, workers, chunk_bytes,
                                                  refresh=refresh, llm=llm)


@contextmanager
def _disk_full_named(db_path: Path) -> Iterator[None]:
    """A full device, however DuckDB or the OS reports it, as one error naming where to free space."""
    try:
        yield
    except (OSError, duckdb.Error) as exc:
        if is_disk_full(exc):
            raise disk_full_error(db_path) from exc
        raise


def _failures_by_path(batch: ValidatedBatch) -> dict[str, int]:
    failures = batch.failures.merge(batch.files[["file_id", "source_path"]], on="file_id")
    return failures.groupby("source_path").size().to_dict()
