"""Blocking checks on the stored warehouse tables: keys unique, foreign keys resolve."""

import dagster as dg

from benchmark_pipeline.defs.resources import DUCKDB_POOL, WarehouseResource
from benchmark_pipeline.defs.warehouse.assets import added_by_this_run
from benchmark_pipeline.lib.warehouse.invariants import INVARIANTS, count_violations


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(inv.name, asset=inv.table, description=inv.description, blocking=True)
        for inv in INVARIANTS
    ],
    pool=DUCKDB_POOL,
)
def warehouse_invariants(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    """Unique keys and resolvable foreign keys in every stored table (over the rows this run's ingest added,
    where it only added facts: see ``lib/warehouse/invariants.py``)."""
    added_by = added_by_this_run(context)
    with warehouse.reader() as conn:
        for inv in INVARIANTS:
            violations = count_violations(conn, inv, added_by)
            scoped = added_by is not None and inv.added_sql is not None
            sql = inv.added_sql if scoped else inv.violations_sql
            yield dg.AssetCheckResult(
                asset_key=inv.table, check_name=inv.name, passed=violations == 0,
                metadata={"violations": violations, "rows checked": "added by this run" if scoped else "all",
                          "query": dg.MetadataValue.md(f"```sql\n{sql}\n```")},
            )
