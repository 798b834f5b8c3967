"""Taking, listing, verifying, restoring and pruning snapshots of a DuckDB file.

Every read goes through the verifying blockstore, so a flipped byte or a missing block surfaces
as an error before anything is written where it matters. Restore writes the snapshot to a
temporary file beside the target and swaps it in with ``os.replace`` only once the whole file
has been rebuilt from verified blocks and checked against the manifest (size, row counts): the
live file is either untouched or entirely replaced, and only then is its previous content backed
up, so a refused restore leaves nothing behind. A snapshot becomes HEAD only once every block of
it has been read back and verified: a backup that cannot be restored is never reported as taken.

The history is a chain of manifests, each naming its predecessor. A manifest that is missing or
corrupt does not end the history: its predecessor is taken from ``journal.jsonl`` (one line per
manifest written, kept beside HEAD) or, failing that, salvaged from the damaged bytes themselves
(a hint only: the manifest it leads to is verified against its own CID), and the entry is
reported as a ``DamagedManifest``. ``repair.py`` drops damaged entries from the chain.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

import duckdb

from benchmark_pipeline.lib.content.blockstore import BlockStore, create_temp, fsync_dir
from benchmark_pipeline.lib.content.car import write_car
from benchmark_pipeline.lib.content.cid import CID, DAG_PB, RAW, CidError
from benchmark_pipeline.lib.content.dagpb import (
    UNIXFS_FILE,
    UNIXFS_RAW,
    DagPbError,
    decode_node,
    decode_unixfs,
)
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
from .scratch import (
    describe_removed,
    remove_stale_restore_temps,
    remove_stale_work_dirs,
    restore_temp_name,
    work_dir,
)

MANIFEST_FORMAT = "benchmark-pipeline/snapshot-manifest/1"
JOURNAL = "journal.jsonl"
GetBlock = Callable[[CID], bytes]


def _utc_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _key(cid: CID) -> tuple[int, bytes]:
    return cid.codec, cid.digest


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


@dataclass(frozen=True)
class DamagedManifest:
    """A history entry whose manifest is missing or does not verify: the snapshot it named is lost.

    ``previous`` is where the history goes on (``None``: not known, the older history is out of
    reach); ``previous_source`` says how it was found. ``salvaged`` holds what the damaged bytes
    still seem to say (``created_at``, ``database_path``, ``database_cid``, ``size``, ``export_cid``):
    unverified, for telling the operator what was lost, never for restoring.
    """

    cid: CID
    problem: str
    previous: CID | None = None
    previous_source: str | None = None
    salvaged: dict = field(default_factory=dict)

    def describe(self) -> str:
        what = "a snapshot"
        if self.salvaged.get("database_path"):
            what += f" of {self.salvaged['database_path']}"
        if self.salvaged.get("created_at"):
            what += f" taken {self.salvaged['created_at']}"
        if self.salvaged.get("size"):
            what += f" ({self.salvaged['size']} bytes)"
        if set(self.salvaged) - {"previous"}:
            what += ", as far as the damaged bytes tell (unverified)"
        if self.previous is not None:
            after = f"the history goes on at {self.previous} (per the {self.previous_source})"
        elif self.previous_source is not None:
            after = f"it was the oldest entry of the history (per the {self.previous_source})"
        else:
            after = "its predecessor is unknown, so any older history is out of reach"
        return f"{self.problem}; lost: {what}; {after}"


HistoryEntry = Manifest | DamagedManifest


@dataclass
class SnapshotResult:
    manifest: Manifest
    created: bool  # False: the export matched the last snapshot of this database, nothing new stored
    blocks: int = 0  # blocks of the database DAG
    blocks_new: int = 0  # of which were not in the blockstore yet
    blocks_reused: int = 0  # distinct blocks shared with the previous snapshot of the same database
    seconds: float = 0.0
    blocks_repaired: int = 0  # blocks the blockstore held corrupt, rewritten with this snapshot's bytes
    notes: list[str] = field(default_factory=list)


@dataclass
class VerifyReport:
    manifest: Manifest
    blocks: int
    bytes: int


@dataclass
class SnapshotHealth:
    """Everything wrong with one snapshot's blocks (every distinct block is checked, not just up to the first problem)."""

    manifest: Manifest
    blocks: int = 0  # distinct blocks read and verified
    size: int | None = None  # database bytes its DAG holds (None: a part of it could not be read)
    missing: list[CID] = field(default_factory=list)
    corrupt: list[CID] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # malformed nodes, sizes that disagree
    first_error: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupt or self.problems)

    def summary(self, limit: int = 5) -> str:
        parts = []
        for label, cids in (("missing", self.missing), ("corrupt", self.corrupt)):
            if cids:
                shown = ", ".join(str(c) for c in cids[:limit])
                more = f" and {len(cids) - limit} more" if len(cids) > limit else ""
                parts.append(f"{len(cids)} {label} block(s): {shown}{more}")
        parts.extend(self.problems[:limit])
        return "; ".join(parts)


