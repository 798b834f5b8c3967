"""One ingest from paths to the warehouse, as the command line runs it."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import duckdb
import pandas as pd

from benchmark_pipeline.lib.snapshots.ledger_cids import record_file_cids

from benchmark_pipeline.lib.warehouse.connection import open_reader, open_writer
from benchmark_pipeline.lib.warehouse.load import BatchWriter, LoadResult, outcomes_for, read_ledger
from benchmark_pipeline.lib.warehouse.plan import FilePlanner

from .batch import ValidatedBatch, discover
from .parallel import CHUNK_BYTES, ValidatedChunks, paused_gc


@dataclass
class IngestReport:
    result: LoadResult
    skipped: list[tuple[str, str]]
    dry_run: bool
    run_id: str
    failures_by_path: dict[str, int]

    @property
    def has_quarantine(self) -> bool:
        return bool(self.result.outcomes["status"].isin(["quarantined", "partial"]).any())


def new_cli_run_id() -> str:
    return f"cli-{uuid.uuid4()}"


def store_batch(conn: duckdb.DuckDBPyConnection, batch: ValidatedBatch, run_id: str,
                now: datetime | None = None) -> LoadResult:
    """Write a validated batch in one transaction (see ``store_chunk``)."""
    with BatchWriter(conn, run_id, now) as writer:
        return store_chunk(writer, batch)


def store_chunk(writer: BatchWriter, batch: ValidatedBatch) -> LoadResult:
    """Write a validated batch (or chunk of one); each file version's CID goes into the ledger with it.

    The CIDs come from the bytes the batch read (the files frame's ``cid`` column); files without one
    (frames staged by an older version) get it from disk, as ``record_file_cids`` does.
    """
    result = writer.write(batch)
    files = batch.files
    missing = files["source_path"] if "cid" not in files.columns else files.loc[files["cid"].isna(), "source_path"]
    if len(missing):
        todo = result.outcomes[result.outcomes["source_path"].isin(set(missing))]
        record_file_cids(writer.conn, todo[["source_path", "sha256"]].itertuples(index=False, name=None))
    return result


def ingest_paths(
    paths: Iterable[str], db_path: Path, category: str | None = None, dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None, workers: int | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> IngestReport:
    """Discover, validate and (unless ``dry_run``) load; a dry run opens the warehouse read-only, if at all.

    Files are validated in chunks on ``workers`` processes (default: one per core) while the parent
    writes the chunks already validated, all in one transaction.
    """
    run_id = new_cli_run_id()
    discovered = discover(paths, category)
    now = datetime.now(timezone.utc)
    results: list[LoadResult] = []
    failures: Counter[str] = Counter()
    with paused_gc(), ValidatedChunks(discovered.files, now, workers, chunk_bytes, progress) as chunks:
        if dry_run:
            ledger = pd.DataFrame(columns=["source_path", "sha256", "status"])
            if db_path.exists():
                with open_reader(db_path) as conn:
                    ledger = read_ledger(conn)
            planner = FilePlanner(ledger)
            for batch in chunks:
                quarantine = batch.quarantine.merge(batch.files[["file_id", "source_path"]], on="file_id")
                results.append(LoadResult(outcomes_for(batch, planner.plan(batch.files)),
                                          quarantine.drop(columns=["file_id", "record_json"])))
                failures.update(_failures_by_path(batch))
        else:
            with open_writer(db_path) as conn, BatchWriter(conn, run_id, now) as writer:
                for batch in chunks:
                    results.append(store_chunk(writer, batch))
                    failures.update(_failures_by_path(batch))
    return IngestReport(LoadResult.concat(results), discovered.skipped, dry_run, run_id, dict(failures))


def _failures_by_path(batch: ValidatedBatch) -> dict[str, int]:
    failures = batch.failures.merge(batch.files[["file_id", "source_path"]], on="file_id")
    return failures.groupby("source_path").size().to_dict()
