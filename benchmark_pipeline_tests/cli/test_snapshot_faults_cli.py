"""Issue 16 at the command line: healing import-car, damaged history in list / verify --all / repair, broken pipes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark_pipeline.cli.main import main
from benchmark_pipeline.lib.content.blockstore import BlockStore
from benchmark_pipeline.lib.content.cid import CID, RAW
from benchmark_pipeline.lib.sample_data import write_sample
from benchmark_pipeline.service import ingest_paths

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("built")
    write_sample(root / "sample")
    db = root / "benchmarks.duckdb"
    ingest_paths([str(root / "sample")], db)
    return db


@pytest.fixture
def env(built, tmp_path, monkeypatch) -> Path:
    db = tmp_path / "data" / "warehouse" / "benchmarks.duckdb"
    db.parent.mkdir(parents=True)
    shutil.copyfile(built, db)
    monkeypatch.setenv("BENCHMARK_DB_PATH", str(db))
    monkeypatch.setenv("BENCHMARK_DATA_DIR", str(tmp_path / "data"))
    for name in ("BENCHMARK_BLOCKS_DIR", "IPFS_API_URL", "IPFS_REQUIRED"):
        monkeypatch.delenv(name, raising=False)
    return db


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _blocks(env: Path) -> BlockStore:
    return BlockStore(env.parent.parent / "snapshots" / "blocks")


def _show(capsys, cid: str) -> dict:
    code, out, _ = run(capsys, "snapshot", "show", cid)
    assert code == 0
    return json.loads(out)


def _create(capsys, *extra: str) -> str:
    code, out, _ = run(capsys, "snapshot", "create", *extra)
    assert code == 0
    return out.strip()


def _grow(db: Path) -> None:
    import duckdb

    conn = duckdb.connect(str(db))
    start = conn.execute("SELECT count(*) FROM models").fetchall()[0][0]
    conn.execute("INSERT INTO models (model_name) SELECT 'extra-' || i FROM range(?, ? + 50) t(i)", [start, start])
    conn.close()


def test_import_car_of_a_good_car_rewrites_a_torn_block(env, tmp_path, capsys):
    cid = _create(capsys)
    database = _show(capsys, cid)["database"]["cid"]
    car = tmp_path / "good.car"
    assert run(capsys, "snapshot", "export-car", database, str(car), "--blocks-dir", str(_blocks(env).root))[0] == 0
    leaf = max(_blocks(env).root.rglob("*.data"), key=lambda p: p.stat().st_size)
    leaf.write_bytes(leaf.read_bytes()[:1000])
    assert run(capsys, "snapshot", "verify", cid)[0] == 1

    code, _, err = run(capsys, "snapshot", "import-car", str(car), "--blocks-dir", str(_blocks(env).root))
    assert code == 0 and "1 corrupt stored copies rewritten" in err
    assert run(capsys, "snapshot", "verify", cid)[0] == 0


def test_damaged_history_is_listed_verified_and_repaired(env, capsys):
    first = _create(capsys)
    _grow(env)
    second = _create(capsys)
    _grow(env)
    third = _create(capsys)
    blocks = _blocks(env)
    manifest_block = blocks.path_for(CID.parse(second))
    data = bytearray(manifest_block.read_bytes())
    data[40] ^= 1
    manifest_block.write_bytes(bytes(data))

    # New work goes on: a forced snapshot, the listing, a prune and a restore of an intact snapshot.
    _grow(env)
    fourth = _create(capsys, "--force")
    others = set()
    for cid in (first, fourth):
        others |= _leaf_keys(blocks, CID.parse(_show(capsys, cid)["database"]["cid"]))
    third_only = _leaf_keys(blocks, CID.parse(_show(capsys, third)["database"]["cid"])) - others
    lost_cid = CID(1, *sorted(third_only)[0])  # the third snapshot's alone: nothing later stores it again
    blocks.path_for(lost_cid).unlink()
    code, out, err = run(capsys, "snapshot", "list")
    assert code == 0
    states = {line.split("\t")[0]: line.split("\t")[3] for line in out.splitlines()[1:]}
    assert states == {fourth: "local", third: "local", second: "damaged", first: "local"}
    assert f"manifest {second} is unreadable" in err and "lost: a snapshot of" in err
    assert run(capsys, "snapshot", "restore", first, "--to", str(env.parent / "first.duckdb"))[0] == 0

    code, out, err = run(capsys, "snapshot", "verify", "--all")
    assert code == 1 and "2 damaged" in err
    lines = out.splitlines()
    assert [line.split("\t")[:2] for line in lines if not line.startswith("\t")] == [
        ["ok", fourth], ["damaged", third], ["damaged", second], ["ok", first]]
    assert f"\tmissing block {lost_cid}" in lines
    assert run(capsys, "snapshot", "prune", "--keep", "3")[0] == 0

    code, out, err = run(capsys, "snapshot", "repair")
    assert code == 1
    assert f"dropped {second}" in err and f"dropped {third}" in err and "2 snapshot(s) lost" in err
    head = out.strip()
    assert run(capsys, "snapshot", "verify", "--all")[0] == 0
    code, out, _ = run(capsys, "snapshot", "list", "--format", "json")
    assert [row["cid"] for row in json.loads(out)] == [head, first]
    assert run(capsys, "snapshot", "repair")[0] == 0


def _leaf_keys(blocks: BlockStore, root: CID):
    from benchmark_pipeline.lib.content.dagpb import decode_node

    stack, out = [root], set()
    while stack:
        cid = stack.pop()
        if cid.codec == RAW:
            out.add((cid.codec, cid.digest))
            continue
        links, _ = decode_node(blocks.get(cid))
        stack.extend(link.cid for link in links)
    return out


def test_verify_needs_a_cid_or_all_and_repair_is_documented(env, capsys):
    assert run(capsys, "snapshot", "verify")[0] == 2
    assert run(capsys, "snapshot", "verify", "--all")[0] == 0  # no snapshots yet: nothing damaged
    with pytest.raises(SystemExit):
        main(["snapshot", "repair", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "drops every damaged entry" in help_text and "--dry-run" in help_text


def test_a_reader_that_stops_early_is_not_an_error(env, tmp_path, capsys):
    for _ in range(2):
        _create(capsys, "--force")
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout block-buffered, as usual
    for fmt in ("tsv", "json"):
        read_end, write_end = os.pipe()
        os.close(read_end)  # `| head -1` that has already exited
        try:
            proc = subprocess.run([str(BIN / "benchmark-db"), "snapshot", "list", "--format", fmt],
                                  stdout=write_end, stderr=subprocess.PIPE, text=True, env=environ, timeout=120)
        finally:
            os.close(write_end)
        assert proc.returncode == 0, proc.stderr
        assert "BrokenPipeError" not in proc.stderr and "Traceback" not in proc.stderr