@dataclass
class RestoreResult:
    manifest: Manifest
    target: Path
    backup: Path | None
    bytes: int
    seconds: float
    notes: list[str] = field(default_factory=list)


@dataclass
class PruneReport:
    kept: list[Manifest]
    pruned: list[Manifest]
    blocks_removed: int = 0
    bytes_removed: int = 0
    notes: list[str] = field(default_factory=list)


_SALVAGE = {
    "previous": re.compile(r'"previous":\s*"([^"]{1,200})"'),
    "created_at": re.compile(r'"created_at":\s*"([^"]{1,64})"'),
    "export_cid": re.compile(r'"export":\s*\{\s*"cid":\s*"([^"]{1,200})"'),
}
_SALVAGE_DATABASE = re.compile(r'"database":\s*\{([^{}]{1,4000})\}')
_SALVAGE_IN_DATABASE = {
    "database_cid": re.compile(r'"cid":\s*"([^"]{1,200})"'),
    "database_path": re.compile(r'"path":\s*"([^"]{1,1000})"'),
    "size": re.compile(r'"size":\s*(\d{1,20})'),
}


def _salvage(raw: bytes) -> dict:
    """What the bytes of a damaged manifest still say: fields found by pattern, CIDs only if they parse."""
    text = raw.decode("latin-1")
    found: dict = {}
    for name, pattern in _SALVAGE.items():
        match = pattern.search(text)
        if match:
            found[name] = match.group(1)
    database = _SALVAGE_DATABASE.search(text)
    if database:
        for name, pattern in _SALVAGE_IN_DATABASE.items():
            match = pattern.search(database.group(1))
            if match:
                found[name] = match.group(1)
    if "previous" not in found and re.search(r'"previous":\s*null', text):
        found["previous"] = None  # the first snapshot of its history
    for name in ("previous", "export_cid", "database_cid"):
        if found.get(name) is not None:
            try:
                CID.parse(found[name])
            except CidError:
                del found[name]
    return found


