"""The maintenance jobs, one op each, over the service (the same calls as `benchmark-db maintenance ...`)."""

import dagster as dg
from pydantic import Field

from benchmark_pipeline.defs.ipfs import IpfsNodeResource
from benchmark_pipeline.defs.resources import DUCKDB_POOL, DataDirs, WarehouseResource
from benchmark_pipeline.lib.content.blockstore import BlockStore
from benchmark_pipeline.lib.snapshots.retention import RetentionPolicy
from benchmark_pipeline.lib.snapshots.store import SnapshotStore

_DEFAULT = RetentionPolicy()


def _store(data_dirs: DataDirs) -> SnapshotStore:
    return SnapshotStore(data_dirs.snapshots_dir(), BlockStore(data_dirs.blocks_root()))


def _lines_md(lines: list[str]) -> dg.MetadataValue:
    return dg.MetadataValue.md("\n".join(f"- `{line}`" for line in lines) or "_nothing_")


def _no_warehouse(context: dg.OpExecutionContext, warehouse: WarehouseResource) -> dg.Output | None:
    path = warehouse.service().db_path
    if path.exists():
        return None
    context.log.warning(f"no warehouse at {path} yet: nothing to do")
    return dg.Output({"skipped": f"no warehouse at {path}"}, metadata={"warehouse": str(path), "skipped": True})


# --- validate -------------------------------------------------------------------------------------------


class ValidateConfig(dg.Config):
    snapshots: bool = Field(default=True, description="also check the snapshot chain (reads every block)")


@dg.op(pool=DUCKDB_POOL, tags={"kind": "maintenance"})
def validate_warehouse(context: dg.OpExecutionContext, config: ValidateConfig, warehouse: WarehouseResource,
                       data_dirs: DataDirs) -> dg.Output:
    """Schema, invariants, orphans, ledger against facts and snapshot chain; fails the run on any problem."""
    skipped = _no_warehouse(context, warehouse)
    if skipped is not None:
        return skipped
    report = warehouse.service().validate(_store(data_dirs) if config.snapshots else None)
    metadata = {"ok": report.ok, "problems": dg.MetadataValue.int(report.problems), "checks": _lines_md(report.lines()),
                **{f"problems/{c.name}": dg.MetadataValue.int(c.problems) for c in report.checks}}
    for line in report.lines():
        context.log.info(line)
    if not report.ok:
        raise dg.Failure(description=f"{report.problems} problem(s) in {report.target}", metadata=metadata)
    return dg.Output(report.to_dict(), metadata=metadata)


@dg.job(executor_def=dg.in_process_executor, description="Validate the warehouse and the snapshot chain "
                                                         "(`benchmark-db maintenance validate`).")
def warehouse_validation_job():
    validate_warehouse()


# --- optimize -------------------------------------------------------------------------------------------


class OptimizeConfig(dg.Config):
    compact: bool = Field(default=False, description="also rewrite the file compactly (needs room for a copy)")


@dg.op(pool=DUCKDB_POOL, tags={"kind": "maintenance"})
def optimize_warehouse(context: dg.OpExecutionContext, config: OptimizeConfig,
                       warehouse: WarehouseResource) -> dg.Output:
    """ANALYZE and FORCE CHECKPOINT under the writer lock (compact: rewrite the file); size before and after."""
    skipped = _no_warehouse(context, warehouse)
    if skipped is not None:
        return skipped
    report = warehouse.service().optimize(compact=config.compact)
    return dg.Output(report.to_dict(), metadata={
        "bytes_before": dg.MetadataValue.int(report.bytes_before),
        "bytes_after": dg.MetadataValue.int(report.bytes_after),
        "bytes_freed": dg.MetadataValue.int(report.bytes_freed),
        "statements": ", ".join(report.statements)})


@dg.job(executor_def=dg.in_process_executor, description="ANALYZE and CHECKPOINT the warehouse, optionally "
                                                         "compact it (`benchmark-db maintenance optimize`).")
def warehouse_optimize_job():
    optimize_warehouse()


# --- clean-json -----------------------------------------------------------------------------------------


class CleanJsonConfig(dg.Config):
    older_than_days: float = Field(default=30.0, ge=0, description="only files last modified longer ago")
    paths: list[str] = Field(default_factory=list, description="files or folders (default: incoming/ and legacy/ "
                                                                "of the data folder; never the bundled sample/)")
    archive: str | None = Field(default=None, description="move files here instead of removing them")
    apply: bool = Field(default=False, description="false (default): report what would be done, change nothing")


