"""Maintenance through the service: validate, optimize, clean-json, backups with retention, the restore drill.

The rules are the library's (``lib/warehouse/maintenance.py``, ``lib/snapshots/retention.py``); here they
meet the warehouse under the service's discipline: checks read through a read-only connection, optimize
and the removal of files hold the writer lock, a backup is a verified snapshot before anything is pruned,
and the drill restores into a file of its own, never the live one.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from benchmark_pipeline.lib.content.blockstore import fsync_dir
from benchmark_pipeline.lib.content.errors import ContentError
from benchmark_pipeline.lib.snapshots.errors import SnapshotError
from benchmark_pipeline.lib.snapshots.node import KuboRpcClient
from benchmark_pipeline.lib.snapshots.repair import check_history
from benchmark_pipeline.lib.snapshots.retention import (RetentionPolicy, RetentionReport, apply_retention,
                                                        parse_time, plan_retention)
from benchmark_pipeline.lib.snapshots.store import Manifest, SnapshotResult, SnapshotStore
from benchmark_pipeline.lib.warehouse.connection import WarehouseMissingError, open_reader, writer_lock
from benchmark_pipeline.lib.warehouse.maintenance import (ARCHIVE, EXAMPLES, KEEP, REMOVE, CheckResult, CleanDecision,
                                                          CompactionError,
                                                          Finding, JsonFile, archive_file, changes_since,
                                                          compact_copy, compaction_temp, database_bytes,
                                                          decide_cleanup, ledger_versions, newest_change,
                                                          refresh_statistics, remove_file, remove_stale_compactions,
                                                          restat, scan_json_files, validate_warehouse, with_hash)

# The seed's recovery objectives (docs of the original system: "RTO < 4 hours, RPO < 1 hour").
RTO_GOAL_S = 4 * 3600.0
RPO_GOAL_S = 3600.0
DAY_S = 86400.0


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if value else None


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * DAY_S:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / DAY_S:.1f} days"


# --- reports -------------------------------------------------------------------------------------------


@dataclass
class ValidationReport:
    target: str
    checks: list[CheckResult]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def problems(self) -> int:
        return sum(c.problems for c in self.checks)

    def lines(self) -> list[str]:
        return [c.line() for c in self.checks]

    def to_dict(self) -> dict[str, Any]:
        return {"warehouse": self.target, "ok": self.ok, "problems": self.problems,
                "seconds": round(self.seconds, 3), "checks": [c.to_dict() for c in self.checks]}


@dataclass
class OptimizeReport:
    warehouse: str
    bytes_before: int
    bytes_after_checkpoint: int
    bytes_after: int
    statements: list[str]
    compacted: bool
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        return self.bytes_before - self.bytes_after

    def to_dict(self) -> dict[str, Any]:
        return {"warehouse": self.warehouse, "bytes_before": self.bytes_before,
                "bytes_after_checkpoint": self.bytes_after_checkpoint, "bytes_after": self.bytes_after,
                "bytes_freed": self.bytes_freed, "statements": list(self.statements), "compacted": self.compacted,
                "seconds": round(self.seconds, 3), "notes": list(self.notes)}


@dataclass
class CleanReport:
    decisions: list[CleanDecision]
    older_than_days: float
    applied: bool
    archive: str | None
    done: list[tuple[CleanDecision, str | None]] = field(default_factory=list)  # (decision, archive path)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, why)

    @property
    def removable(self) -> list[CleanDecision]:
        return [d for d in self.decisions if d.action in (REMOVE, ARCHIVE)]

    @property
    def kept(self) -> list[CleanDecision]:
        return [d for d in self.decisions if d.action == KEEP]

    def kept_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for d in self.kept:
            counts[d.why] = counts.get(d.why, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def summary(self) -> str:
        verb = {REMOVE: "removed", ARCHIVE: f"moved to {self.archive}"}
        go = ARCHIVE if self.archive else REMOVE
        if self.applied:
            head = f"{len(self.done)} file(s) {verb[go]} ({sum(d.file.size for d, _ in self.done):,} bytes)"
        else:
            head = (f"dry run: {len(self.removable)} file(s) would be {verb[go]} "
                    f"({sum(d.file.size for d in self.removable):,} bytes); nothing changed (add --apply)")
        kept = ", ".join(f"{n} {why}" for why, n in self.kept_by_reason().items())
        tail = f"; {len(self.kept)} kept: {kept}" if self.kept else "; none kept"
        failed = f"; {len(self.failed)} failed" if self.failed else ""
        return head + tail + failed

    def to_dict(self) -> dict[str, Any]:
        done = {d.file.path: target for d, target in self.done}
        files = []
        for d in self.decisions:
            item = d.to_dict()
            if self.applied and d.action != KEEP:
                item["done"] = d.file.path in done
                item["archived_to"] = done.get(d.file.path)
            files.append(item)
        return {"applied": self.applied, "older_than_days": self.older_than_days, "archive": self.archive,
                "summary": self.summary(), "kept_by_reason": self.kept_by_reason(), "files": files,
                "failed": [{"path": p, "why": w} for p, w in self.failed]}


@dataclass
class BackupReport:
    snapshot: SnapshotResult | None  # None: a dry run, nothing taken
    retention: RetentionReport
    published: bool = False
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        snap = None
        if self.snapshot is not None:
            m = self.snapshot.manifest
            snap = {"cid": str(m.cid), "created": self.snapshot.created, "created_at": m.created_at,
                    "size_bytes": m.size, "seconds": round(self.snapshot.seconds, 3), "notes": list(self.snapshot.notes)}
        r = self.retention
        return {"snapshot": snap, "published": self.published, "warning": self.warning,
                "policy": r.policy.describe(), "dry_run": r.dry_run,
                "kept": [{"cid": str(m.cid), "created_at": m.created_at, "why": why} for m, why in r.kept],
                "pruned": [{"cid": str(m.cid), "created_at": m.created_at} for m in r.pruned],
                "blocks_removed": r.blocks_removed, "bytes_removed": r.bytes_removed, "notes": list(r.notes)}


@dataclass
class DrillReport:
    snapshot: str
    snapshot_taken_at: datetime
    bytes: int
    restore_s: float
    validate_s: float
    validation: ValidationReport
    now: datetime
    snapshot_newest: datetime | None  # the newest ledger change the snapshot holds
    live_newest: datetime | None  # the same in the live warehouse (None: no live warehouse, or an empty ledger)
    live_changes_after: int | None  # live ledger rows changed after the snapshot's newest (None: no live warehouse)
    rto_goal_s: float = RTO_GOAL_S
    rpo_goal_s: float = RPO_GOAL_S
    notes: list[str] = field(default_factory=list)

    @property
    def rto_s(self) -> float:
        """Time to get a validated warehouse back: restore (every block verified) plus validation."""
        return self.restore_s + self.validate_s

    @property
    def rpo_basis(self) -> str:
        return "live warehouse" if self.live_changes_after is not None else "now"

    @property
    def rpo_s(self) -> float:
        """The recovery point achieved: how far back in time restoring this snapshot now would set the data.

        The snapshot holds the warehouse as it was when taken. If the live ledger changed after the newest
        change the snapshot holds, everything written since the snapshot was taken is at stake: the RPO is
        the snapshot's age. If nothing changed since, restoring it loses nothing: 0. Without a live warehouse
        to compare with, nothing is known about later writes: the snapshot's age.
        """
        if self.live_changes_after == 0:
            return 0.0
        return max(0.0, (self.now - self.snapshot_taken_at).total_seconds())

    @property
    def rto_met(self) -> bool:
        return self.rto_s < self.rto_goal_s

    @property
    def rpo_met(self) -> bool:
        return self.rpo_s < self.rpo_goal_s

    @property
    def ok(self) -> bool:
        return self.validation.ok and self.rto_met and self.rpo_met

    def lines(self) -> list[str]:
        age = (self.now - self.snapshot_taken_at).total_seconds()
        data_age = _span((self.now - self.snapshot_newest).total_seconds()) if self.snapshot_newest else None
        newest = f"its newest data is {data_age} old" if data_age else "its ledger is empty"
        if self.live_changes_after is None:
            why = f"no live warehouse to compare with; the snapshot is {_span(age)} old, {newest}"
        elif self.live_changes_after == 0:
            why = f"the live warehouse holds nothing newer than the snapshot ({newest})"
        else:
            live_age = _span((self.now - self.live_newest).total_seconds()) if self.live_newest else "?"
            why = (f"{self.live_changes_after} live ledger change(s) are newer than the snapshot, taken {_span(age)} "
                   f"ago ({newest}; the live warehouse's is {live_age} old)")
        return [
            f"snapshot    {self.snapshot}, taken {_iso(self.snapshot_taken_at)} ({_span(age)} ago), {self.bytes:,} bytes",
            f"restore     {self.restore_s:.2f} s (every block verified, into a temporary file)",
            *(f"  {line}" for line in self.validation.lines()),
            f"validate    {self.validate_s:.2f} s: {'ok' if self.validation.ok else f'{self.validation.problems} problems'}",
            f"RTO         {_span(self.rto_s)} (restore + validate); goal < {_span(self.rto_goal_s)}: "
            f"{'met' if self.rto_met else 'MISSED'}",
            f"RPO         {_span(self.rpo_s)}: {why}; goal < {_span(self.rpo_goal_s)}: "
            f"{'met' if self.rpo_met else 'MISSED'}",
        ]

    def to_dict(self) -> dict[str, Any]:
        return {"snapshot": self.snapshot, "snapshot_taken_at": _iso(self.snapshot_taken_at), "bytes": self.bytes,
                "restore_s": round(self.restore_s, 3), "validate_s": round(self.validate_s, 3),
                "rto_s": round(self.rto_s, 3), "rto_goal_s": self.rto_goal_s, "rto_met": self.rto_met,
                "rpo_s": round(self.rpo_s, 3), "rpo_goal_s": self.rpo_goal_s, "rpo_met": self.rpo_met,
                "rpo_basis": self.rpo_basis, "snapshot_age_s": round((self.now - self.snapshot_taken_at).total_seconds(), 3),
                "snapshot_newest_change": _iso(self.snapshot_newest),
                "live_newest_change": _iso(self.live_newest), "live_changes_after_snapshot": self.live_changes_after,
                "now": _iso(self.now), "ok": self.ok, "validation": self.validation.to_dict(),
                "notes": list(self.notes)}


def snapshot_check(store: SnapshotStore) -> CheckResult:
    """The snapshot chain and blockstore as ``snapshot verify --all`` sees them: every manifest read, every
    block of every snapshot that still has its data re-hashed (``repair.check_history``)."""
    try:
        head = store.head()
    except SnapshotError as exc:
        return CheckResult("snapshots", str(store.root), [Finding("HEAD is unreadable", 1, [str(exc)])])
    if head is None:
        return CheckResult("snapshots", f"no snapshots in {store.root}", notes=["nothing to restore from yet"])
    try:
        history = check_history(store)
    except ContentError as exc:
        return CheckResult("snapshots", str(store.root), [Finding("the history cannot be read", 1, [str(exc)])])
    counts = history.counts()
    n = len(history.entries)
    result = CheckResult("snapshots", f"{n} snapshot{'' if n == 1 else 's'} in {store.root}: {counts['ok']} verified "
                                      f"block by block, {counts['pruned']} pruned")
    if history.damaged:
        result.findings.append(Finding(
            "damaged snapshots (`benchmark-db snapshot repair` drops them)", len(history.damaged),
            [f"{e.cid}: {e.detail}" for e in history.damaged[:EXAMPLES]]))
    return result


class MaintenanceMixin:
    """Mixed into ``BenchmarkService``: needs ``db_path``, ``read_timeout_s``, ``lock_timeout_s``, ``reader``,
    ``writer``, ``snapshot``, ``restore`` and ``publish``."""

    db_path: Path
    read_timeout_s: float | None
    lock_timeout_s: float

    # -- validate ----------------------------------------------------------------------------------

    def validate(self, store: SnapshotStore | None = None) -> ValidationReport:
        """Schema, invariants, orphans, the ledger against the facts and (given a store) the snapshot chain."""
        started = time.monotonic()
        with self.reader() as conn:  # type: ignore[attr-defined]
            checks = validate_warehouse(conn)
        if store is not None:
            checks.append(snapshot_check(store))
        return ValidationReport(str(self.db_path), checks, time.monotonic() - started)

    # -- optimize ----------------------------------------------------------------------------------

    def optimize(self, compact: bool = False) -> OptimizeReport:
        """``ANALYZE`` and ``FORCE CHECKPOINT`` under the writer lock; with ``compact``, then rewrite the file
        compactly (``COPY FROM DATABASE``, checked) and swap it in, still under the lock."""
        if not self.db_path.is_file():
            raise WarehouseMissingError(f"{self.db_path}: no warehouse here yet (run an ingest first)")
        started = time.monotonic()
        before = database_bytes(self.db_path)
        with self.writer() as conn:  # type: ignore[attr-defined]
            statements = refresh_statistics(conn)
        after_checkpoint = database_bytes(self.db_path)
        notes: list[str] = []
        if compact:
            with writer_lock(self.db_path, self.lock_timeout_s):
                stale = remove_stale_compactions(self.db_path)
                if stale:
                    notes.append(f"removed {len(stale)} copy(ies) a killed compaction left")
                wal = self.db_path.with_name(self.db_path.name + ".wal")
                if wal.exists() and wal.stat().st_size:
                    raise CompactionError(f"{wal}: a write-ahead log remains after the checkpoint; not compacted")
                free, needed = shutil.disk_usage(self.db_path.parent).free, self.db_path.stat().st_size
                if free < needed:
                    raise OSError(errno.ENOSPC, f"{self.db_path.parent}: {free:,} bytes free, the compacted copy "
                                                f"may need up to {needed:,}; nothing was changed")
                tmp = compaction_temp(self.db_path)
                try:
                    compact_copy(self.db_path, tmp)
                    os.replace(tmp, self.db_path)
                finally:
                    tmp.unlink(missing_ok=True)
                fsync_dir(self.db_path.parent)
            statements.append("COPY FROM DATABASE (compacted copy swapped in)")
        return OptimizeReport(str(self.db_path), before, after_checkpoint, database_bytes(self.db_path), statements,
                              compact, time.monotonic() - started, notes)

    # -- clean-json --------------------------------------------------------------------------------

    def clean_json(self, paths: Iterable[str | os.PathLike[str]], older_than_days: float,
                   archive: str | os.PathLike[str] | None = None, apply: bool = False,
                   now: float | None = None) -> CleanReport:
        """Remove (or move into ``archive``) the ``*.json`` files under ``paths`` whose current bytes the ledger
        proves ingested and that are older than ``older_than_days``; a dry run unless ``apply``.

        The plan reads the warehouse read-only. Applying takes the writer lock (so no ingest or retract
        changes the ledger meanwhile) and, file by file, reads the file again and checks the ledger again
        before it is touched: a file that changed since the plan is kept.
        """
        if not older_than_days >= 0:
            raise ValueError(f"--older-than must be a number of days >= 0, got {older_than_days!r}")
        if not self.db_path.is_file():
            raise WarehouseMissingError(f"{self.db_path}: no warehouse here yet, so no file is proven ingested")
        archive_dir = Path(archive).resolve() if archive is not None else None
        older_than_s = older_than_days * DAY_S
        now = time.time() if now is None else now
        found = scan_json_files(paths, exclude=archive_dir)
        with self.reader() as conn:  # type: ignore[attr-defined]
            ledgers = ledger_versions(conn, found)
        files = [with_hash(f) if f.path in ledgers else f for f in found]
        decisions = decide_cleanup(files, ledgers, older_than_s, now, archive=archive_dir is not None)
        report = CleanReport(decisions, older_than_days, apply, str(archive_dir) if archive_dir else None)
        if apply and report.removable:
            self._apply_cleanup(report, older_than_s, now, archive_dir)
        return report

    def _apply_cleanup(self, report: CleanReport, older_than_s: float, now: float, archive_dir: Path | None) -> None:
        by_path = {d.file.path: i for i, d in enumerate(report.decisions)}
        with self.writer() as conn:  # type: ignore[attr-defined]
            fresh: list[JsonFile] = []
            for d in report.removable:
                current = restat(d.file)
                if current is None:
                    report.failed.append((d.file.path, "gone before it could be removed"))
                    continue
                fresh.append(with_hash(current))
            checked = decide_cleanup(fresh, ledger_versions(conn, fresh), older_than_s, now,
                                     archive=archive_dir is not None)
            for decision in checked:
                report.decisions[by_path[decision.file.path]] = decision  # what the last check said
                if decision.action == KEEP:
                    continue
                try:
                    target = archive_file(decision.file, archive_dir) if archive_dir else None
                    if archive_dir is None:
                        remove_file(decision.file)
                except OSError as exc:
                    report.failed.append((decision.file.path, exc.strerror or str(exc)))
                    continue
                report.done.append((decision, str(target) if target else None))

    # -- backups -----------------------------------------------------------------------------------

    def backup(self, store: SnapshotStore, policy: RetentionPolicy = RetentionPolicy(), run_id: str | None = None,
               node: KuboRpcClient | None = None, required: bool = False, dry_run: bool = False) -> BackupReport:
        """Take a verified snapshot, publish it if a node is set, then prune what ``policy`` does not keep.

        Nothing is pruned unless the new snapshot was taken and verified (a failed backup raises first).
        ``dry_run``: take nothing, prune nothing, report what the policy would keep and prune now.
        """
        if dry_run:
            return BackupReport(None, plan_retention(store, policy))
        result = self.snapshot(store, run_id=run_id)  # type: ignore[attr-defined]
        published, warning = store.published(result.manifest) is not None, None
        if not published and node is not None:
            published, warning = self.publish(store, result.manifest, node, required=required)  # type: ignore[attr-defined]
        retention = apply_retention(store, policy, self.lock_timeout_s)
        return BackupReport(result, retention, published, warning)

    # -- restore drill -----------------------------------------------------------------------------

    def restore_drill(self, store: SnapshotStore, snapshot: str = "HEAD", workdir: str | os.PathLike[str] | None = None,
                      node: KuboRpcClient | None = None, rto_goal_s: float = RTO_GOAL_S,
                      rpo_goal_s: float = RPO_GOAL_S) -> DrillReport:
        """Restore a snapshot (default: the newest) into a temporary file, validate it, and measure RTO and RPO.

        The live warehouse is only read (its newest change, for the RPO); the restored copy is deleted
        afterwards. Raises ``SnapshotError`` when there is no such snapshot or it cannot be restored.
        """
        if store.head() is None:
            raise SnapshotError(f"no snapshots in {store.root}: nothing to restore (take one with "
                                "`benchmark-db maintenance backup`)")
        manifest: Manifest = store.resolve(snapshot)
        with tempfile.TemporaryDirectory(prefix="benchmark-restore-drill-", dir=workdir) as scratch:
            target = Path(scratch) / self.db_path.name
            started = time.monotonic()
            restored = self.restore(store, manifest, target, node=node)  # type: ignore[attr-defined]
            restore_s = time.monotonic() - started
            started = time.monotonic()
            with open_reader(target, self.read_timeout_s) as conn:
                checks = validate_warehouse(conn)
                snapshot_newest = newest_change(conn)
            validate_s = time.monotonic() - started
        validation = ValidationReport(f"{target} (restored, removed since)", checks, validate_s)
        live_newest = changes = None
        notes = list(restored.notes)
        if self.db_path.is_file():
            with self.reader() as conn:  # type: ignore[attr-defined]
                live_newest = newest_change(conn)
                changes = changes_since(conn, snapshot_newest)
        else:
            notes.append(f"no live warehouse at {self.db_path}: RPO measured against now")
        return DrillReport(str(manifest.cid), parse_time(manifest.created_at), restored.bytes, restore_s, validate_s,
                           validation, datetime.now(timezone.utc), snapshot_newest, live_newest, changes,
                           rto_goal_s, rpo_goal_s, notes)
