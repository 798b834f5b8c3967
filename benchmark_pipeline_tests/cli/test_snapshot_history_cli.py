import hashlib
import json

import pytest

from benchmark_pipeline.cli.main import main
from benchmark_pipeline.service import ingest_paths
from benchmark_pipeline.lib.sample_data import write_sample


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def env(tmp_path, monkeypatch):
    write_sample(tmp_path / "sample")
    db = tmp_path / "data" / "warehouse" / "benchmarks.duckdb"
    ingest_paths([str(tmp_path / "sample")], db)
    monkeypatch.setenv("BENCHMARK_DB_PATH", str(db))
    monkeypatch.setenv("BENCHMARK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("BENCHMARK_BLOCKS_DIR", raising=False)
    monkeypatch.delenv("IPFS_API_URL", raising=False)
    monkeypatch.delenv("IPFS_REQUIRED", raising=False)
    return db


def test_create_list_show_verify_restore_prune(env, tmp_path, capsys):
    assert main(["snapshot", "create"]) == 0
    out, err = capsys.readouterr()
    cid = out.strip()
    assert "warning" in err and "snapshot push" in err  # no node: local, unpublished
    assert main(["snapshot", "create"]) == 0
    assert capsys.readouterr().out.strip() == cid  # unchanged: same snapshot

    assert main(["snapshot", "list"]) == 0
    assert cid in capsys.readouterr().out
    assert main(["snapshot", "show", "HEAD"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["cid"] == cid and shown["published"] is None and shown["present"] is True
    assert main(["snapshot", "verify", cid]) == 0

    target = tmp_path / "copy.duckdb"
    assert main(["snapshot", "restore", cid, "--to", str(target)]) == 0
    assert "every block verified" in capsys.readouterr().err
    assert target.exists()
    assert main(["snapshot", "prune", "--keep", "1"]) == 0


def test_restore_from_a_truncated_car_is_refused(env, tmp_path, capsys):
    assert main(["snapshot", "create"]) == 0
    cid = capsys.readouterr().out.strip()
    assert main(["snapshot", "show", cid]) == 0
    shown_db = json.loads(capsys.readouterr().out)["database"]["cid"]
    car = tmp_path / "db.car"
    blocks = env.parent.parent / "snapshots" / "blocks"
    assert main(["snapshot", "export-car", shown_db, str(car), "--blocks-dir", str(blocks)]) == 0
    car.write_bytes(car.read_bytes()[:-1000])
    live = _sha(env)
    code = main(["snapshot", "restore", cid, "--from-car", str(car), "--snapshots-dir", str(tmp_path / "other")])
    assert code == 1
    assert "restore refused" in capsys.readouterr().err
    assert _sha(env) == live
    assert list(env.parent.glob("*.pre-restore-*")) == []  # refused before the backup step: CAR unusable


def test_migrate_and_push_without_a_node(env, tmp_path, capsys, monkeypatch):
    assert main(["snapshot", "migrate", str(env)]) == 0
    cid = capsys.readouterr().out.strip()
    assert list(env.parent.glob("*.pre-snapshot-*"))
    assert main(["snapshot", "push"]) == 2  # no node to use: a usage/IO error, like any other
    assert "IPFS_API_URL is not set" in capsys.readouterr().err
    monkeypatch.setenv("IPFS_REQUIRED", "1")
    assert main(["snapshot", "create", "--force"]) == 2
    capsys.readouterr()
    assert main(["snapshot", "verify", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"]) == 2
    err = capsys.readouterr().err
    assert "no snapshot bafkrei" in err and cid in err  # an unknown CID names the known snapshots
    assert cid