class SnapshotStore:
    """The snapshots folder: blockstore, manifest chain, HEAD, journal and publication records.

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

    @property
    def tmp_root(self) -> Path:
        return self.root / "tmp"

    def head(self) -> CID | None:
        try:
            text = self.head_path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        try:
            return CID.parse(text) if text else None
        except CidError as exc:
            raise SnapshotError(f"{self.head_path} does not hold a CID: {exc}") from None

    def _set_head(self, cid: CID | None) -> None:
        """Point HEAD at ``cid`` durably (``None``: no snapshots left, HEAD removed)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if cid is None:
            self.head_path.unlink(missing_ok=True)
        else:
            fd, tmp = create_temp(self.root, "HEAD")
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(f"{cid}\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.head_path)
        fsync_dir(self.root)

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
        manifest = Manifest(cid, data)
        try:  # every field the history and a restore rely on
            _ = (manifest.previous, manifest.database_cid, manifest.export_cid, manifest.size, manifest.database_path)
        except (CidError, KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"manifest {cid} lacks a valid field ({type(exc).__name__}: {exc})") from None
        return manifest

    # -- journal: one JSON line per manifest written, prune and drop, under the chain lock ------------
    @property
    def journal_path(self) -> Path:
        return self.root / JOURNAL

    def journal(self) -> list[dict]:
        """The journal's records, oldest first; a torn or unreadable line is skipped."""
        try:
            text = self.journal_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        records = []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("op"), str) and isinstance(record.get("cid"), str):
                records.append(record)
        return records

    def _journal_append(self, *records: dict) -> None:
        if not records:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        created = not self.journal_path.exists()
        lines = "".join(json.dumps({**r, "at": _now()}, sort_keys=True) + "\n" for r in records)
        fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, lines.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_dir(self.root)

    def _ensure_journal(self) -> None:
        """Under the chain lock: give a store from before the journal one, listing the chain as it stands."""
        if self.journal_path.exists():
            return
        records = [{"op": "known", "cid": str(e.cid), "previous": str(e.previous) if e.previous else None}
                   for e in reversed(self.chain())]
        self._journal_append(*records)

    def _journal_previous(self) -> dict[tuple[int, bytes], CID | None]:
        out: dict[tuple[int, bytes], CID | None] = {}
        for record in self.journal():
            if record["op"] in ("create", "known", "relink"):
                try:
                    prev = record.get("previous")
                    out[_key(CID.parse(record["cid"]))] = CID.parse(prev) if prev else None
                except CidError:
                    continue
        return out

    def journal_state(self) -> tuple[set[tuple[int, bytes]], set[tuple[int, bytes]]]:
        """(snapshots recorded as pruned, snapshots written since the journal records prunes)."""
        pruned: set[tuple[int, bytes]] = set()
        journaled: set[tuple[int, bytes]] = set()
        for record in self.journal():
            try:
                key = _key(CID.parse(record["cid"]))
            except CidError:
                continue
            if record["op"] == "prune":
                pruned.add(key)
            elif record["op"] in ("create", "relink"):
                journaled.add(key)
        return pruned, journaled

    def _damaged(self, cid: CID, problem: str, journal: dict) -> DamagedManifest:
        raw = self.blocks.read_unverified(cid)
        salvaged = _salvage(raw) if raw else {}
        previous, source = None, None
        if _key(cid) in journal:
            previous, source = journal[_key(cid)], "journal"
        elif "previous" in salvaged:
            text = salvaged["previous"]
            previous, source = (CID.parse(text) if text else None), "damaged bytes"
        return DamagedManifest(cid, problem, previous, source, salvaged)

    def chain(self) -> list[HistoryEntry]:
        """Every entry from HEAD back, newest first, damaged manifests included as ``DamagedManifest``."""
        out: list[HistoryEntry] = []
        seen: set[tuple[int, bytes]] = set()
        journal: dict | None = None
        cid = self.head()
        while cid is not None and _key(cid) not in seen:
            seen.add(_key(cid))
            try:
                manifest = self.manifest(cid)
            except SnapshotError as exc:
                if journal is None:
                    journal = self._journal_previous()
                damaged = self._damaged(cid, str(exc), journal)
                out.append(damaged)
                cid = damaged.previous
                continue
            out.append(manifest)
            cid = manifest.previous
        return out

    def history(self) -> list[Manifest]:
        """The readable snapshots, newest first, following ``previous`` from HEAD past damaged entries."""
        return [e for e in self.chain() if isinstance(e, Manifest)]

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
        key = _key(cid)
        for manifest in self.history():
            for candidate in (manifest.cid, manifest.database_cid, manifest.export_cid):
                if _key(candidate) == key:
                    return manifest
        return self.manifest(cid)

    def is_present(self, manifest: Manifest) -> bool:
        return self.blocks.has(manifest.database_cid)

    def state(self, manifest: Manifest, journal_state=None) -> str:
        """published / local / pruned (data dropped by prune) / missing (data gone, not by prune)."""
        pruned, journaled = journal_state if journal_state is not None else self.journal_state()
        key = _key(manifest.cid)
        if key in pruned:
            return "pruned"
        if not self.is_present(manifest):
            # Snapshots from before the journal cannot tell a prune from a loss: prune it was.
            return "missing" if key in journaled else "pruned"
        return "published" if self.published(manifest) else "local"

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
        """A block sink into the store; ``counter`` counts [blocks, new, repaired]."""
        def sink(cid: CID, data) -> None:
            outcome = self.blocks.write(cid, data, verify=False)  # the importer just hashed these bytes
            if counter is not None:
                counter[0] += 1
                counter[1] += outcome == "new"
                counter[2] += outcome == "repaired"
        return sink

    def dag_keys(self, root: CID, strict: bool = True, complete: list[bool] | None = None) -> set[tuple[int, bytes]]:
        """Every block key under ``root``, reading only dag-pb nodes (raw leaves are known from links).

        With ``strict=False`` an unreadable node is skipped (its subtree is not listed) and
        ``complete[0]``, when given, is set to False.
        """
        keys: set[tuple[int, bytes]] = set()
        stack = [root]
        while stack:
            cid = stack.pop()
            key = _key(cid)
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
                if complete is not None:
                    complete[0] = False
                continue
            stack.extend(link.cid for link in links)
        return keys

    def iter_blocks(self, manifest: Manifest, get: GetBlock | None = None) -> Iterator[tuple[CID, bytes]]:
        """Manifest, database DAG and export DAG, each distinct block once, all verified."""
        get = get or self.blocks.get
        seen: set[tuple[int, bytes]] = set()
        for root in (manifest.cid, manifest.database_cid, manifest.export_cid):
            for cid, data in walk(get, root):
                key = _key(cid)
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


