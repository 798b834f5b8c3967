"""Issue 16: snapshots must stay restorable, and damage to history must not stop new work.

1. A corrupt or torn block is rewritten by the next ``put`` of the right bytes; blocks are written
   durably; ``create`` verifies what it wrote before it reports a snapshot as taken.
2. A damaged manifest is passed over (and reported) by history, create, prune and restore;
   ``check_history`` names every damaged entry and block; ``repair_history`` drops them.
3. Temporary copies left by killed creates and restores are removed by the next one; a refused
   restore takes no backup copy.
"""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from benchmark_pipeline.lib.content import blockstore as blockstore_module
from benchmark_pipeline.lib.content.blockstore import BlockStore
from benchmark_pipeline.lib.content.car import import_car
from benchmark_pipeline.lib.content.cid import CID, RAW
from benchmark_pipeline.lib.content.errors import CorruptBlockError
from benchmark_pipeline.lib.snapshots.errors import SnapshotError
from benchmark_pipeline.lib.snapshots.repair import check_history, repair_history
from benchmark_pipeline.lib.snapshots.scratch import remove_stale_work_dirs, work_dir
from benchmark_pipeline.lib.snapshots.store import (
    DamagedManifest,
    Manifest,
    create_snapshot,
    prune,
    restore_snapshot,
    verify_snapshot,
)
from benchmark_pipeline_tests.lib.snapshots.test_snapshots_node import stub  # noqa: F401  (a fixture)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _grow(db: Path, n: int = 2000) -> None:
    conn = duckdb.connect(str(db))
    conn.execute(
        "INSERT INTO quarantine SELECT nextval('seq_quarantine_id'), 'grow/' || i, 'x', 'performance', i, "
        "'f', repeat('v', 50) || i, 'test growth', NULL, 'open', 'test', now() FROM range(?) t(i)", [n])
    conn.close()


def _leaf_paths(store, manifest) -> list[Path]:
    return sorted(store.blocks.path_for(CID(1, c, d)) for c, d in store.dag_keys(manifest.database_cid) if c == RAW)


