"""Blocking checks on the stored warehouse tables: keys unique, foreign keys resolve."""

import dagster as dg

from benchmark_pipeline.defs.resources import DUCKDB_POOL, WarehouseResource
from benchmark_pipeline.lib.warehouse.invariants import INVARIANTS, count_violations


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(inv.name, asset=inv.table, description=inv.description, blocking=True)
        for inv in INVARIANTS
    ],
    pool=DUCKDB_POOL,
)
def warehouse_invariants(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    """Unique keys and resolvable foreign keys in every stored table."""
    with warehouse.reader() as conn:
        for inv in INVARIANTS:
            violations = count_violations(conn, inv)
            yield dg.AssetCheckResult(
                asset_key=inv.table, check_name=inv.name, passed=violations == 0,
                metadata={"violations": violations, "query": dg.MetadataValue.md(f"```sql\n{inv.violations_sql}\n```")},
            )
