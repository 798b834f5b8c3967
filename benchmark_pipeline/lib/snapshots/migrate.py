"""Bring existing DuckDB files under snapshots: back up, snapshot, then prove the snapshot is the file.

The original tool "verified" by comparing a CID it had just written into a sidecar with itself.
Here the check is independent: every block of the new snapshot is re-hashed, and the live file is
hashed again from disk under its writer lock; its CID must equal the snapshot's database CID.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from benchmark_pipeline.lib.content.unixfs import get_profile, import_path
from benchmark_pipeline.lib.warehouse.connection import DEFAULT_LOCK_TIMEOUT_S, writer_lock

from .errors import SnapshotError
from .store import Manifest, SnapshotStore, backup_file, create_snapshot, verify_snapshot


@dataclass
class MigrateOutcome:
    manifest: Manifest
    backup: Path | None
    blocks: int
    created: bool


def migrate_database(
    store: SnapshotStore,
    db_path: str | os.PathLike[str],
    backup: bool = True,
    run_id: str | None = None,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
) -> MigrateOutcome:
    db_path = Path(db_path).resolve()
    if not db_path.is_file():
        raise SnapshotError(f"{db_path}: no such database file")
    backup_path = None
    if backup:
        with writer_lock(db_path, lock_timeout_s):
            backup_path = backup_file(db_path, "pre-snapshot")
    result = create_snapshot(store, db_path, run_id=run_id, lock_timeout_s=lock_timeout_s)
    live = _live_cid(db_path, result.manifest, lock_timeout_s)
    if not result.created and live != result.manifest.database_cid:
        # Same data as the last snapshot but other bytes (DuckDB files are not reproducible): the
        # promise is a snapshot of this very file, so take one.
        result = create_snapshot(store, db_path, run_id=run_id, force=True, lock_timeout_s=lock_timeout_s)
        live = _live_cid(db_path, result.manifest, lock_timeout_s)
    manifest = result.manifest
    report = verify_snapshot(store, manifest)
    if live != manifest.database_cid:
        raise SnapshotError(f"{db_path} changed while it was being snapshotted: live CID {live}, "
                            f"snapshot {manifest.cid} holds {manifest.database_cid}; run migrate again")
    return MigrateOutcome(manifest, backup_path, report.blocks, result.created)


def _live_cid(db_path: Path, manifest: Manifest, lock_timeout_s: float):
    with writer_lock(db_path, lock_timeout_s):
        return import_path(db_path, get_profile(manifest.data["profile"])).cid
