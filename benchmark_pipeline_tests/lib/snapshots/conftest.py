import shutil
from pathlib import Path

import pytest

from benchmark_pipeline.service import ingest_paths
from benchmark_pipeline.lib.sample_data import write_sample
from benchmark_pipeline.lib.snapshots.store import SnapshotStore


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(out)
    return out


@pytest.fixture(scope="session")
def built_warehouse(sample_dir, tmp_path_factory) -> Path:
    """One warehouse built from the sample set; tests copy it rather than re-ingest."""
    db = tmp_path_factory.mktemp("built") / "benchmarks.duckdb"
    ingest_paths([str(sample_dir)], db)
    return db


@pytest.fixture
def warehouse(built_warehouse, tmp_path) -> Path:
    db = tmp_path / "warehouse" / "benchmarks.duckdb"
    db.parent.mkdir()
    shutil.copyfile(built_warehouse, db)
    return db


@pytest.fixture
def store(tmp_path) -> SnapshotStore:
    return SnapshotStore(tmp_path / "snapshots")
