"""Snapshots through the service: the two operations that touch the warehouse file (taking a snapshot
of it, replacing it by one), the history, and the answers the Python API and the REST API give for them.

The snapshot store (manifests and blockstore) and the IPFS node are the caller's configuration (the
CLI's options, Dagster's resources, or ``snapshot_store(settings)`` for the Python and REST APIs),
passed in; the warehouse and its lock are the service's.

A snapshot named by text is resolved here once for every front end, so that "not a CID" (the caller's
mistake), "no such snapshot" (nothing to act on) and "a damaged snapshot" (the store's problem) stay
three different errors: the REST API answers them 400, 404 and 409 from their types alone.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Callable

from benchmark_pipeline.config import Settings
from benchmark_pipeline.lib.content.blockstore import BlockStore
from benchmark_pipeline.lib.content.cid import CID, CidError
from benchmark_pipeline.lib.content.errors import ContentError
from benchmark_pipeline.lib.content.unixfs import DEFAULT_PROFILE, Profile
from benchmark_pipeline.lib.names import suggestion
from benchmark_pipeline.lib.snapshots.errors import SnapshotError
from benchmark_pipeline.lib.snapshots.node import KuboRpcClient, fetching_getter, node_client, try_publish
from benchmark_pipeline.lib.snapshots.store import (
    Manifest,
    RestoreResult,
    SnapshotResult,
    SnapshotStore,
    create_snapshot,
    restore_snapshot,
)
from benchmark_pipeline.lib.warehouse.connection import WarehouseMissingError

Guard = Callable[[], AbstractContextManager]


class SnapshotCidError(SnapshotError):
    """The text naming a snapshot is neither HEAD nor a CID: the caller's typo, nothing is wrong with the store."""


class UnknownSnapshotError(SnapshotError):
    """A well-formed name that matches no snapshot here (nor any snapshot's database or export): nothing to restore."""


class RestoreRefusedError(SnapshotError):
    """The snapshot exists but did not verify while being rebuilt; the warehouse was left as it was."""


def snapshot_store(settings: Settings) -> tuple[SnapshotStore, KuboRpcClient | None]:
    """The snapshot store and IPFS node ``settings`` configure (``NodeError`` for an unusable node URL).

    One construction for the Python and REST APIs, so both see the history the CLI lists by default.
    """
    root = settings.snapshots_dir
    return SnapshotStore(root, BlockStore(settings.blockstore_dir(root))), node_client(settings.ipfs)


def resolve_snapshot(store: SnapshotStore, text: str) -> Manifest:
    """The snapshot ``text`` names: HEAD, or a manifest, database or export CID.

    A name that is ours but unreadable (a damaged manifest, a data block named instead of a snapshot)
    stays the store's ``SnapshotError``: it must not pass for a typo.
    """
    if text.strip().upper() == "HEAD":
        if store.head() is None:
            raise UnknownSnapshotError(f"no snapshots yet in {store.root}: take one first")
        return store.resolve(text)
    try:
        cid = CID.parse(text.strip())
    except CidError as exc:
        raise SnapshotCidError(f"{text!r} is neither HEAD nor a CID ({exc}); name a snapshot by a cid, "
                               "database_cid or export_cid of the snapshot history") from None
    try:
        return store.resolve(text.strip())
    except ContentError:
        chain = store.chain()
        known = [c for m in chain for c in ((m.cid, m.database_cid, m.export_cid) if isinstance(m, Manifest)
                                            else (m.cid,))]
        if any((k.codec, k.digest) == (cid.codec, cid.digest) for k in known) or store.blocks.has(cid):
            raise
        names = [str(m.cid) for m in chain]
        raise UnknownSnapshotError(f"no snapshot {text.strip()} in {store.root}; "
                                   f"{suggestion(text.strip(), names, 'the snapshot history')}") from None


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

    @staticmethod
    def version_history(store: SnapshotStore) -> list[dict[str, Any]]:
        """The readable snapshots newest first (damaged entries are `snapshot verify --all`'s to report)."""
        journal_state = store.journal_state()  # once, not per snapshot: it reads the whole journal
        return [{"cid": str(m.cid), "created_at": m.created_at, "size_bytes": m.size,
                 "state": store.state(m, journal_state), "database_cid": str(m.database_cid),
                 "export_cid": str(m.export_cid), "row_counts": m.row_counts,
                 "previous": str(m.previous) if m.previous else None} for m in store.history()]

    def sync(self, store: SnapshotStore, node: KuboRpcClient | None, force: bool = False, required: bool = False,
             guard: Guard = nullcontext) -> dict[str, Any]:
        """Snapshot unless unchanged, then publish it if it is not yet: the Python and REST APIs' answer.

        ``guard`` is entered around the snapshot alone (the server's gate, which keeps its readers off the
        file while it is checkpointed); publishing only reads the blockstore and may wait on the node for
        a long time, so it runs outside it. A snapshot left unpublished by an earlier call is published by
        the next one, so retrying after a node failure is enough.
        """
        with guard():
            result = self.snapshot(store, force=force)
        manifest = result.manifest
        published, warning = store.published(manifest) is not None, None
        if not published:
            published, warning = self.publish(store, manifest, node, required=required)
        return {"cid": str(manifest.cid), "database_cid": str(manifest.database_cid),
                "export_cid": str(manifest.export_cid), "created": result.created, "published": published,
                "warning": warning, "notes": list(result.notes)}

    def restore_cid(self, store: SnapshotStore, cid: str = "HEAD", target: str | Path | None = None,
                    node: KuboRpcClient | None = None, guard: Guard = nullcontext) -> dict[str, Any]:
        """Restore the snapshot ``cid`` names (see ``resolve_snapshot``) into the warehouse or ``target``.

        ``guard`` is entered around the replacement only, not around naming the snapshot. A snapshot that
        does not verify is refused as ``RestoreRefusedError``, whose message says the target is unchanged.
        """
        manifest = resolve_snapshot(store, cid)
        destination = self.db_path if target is None else Path(target)
        with guard():
            try:
                result = self.restore(store, manifest, destination, node=node)
            except ContentError as exc:
                raise RestoreRefusedError(f"restore refused, {destination} left unchanged: {exc}") from None
        return {"cid": str(result.manifest.cid), "target": str(result.target), "bytes": result.bytes,
                "backup": str(result.backup) if result.backup else None, "notes": list(result.notes)}
