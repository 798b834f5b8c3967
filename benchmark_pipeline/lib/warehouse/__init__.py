"""The DuckDB warehouse: versioned schema, the single-writer lock, loading validated batches (no Dagster)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # the package itself stays free of DuckDB: lib.warehouse.timeouts is imported by the CLI shell
    import duckdb


def scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> Any:
    """First column of the first row; fetches the whole result so the connection is free again."""
    rows = conn.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None
