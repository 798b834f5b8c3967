"""Metadata the assets attach for the UI: column schemas from the column dictionary, row counts, previews.

Every table asset carries ``dagster/column_schema`` twice: in its definition (names and meanings
with units, so the UI shows them before anything ran) and in each materialization (the same, with
the live DuckDB types). Previews name models and hardware instead of showing their surrogate keys,
and show missing values as empty cells.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
import duckdb
import pandas as pd

from benchmark_pipeline.lib.warehouse.dictionary import dictionary

PREVIEW_ROWS = 10
PREVIEW_CELL_CHARS = 60
UNKNOWN_TYPE = "unknown"  # definition time: the type is known once the table exists


def dictionary_entries(table: str) -> dict[str, tuple[str, str]]:
    """The column dictionary's ``column -> (unit, meaning)`` for ``table``; empty if it documents no such table."""
    return dict(dictionary().get(table, {}))


def column_description(unit: str, meaning: str) -> str:
    return f"{meaning} [{unit}]" if unit else meaning


def column_schema(table: str, types: Mapping[str, str] | None = None) -> dg.TableSchema:
    """The table's columns with their dictionary meaning and unit.

    Without ``types`` (definition time) the columns are the dictionary's; with the live
    ``column -> DuckDB type`` of the table they are the table's own, in its order, so a column the
    dictionary misses still shows (without a description).
    """
    entries = dictionary_entries(table)
    names = list(types) if types is not None else list(entries)
    columns = []
    for name in names:
        unit, meaning = entries.get(name, ("", ""))
        columns.append(dg.TableColumn(
            name=name,
            type=(types or {}).get(name, UNKNOWN_TYPE),
            description=column_description(unit, meaning) or None,
        ))
    return dg.TableSchema(columns=columns)


def table_definition_metadata(table: str) -> dict[str, object]:
    """Definition metadata of an asset that is the DuckDB table ``main.<table>``."""
    return {"dagster/table_name": f"main.{table}", "dagster/column_schema": column_schema(table)}


def live_types(conn: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()
    return dict(rows)


def preview_markdown(frame: pd.DataFrame) -> str:
    """The first rows as a markdown table: missing values as empty cells, long texts cut short."""
    preview = frame.head(PREVIEW_ROWS)
    if preview.empty:
        return "_empty_"
    cut = preview.map(lambda v: v[:PREVIEW_CELL_CHARS - 3] + "..." if isinstance(v, str) and len(v) > PREVIEW_CELL_CHARS
                      else v)
    # Object cells with None where a value is missing (``map`` may have re-inferred a float column).
    cells = cut.astype(object).where(preview.notna(), None)
    return cells.to_markdown(index=False, missingval="")


def frame_metadata(frame: pd.DataFrame, table: str | None = None) -> dict[str, dg.MetadataValue | int | str]:
    metadata: dict = {"dagster/row_count": len(frame), "preview": dg.MetadataValue.md(preview_markdown(frame))}
    if table:
        metadata["dagster/table_name"] = table
    return metadata


# Surrogate keys a person cannot read, replaced in previews by what they stand for.
_READABLE = {
    "model_id": ("models", "(SELECT d.model_name FROM models d WHERE d.model_id = t.model_id) AS model"),
    "hardware_id": ("hardware_platforms",
                    "(SELECT d.hardware_type || coalesce(': ' || d.device_name, '') FROM hardware_platforms d "
                    "WHERE d.hardware_id = t.hardware_id) AS hardware"),
}


def preview_sql(table: str, columns: list[str]) -> str:
    """The newest rows of ``table`` (highest first column) with model and hardware named, not numbered."""
    select = []
    for column in columns:
        readable = _READABLE.get(column)
        # A dimension keeps its own key: there it is the row's identity, not a reference.
        select.append(readable[1] if readable and readable[0] != table else f't."{column}"')
    # The newest rows first, named after: naming every row of a 10M-row table before the limit took 0.9 s.
    newest = f'SELECT * FROM "{table}" ORDER BY "{columns[0]}" DESC LIMIT {PREVIEW_ROWS}'
    return f'SELECT {", ".join(select)} FROM ({newest}) t ORDER BY t."{columns[0]}" DESC'


def table_metadata(conn: duckdb.DuckDBPyConnection, table: str) -> dict[str, object]:
    """Materialization metadata of ``main.<table>``: row count, column schema with live types, readable preview."""
    types = live_types(conn, table)
    count = conn.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
    preview = conn.execute(preview_sql(table, list(types))).df() if types else pd.DataFrame()
    return {
        "dagster/row_count": int(count),
        "dagster/table_name": f"main.{table}",
        "dagster/column_schema": column_schema(table, types),
        "preview": dg.MetadataValue.md(preview_markdown(preview)),
    }
