"""Metadata every asset attaches: row counts and a markdown preview for the UI."""

from __future__ import annotations

import dagster as dg
import pandas as pd

PREVIEW_ROWS = 10


def frame_metadata(frame: pd.DataFrame, table: str | None = None) -> dict[str, dg.MetadataValue | int | str]:
    preview = frame.head(PREVIEW_ROWS)
    metadata: dict = {
        "dagster/row_count": len(frame),
        "preview": dg.MetadataValue.md(preview.to_markdown(index=False) if not preview.empty else "_empty_"),
    }
    if table:
        metadata["dagster/table_name"] = table
    return metadata
