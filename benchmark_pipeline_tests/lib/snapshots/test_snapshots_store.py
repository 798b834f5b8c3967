import hashlib

import duckdb
import pytest

from benchmark_pipeline.lib.content.car import import_car
from benchmark_pipeline.lib.content.cid import CID, RAW
from benchmark_pipeline.lib.content.errors import ContentError
from benchmark_pipeline.lib.snapshots.errors import SnapshotError
from benchmark_pipeline.lib.snapshots.migrate import migrate_database
from benchmark_pipeline.lib.snapshots.store import (
    SnapshotStore,
    create_snapshot,
    prune,
    restore_snapshot,
    verify_snapshot,
)


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _grow(db, n=20000):
    """Enough new rows to change several DuckDB blocks, not all of them."""
    conn = duckdb.connect(str(db))
    conn.execute(
        "INSERT INTO quarantine SELECT nextval('seq_quarantine_id'), 'grow/' || i, 'x', 'performance', i, "
        "'f', repeat('v', 50) || i, 'test growth', NULL, 'open', 'test', now() FROM range(?) t(i)", [n])
    conn.close()


def _leaf_paths(store, manifest):
    keys = store.dag_keys(manifest.database_cid)
    return [store.blocks.path_for(CID(1, c, d)) for c, d in keys if c == RAW]


def test_create_builds_a_chain_and_skips_unchanged_data(warehouse, store):
    first = create_snapshot(store, warehouse, run_id="run-1")
    assert first.created and store.head() == first.manifest.cid
    m = first.manifest
    assert m.previous is None and m.data["run_id"] == "run-1" and m.data["profile"] == "kubo-v1"
    assert m.row_counts["performance_results"] == 1806 and m.data["schema_version"] >= 3
    assert m.size == warehouse.stat().st_size

    again = create_snapshot(store, warehouse)
    assert not again.created and again.manifest.cid == m.cid

    _grow(warehouse)
    second = create_snapshot(store, warehouse, run_id="run-2")
    assert second.created and second.manifest.previous == m.cid
    assert second.manifest.export_cid != m.export_cid
    assert 0 < second.blocks_reused < second.blocks
    assert [x.cid for x in store.history()] == [second.manifest.cid, m.cid]
    assert store.resolve(str(m.database_cid)).cid == m.cid
    assert store.resolve("HEAD").cid == second.manifest.cid


def test_restore_round_trip_with_backup(warehouse, store, tmp_path):
    snap = create_snapshot(store, warehouse).manifest
    original = sha256_of(warehouse)
    _grow(warehouse)
    changed = sha256_of(warehouse)
    result = restore_snapshot(store, snap, warehouse)
    assert sha256_of(warehouse) == original
    assert result.backup is not None and sha256_of(result.backup) == changed
    conn = duckdb.connect(str(warehouse), read_only=True)
    assert conn.execute("SELECT count(*) FROM quarantine").fetchall()[0][0] == 0
    conn.close()
    assert verify_snapshot(store, snap).bytes == snap.size


@pytest.fixture
def snapshot_then_change(warehouse, store):
    """A snapshot, then a live warehouse that differs from it (so a wrong restore would show)."""
    manifest = create_snapshot(store, warehouse).manifest
    _grow(warehouse, 100)
    return manifest, sha256_of(warehouse)


def _assert_refused(store, manifest, warehouse, live_sha, match):
    with pytest.raises(SnapshotError, match=match):
        restore_snapshot(store, manifest, warehouse)
    assert sha256_of(warehouse) == live_sha
    # Refused before the live file is copied: no backup of a file that was never replaced.
    assert list(warehouse.parent.glob(f"{warehouse.name}.pre-restore-*")) == []
    assert not [p for p in warehouse.parent.iterdir() if p.name.endswith(".tmp")]


