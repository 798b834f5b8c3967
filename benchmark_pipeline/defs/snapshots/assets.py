"""Snapshots group: the warehouse as a content-addressed, verifiable history, optionally on an IPFS node."""

import dagster as dg

from benchmark_pipeline.defs.analytics.regressions import regression_flags
from benchmark_pipeline.defs.ipfs import IpfsNodeResource
from benchmark_pipeline.defs.resources import DUCKDB_POOL, DataDirs, WarehouseResource
from benchmark_pipeline.defs.schedules import OUTPUT_AUTOMATION
from benchmark_pipeline.lib.content.blockstore import BlockStore
from benchmark_pipeline.lib.snapshots.store import SnapshotStore
from benchmark_pipeline.lib.vocabulary import DERIVED_TABLES, WAREHOUSE_TABLES

GROUP = "snapshots"


def _blocks(data_dirs: DataDirs) -> BlockStore:
    """``$BENCHMARK_BLOCKS_DIR``, else blocks/ in the data folder's snapshots/."""
    return BlockStore(data_dirs.blocks_root())


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "ipfs"},
    pool=DUCKDB_POOL,
    automation_condition=OUTPUT_AUTOMATION,
    # Last writer of a run: the copy then holds the facts and every table derived from them.
    deps=[*(dg.AssetKey(table) for table in [*WAREHOUSE_TABLES, *DERIVED_TABLES]), regression_flags],
)
def ipfs_snapshot(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, data_dirs: DataDirs, ipfs: IpfsNodeResource
) -> dg.MaterializeResult:
    """Content-addressed snapshot of the warehouse, taken only when its data changed since the last one."""
    store = SnapshotStore(data_dirs.snapshots_dir(), _blocks(data_dirs))
    service = warehouse.service()
    if not service.db_path.exists():
        context.log.warning(f"no warehouse at {service.db_path} yet: nothing to snapshot")
        return dg.MaterializeResult(metadata={"changed": False, "published": False,
                                              "warehouse": str(service.db_path)})
    result = service.snapshot(store, run_id=context.run.run_id)
    for note in result.notes:
        context.log.warning(note)
    manifest = result.manifest
    published = store.published(manifest) is not None
    if result.created:
        published, warning = service.publish(store, manifest, ipfs.client(), required=ipfs.is_required)
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
