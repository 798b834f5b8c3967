"""A warehouse of synthetic drops, built through the service like any ingest (tests, benchmarks, demos)."""

from __future__ import annotations

from pathlib import Path

from benchmark_pipeline.lib.analytics.synthetic import write_result_files

from .core import ingest_paths


def build_sample_warehouse(root: Path, **kwargs) -> Path:
    """Write the drops under ``root/drops`` and ingest them into ``root/warehouse.duckdb`` (the tests' fixture)."""
    write_result_files(root / "drops", **kwargs)
    db_path = root / "warehouse.duckdb"
    ingest_paths([str(root / "drops")], db_path)
    return db_path
