"""One ingest from paths to the warehouse, as the command line runs it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import duckdb
import pandas as pd

from benchmark_pipeline.lib.snapshots.ledger_cids import record_file_cids

from benchmark_pipeline.lib.warehouse.connection import open_reader, open_writer
from benchmark_pipeline.lib.warehouse.load import LoadResult, load_batch, outcomes_for, read_ledger
from benchmark_pipeline.lib.warehouse.plan import plan_files

from .batch import ValidatedBatch, discover, read_and_validate


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
    """Write a validated batch; each file version's content address (CID) goes into the ledger with it.

    The CIDs come from the bytes the batch read (the files frame's ``cid`` column); files without one
    (frames staged by an older version) get it from disk afterwards, as ``record_file_cids`` does.
    """
    result = load_batch(conn, batch, run_id, now)
    files = batch.files
    missing = files["source_path"] if "cid" not in files.columns else files.loc[files["cid"].isna(), "source_path"]
    if len(missing):
        todo = result.outcomes[result.outcomes["source_path"].isin(set(missing))]
        record_file_cids(conn, todo[["source_path", "sha256"]].itertuples(index=False, name=None))
    return result


def ingest_paths(
    paths: Iterable[str], db_path: Path, category: str | None = None, dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Discover, validate and (unless ``dry_run``) load; a dry run opens the warehouse read-only, if at all."""
    run_id = new_cli_run_id()
    discovered = discover(paths, category)
    now = datetime.now(timezone.utc)
    batch = read_and_validate(discovered.files, seen_at=now, progress=progress)
    if dry_run:
        ledger = pd.DataFrame(columns=["source_path", "sha256", "status"])
        if db_path.exists():
            with open_reader(db_path) as conn:
                ledger = read_ledger(conn)
        outcomes = outcomes_for(batch, plan_files(batch.files, ledger))
        quarantine = batch.quarantine.merge(batch.files[["file_id", "source_path"]], on="file_id")
        result = LoadResult(outcomes, quarantine.drop(columns=["file_id", "record_json"]))
    else:
        with open_writer(db_path) as conn:
            result = store_batch(conn, batch, run_id, now)
    failures = batch.failures.merge(batch.files[["file_id", "source_path"]], on="file_id")
    return IngestReport(result, discovered.skipped, dry_run, run_id,
                        failures.groupby("source_path").size().to_dict())
