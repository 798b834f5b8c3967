from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import aleph_cid
import pytest

from benchmark_pipeline.lib.content.blockstore import BlockStore
from benchmark_pipeline.lib.content.car import export_car, import_car, read_car, write_car
from benchmark_pipeline.lib.content.cid import CID, RAW, encode_varint
from benchmark_pipeline.lib.content.errors import CarError, CorruptBlockError
from benchmark_pipeline.lib.content.unixfs import KUBO_V0, KUBO_V1, import_bytes, walk

C = 262_144
REPO = Path(__file__).resolve().parents[3]
IPFS_CAR = REPO / ".ci" / "node" / "node_modules" / ".bin" / "ipfs-car"


def _add(store: BlockStore, data: bytes, profile=KUBO_V1) -> CID:
    return import_bytes(data, profile, lambda cid, block: store.put(cid, block)).cid


def _export(store: BlockStore, root: CID) -> bytes:
    out = io.BytesIO()
    export_car(store, root, out)
    return out.getvalue()


@pytest.mark.parametrize("profile", [KUBO_V0, KUBO_V1], ids=lambda p: p.name)
def test_export_import_round_trip_into_an_empty_store(tmp_path, pattern, profile):
    data = pattern(3 * C + 99)
    source = BlockStore(tmp_path / "a")
    root = _add(source, data, profile)
    target = BlockStore(tmp_path / "b")
    report = import_car(io.BytesIO(_export(source, root)), target)
    assert report.roots == [root]
    assert report.blocks == report.new_blocks == 5
    assert report.missing == []
    from benchmark_pipeline.lib.content.unixfs import iter_file

    assert b"".join(iter_file(target.get, root)) == data


def test_car_is_root_first_depth_first_and_each_block_once(blockstore, pattern):
    # Four identical chunks and one different: five leaves, two distinct leaf blocks.
    data = pattern(C) * 4 + b"tail"
    root = _add(blockstore, data)
    roots, blocks = read_car(io.BytesIO(_export(blockstore, root)))
    order = [cid for cid, _ in blocks]
    assert roots == [root]
    assert order == [root, CID.for_block(pattern(C), RAW), CID.for_block(b"tail", RAW)]


def test_header_and_block_layout_are_readable_by_another_implementation(tmp_path, blockstore, pattern):
    root = _add(blockstore, pattern(2 * C))
    car = tmp_path / "out.car"
    car.write_bytes(_export(blockstore, root))
    assert aleph_cid.read_carv1_root(str(car)) == str(root)


def test_import_refuses_a_tampered_block(blockstore, pattern, tmp_path):
    root = _add(blockstore, pattern(2 * C + 1))
    car = bytearray(_export(blockstore, root))
    car[-1] ^= 0xFF  # inside the last leaf's data
    target = BlockStore(tmp_path / "target")
    with pytest.raises(CorruptBlockError, match="does not hash|do not hash"):
        import_car(io.BytesIO(bytes(car)), target)


def test_import_reports_blocks_missing_from_a_partial_car(blockstore, pattern, tmp_path):
    root = _add(blockstore, pattern(3 * C))
    blocks = list(walk(blockstore.get, root))
    out = io.BytesIO()
    write_car(out, [root], blocks[:-1])  # leave the last leaf out
    report = import_car(io.BytesIO(out.getvalue()), BlockStore(tmp_path / "t"))
    assert report.missing == [blocks[-1][0]]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda car: b"", "empty"),
        (lambda car: car[:5], "truncated"),
        (lambda car: car[:-10], "truncated"),
        (lambda car: encode_varint(3) + b"\xa1\x61\x78", "header"),
        (lambda car: b"\x0a\xa1gversion\x02" + car[11:], "CARv2"),
        (lambda car: b"\x0b\xa1gversion\xf9\x3c\x00", "float"),
    ],
    ids=["empty", "cut-header", "cut-block", "bad-header", "carv2", "float-version"],
)
def test_malformed_cars_are_refused(blockstore, pattern, mutate, message):
    root = _add(blockstore, pattern(C + 1))
    with pytest.raises(CarError, match=message):
        roots, blocks = read_car(io.BytesIO(mutate(_export(blockstore, root))))
        list(blocks)


def _ipfs_car() -> Path:
    if IPFS_CAR.exists():
        return IPFS_CAR
    if os.environ.get("CI") == "true":
        pytest.fail(f"{IPFS_CAR} is missing: run `npm ci --prefix .ci/node` (required when CI=true)")
    pytest.skip("ipfs-car not installed (npm ci --prefix .ci/node)")


@pytest.mark.parametrize("profile", [KUBO_V0, KUBO_V1], ids=lambda p: p.name)
def test_reference_tool_ipfs_car_unpacks_our_car(tmp_path, blockstore, pattern, profile):
    tool = _ipfs_car()
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH but .ci/node is installed")
    data = pattern(175 * C + 1)  # two-level tree
    root = _add(blockstore, data, profile)
    car = tmp_path / "file.car"
    car.write_bytes(_export(blockstore, root))
    roots = subprocess.run([tool, "roots", car], capture_output=True, text=True, check=True, timeout=120)
    assert roots.stdout.split() == [str(root)]
    out = tmp_path / "unpacked"
    subprocess.run([tool, "unpack", car, "--output", out], capture_output=True, check=True, timeout=120)
    assert out.read_bytes() == data


def test_reference_tool_rejects_a_corrupt_car(tmp_path, blockstore, pattern):
    # Guards the test above: proves ipfs-car really checks the blocks it unpacks.
    tool = _ipfs_car()
    root = _add(blockstore, pattern(2 * C))
    car = bytearray(_export(blockstore, root))
    car[-1] ^= 0xFF
    path = tmp_path / "bad.car"
    path.write_bytes(bytes(car))
    result = subprocess.run([tool, "unpack", path, "--output", tmp_path / "x"], capture_output=True, timeout=120)
    assert result.returncode != 0