@dg.op(pool=DUCKDB_POOL, tags={"kind": "maintenance"})
def clean_json_files(context: dg.OpExecutionContext, config: CleanJsonConfig, warehouse: WarehouseResource,
                     data_dirs: DataDirs) -> dg.Output:
    """Remove or archive result files whose current bytes the ledger proves ingested (a dry run by default)."""
    skipped = _no_warehouse(context, warehouse)
    if skipped is not None:
        return skipped
    paths = config.paths or [str(p) for p in (data_dirs.base() / "incoming", data_dirs.legacy_root()) if p.exists()]
    report = warehouse.service().clean_json(paths, config.older_than_days, archive=config.archive, apply=config.apply)
    context.log.info(report.summary())
    metadata = {"summary": report.summary(), "applied": config.apply,
                "files": dg.MetadataValue.int(len(report.decisions)),
                "removable": dg.MetadataValue.int(len(report.removable)),
                "kept_by_reason": dg.MetadataValue.json(report.kept_by_reason())}
    if report.failed:
        raise dg.Failure(description=f"{len(report.failed)} file(s) could not be removed", metadata=metadata)
    return dg.Output(report.to_dict(), metadata=metadata)


@dg.job(executor_def=dg.in_process_executor, description="Remove or archive result files the ledger proves "
                                                         "ingested; a dry run unless config says apply "
                                                         "(`benchmark-db maintenance clean-json`).")
def clean_json_job():
    clean_json_files()


# --- backups with retention -----------------------------------------------------------------------------


class BackupConfig(dg.Config):
    keep_last: int = Field(default=_DEFAULT.keep_last, ge=1, description="the newest N snapshots")
    keep_hourly: int = Field(default=_DEFAULT.keep_hourly, ge=0, description="newest snapshot of each of N hours")
    keep_daily: int = Field(default=_DEFAULT.keep_daily, ge=0, description="newest snapshot of each of N days")
    keep_weekly: int = Field(default=_DEFAULT.keep_weekly, ge=0, description="newest snapshot of each of N weeks")
    keep_monthly: int = Field(default=_DEFAULT.keep_monthly, ge=0, description="newest snapshot of each of N months")

    def policy(self) -> RetentionPolicy:
        return RetentionPolicy(self.keep_last, self.keep_hourly, self.keep_daily, self.keep_weekly, self.keep_monthly)


@dg.op(pool=DUCKDB_POOL, tags={"kind": "maintenance"})
def backup_with_retention(context: dg.OpExecutionContext, config: BackupConfig, warehouse: WarehouseResource,
                          data_dirs: DataDirs, ipfs: IpfsNodeResource) -> dg.Output:
    """A verified snapshot of the warehouse, then the retention policy prunes the snapshots it does not keep."""
    skipped = _no_warehouse(context, warehouse)
    if skipped is not None:
        return skipped
    report = warehouse.service().backup(_store(data_dirs), config.policy(), run_id=context.run_id,
                                        node=ipfs.client(), required=ipfs.is_required)
    for note in [*report.snapshot.notes, *report.retention.notes]:
        context.log.warning(note)
    if report.warning:
        context.log.warning(report.warning)
    manifest = report.snapshot.manifest
    return dg.Output(report.to_dict(), metadata={
        "cid": str(manifest.cid), "changed": report.snapshot.created, "published": report.published,
        "policy": config.policy().describe(), "kept": dg.MetadataValue.int(len(report.retention.kept)),
        "pruned": dg.MetadataValue.int(len(report.retention.pruned)),
        "bytes_removed": dg.MetadataValue.int(report.retention.bytes_removed)})


@dg.job(executor_def=dg.in_process_executor, description="Snapshot the warehouse (verified) and prune by the "
                                                         "retention policy (`benchmark-db maintenance backup`).")
def backup_job():
    backup_with_retention()


# --- restore drill --------------------------------------------------------------------------------------


class DrillConfig(dg.Config):
    rto_goal_hours: float = Field(default=4.0, gt=0, description="restore plus validation must take less")
    rpo_goal_hours: float = Field(default=1.0, gt=0, description="the snapshot may lag the live data by less")


@dg.op(pool=DUCKDB_POOL, tags={"kind": "maintenance"})
def restore_drill(context: dg.OpExecutionContext, config: DrillConfig, warehouse: WarehouseResource,
                  data_dirs: DataDirs, ipfs: IpfsNodeResource) -> dg.Output:
    """Restore the newest snapshot into a temporary file, validate it, measure RTO and RPO; fails when a goal is missed."""
    report = warehouse.service().restore_drill(_store(data_dirs), node=ipfs.client(),
                                               rto_goal_s=config.rto_goal_hours * 3600,
                                               rpo_goal_s=config.rpo_goal_hours * 3600)
    for line in report.lines():
        context.log.info(line)
    metadata = {"snapshot": report.snapshot, "rto_s": dg.MetadataValue.float(round(report.rto_s, 3)),
                "rpo_s": dg.MetadataValue.float(round(report.rpo_s, 3)), "rto_met": report.rto_met,
                "rpo_met": report.rpo_met, "validated": report.validation.ok, "report": _lines_md(report.lines())}
    if not report.ok:
        raise dg.Failure(description="restore drill failed: " + ("the restored copy does not validate"
                                                                 if not report.validation.ok else "a goal was missed"),
                         metadata=metadata)
    return dg.Output(report.to_dict(), metadata=metadata)


@dg.job(executor_def=dg.in_process_executor, description="Restore drill: the newest snapshot restored into a "
                                                         "temporary file and validated, RTO and RPO measured "
                                                         "(`benchmark-db maintenance drill`).")
def restore_drill_job():
    restore_drill()