def _last_of(store: SnapshotStore, db_path: Path, notes: list[str]) -> Manifest | None:
    """The newest readable snapshot of ``db_path``; damaged history entries are noted and passed over."""
    last = None
    for entry in store.chain():
        if isinstance(entry, DamagedManifest):
            notes.append(f"history entry passed over: {entry.describe()} (`snapshot verify --all`, `snapshot repair`)")
        elif last is None and entry.database_path == str(db_path):
            last = entry
    return last


def remove_stale_temps(store: SnapshotStore) -> list[str]:
    """Remove the work folders killed creates and pushes left under the store; a note for each sweep."""
    removed = remove_stale_work_dirs(store.tmp_root)
    return [describe_removed(removed)] if removed else []


def create_snapshot(
    store: SnapshotStore,
    db_path: str | os.PathLike[str],
    run_id: str | None = None,
    profile: Profile | str = DEFAULT_PROFILE,
    force: bool = False,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
) -> SnapshotResult:
    """Snapshot ``db_path`` unless its export equals that of its last snapshot (then return that one).

    The last snapshot is only returned if it still verifies; otherwise a new one is taken (whose
    blocks rewrite the corrupt ones it shares). A new snapshot is read back and verified before it
    becomes HEAD; if it does not verify, ``SnapshotError`` says so and HEAD is left as it was.
    """
    started = time.monotonic()
    profile = get_profile(profile) if isinstance(profile, str) else profile
    db_path = Path(db_path).resolve()
    run_id = run_id or f"cli-{uuid.uuid4()}"
    notes = remove_stale_temps(store)
    with work_dir(store.tmp_root, "create") as work:
        copy = work / db_path.name
        consistent_copy(db_path, copy, lock_timeout_s)
        try:
            rows = dict(write_export(copy, work / "export"))
            counts, schema_version = _row_counts(copy)
        except duckdb.Error as exc:
            raise SnapshotError(f"{db_path}: cannot read the database to export it: {exc}") from None
        export = add_export(work / "export", rows, profile, None)
        last = _last_of(store, db_path, notes)
        if last is not None and not force and last.export_cid == export.cid and store.is_present(last):
            try:
                verify_snapshot(store, last)
            except SnapshotError as exc:
                notes.append(f"the last snapshot of this database ({last.cid}) holds the same data but does not "
                             f"verify ({exc}); taking a new one")
            else:
                return SnapshotResult(last, created=False, seconds=time.monotonic() - started, notes=notes)

        counter, export_counter = [0, 0, 0], [0, 0, 0]
        with store.blocks.batch():
            db = import_path(copy, profile, store._put_sink(counter))
            add_export(work / "export", rows, profile, store._put_sink(export_counter))
        reused = 0
        if last is not None:
            before = store.dag_keys(last.database_cid, strict=False)
            reused = len(before & store.dag_keys(db.cid))
        body = {
            "format": MANIFEST_FORMAT,
            "profile": profile.name,
            "run_id": run_id,
            "created_at": _now(),
            "database": {"cid": str(db.cid), "size": db.size, "blocks": db.blocks,
                         "path": str(db_path), "name": db_path.name},
            "export": {"cid": str(export.cid), "size": export.size, "duckdb_version": duckdb.__version__,
                       "files": {f.name: {"cid": f.cid, "size": f.size, "rows": f.rows} for f in export.files}},
            "schema_version": schema_version,
            "row_counts": counts,
        }
        with store.chain_lock(lock_timeout_s):
            store._ensure_journal()
            head = store.head()
            body["previous"] = str(head) if head is not None else None
            manifest = write_manifest(store, body, profile)
            # Under the chain lock, so a prune cannot drop a block between this check and HEAD.
            try:
                verify_snapshot(store, manifest)
            except SnapshotError as exc:
                raise SnapshotError(f"the new snapshot {manifest.cid} of {db_path} does not verify after being "
                                    f"written, so it was not taken (HEAD unchanged): {exc}") from None
            store._journal_append({"op": "create", "cid": str(manifest.cid), "previous": body["previous"]})
            store._set_head(manifest.cid)
        return SnapshotResult(manifest, True, db.blocks, counter[1], reused, time.monotonic() - started,
                              blocks_repaired=counter[2] + export_counter[2], notes=notes)


