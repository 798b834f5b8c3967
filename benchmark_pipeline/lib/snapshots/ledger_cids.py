"""Record the IPFS CID of each ledgered result file, so a file version can be fetched by content.

An ingest computes the CID from the bytes it has already read for the sha256 (``lib.content.file_cid``) and
writes it with the ledger row. ``record_file_cids`` / ``backfill_file_cids`` fill it in afterwards for
rows that have none (e.g. from before schema v3): there the CID is computed from the file as it is on
disk now, so it is recorded only when the file still has the sha256 the ledger saw at ingest; a file
edited since then gets no CID rather than the CID of different bytes. Both hashes come from one read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import duckdb

from benchmark_pipeline.lib.content.file_cid import file_cid


def record_file_cids(
    conn: duckdb.DuckDBPyConnection,
    paths_and_shas: Iterable[tuple[str | os.PathLike[str], str]],
    base_dir: str | os.PathLike[str] | None = None,
) -> int:
    """Fill ``ingestion_ledger.cid`` for these file versions where it is still NULL; return rows updated.

    Relative ledger paths resolve against ``base_dir`` (default: the working directory, which is
    what the ingest made them relative to). Unreadable or since-modified files are skipped.
    """
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    wanted = {(str(p), str(s)) for p, s in paths_and_shas}
    if not wanted:
        return 0
    pending = conn.execute(
        "SELECT DISTINCT source_path, sha256 FROM ingestion_ledger WHERE cid IS NULL"
    ).fetchall()
    updates = []
    for source_path, sha in pending:
        if (source_path, sha) not in wanted:
            continue
        path = Path(source_path)
        if not path.is_absolute():
            path = base / path
        try:
            cid, actual_sha = file_cid(path)
        except OSError:
            continue
        if actual_sha == sha:
            updates.append([cid, source_path, sha])
    if updates:
        conn.executemany(
            "UPDATE ingestion_ledger SET cid = ? WHERE source_path = ? AND sha256 = ? AND cid IS NULL", updates
        )
    return len(updates)


def backfill_file_cids(conn: duckdb.DuckDBPyConnection, base_dir: str | os.PathLike[str] | None = None) -> int:
    """``record_file_cids`` for every ledger row still without a CID (e.g. rows from before schema v3)."""
    rows = conn.execute("SELECT source_path, sha256 FROM ingestion_ledger WHERE cid IS NULL").fetchall()
    return record_file_cids(conn, rows, base_dir)
