"""The shell's settings decide which IPFS node, blockstore and timeouts the library is given."""

from pathlib import Path

import pytest

from benchmark_pipeline.config import Settings
from benchmark_pipeline.lib.snapshots.node import DEFAULT_TIMEOUT_S, IpfsNodeConfig, node_client
from benchmark_pipeline.lib.warehouse.timeouts import DEFAULT_LOCK_TIMEOUT_S, DEFAULT_READ_TIMEOUT_S


def test_defaults_without_any_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env(env={})
    assert settings.db_path == tmp_path / "data" / "warehouse" / "benchmarks.duckdb"
    assert settings.data_dir == tmp_path / "data"
    assert settings.blockstore_dir() == tmp_path / "data" / "snapshots" / "blocks"
    assert settings.blockstore_dir(tmp_path / "other") == tmp_path / "other" / "blocks"
    assert (settings.read_timeout_s, settings.lock_timeout_s) == (DEFAULT_READ_TIMEOUT_S, DEFAULT_LOCK_TIMEOUT_S)
    assert settings.ipfs is None and not settings.ipfs_required
    assert node_client(settings.ipfs) is None


def test_variables_and_explicit_values(tmp_path):
    env = {"BENCHMARK_DB_PATH": str(tmp_path / "w.duckdb"), "BENCHMARK_DATA_DIR": str(tmp_path / "d"),
           "BENCHMARK_BLOCKS_DIR": str(tmp_path / "b"), "BENCHMARK_READ_TIMEOUT_S": "7",
           "IPFS_API_URL": " http://127.0.0.1:5001 ", "IPFS_API_TIMEOUT": "2.5", "IPFS_REQUIRED": "Yes"}
    settings = Settings.from_env(env=env)
    assert settings.db_path == tmp_path / "w.duckdb" and settings.data_dir == tmp_path / "d"
    assert settings.blockstore_dir(tmp_path / "elsewhere") == Path(tmp_path / "b")
    assert settings.read_timeout_s == 7.0
    assert settings.ipfs == IpfsNodeConfig("http://127.0.0.1:5001", 2.5) and settings.ipfs_required
    client = node_client(settings.ipfs)
    assert (client.host, client.port, client.timeout_s) == ("127.0.0.1", 5001, 2.5)
    assert Settings.from_env(db_path=tmp_path / "x.duckdb", env=env).db_path == tmp_path / "x.duckdb"
    assert Settings.from_env(env={"IPFS_API_URL": "http://h:1"}).ipfs.timeout_s == DEFAULT_TIMEOUT_S


def test_a_timeout_that_is_no_number_is_named():
    with pytest.raises(ValueError, match="BENCHMARK_READ_TIMEOUT_S"):
        Settings.from_env(env={"BENCHMARK_READ_TIMEOUT_S": "soon"})