def write_manifest(store: SnapshotStore, body: dict, profile: Profile) -> Manifest:
    """Store a manifest's JSON durably and read it back (it must say exactly ``body``)."""
    raw = json.dumps(body, sort_keys=True, indent=1).encode("utf-8") + b"\n"
    with store.blocks.batch():
        cid = import_bytes(raw, profile, store._put_sink()).cid
    manifest = store.manifest(cid)
    if manifest.data != body:
        raise SnapshotError(f"manifest {cid} reads back different from what was written")
    return manifest


@dataclass(frozen=True, slots=True)
class _BlockInfo:
    status: str  # ok / missing / corrupt / malformed
    size: int = 0  # raw block length
    links: tuple[CID, ...] = ()
    unixfs_type: int | None = None
    data_len: int = 0
    filesize: int | None = None
    error: str = ""


class BlockChecker:
    """Reads, re-hashes and decodes each distinct block once, remembering the outcome (shared across snapshots)."""

    def __init__(self, get: GetBlock) -> None:
        self.get = get
        self.infos: dict[tuple[int, bytes], _BlockInfo] = {}

    def info(self, cid: CID) -> _BlockInfo:
        key = _key(cid)
        known = self.infos.get(key)
        if known is not None:
            return known
        try:
            block = self.get(cid)
        except BlockNotFoundError as exc:
            info = _BlockInfo("missing", error=str(exc))
        except CorruptBlockError as exc:
            info = _BlockInfo("corrupt", error=str(exc))
        except ContentError as exc:
            info = _BlockInfo("corrupt", error=str(exc))
        else:
            info = self._decode(cid, block)
        self.infos[key] = info
        return info

    @staticmethod
    def _decode(cid: CID, block: bytes) -> _BlockInfo:
        if cid.codec == RAW:
            return _BlockInfo("ok", size=len(block))
        try:
            links, data = decode_node(block)
        except DagPbError as exc:
            return _BlockInfo("malformed", error=f"block {cid} does not decode as dag-pb: {exc}")
        fs = None
        if data is not None:
            try:
                fs = decode_unixfs(data)
            except DagPbError:
                fs = None
        return _BlockInfo("ok", size=len(block), links=tuple(link.cid for link in links),
                          unixfs_type=fs.type if fs else None, data_len=len(fs.data) if fs else 0,
                          filesize=fs.filesize if fs else None)

    def check(self, manifest: Manifest) -> SnapshotHealth:
        health = SnapshotHealth(manifest)
        seen: set[tuple[int, bytes]] = set()
        bad: dict[tuple[int, bytes], None] = {}

        def record(cid: CID, info: _BlockInfo) -> None:
            if _key(cid) in bad:
                return
            bad[_key(cid)] = None
            target = {"missing": health.missing, "corrupt": health.corrupt}.get(info.status)
            if target is not None:
                target.append(cid)
            else:
                health.problems.append(info.error)
            health.first_error = health.first_error or info.error

        def visit(root: CID) -> None:  # every distinct block, counted once per snapshot
            stack = [root]
            while stack:
                cid = stack.pop()
                if _key(cid) in seen:
                    continue
                seen.add(_key(cid))
                info = self.info(cid)
                if info.status != "ok":
                    record(cid, info)
                    continue
                health.blocks += 1
                stack.extend(reversed(info.links))

        def file_size(cid: CID, memo: dict) -> int | None:
            key = _key(cid)
            if key in memo:
                return memo[key]
            info = self.info(cid)
            size: int | None
            if info.status != "ok":
                size = None
            elif cid.codec == RAW:
                size = info.size
            elif info.unixfs_type not in (UNIXFS_FILE, UNIXFS_RAW):
                record(cid, _BlockInfo("malformed", error=f"block {cid} is not a UnixFS file node"))
                size = None
            else:
                size = info.data_len
                for child in info.links:
                    child_size = file_size(child, memo)
                    size = None if child_size is None or size is None else size + child_size
                if size is not None and info.filesize is not None and size != info.filesize:
                    record(cid, _BlockInfo("malformed", error=f"file node {cid} declares {info.filesize} bytes "
                                                              f"but its blocks hold {size}"))
                    size = None
            memo[key] = size
            return size

        try:
            roots = (manifest.cid, manifest.database_cid, manifest.export_cid)
        except CidError as exc:
            health.problems.append(f"manifest {manifest.cid} names an invalid CID: {exc}")
            health.first_error = health.problems[-1]
            return health
        for root in roots:
            visit(root)
        health.size = file_size(manifest.database_cid, {})
        if health.size is not None and health.size != manifest.size:
            message = f"its database DAG holds {health.size} bytes, the manifest says {manifest.size}"
            health.problems.append(message)
            health.first_error = health.first_error or message
        return health


