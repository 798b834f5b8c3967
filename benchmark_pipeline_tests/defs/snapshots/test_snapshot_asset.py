import dagster as dg
import duckdb

from benchmark_pipeline.defs.ipfs import IpfsNodeResource
from benchmark_pipeline.defs.resources import DataDirs, WarehouseResource
from benchmark_pipeline.defs.snapshots.assets import ipfs_snapshot
from benchmark_pipeline.service import ingest_paths
from benchmark_pipeline.lib.sample_data import write_sample
from benchmark_pipeline.lib.snapshots.store import SnapshotStore


def _metadata(result):
    event = result.get_asset_materialization_events()[0]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_snapshot_asset_without_a_node(tmp_path, monkeypatch):
    monkeypatch.delenv("IPFS_API_URL", raising=False)
    monkeypatch.delenv("IPFS_REQUIRED", raising=False)
    write_sample(tmp_path / "sample")
    db = tmp_path / "warehouse.duckdb"
    ingest_paths([str(tmp_path / "sample")], db)
    resources = {"warehouse": WarehouseResource(db_path=str(db)), "data_dirs": DataDirs(root=str(tmp_path / "data")),
                 "ipfs": IpfsNodeResource.from_env()}

    first = dg.materialize([ipfs_snapshot], resources=resources)
    meta = _metadata(first)
    store = SnapshotStore(tmp_path / "data" / "snapshots")
    assert meta["changed"] is True and meta["published"] is False
    assert meta["cid"] == str(store.head()) and meta["size_bytes"] == db.stat().st_size
    assert store.history()[0].data["run_id"] == first.run_id

    unchanged = _metadata(dg.materialize([ipfs_snapshot], resources=resources))
    assert unchanged["changed"] is False and unchanged["cid"] == meta["cid"]

    conn = duckdb.connect(str(db))
    conn.execute("DELETE FROM performance_results WHERE record_index = 0")
    conn.close()
    changed = _metadata(dg.materialize([ipfs_snapshot], resources=resources))
    assert changed["changed"] is True and changed["previous_cid"] == meta["cid"]
    assert changed["export_cid"] != meta["export_cid"] and changed["blocks_reused"] > 0