def _flip(path: Path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _tear(path: Path) -> None:
    """What a crash mid-write leaves when blocks are not fsynced: the first part of the block only."""
    path.write_bytes(path.read_bytes()[:1000])


@pytest.fixture
def three_snapshots(warehouse, store):
    """Three snapshots of a growing warehouse, oldest first."""
    out = []
    for _ in range(3):
        out.append(create_snapshot(store, warehouse).manifest)
        _grow(warehouse)
    return out


# --- 1. a corrupt block is healed, blocks are durable, create verifies ------------------------------------


def test_put_of_an_existing_corrupt_block_rewrites_it(tmp_path):
    blocks = BlockStore(tmp_path / "blocks")
    data = os.urandom(5000)
    cid = CID.for_block(data, RAW)
    assert blocks.put(cid, data) is True
    assert blocks.put(cid, data) is False  # the right bytes are there: nothing written
    _tear(blocks.path_for(cid))
    with pytest.raises(CorruptBlockError):
        blocks.get(cid)
    blocks.put(cid, data)
    assert blocks.get(cid) == data  # rewritten, not skipped
    assert blocks.write(cid, data) == "present"
    _flip(blocks.path_for(cid))
    assert blocks.write(cid, data, verify=False) == "repaired"
    assert blocks.get(cid) == data
    assert [p.name for p in blocks.path_for(cid).parent.iterdir()] == [blocks.path_for(cid).name]  # no temp left


def test_blocks_are_fsynced_and_renamed_into_place(tmp_path, monkeypatch):
    blocks = BlockStore(tmp_path / "blocks")
    synced: list[tuple[int, bool]] = []
    real_fsync = os.fsync

    def spy(fd):
        st = os.fstat(fd)
        synced.append((st.st_ino, stat.S_ISDIR(st.st_mode)))
        return real_fsync(fd)

    monkeypatch.setattr(blockstore_module.os, "fsync", spy)
    data = b"durable block"
    cid = CID.for_block(data, RAW)
    blocks.put(cid, data)
    path = blocks.path_for(cid)
    assert (path.stat().st_ino, False) in synced  # the file's data, before the rename (same inode)
    assert (path.parent.stat().st_ino, True) in synced  # the directory entry, after it

    synced.clear()
    more = [os.urandom(64) for _ in range(6)]
    with blocks.batch():
        for item in more:
            blocks.put(CID.for_block(item, RAW), item)
    files = [entry for entry in synced if not entry[1]]
    dirs = {blocks.path_for(CID.for_block(item, RAW)).parent.stat().st_ino for item in more}
    assert len(files) == 6 and {ino for ino, is_dir in synced if is_dir} == dirs


def test_importing_a_good_car_heals_a_torn_block(warehouse, store, tmp_path):
    manifest = create_snapshot(store, warehouse).manifest
    car = tmp_path / "good.car"
    with open(car, "wb") as fh:
        store.write_car(manifest, fh)
    _tear(_leaf_paths(store, manifest)[0])
    with pytest.raises(SnapshotError, match="corrupt"):
        verify_snapshot(store, manifest)
    with open(car, "rb") as fh:
        report = import_car(fh, store.blocks)
    verify_snapshot(store, manifest)
    assert (report.new_blocks, report.repaired_blocks, report.missing) == (0, 1, [])


def test_create_force_over_a_corrupt_shared_block_takes_a_restorable_snapshot(warehouse, store, tmp_path):
    first = create_snapshot(store, warehouse).manifest
    _flip(_leaf_paths(store, first)[2])
    second = create_snapshot(store, warehouse, force=True)
    verify_snapshot(store, second.manifest)
    verify_snapshot(store, first)  # the same bytes: healed for the old snapshot too
    restore_snapshot(store, second.manifest, tmp_path / "restored.duckdb")
    assert second.created and second.blocks_repaired == 1


def test_create_does_not_call_a_corrupt_last_snapshot_unchanged(warehouse, store):
    first = create_snapshot(store, warehouse).manifest
    _tear(_leaf_paths(store, first)[1])
    again = create_snapshot(store, warehouse)  # same data, no --force
    assert again.created and again.manifest.cid != first.cid
    assert any("does not verify" in note for note in again.notes)
    verify_snapshot(store, again.manifest)
    assert store.head() == again.manifest.cid


def test_create_refuses_to_report_a_snapshot_that_does_not_read_back(warehouse, store, monkeypatch):
    """A disk that loses a write after acknowledging it: the new snapshot must not become HEAD."""
    before = create_snapshot(store, warehouse).manifest
    _grow(warehouse)
    real_replace = os.replace
    damaged: list[Path] = []

    def lossy(src, dst, *args, **kwargs):
        real_replace(src, dst, *args, **kwargs)
        dst = Path(dst)
        if dst.suffix == ".data" and store.blocks.root in dst.parents and dst.stat().st_size > 4096 and not damaged:
            damaged.append(dst)
            _tear(dst)

    monkeypatch.setattr(blockstore_module.os, "replace", lossy)
    with pytest.raises(SnapshotError, match="does not verify") as info:
        create_snapshot(store, warehouse)
    monkeypatch.undo()
    assert damaged and str(damaged[0]) in str(info.value)
    assert store.head() == before.cid
    assert [m.cid for m in store.history()] == [before.cid]


# --- 2. damage to history does not stop new work -----------------------------------------------------------


def _corrupt_manifest(store, manifest) -> None:
    _flip(store.blocks.path_for(manifest.cid), offset=40)


def test_a_corrupt_old_manifest_is_passed_over_by_history_create_prune_and_restore(three_snapshots, store,
                                                                                    warehouse, tmp_path):
    oldest, middle, newest = three_snapshots
    _corrupt_manifest(store, middle)
    assert [m.cid for m in store.history()] == [newest.cid, oldest.cid]

    taken = create_snapshot(store, warehouse, force=True)
    assert taken.created and taken.manifest.previous == newest.cid

    target = tmp_path / "restored.duckdb"
    restore_snapshot(store, store.resolve(str(oldest.cid)), target)
    assert store.resolve(str(oldest.database_cid)).cid == oldest.cid

    report = prune(store, keep=2)
    assert [m.cid for m in report.kept] == [taken.manifest.cid, newest.cid]
    assert [m.cid for m in report.pruned] == [oldest.cid]
    verify_snapshot(store, newest)
    verify_snapshot(store, taken.manifest)

    # ... and every one of them says what it passed over.
    assert any(str(middle.cid) in note for note in taken.notes)
    assert any(str(middle.cid) in note for note in report.notes)
    chain = store.chain()
    assert [e.cid for e in chain] == [taken.manifest.cid, newest.cid, middle.cid, oldest.cid]
    damaged = chain[2]
    assert isinstance(damaged, DamagedManifest) and "corrupt" in damaged.problem
    assert damaged.previous == oldest.cid and damaged.previous_source == "journal"
    assert damaged.salvaged["database_path"] == str(warehouse.resolve())


def test_a_missing_manifest_is_bridged_by_the_journal(three_snapshots, store):
    oldest, middle, newest = three_snapshots
    store.blocks.path_for(middle.cid).unlink()
    assert [m.cid for m in store.history()] == [newest.cid, oldest.cid]
    damaged = store.chain()[1]
    assert isinstance(damaged, DamagedManifest) and damaged.previous == oldest.cid
    assert damaged.salvaged == {}  # nothing left to read: what was lost is unknown


def test_without_a_journal_the_predecessor_is_salvaged_from_the_damaged_bytes(three_snapshots, store):
    oldest, middle, newest = three_snapshots
    (store.root / "journal.jsonl").unlink(missing_ok=True)  # a store from before the journal
    _corrupt_manifest(store, middle)
    assert [m.cid for m in store.history()] == [newest.cid, oldest.cid]
    damaged = store.chain()[1]
    assert damaged.previous == oldest.cid and damaged.previous_source == "damaged bytes"
    assert "unverified" in damaged.describe()


def test_check_history_names_every_damaged_snapshot_and_block(three_snapshots, store):
    oldest, middle, newest = three_snapshots
    assert [e.state for e in check_history(store).entries] == ["ok", "ok", "ok"]
    _corrupt_manifest(store, middle)
    newest_only = sorted(set(_leaf_paths(store, newest)) - set(_leaf_paths(store, oldest)))
    corrupt_path, missing_path = newest_only[0], newest_only[-1]
    _flip(corrupt_path)
    missing_path.unlink()

    check = check_history(store)
    assert [(e.cid, e.state) for e in check.entries] == [
        (newest.cid, "damaged"), (middle.cid, "damaged"), (oldest.cid, "ok")]
    health = check.entries[0].health
    assert [store.blocks.path_for(c) for c in health.corrupt] == [corrupt_path]
    assert [store.blocks.path_for(c) for c in health.missing] == [missing_path]
    assert "1 missing block(s)" in check.entries[0].detail and "1 corrupt block(s)" in check.entries[0].detail
    assert str(middle.cid) in check.entries[1].detail


def test_pruned_snapshots_are_not_damage(three_snapshots, store):
    prune(store, keep=1)
    assert [e.state for e in check_history(store).entries] == ["ok", "pruned", "pruned"]
    assert [store.state(m) for m in store.history()] == ["local", "pruned", "pruned"]


def test_repair_drops_damaged_entries_and_relinks_the_rest(three_snapshots, store, warehouse, tmp_path):
    oldest, middle, newest = three_snapshots
    _corrupt_manifest(store, middle)
    dry = repair_history(store, dry_run=True)
    assert [d.cid for d in dry.dropped] == [middle.cid] and store.head() == newest.cid

    report = repair_history(store)
    assert report.changed and [d.cid for d in report.dropped] == [middle.cid]
    (old, new), = report.relinked
    assert old == newest.cid and store.head() == new == report.head
    rewritten = store.manifest(new)
    assert rewritten.previous == oldest.cid and rewritten.data["relinked_from"] == str(newest.cid)
    assert rewritten.data["dropped"][0]["cid"] == str(middle.cid)
    assert rewritten.database_cid == newest.database_cid and rewritten.created_at == newest.created_at
    assert [e.cid for e in store.chain()] == [new, oldest.cid]
    assert not check_history(store).damaged
    restore_snapshot(store, store.resolve(str(newest.cid)), tmp_path / "old-name.duckdb")  # old CID restores
    assert create_snapshot(store, warehouse, force=True).manifest.previous == new
    assert not repair_history(store).changed


def test_repair_drops_a_snapshot_whose_data_is_damaged_and_a_damaged_head(three_snapshots, store):
    oldest, middle, newest = three_snapshots
    store.blocks.path_for(middle.export_cid).unlink()  # the export changed at each step: middle's alone
    _corrupt_manifest(store, newest)
    report = repair_history(store)
    assert sorted(str(d.cid) for d in report.dropped) == sorted([str(newest.cid), str(middle.cid)])
    assert report.relinked == [] and store.head() == oldest.cid
    assert [e.cid for e in store.chain()] == [oldest.cid]


# --- 3. temporary files of killed commands; no backup for a refused restore -----------------------------------

_KILLED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import benchmark_pipeline.lib.snapshots.store as s
    marker = Path(sys.argv[3])

    def hold(real):
        def wrapper(*args, **kwargs):
            marker.write_text("ready")
            time.sleep(120)
            return real(*args, **kwargs)
        return wrapper

    store = s.SnapshotStore(sys.argv[2])
    if sys.argv[1] == "create":
        s.write_export = hold(s.write_export)  # the warehouse copy is complete by then
        s.create_snapshot(store, sys.argv[4])
    else:
        s._row_counts = hold(s._row_counts)  # the restored file is complete by then
        s.restore_snapshot(store, store.resolve("HEAD"), sys.argv[4])
""")


def _run_and_kill(tmp_path, *args) -> None:
    marker = tmp_path / f"ready-{args[0]}"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, args[0], args[1], str(marker), *args[2:]])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "the helper process ended early"
            assert time.monotonic() < deadline, "the helper process never got there"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_the_copy_a_killed_create_left_is_removed_by_the_next_create(warehouse, store, tmp_path):
    _run_and_kill(tmp_path, "create", str(store.root), str(warehouse))
    tmp_root = store.root / "tmp"
    left = [p for p in tmp_root.rglob("*") if p.is_file() and p.stat().st_size == warehouse.stat().st_size]
    assert left, "the killed create should have left its full-size copy"
    result = create_snapshot(store, warehouse)
    assert list(tmp_root.iterdir()) == []
    assert any("removed 1 temporary" in note for note in result.notes)


def test_the_file_a_killed_restore_left_is_removed_by_the_next_restore(warehouse, store, tmp_path):
    create_snapshot(store, warehouse)
    target = tmp_path / "target" / "restored.duckdb"
    _run_and_kill(tmp_path, "restore", str(store.root), str(target))
    left = [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and left[0].name.startswith(f".{target.name}.restore.")
    assert left[0].stat().st_size == warehouse.stat().st_size
    result = restore_snapshot(store, store.resolve("HEAD"), target)
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]
    assert any(left[0].name in note for note in result.notes)


def test_a_work_folder_in_use_is_never_taken_for_stale(tmp_path):
    root = tmp_path / "tmp"
    with work_dir(root, "create") as mine:
        (mine / "copy").write_bytes(b"x" * 100)
        old = time.time() - 3600
        os.utime(mine, (old, old))  # old, and its pid is alive: only the held lock says it is in use
        assert remove_stale_work_dirs(root) == [] and mine.exists()
    assert not mine.exists()
    reused = root / f"create-{os.getpid()}-abcdef"  # our pid, but nobody holds its lock: a reused pid
    reused.mkdir()
    os.utime(reused, (old, old))
    assert remove_stale_work_dirs(root) == [reused]


@pytest.mark.parametrize("fault", ["corrupt block", "invalid CID"])
def test_a_refused_restore_takes_no_backup_copy(warehouse, store, fault):
    manifest = create_snapshot(store, warehouse).manifest
    _grow(warehouse, 100)
    live = sha256_of(warehouse)
    if fault == "corrupt block":
        _flip(_leaf_paths(store, manifest)[-1])
    else:
        data = {**manifest.data, "database": {**manifest.data["database"], "cid": "bafy-not-a-cid"}}
        manifest = Manifest(manifest.cid, data)
    with pytest.raises(SnapshotError):
        restore_snapshot(store, manifest, warehouse)
    assert sha256_of(warehouse) == live
    assert sorted(p.name for p in warehouse.parent.iterdir()) == ["benchmarks.duckdb", "benchmarks.duckdb.lock"]


# --- healing from an IPFS node (the stub of test_snapshots_node) ------------------------------------------------


def test_a_node_heals_corrupt_blocks_on_restore_and_on_repair(warehouse, store, stub, tmp_path):
    from benchmark_pipeline.lib.snapshots.node import KuboRpcClient, fetching_getter, publish

    server, _ = stub
    node = KuboRpcClient(f"http://127.0.0.1:{server.server_address[1]}", timeout_s=5)
    manifest = create_snapshot(store, warehouse).manifest
    publish(store, manifest, node)
    leaves = _leaf_paths(store, manifest)
    _flip(leaves[0])
    restore_snapshot(store, manifest, tmp_path / "restored.duckdb", get=fetching_getter(store, node))
    verify_snapshot(store, manifest)  # the corrupt local copy was rewritten with the node's bytes

    _flip(leaves[1])
    _corrupt_manifest(store, manifest)
    assert [e.state for e in check_history(store).entries] == ["damaged"]
    report = repair_history(store, get=fetching_getter(store, node))
    assert not report.changed and report.dropped == [] and store.head() == manifest.cid
    assert [e.state for e in check_history(store).entries] == ["ok"]
