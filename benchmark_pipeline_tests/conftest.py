"""Shared fixtures: result files written into a drop layout, a warehouse path, ingest helpers."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


@pytest.fixture
def drop(tmp_path: Path):
    """Write JSON (or raw bytes) into ``<tmp>/drop/<category>/<name>`` and return the path."""

    def write(category: str, name: str, payload: Any) -> Path:
        path = tmp_path / "drop" / category / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(payload, bytes):
            path.write_bytes(payload)
        else:
            path.write_text(json.dumps(payload), encoding="utf-8")
        return path

    return write


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse" / "benchmarks.duckdb"


def perf_record(**overrides: Any) -> dict:
    record = {
        "model_name": "bert-base-uncased", "hardware_type": "cuda", "device_name": "NVIDIA A100-SXM4-80GB",
        "memory_gb": 80, "batch_size": 8, "precision": "fp16", "average_latency_ms": 12.5,
        "throughput_items_per_second": 640.0, "memory_peak_mb": 2048.0, "timestamp": "2025-11-02T03:04:05Z",
    }
    record.update(overrides)
    return {k: v for k, v in record.items() if v is not None}


@contextmanager
def writer_held(db: Path, seconds: float) -> Iterator[None]:
    """Another process holds the warehouse as a writer for ``seconds`` (yields once it holds it)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from benchmark_pipeline.lib.warehouse.connection import open_writer\n"
         "with open_writer(Path(sys.argv[1])):\n print('held', flush=True); time.sleep(float(sys.argv[2]))",
         str(db), str(seconds)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.wait(timeout=seconds + 60)
