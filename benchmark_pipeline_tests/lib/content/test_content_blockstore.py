from __future__ import annotations

import pytest

from benchmark_pipeline.config import BLOCKS_DIR_ENV, DATA_DIR_ENV, Settings
from benchmark_pipeline.lib.content.blockstore import BlockStore
from benchmark_pipeline.lib.content.cid import CID, DAG_PB, RAW
from benchmark_pipeline.lib.content.errors import BlockNotFoundError, ContentError, CorruptBlockError


def test_put_then_get_round_trip(blockstore):
    cid = CID.for_block(b"hello", RAW)
    assert not blockstore.has(cid)
    assert blockstore.put(cid, b"hello") is True
    assert blockstore.put(cid, b"hello") is False  # idempotent
    assert blockstore.has(cid)
    assert blockstore.get(cid) == b"hello"


def test_block_modified_on_disk_is_refused_on_read(blockstore):
    cid = CID.for_block(b"payload", RAW)
    blockstore.put(cid, b"payload")
    blockstore.path_for(cid).write_bytes(b"paylaod")
    with pytest.raises(CorruptBlockError, match=str(cid)) as info:
        blockstore.get(cid)
    assert str(blockstore.path_for(cid)) in str(info.value)


def test_truncated_block_is_refused_on_read(blockstore):
    cid = CID.for_block(b"x" * 1000, RAW)
    blockstore.put(cid, b"x" * 1000)
    blockstore.path_for(cid).write_bytes(b"x" * 999)
    with pytest.raises(CorruptBlockError):
        blockstore.get(cid)


def test_put_refuses_bytes_that_do_not_match_the_cid(blockstore):
    cid = CID.for_block(b"right", RAW)
    with pytest.raises(CorruptBlockError):
        blockstore.put(cid, b"wrong")
    assert not blockstore.has(cid)


def test_missing_block_error_names_the_cid(blockstore):
    cid = CID.for_block(b"never stored", RAW)
    with pytest.raises(BlockNotFoundError, match=str(cid)) as info:
        blockstore.get(cid)
    assert isinstance(info.value, ContentError)


def test_v0_and_v1_of_one_dag_pb_block_share_storage(blockstore):
    block = b"\x0a\x02\x08\x01"
    v0, v1 = CID.for_block(block, DAG_PB, version=0), CID.for_block(block, DAG_PB, version=1)
    blockstore.put(v0, block)
    assert blockstore.get(v1) == block


def test_no_temporary_files_are_left_behind(blockstore):
    for i in range(20):
        data = str(i).encode()
        blockstore.put(CID.for_block(data, RAW), data)
    files = [p for p in blockstore.root.rglob("*") if p.is_file()]
    assert len(files) == 20
    assert all(p.suffix == ".data" and not p.name.startswith(".") for p in files)


def test_default_root_is_under_cwd_unless_env_overrides(monkeypatch, tmp_path):
    # The library takes its root as an argument; the shell's settings say which.
    monkeypatch.delenv(BLOCKS_DIR_ENV, raising=False)
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    default_blocks_dir = Settings.from_env().blockstore_dir()
    assert default_blocks_dir == tmp_path / "data" / "snapshots" / "blocks"
    assert BlockStore(default_blocks_dir).root == tmp_path / "data" / "snapshots" / "blocks"
    monkeypatch.setenv(BLOCKS_DIR_ENV, str(tmp_path / "elsewhere"))
    assert BlockStore(Settings.from_env().blockstore_dir()).root == tmp_path / "elsewhere"
