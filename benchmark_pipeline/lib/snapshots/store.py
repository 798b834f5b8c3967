"""Taking, listing, verifying, restoring and pruning snapshots of a DuckDB file.

Every read goes through the verifying blockstore, so a flipped byte or a missing block surfaces
as an error before anything is written where it matters. Restore writes the snapshot to a
temporary file beside the target and swaps it in with ``os.replace`` only once the whole file
has been rebuilt from verified blocks and checked against the manifest (size, row counts): the
live file is either untouched or entirely replaced, and its previous content is backed up first.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

import duckdb

from benchmark_pipeline.lib.content.blockstore import BlockStore, create_temp
from benchmark_pipeline.lib.content.car import write_car
from benchmark_pipeline.lib.content.cid import CID, DAG_PB, CidError
from benchmark_pipeline.lib.content.dagpb import DagPbError, decode_node
from benchmark_pipeline.lib.content.errors import BlockNotFoundError, ContentError, CorruptBlockError
from benchmark_pipeline.lib.content.unixfs import (
    DEFAULT_PROFILE,
    Profile,
    get_profile,
    import_bytes,
    import_path,
    iter_file,
    walk,
)
from benchmark_pipeline.lib.warehouse.connection import DEFAULT_LOCK_TIMEOUT_S, connect_with_retry, writer_lock

from .errors import SnapshotError
from .export import add_export, user_tables, write_export

MANIFEST_FORMAT = "benchmark-pipeline/snapshot-manifest/1"
GetBlock = Callable[[CID], bytes]


def _utc_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


@dataclass(frozen=True)
class Manifest:
    cid: CID
    data: dict

    @property
    def previous(self) -> CID | None:
        prev = self.data.get("previous")
        return CID.parse(prev) if prev else None

    @property
    def database_cid(self) -> CID:
        return CID.parse(self.data["database"]["cid"])

    @property
    def export_cid(self) -> CID:
        return CID.parse(self.data["export"]["cid"])

    @property
    def size(self) -> int:
        return int(self.data["database"]["size"])

    @property
    def database_path(self) -> str:
        return self.data["database"]["path"]

    @property
    def row_counts(self) -> dict[str, int]:
        return dict(self.data.get("row_counts", {}))

    @property
    def created_at(self) -> str:
        return self.data["created_at"]


@dataclass
class SnapshotResult:
    manifest: Manifest
    created: bool  # False: the export matched the last snapshot of this database, nothing new stored
    blocks: int = 0  # blocks of the database DAG
    blocks_new: int = 0  # of which were not in the blockstore yet
    blocks_reused: int = 0  # distinct blocks shared with the previous snapshot of the same database
    seconds: float = 0.0


@dataclass
class VerifyReport:
    manifest: Manifest
    blocks: int
    bytes: int


@dataclass
class RestoreResult:
    manifest: Manifest
    target: Path
    backup: Path | None
    bytes: int
    seconds: float


@dataclass
class PruneReport:
    kept: list[Manifest]
    pruned: list[Manifest]
    blocks_removed: int = 0
    bytes_removed: int = 0
    notes: list[str] = field(default_factory=list)


class SnapshotStore:
    """The snapshots folder: blockstore, manifest chain, HEAD and publication records.

    ``blocks`` defaults to ``blocks/`` inside the folder; the shell passes another blockstore when one
    is configured (``BENCHMARK_BLOCKS_DIR``).
    """

    def __init__(self, root: str | os.PathLike[str], blocks: BlockStore | None = None) -> None:
        self.root = Path(root)
        self.blocks = blocks if blocks is not None else BlockStore(self.root / "blocks")

    # -- chain -------------------------------------------------------------------------------
    @property
    def head_path(self) -> Path:
        return self.root / "HEAD"

    def head(self) -> CID | None:
        try:
            text = self.head_path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        try:
            return CID.parse(text) if text else None
        except CidError as exc:
            raise SnapshotError(f"{self.head_path} does not hold a CID: {exc}") from None

    def _set_head(self, cid: CID) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = create_temp(self.root, "HEAD")
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(f"{cid}\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.head_path)

    def chain_lock(self, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S):
        return writer_lock(self.root / "chain", timeout_s)

    def manifest(self, cid: CID) -> Manifest:
        try:
            raw = b"".join(iter_file(self.blocks.get, cid))
        except BlockNotFoundError:
            raise SnapshotError(f"no snapshot {cid}: its manifest is not in {self.blocks.root}") from None
        except ContentError as exc:
            raise SnapshotError(f"manifest {cid} is unreadable: {exc}") from None
        try:
            data = json.loads(raw)
        except ValueError:
            raise SnapshotError(f"{cid} is not a snapshot manifest (not JSON)") from None
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise SnapshotError(f"{cid} is not a snapshot manifest")
        return Manifest(cid, data)

    def history(self) -> list[Manifest]:
        """Newest first, following ``previous`` from HEAD."""
        out: list[Manifest] = []
        seen: set[CID] = set()
        cid = self.head()
        while cid is not None and cid not in seen:
            seen.add(cid)
            manifest = self.manifest(cid)
            out.append(manifest)
            cid = manifest.previous
        return out

    def resolve(self, text: str) -> Manifest:
        """A snapshot by ``HEAD``, its manifest CID, or its database or export CID."""
        if text.strip().upper() == "HEAD":
            head = self.head()
            if head is None:
                raise SnapshotError(f"no snapshots yet in {self.root}")
            return self.manifest(head)
        try:
            cid = CID.parse(text)
        except CidError as exc:
            raise SnapshotError(str(exc)) from None
        key = (cid.codec, cid.digest)
        for manifest in self.history():
            for candidate in (manifest.cid, manifest.database_cid, manifest.export_cid):
                if (candidate.codec, candidate.digest) == key:
                    return manifest
        return self.manifest(cid)

    def is_present(self, manifest: Manifest) -> bool:
        return self.blocks.has(manifest.database_cid)

    # -- publication records -------------------------------------------------------------------
    def _published_path(self, cid: CID) -> Path:
        return self.root / "published" / f"{cid}.json"

    def published(self, manifest: Manifest) -> dict | None:
        try:
            return json.loads(self._published_path(manifest.cid).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None

    def mark_published(self, manifest: Manifest, info: dict) -> None:
        path = self._published_path(manifest.cid)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = create_temp(path.parent, path.name)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(info, fh, sort_keys=True, indent=1)
        os.replace(tmp, path)

    # -- blocks ---------------------------------------------------------------------------------
    def _put_sink(self, counter: list[int] | None = None):
        def sink(cid: CID, data) -> None:
            new = self.blocks.put(cid, data, verify=False)  # the importer just hashed these bytes
            if counter is not None:
                counter[0] += 1
                counter[1] += int(new)
        return sink

    def dag_keys(self, root: CID, strict: bool = True) -> set[tuple[int, bytes]]:
        """Every block key under ``root``, reading only dag-pb nodes (raw leaves are known from links)."""
        keys: set[tuple[int, bytes]] = set()
        stack = [root]
        while stack:
            cid = stack.pop()
            key = (cid.codec, cid.digest)
            if key in keys:
                continue
            keys.add(key)
            if cid.codec != DAG_PB:
                continue
            try:
                links, _ = decode_node(self.blocks.get(cid))
            except (BlockNotFoundError, CorruptBlockError, DagPbError) as exc:
                if strict:
                    raise SnapshotError(f"cannot enumerate the blocks under {root}: {exc}") from None
                continue
            stack.extend(link.cid for link in links)
        return keys

    def iter_blocks(self, manifest: Manifest, get: GetBlock | None = None) -> Iterator[tuple[CID, bytes]]:
        """Manifest, database DAG and export DAG, each distinct block once, all verified."""
        get = get or self.blocks.get
        seen: set[tuple[int, bytes]] = set()
        for root in (manifest.cid, manifest.database_cid, manifest.export_cid):
            for cid, data in walk(get, root):
                key = (cid.codec, cid.digest)
                if key not in seen:
                    seen.add(key)
                    yield cid, data

    def write_car(self, manifest: Manifest, out: BinaryIO) -> int:
        """One CARv1 with roots [manifest, database, export]: what ``push`` hands to a node."""
        return write_car(out, [manifest.cid, manifest.database_cid, manifest.export_cid], self.iter_blocks(manifest))


def _wrap_content_error(manifest: Manifest, exc: ContentError) -> SnapshotError:
    if isinstance(exc, SnapshotError):
        return exc
    if isinstance(exc, BlockNotFoundError):
        return SnapshotError(f"snapshot {manifest.cid} is incomplete: {exc}")
    return SnapshotError(f"snapshot {manifest.cid} is corrupt: {exc}")


def _row_counts(db_path: Path) -> tuple[dict[str, int], int | None]:
    conn = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = user_tables(conn)
        counts = {t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0]) for t in tables}
        version = None
        if "schema_version" in tables:
            version = conn.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]
        return counts, (int(version) if version is not None else None)
    finally:
        conn.close()


def consistent_copy(db_path: Path, dest: Path, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> None:
    """CHECKPOINT under the writer lock (so the file alone holds every committed row), then copy it."""
    if not db_path.is_file():
        raise SnapshotError(f"{db_path}: no database file to snapshot")
    with writer_lock(db_path, lock_timeout_s):
        conn = connect_with_retry(db_path, read_only=False, timeout_s=lock_timeout_s)
        try:
            conn.execute("CHECKPOINT")
        finally:
            conn.close()
        if _wal(db_path).exists() and _wal(db_path).stat().st_size > 0:
            raise SnapshotError(f"{db_path}: a write-ahead log remains after CHECKPOINT; is another process writing?")
        shutil.copyfile(db_path, dest)


def _last_of(store: SnapshotStore, db_path: Path) -> Manifest | None:
    for manifest in store.history():
        if manifest.database_path == str(db_path):
            return manifest
    return None


def create_snapshot(
    store: SnapshotStore,
    db_path: str | os.PathLike[str],
    run_id: str | None = None,
    profile: Profile | str = DEFAULT_PROFILE,
    force: bool = False,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
) -> SnapshotResult:
    """Snapshot ``db_path`` unless its export equals that of its last snapshot (then return that one)."""
    started = time.monotonic()
    profile = get_profile(profile) if isinstance(profile, str) else profile
    db_path = Path(db_path).resolve()
    run_id = run_id or f"cli-{uuid.uuid4()}"
    work = store.root / "tmp" / uuid.uuid4().hex
    work.mkdir(parents=True)
    try:
        copy = work / db_path.name
        consistent_copy(db_path, copy, lock_timeout_s)
        try:
            rows = dict(write_export(copy, work / "export"))
            counts, schema_version = _row_counts(copy)
        except duckdb.Error as exc:
            raise SnapshotError(f"{db_path}: cannot read the database to export it: {exc}") from None
        export = add_export(work / "export", rows, profile, None)
        last = _last_of(store, db_path)
        if last is not None and not force and last.export_cid == export.cid and store.is_present(last):
            return SnapshotResult(last, created=False, seconds=time.monotonic() - started)

        counter = [0, 0]
        db = import_path(copy, profile, store._put_sink(counter))
        add_export(work / "export", rows, profile, store._put_sink())
        reused = 0
        if last is not None:
            before = store.dag_keys(last.database_cid, strict=False)
            reused = len(before & store.dag_keys(db.cid))
        body = {
            "format": MANIFEST_FORMAT,
            "profile": profile.name,
            "run_id": run_id,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "database": {"cid": str(db.cid), "size": db.size, "blocks": db.blocks,
                         "path": str(db_path), "name": db_path.name},
            "export": {"cid": str(export.cid), "size": export.size, "duckdb_version": duckdb.__version__,
                       "files": {f.name: {"cid": f.cid, "size": f.size, "rows": f.rows} for f in export.files}},
            "schema_version": schema_version,
            "row_counts": counts,
        }
        with store.chain_lock(lock_timeout_s):
            head = store.head()
            body["previous"] = str(head) if head is not None else None
            raw = json.dumps(body, sort_keys=True, indent=1).encode("utf-8") + b"\n"
            cid = import_bytes(raw, profile, store._put_sink()).cid
            store._set_head(cid)
        return SnapshotResult(Manifest(cid, body), True, db.blocks, counter[1], reused, time.monotonic() - started)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def verify_snapshot(store: SnapshotStore, manifest: Manifest, get: GetBlock | None = None) -> VerifyReport:
    """Re-hash every block of the snapshot and rebuild the file's size from its DAG."""
    get = get or store.blocks.get
    try:
        size = sum(len(piece) for piece in iter_file(get, manifest.database_cid))
        blocks = sum(1 for _ in store.iter_blocks(manifest, get))
    except ContentError as exc:
        raise _wrap_content_error(manifest, exc) from None
    if size != manifest.size:
        raise SnapshotError(f"snapshot {manifest.cid} is corrupt: its database DAG holds {size} bytes, "
                            f"the manifest says {manifest.size}")
    return VerifyReport(manifest, blocks, size)


