"""Shared fixtures: result files written into a drop layout, a warehouse path, ingest helpers.

Also the two rules about what may skip. Data we may not redistribute (the original system's result files,
AGPL-3.0) lives only in ``../shared``, which a user's clone does not have: tests over it carry
``needs_shared(...)`` and skip there with the reason. Under ``CI=true`` nothing skips: a skipped test is
reported as a failure, so a missing browser, npm tool or data folder cannot pass unnoticed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
IN_CI = os.environ.get("CI") == "true"


def needs_shared(*parts: str) -> pytest.MarkDecorator:
    """Skip (outside CI) when ``../shared/<parts>`` is absent; never read it at import time."""
    path = SHARED.joinpath(*parts)
    return pytest.mark.skipif(
        not IN_CI and not path.exists(),
        reason=f"{path} is not here: ../shared holds data we may not redistribute and exists only beside "
               "the project's own checkouts (and in CI)",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where nothing may skip: {reason}"


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
