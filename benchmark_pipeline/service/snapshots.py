"""Snapshots through the service: the two operations that touch the warehouse file (taking a snapshot
of it, replacing it by one) and the history the Python API reports.

The snapshot store (manifests and blockstore) and the IPFS node are the caller's configuration (the
CLI's options, Dagster's resources), passed in; the warehouse and its lock are the service's.
"""

from __future__ import annotations

from pathlib import Path

from benchmark_pipeline.lib.content.unixfs import DEFAULT_PROFILE, Profile
from benchmark_pipeline.lib.snapshots.node import KuboRpcClient, fetching_getter, try_publish
from benchmark_pipeline.lib.snapshots.store import (
    Manifest,
    RestoreResult,
    SnapshotResult,
    SnapshotStore,
    create_snapshot,
    restore_snapshot,
)
from benchmark_pipeline.lib.warehouse.connection import WarehouseMissingError


class SnapshotsMixin:
    """Mixed into ``BenchmarkService``: needs ``db_path`` and ``lock_timeout_s``."""

    db_path: Path
    lock_timeout_s: float

    def snapshot(self, store: SnapshotStore, run_id: str | None = None, profile: Profile | str = DEFAULT_PROFILE,
                 force: bool = False) -> SnapshotResult:
        """Snapshot the warehouse unless its data is unchanged since the last snapshot (verified either way)."""
        if not self.db_path.is_file():
            raise WarehouseMissingError(f"{self.db_path}: no warehouse here to snapshot (run an ingest first)")
        return create_snapshot(store, self.db_path, run_id=run_id, profile=profile, force=force,
                               lock_timeout_s=self.lock_timeout_s)

    @staticmethod
    def publish(store: SnapshotStore, manifest: Manifest, node: KuboRpcClient | None,
                required: bool = False) -> tuple[bool, str | None]:
        """Pin a snapshot on the IPFS node (if one is configured): (published, warning when it could not be)."""
        return try_publish(store, manifest, node, required=required)

    def restore(self, store: SnapshotStore, manifest: Manifest, target: str | Path | None = None,
                node: KuboRpcClient | None = None) -> RestoreResult:
        """Replace the warehouse (or ``target``) by a snapshot, all checked before anything is replaced;
        blocks missing here are fetched from ``node`` and verified."""
        return restore_snapshot(store, manifest, self.db_path if target is None else target,
                                get=fetching_getter(store, node), lock_timeout_s=self.lock_timeout_s)