def backup_file(db_path: Path, suffix: str) -> Path | None:
    """Copy the file (and its WAL, which holds committed rows too) without opening it."""
    if not db_path.exists():
        return None
    backup = db_path.with_name(f"{db_path.name}.{suffix}-{_utc_stamp()}")
    shutil.copy2(db_path, backup)
    if _wal(db_path).exists():
        shutil.copy2(_wal(db_path), _wal(backup))
    return backup


def restore_snapshot(
    store: SnapshotStore,
    manifest: Manifest,
    target: str | os.PathLike[str],
    backup: bool = True,
    get: GetBlock | None = None,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
) -> RestoreResult:
    """Replace ``target`` with the snapshot, all or nothing, under the target's writer lock."""
    started = time.monotonic()
    get = get or store.blocks.get
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock(target, lock_timeout_s):
        backup_path = backup_file(target, "pre-restore") if backup else None
        try:
            # The export is part of the snapshot: an incomplete one is refused even though the
            # database alone could be rebuilt (and it is small next to the database).
            for _ in walk(get, manifest.export_cid):
                pass
        except ContentError as exc:
            raise _wrap_content_error(manifest, exc) from None
        fd, tmp = create_temp(target.parent, target.name)
        try:
            written = 0
            try:
                with os.fdopen(fd, "wb") as fh:
                    for piece in iter_file(get, manifest.database_cid):
                        fh.write(piece)
                        written += len(piece)
                    fh.flush()
                    os.fsync(fh.fileno())
            except ContentError as exc:
                raise _wrap_content_error(manifest, exc) from None
            if written != manifest.size:
                raise SnapshotError(f"snapshot {manifest.cid} is corrupt: rebuilt {written} bytes, "
                                    f"the manifest says {manifest.size}")
            try:
                counts, _ = _row_counts(tmp)
            except duckdb.Error as exc:
                raise SnapshotError(f"snapshot {manifest.cid} does not open as a DuckDB database: {exc}") from None
            if manifest.row_counts and counts != manifest.row_counts:
                raise SnapshotError(f"snapshot {manifest.cid}: restored row counts {counts} differ from the "
                                    f"manifest's {manifest.row_counts}")
            _wal(target).unlink(missing_ok=True)  # belongs to the old file; kept in the backup
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return RestoreResult(manifest, target, backup_path, written, time.monotonic() - started)


def prune(store: SnapshotStore, keep: int, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> PruneReport:
    """Drop the data blocks of all but the newest ``keep`` snapshots; never a block a kept one uses."""
    if keep < 1:
        raise SnapshotError("--keep must be at least 1 (HEAD is always kept)")
    with store.chain_lock(lock_timeout_s):
        history = store.history()
        kept, dropped = history[:keep], history[keep:]
        protected: set[tuple[int, bytes]] = set()
        for manifest in kept:
            protected.add((manifest.cid.codec, manifest.cid.digest))
            for root in (manifest.database_cid, manifest.export_cid):
                if store.blocks.has(root):
                    protected |= store.dag_keys(root, strict=True)
        report = PruneReport(kept, dropped)
        for manifest in dropped:
            for root in (manifest.database_cid, manifest.export_cid):
                for codec, digest in store.dag_keys(root, strict=False) - protected:
                    cid = CID(1, codec, digest)
                    path = store.blocks.path_for(cid)
                    try:
                        size = path.stat().st_size
                    except FileNotFoundError:
                        continue
                    if store.blocks.delete(cid):
                        report.blocks_removed += 1
                        report.bytes_removed += size
        return report
