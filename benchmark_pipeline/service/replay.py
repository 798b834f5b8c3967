"""Quarantined records given a second chance: re-validated with today's code, landed when they pass.

Quarantine keeps every rejected record verbatim (``quarantine.record``), so after a fix in the
code (a new alias, a unit, a hardware spelling) the stored records can be validated again without
the original files. Records that pass are written like any ingest (facts under a ``replay-...``
ingestion run id, their own ``test_runs`` row); their quarantine rows become ``replayed`` and the
file's ledger row is recounted, with the change in its history. Records that still fail stay open.
Whole-file problems (not JSON, not UTF-8, ...) have no stored record: re-ingest the fixed file.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb
import orjson
import pandas as pd

from benchmark_pipeline.lib.analytics.refresh import refresh_derived
from benchmark_pipeline.lib.batch_contract import FILE_COLUMNS
from benchmark_pipeline.lib.ingest.batch import validate_records
from benchmark_pipeline.lib.ingest.validate import CategoryRecords
from benchmark_pipeline.lib.normalize import timestamp_from_file_name
from benchmark_pipeline.lib.vocabulary import CATEGORIES
from benchmark_pipeline.lib.warehouse.load import fill_inferred_families, scope_of_batch, write_facts
from benchmark_pipeline.lib.warehouse.plan import file_status
from benchmark_pipeline.lib.warehouse.retract import ledger_candidates
from benchmark_pipeline.lib.warehouse.transaction import registered, transaction

REPLAYABLE_LEDGER = ("ingested", "partial", "quarantined")


@dataclass
class ReplayResult:
    run_id: str
    records_replayed: int  # distinct quarantined records re-validated
    records_landed: int
    still_failing: pd.DataFrame  # source_path, record_index, field, value, reason (from today's validation)
    file_level_skipped: int  # open whole-file quarantine rows, not replayable
    per_file: pd.DataFrame  # source_path, landed, still_quarantined, status


def list_quarantine(conn: duckdb.DuckDBPyConnection, file: str | None = None,
                    status: str | None = "open") -> pd.DataFrame:
    sql = ("SELECT quarantine_id, status, source_path, category, record_index, field, value, reason "
           "FROM quarantine WHERE true")
    params: list = []
    if status:
        sql += " AND status = ?"
        params.append(status)
    if file:
        candidates = ledger_candidates(file)
        sql += f" AND source_path IN ({', '.join('?' for _ in candidates)})"
        params += candidates
    return conn.execute(sql + " ORDER BY quarantine_id", params).df()


def replay(conn: duckdb.DuckDBPyConnection, file: str | None = None, run_id: str | None = None,
           now: datetime | None = None) -> ReplayResult:
    """Re-validate the open quarantined records (of one file, or all) and land those that now pass."""
    run_id = run_id or f"replay-{uuid.uuid4()}"
    now = now or datetime.now(timezone.utc)
    where, params = "", []
    if file:
        candidates = ledger_candidates(file)
        where = f" AND q.source_path IN ({', '.join('?' for _ in candidates)})"
        params = candidates
    open_rows = conn.execute(
        "SELECT q.quarantine_id, q.source_path, q.source_sha256, q.category, q.record_index, q.record, "
        "l.first_seen_at, l.size_bytes, l.detected_type FROM quarantine q JOIN ingestion_ledger l "
        "ON l.source_path = q.source_path AND l.sha256 = q.source_sha256 "
        f"WHERE q.status = 'open' AND l.status IN {REPLAYABLE_LEDGER!r}{where} ORDER BY q.quarantine_id",
        params,
    ).df()
    file_level = open_rows["record_index"].isna() | open_rows["record"].isna()
    records = open_rows[~file_level]
    empty = ReplayResult(run_id, 0, 0, pd.DataFrame(columns=["source_path", "record_index", "field", "value", "reason"]),
                         int(file_level.sum()), pd.DataFrame(columns=["source_path", "landed", "still_quarantined", "status"]))
    if records.empty:
        return empty

    unique = records.drop_duplicates(["source_path", "source_sha256", "category", "record_index"])
    file_keys = unique.drop_duplicates(["source_path", "source_sha256"]).reset_index(drop=True)
    file_keys["file_id"] = range(len(file_keys))
    files = pd.DataFrame({
        "file_id": file_keys["file_id"], "source_path": file_keys["source_path"], "category": file_keys["category"],
        "size_bytes": file_keys["size_bytes"], "sha256": file_keys["source_sha256"],
        "seen_at": pd.to_datetime(file_keys["first_seen_at"], utc=True),
        "file_name_time": pd.to_datetime([timestamp_from_file_name(p) for p in file_keys["source_path"]], utc=True),
        "problem": None, "detail": None, "records_total": 0, "detected_type": file_keys["detected_type"],
        "is_result": True, "note": None,
    })[FILE_COLUMNS]
    for column in ("seen_at", "file_name_time"):
        files[column] = files[column].astype("datetime64[us, UTC]")
    unique = unique.merge(file_keys[["source_path", "source_sha256", "file_id"]], on=["source_path", "source_sha256"])
    batches = {c: CategoryRecords() for c in CATEGORIES}
    for row in unique.itertuples(index=False):
        target = batches[row.category]
        target.records.append(orjson.loads(row.record))
        target.file_ids.append(int(row.file_id))
        target.record_indexes.append(int(row.record_index))
    batch = validate_records(files, batches)

    failing = batch.quarantine.dropna(subset=["record_index"])
    failing_keys = set(zip(failing["file_id"].astype(int), failing["category"], failing["record_index"].astype(int)))
    unique["passes"] = [(int(f), c, int(i)) not in failing_keys
                        for f, c, i in zip(unique["file_id"], unique["category"], unique["record_index"])]
    passed = unique[unique["passes"]]
    records = records.merge(unique[["source_path", "source_sha256", "category", "record_index", "passes"]],
                            on=["source_path", "source_sha256", "category", "record_index"])
    replayed_ids = records.loc[records["passes"], "quarantine_id"]

    with transaction(conn):
        write_facts(conn, batch, run_id, now)
        fill_inferred_families(conn)
        with registered(conn, "replayed_ids", pd.DataFrame({"quarantine_id": replayed_ids.astype("int64")})):
            conn.execute("UPDATE quarantine SET status = 'replayed' "
                         "WHERE quarantine_id IN (SELECT quarantine_id FROM replayed_ids)")
        per_file = _recount_ledger(conn, passed, file_keys, run_id, now)
        refresh_derived(conn, scope_of_batch(batch))
    still = failing.merge(files[["file_id", "source_path"]], on="file_id")
    return ReplayResult(run_id, len(unique), len(passed),
                        still[["source_path", "record_index", "field", "value", "reason"]].reset_index(drop=True),
                        int(file_level.sum()), per_file)


def _recount_ledger(conn: duckdb.DuckDBPyConnection, passed: pd.DataFrame, file_keys: pd.DataFrame,
                    run_id: str, now: datetime) -> pd.DataFrame:
    landed = passed.groupby(["source_path", "source_sha256"]).size()
    rows = []
    for key in file_keys.itertuples(index=False):
        n = int(landed.get((key.source_path, key.source_sha256), 0))
        status, total, quarantined, written = conn.execute(
            "SELECT status, records_total, records_quarantined, rows_written FROM ingestion_ledger "
            "WHERE source_path = ? AND sha256 = ?", [key.source_path, key.source_sha256]).fetchall()[0]
        still = max(int(quarantined) - n, 0)
        new_status = file_status(None, int(total), still)
        if n:
            conn.execute(
                "UPDATE ingestion_ledger SET status = ?, records_quarantined = ?, rows_written = ?, "
                "status_changed_at = ?, history = coalesce(history || '; ', '') || ? "
                "WHERE source_path = ? AND sha256 = ?",
                [new_status, still, int(written) + n, now,
                 f"{status} -> {new_status} by {run_id} ({n} quarantined records replayed)",
                 key.source_path, key.source_sha256],
            )
        rows.append({"source_path": key.source_path, "landed": n, "still_quarantined": still,
                     "status": new_status if n else status})
    return pd.DataFrame(rows, columns=["source_path", "landed", "still_quarantined", "status"])
