"""Checking the whole snapshot history, and dropping what is damaged from it so that new work can go on.

``check_history`` reads every entry of the chain and every block of every snapshot that still has
its data (each distinct block once, however many snapshots share it), and says which entries are
damaged: a manifest that is missing or does not verify, or a snapshot whose blocks are missing or
corrupt (all of them are listed, not only the first). Pruned snapshots are not damage.

``repair_history`` drops the damaged entries from the chain. Manifests are content-addressed, so
a manifest cannot be edited: each intact manifest above a dropped entry is written again with
``previous`` naming the next intact one below it, ``relinked_from`` naming the manifest it
replaces, and ``dropped`` recording what was lost in between; HEAD then points at the newest
rewritten one. Old manifest CIDs still restore (their blocks are kept); the rewritten snapshots
are unpublished until pushed again. The blocks of dropped snapshots are left in the blockstore.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmark_pipeline.lib.content.cid import CID
from benchmark_pipeline.lib.content.errors import ContentError
from benchmark_pipeline.lib.content.unixfs import DEFAULT_PROFILE, get_profile
from benchmark_pipeline.lib.warehouse.connection import DEFAULT_LOCK_TIMEOUT_S

from .store import (
    BlockChecker,
    DamagedManifest,
    GetBlock,
    HistoryEntry,
    Manifest,
    SnapshotHealth,
    SnapshotStore,
    write_manifest,
)

OK = "ok"
PRUNED = "pruned"
DAMAGED = "damaged"


@dataclass
class EntryCheck:
    entry: HistoryEntry
    state: str  # ok / pruned / damaged
    detail: str
    health: SnapshotHealth | None = None

    @property
    def cid(self) -> CID:
        return self.entry.cid

    @property
    def damaged(self) -> bool:
        return self.state == DAMAGED

    @property
    def created_at(self) -> str:
        if isinstance(self.entry, Manifest):
            return self.entry.created_at
        return self.entry.salvaged.get("created_at", "")

    def lost(self) -> dict:
        """What dropping this entry loses, as recorded in the manifest that takes its place."""
        record = {"cid": str(self.cid), "problem": self.detail}
        if isinstance(self.entry, Manifest):
            record.update(created_at=self.entry.created_at, database=self.entry.database_path,
                          database_cid=str(self.entry.database_cid))
        else:
            record.update({k: v for k, v in self.entry.salvaged.items() if k in ("created_at", "database_path")})
        return record


@dataclass
class HistoryCheck:
    entries: list[EntryCheck]

    @property
    def damaged(self) -> list[EntryCheck]:
        return [e for e in self.entries if e.damaged]

    def counts(self) -> dict[str, int]:
        out = {OK: 0, PRUNED: 0, DAMAGED: 0}
        for entry in self.entries:
            out[entry.state] += 1
        return out


@dataclass
class RepairReport:
    check: HistoryCheck
    dropped: list[EntryCheck] = field(default_factory=list)
    relinked: list[tuple[CID, CID]] = field(default_factory=list)  # (old manifest, its rewrite)
    head: CID | None = None
    changed: bool = False
    notes: list[str] = field(default_factory=list)


def check_history(store: SnapshotStore, get: GetBlock | None = None) -> HistoryCheck:
    """Every entry of the chain with its state; damaged ones say exactly what is missing or corrupt."""
    checker = BlockChecker(get or store.blocks.get)
    journal_state = store.journal_state()
    entries = []
    for entry in store.chain():
        if isinstance(entry, DamagedManifest):
            entries.append(EntryCheck(entry, DAMAGED, entry.describe()))
            continue
        if store.state(entry, journal_state) == "pruned":
            entries.append(EntryCheck(entry, PRUNED, "data dropped by prune; the manifest is intact"))
            continue
        health = checker.check(entry)
        if health.ok:
            entries.append(EntryCheck(entry, OK, f"{health.blocks} blocks verified, database {health.size} bytes",
                                      health))
        else:
            entries.append(EntryCheck(entry, DAMAGED, f"snapshot {entry.cid} cannot be restored: {health.summary()}",
                                      health))
    return HistoryCheck(entries)


def _heal_manifests(store: SnapshotStore, get: GetBlock) -> list[str]:
    """Ask ``get`` (a node-backed getter) for each damaged manifest's block: one it supplies is stored again."""
    notes = []
    for entry in store.chain():
        if isinstance(entry, DamagedManifest):
            try:
                get(entry.cid)
            except ContentError:
                continue
            notes.append(f"manifest {entry.cid} was fetched again from the IPFS node")
    return notes


def repair_history(
    store: SnapshotStore,
    get: GetBlock | None = None,
    dry_run: bool = False,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
) -> RepairReport:
    """Drop every damaged entry from the chain and relink the rest (see the module docstring).

    ``get`` may fetch from an IPFS node: a block it supplies heals the snapshot instead of
    dropping it. ``dry_run`` reports what would be dropped and changes nothing.
    """
    if dry_run:
        check = check_history(store, get)
        return RepairReport(check, dropped=check.damaged, head=store.head())
    with store.chain_lock(lock_timeout_s):
        store._ensure_journal()
        notes = _heal_manifests(store, get) if get is not None else []
        check = check_history(store, get)
        report = RepairReport(check, head=store.head(), notes=notes)
        if not check.damaged:
            return report
        journal_state = store.journal_state()
        new_previous: CID | None = None
        gap: list[EntryCheck] = []
        for item in reversed(check.entries):  # oldest first
            if item.damaged:
                gap.append(item)
                continue
            manifest = item.entry
            assert isinstance(manifest, Manifest)
            if not gap and manifest.previous == new_previous:
                new_previous = manifest.cid
                continue
            body = dict(manifest.data)
            body["previous"] = str(new_previous) if new_previous is not None else None
            body["relinked_from"] = str(manifest.cid)
            if gap:
                body["dropped"] = list(manifest.data.get("dropped", [])) + [g.lost() for g in gap]
            profile = get_profile(manifest.data.get("profile", DEFAULT_PROFILE.name))
            rewritten = write_manifest(store, body, profile)
            records = [{"op": "relink", "cid": str(rewritten.cid), "from": str(manifest.cid),
                        "previous": body["previous"]}]
            if store.state(manifest, journal_state) == "pruned":
                records.append({"op": "prune", "cid": str(rewritten.cid)})
            store._journal_append(*records)
            report.relinked.append((manifest.cid, rewritten.cid))
            new_previous = rewritten.cid
            gap = []
        store._journal_append(*({"op": "drop", "cid": str(d.cid), "problem": d.detail} for d in check.damaged))
        store._set_head(new_previous)
        report.dropped = check.damaged
        report.head = new_previous
        report.changed = True
        return report
