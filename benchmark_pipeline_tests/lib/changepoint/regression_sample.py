"""The sample data set ingested once per session, copied per test: ingest is the slow part."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmark_pipeline.service import ingest_paths
from benchmark_pipeline.lib.sample_data import write_sample

REGRESSED = ("bert-base-uncased", "NVIDIA A100-SXM4-80GB")
OUTLIER = ("t5-small", "cpu")
# Metrics that move with the A100 slowdown: latencies up, throughput and items per joule down.
UP = {"average_latency_ms", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms"}
DOWN = {"throughput_items_per_second", "items_per_joule"}


def build(root: Path) -> tuple[Path, Path]:
    """(sample folder, warehouse) under ``root``, ingested but never analysed."""
    sample = root / "sample"
    write_sample(sample)
    db = root / "warehouse" / "benchmarks.duckdb"
    ingest_paths([str(sample)], db)
    return sample, db


def copy(source: tuple[Path, Path], dest: Path) -> tuple[Path, Path]:
    sample, db = source
    shutil.copytree(sample, dest / "sample")
    (dest / "warehouse").mkdir(parents=True)
    shutil.copy(db, dest / "warehouse" / db.name)
    return dest / "sample", dest / "warehouse" / db.name