def test_restore_refuses_a_flipped_byte(snapshot_then_change, store, warehouse):
    manifest, live = snapshot_then_change
    block = _leaf_paths(store, manifest)[3]
    data = bytearray(block.read_bytes())
    data[1234] ^= 0x01
    block.write_bytes(bytes(data))
    _assert_refused(store, manifest, warehouse, live, "corrupt")
    with pytest.raises(SnapshotError, match="corrupt"):
        verify_snapshot(store, manifest)


def test_restore_refuses_a_missing_block(snapshot_then_change, store, warehouse):
    manifest, live = snapshot_then_change
    _leaf_paths(store, manifest)[-1].unlink()
    _assert_refused(store, manifest, warehouse, live, "incomplete")
    with pytest.raises(SnapshotError, match="incomplete"):
        verify_snapshot(store, manifest)


@pytest.mark.parametrize("cut", ["mid-block", "block-boundary"])
def test_restore_refuses_a_truncated_car(snapshot_then_change, store, warehouse, tmp_path, cut):
    manifest, live = snapshot_then_change
    car = tmp_path / "snap.car"
    with open(car, "wb") as fh:
        store.write_car(manifest, fh)
    data = car.read_bytes()
    if cut == "mid-block":
        data = data[: len(data) * 2 // 3]
    else:  # drop the last section exactly: every remaining section is whole and valid
        last_leaf = store.blocks.get(list(store.iter_blocks(manifest))[-1][0])
        data = data[: data.rindex(last_leaf) - 37]
    car.write_bytes(data)
    elsewhere = SnapshotStore(tmp_path / "other-snapshots")
    try:
        with open(car, "rb") as fh:
            report = import_car(fh, elsewhere.blocks)
        assert report.missing
    except ContentError:
        pass
    _assert_refused(elsewhere, elsewhere.resolve(str(manifest.cid)), warehouse, live, "incomplete")


def test_prune_keeps_every_block_of_kept_snapshots(warehouse, store):
    manifests = []
    for _ in range(3):
        manifests.append(create_snapshot(store, warehouse).manifest)
        _grow(warehouse, 5000)
    report = prune(store, keep=2)
    assert [m.cid for m in report.kept] == [m.cid for m in reversed(manifests[1:])]
    assert report.blocks_removed > 0
    for kept in manifests[1:]:
        verify_snapshot(store, kept)
    assert not store.is_present(manifests[0])
    assert [m.cid for m in store.history()] == [m.cid for m in reversed(manifests)]  # history survives
    with pytest.raises(SnapshotError, match="incomplete"):
        verify_snapshot(store, manifests[0])
    with pytest.raises(SnapshotError):
        prune(store, keep=0)


def test_migrate_backs_up_snapshots_and_verifies_against_the_live_file(warehouse, store, tmp_path):
    other = tmp_path / "legacy.duckdb"
    conn = duckdb.connect(str(other))
    conn.execute("CREATE TABLE benchmark_performance (model VARCHAR, throughput DOUBLE)")
    conn.execute("INSERT INTO benchmark_performance VALUES ('unknown', 0.0), ('bert', 12.5)")
    conn.close()
    outcomes = [migrate_database(store, db) for db in (warehouse, other)]
    for db, outcome in zip((warehouse, other), outcomes):
        assert outcome.backup is not None and outcome.backup.exists()
        assert outcome.manifest.database_path == str(db.resolve())
        verify_snapshot(store, outcome.manifest)
    assert outcomes[1].manifest.row_counts == {"benchmark_performance": 2}
    assert outcomes[1].manifest.previous == outcomes[0].manifest.cid
    again = migrate_database(store, other, backup=False)
    assert again.backup is None and again.manifest.database_cid == outcomes[1].manifest.database_cid
    restored = tmp_path / "restored.duckdb"
    restore_snapshot(store, outcomes[1].manifest, restored)
    assert sha256_of(restored) == sha256_of(other)


def test_snapshot_of_a_missing_database_is_an_error(store, tmp_path):
    with pytest.raises(SnapshotError, match="no database"):
        create_snapshot(store, tmp_path / "nope.duckdb")
    assert store.head() is None