def inspect_snapshot(store: SnapshotStore, manifest: Manifest, checker: BlockChecker | None = None) -> SnapshotHealth:
    """Every missing or corrupt block of the snapshot, not only the first (``checker`` may be shared)."""
    return (checker or BlockChecker(store.blocks.get)).check(manifest)


def verify_snapshot(store: SnapshotStore, manifest: Manifest, get: GetBlock | None = None) -> VerifyReport:
    """Re-hash every block of the snapshot (each distinct block once) and rebuild the file's size from its DAG."""
    health = BlockChecker(get or store.blocks.get).check(manifest)
    if health.corrupt or health.problems:
        raise SnapshotError(f"snapshot {manifest.cid} is corrupt: {health.first_error}")
    if health.missing:
        raise SnapshotError(f"snapshot {manifest.cid} is incomplete: {health.first_error}")
    return VerifyReport(manifest, health.blocks, health.size or 0)


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
    """Replace ``target`` with the snapshot, all or nothing, under the target's writer lock.

    Everything is checked before the live file is touched or copied: the export DAG, then the
    database rebuilt into a temporary file from verified blocks (size, row counts). Only then is the
    live file backed up and replaced, so a refused restore leaves no backup and no temporary file.
    """
    started = time.monotonic()
    get = get or store.blocks.get
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    notes = remove_stale_temps(store)
    with writer_lock(target, lock_timeout_s):
        removed = remove_stale_restore_temps(target)  # every restore into target holds this lock
        if removed:
            notes.append(describe_removed(removed))
        try:
            # The export is part of the snapshot: an incomplete one is refused even though the
            # database alone could be rebuilt (and it is small next to the database).
            for _ in walk(get, manifest.export_cid):
                pass
            database_cid = manifest.database_cid
        except ContentError as exc:
            raise _wrap_content_error(manifest, exc) from None
        fd, tmp = create_temp(target.parent, restore_temp_name(target))
        try:
            written = 0
            try:
                with os.fdopen(fd, "wb") as fh:
                    for piece in iter_file(get, database_cid):
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
            backup_path = backup_file(target, "pre-restore") if backup else None
            _wal(target).unlink(missing_ok=True)  # belongs to the old file; kept in the backup
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(target.parent)
    return RestoreResult(manifest, target, backup_path, written, time.monotonic() - started, notes)


