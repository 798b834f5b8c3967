"""The snapshot lines of the warehouse status: how many snapshots there are and which is the newest."""

from __future__ import annotations

from benchmark_pipeline.lib.warehouse.status import WarehouseStatus

from .errors import SnapshotError
from .store import DamagedManifest, SnapshotStore


def add_snapshot_summary(status: WarehouseStatus, store: SnapshotStore) -> None:
    """Fill ``status``'s snapshot fields from ``store``; an unreadable or damaged history becomes a note, not an error."""
    status.snapshots_dir = str(store.root)
    if not store.head_path.exists():
        return
    try:
        chain = store.chain()
    except SnapshotError as exc:
        status.notes.append(f"snapshots: {exc}")
        return
    history = [e for e in chain if not isinstance(e, DamagedManifest)]
    damaged = len(chain) - len(history)
    if damaged:
        status.notes.append(f"snapshots: {damaged} damaged history entr{'y' if damaged == 1 else 'ies'} "
                            "(see `benchmark-db snapshot verify --all`, then `snapshot repair`)")
    status.snapshots = len(history)
    status.snapshot_head = str(history[0].cid) if history else None
