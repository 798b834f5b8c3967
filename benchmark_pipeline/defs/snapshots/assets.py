"""Snapshots group: the warehouse as a content-addressed, verifiable history, optionally on an IPFS node."""

import dagster as dg

from benchmark_pipeline.defs.analytics.assets import (
    compatibility_matrix,
    daily_model_stats,
    hardware_comparison,
    hardware_recommendations,
    model_comparison,
)
from benchmark_pipeline.defs.analytics.regressions import regression_flags
from benchmark_pipeline.defs.resources import DUCKDB_POOL, DataDirs, WarehouseResource
from benchmark_pipeline.defs.warehouse.assets import WAREHOUSE_TABLES
from benchmark_pipeline.lib.snapshots.node import node_from_env, try_publish
from benchmark_pipeline.lib.snapshots.store import SnapshotStore, create_snapshot

GROUP = "snapshots"


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "ipfs"},
    pool=DUCKDB_POOL,
    # Last writer of a run: the copy then holds the facts and every table derived from them.
    deps=[*(dg.AssetKey(table) for table in WAREHOUSE_TABLES), compatibility_matrix, hardware_comparison,
          model_comparison, daily_model_stats, hardware_recommendations, regression_flags],
)
def ipfs_snapshot(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, data_dirs: DataDirs
) -> dg.MaterializeResult:
    """Content-addressed snapshot of the warehouse, taken only when its data changed since the last one."""
    store = SnapshotStore(data_dirs.snapshots_dir())
    db_path = warehouse.path()
    if not db_path.exists():
        context.log.warning(f"no warehouse at {db_path} yet: nothing to snapshot")
        return dg.MaterializeResult(metadata={"changed": False, "published": False, "warehouse": str(db_path)})
    result = create_snapshot(store, db_path, run_id=context.run.run_id, lock_timeout_s=warehouse.lock_timeout_s)
    manifest = result.manifest
    published = store.published(manifest) is not None
    if result.created:
        published, warning = try_publish(store, manifest, node_from_env())
        if warning:
            context.log.warning(warning)
    else:
        context.log.info(f"warehouse data unchanged since snapshot {manifest.cid}; nothing new stored")
    return dg.MaterializeResult(
        metadata={
            "cid": str(manifest.cid),
            "database_cid": str(manifest.database_cid),
            "export_cid": str(manifest.export_cid),
            "previous_cid": str(manifest.previous) if manifest.previous else "",
            "size_bytes": dg.MetadataValue.int(manifest.size),
            "blocks": result.blocks,
            "blocks_new": result.blocks_new,
            "blocks_reused": result.blocks_reused,
            "changed": result.created,
            "published": published,
            "snapshots_dir": dg.MetadataValue.path(str(store.root)),
        }
    )