def remove_snapshot_data(store: SnapshotStore, kept: list[Manifest], dropped: list[Manifest],
                         damaged: list[DamagedManifest], notes: list[str],
                         also_protect: list[Manifest] = ()) -> tuple[int, int] | None:
    """Delete the blocks of ``dropped`` that no ``kept`` or ``also_protect`` snapshot and no damaged entry
    uses, and journal those snapshots as pruned: (blocks, bytes) removed. The caller holds the chain lock.

    Damaged entries' data (as far as the damaged manifest still names it) is kept: it cannot be told apart
    from the blocks of a snapshot that could be healed. If a kept snapshot's blocks cannot all be listed,
    nothing is deleted and None is returned.
    """
    protected: set[tuple[int, bytes]] = set()
    complete = [True]
    for manifest in kept:
        protected.add(_key(manifest.cid))
        for root in (manifest.database_cid, manifest.export_cid):
            if store.blocks.has(root):
                before = complete[0]
                protected |= store.dag_keys(root, strict=False, complete=complete)
                if before and not complete[0]:
                    notes.append(f"kept snapshot {manifest.cid} is damaged: not all of its blocks can be listed "
                                 "(see `benchmark-db snapshot verify --all`)")
    for manifest in also_protect:
        for root in (manifest.database_cid, manifest.export_cid):
            if store.blocks.has(root):
                protected |= store.dag_keys(root, strict=False)
    for entry in damaged:
        notes.append(f"passed over {entry.describe()}")
        for name in ("database_cid", "export_cid"):
            if name in entry.salvaged:
                protected |= store.dag_keys(CID.parse(entry.salvaged[name]), strict=False)
    if not complete[0]:
        notes.append("nothing was deleted, so that no block a damaged kept snapshot needs is lost")
        return None
    pruned_before, _ = store.journal_state()
    store._journal_append(*({"op": "prune", "cid": str(m.cid)} for m in dropped if _key(m.cid) not in pruned_before))
    blocks = size_total = 0
    for manifest in dropped:
        for root in (manifest.database_cid, manifest.export_cid):
            for codec, digest in store.dag_keys(root, strict=False) - protected:
                cid = CID(1, codec, digest)
                try:
                    size = store.blocks.path_for(cid).stat().st_size
                except FileNotFoundError:
                    continue
                if store.blocks.delete(cid):
                    blocks += 1
                    size_total += size
    return blocks, size_total


def prune(store: SnapshotStore, keep: int, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> PruneReport:
    """Drop the data blocks of all but the newest ``keep`` readable snapshots; never a block a kept one uses
    (see ``remove_snapshot_data`` for damaged entries and kept snapshots that cannot be listed)."""
    if keep < 1:
        raise SnapshotError("--keep must be at least 1 (HEAD is always kept)")
    with store.chain_lock(lock_timeout_s):
        store._ensure_journal()
        entries = store.chain()
        history = [e for e in entries if isinstance(e, Manifest)]
        kept, dropped = history[:keep], history[keep:]
        report = PruneReport(kept, dropped)
        damaged = [e for e in entries if isinstance(e, DamagedManifest)]
        removed = remove_snapshot_data(store, kept, dropped, damaged, report.notes)
        if removed is not None:
            report.blocks_removed, report.bytes_removed = removed
        return report
