"""The snapshot lines of the warehouse status: how many snapshots there are and which is the newest."""

from __future__ import annotations

from benchmark_pipeline.lib.warehouse.status import WarehouseStatus

from .errors import SnapshotError
from .store import SnapshotStore


def add_snapshot_summary(status: WarehouseStatus, store: SnapshotStore) -> None:
    """Fill ``status``'s snapshot fields from ``store``; an unreadable history becomes a note, not an error."""
    status.snapshots_dir = str(store.root)
    if not store.head_path.exists():
        return
    try:
        history = store.history()
    except SnapshotError as exc:
        status.notes.append(f"snapshots: {exc}")
        return
    status.snapshots = len(history)
    status.snapshot_head = str(history[0].cid) if history else None
