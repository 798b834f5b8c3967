from __future__ import annotations

import io
import tracemalloc

import aleph_cid
import pytest

from benchmark_pipeline.lib.content.cid import DAG_PB, RAW
from benchmark_pipeline.lib.content.dagpb import UNIXFS_FILE, decode_node, decode_unixfs
from benchmark_pipeline.lib.content.errors import UnixFSError
from benchmark_pipeline.lib.content.unixfs import (
    KUBO_V0,
    KUBO_V1,
    Profile,
    get_profile,
    import_bytes,
    import_stream,
    iter_file,
    walk,
)

C = 262_144

# (kubo-v0, kubo-v1) for the reference files.
VECTORS = {
    0: ("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
    1 << 20: (
        "QmXgkY4miMKJBrg8YYke4xw6C2n8WNsUc1GXLhN84k4QM3",
        "bafybeiedpcapwld4tkgtzwahfofgn4wex5ryysf4se6hwpmlrsh4ntnrau",
    ),
    5 << 20: (
        "Qmaatndomjji91F1FhJ4ZMYx9kh4y23eM8oyRYQAnspov5",
        "bafybeihqelb6aubsafst7trdwenmqtqrwg3k2yijt43wridokfoxkka3aq",
    ),
}
EDGE_SIZES = [0, 1, C - 1, C, C + 1, 174 * C, 174 * C + 1]


def _aleph(data: bytes, profile: Profile) -> str:
    hasher = aleph_cid.CidHasher.for_ipfs() if profile is KUBO_V0 else aleph_cid.CidHasher.for_ipfs_v1_raw_leaves()
    hasher.update(data)
    return hasher.finalize()


@pytest.mark.parametrize("size", sorted(VECTORS))
def test_reference_vectors(size, pattern):
    v0, v1 = VECTORS[size]
    data = pattern(size)
    assert str(import_bytes(data, KUBO_V0).cid) == v0
    assert str(import_bytes(data, KUBO_V1).cid) == v1


def test_reference_vector_single_byte():
    assert str(import_bytes(b"a", KUBO_V0).cid) == "QmfDmsHTywy6L9Ne5RXsj5YumDedfBLMvCvmaxjBoe6w4d"
    assert str(import_bytes(b"a").cid) == "bafkreigks6arfsq3xxfpvqrrwonchxcnu6do76auprhhfomao6c273sixm"


@pytest.mark.parametrize("profile", [KUBO_V0, KUBO_V1], ids=lambda p: p.name)
@pytest.mark.parametrize("size", EDGE_SIZES)
def test_size_edges_match_aleph_cid(size, profile, pattern):
    data = pattern(size)
    assert str(import_bytes(data, profile).cid) == _aleph(data, profile)


@pytest.mark.parametrize("profile", [KUBO_V0, KUBO_V1], ids=lambda p: p.name)
def test_random_content_two_level_tree_matches_aleph_cid(profile):
    import random

    data = random.Random(6).randbytes(200 * C + 12_345)
    assert str(import_bytes(data, profile).cid) == _aleph(data, profile)


@pytest.mark.slow
def test_three_level_tree_matches_aleph_cid(repeating_stream, pattern):
    # 174**2 + 1 chunks (7.9 GB, streamed) is the smallest file whose tree is three levels deep.
    total = (174 * 174 + 1) * C
    unit = pattern(64 * C)
    ours = import_stream(repeating_stream(unit, total), KUBO_V1)
    hasher = aleph_cid.CidHasher.for_ipfs_v1_raw_leaves()
    for _ in range(total // len(unit)):
        hasher.update(unit)
    hasher.update(unit[: total % len(unit)])
    assert str(ours.cid) == hasher.finalize()
    assert ours.size == total


def test_short_reads_do_not_move_chunk_boundaries(pattern):
    data = pattern(3 * C + 17)

    class Trickle(io.RawIOBase):
        def __init__(self):
            self.pos = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            n = min(len(buffer), 1000, len(data) - self.pos)
            buffer[:n] = data[self.pos : self.pos + n]
            self.pos += n
            return n

    assert import_stream(Trickle()).cid == import_bytes(data).cid


def test_memory_stays_constant_for_a_large_stream(repeating_stream, pattern):
    stream = repeating_stream(pattern(8 * C), 256 << 20)
    tracemalloc.start()
    try:
        import_stream(stream, KUBO_V0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20  # one chunk buffer, one leaf frame, pending links: well under 2 MiB


def _collect(data: bytes, profile: Profile):
    blocks = {}
    result = import_bytes(data, profile, lambda cid, block: blocks.__setitem__(cid, bytes(block)))
    return result, blocks


@pytest.mark.parametrize("profile", [KUBO_V0, KUBO_V1], ids=lambda p: p.name)
def test_sink_receives_every_block_and_reads_back(profile, pattern):
    data = pattern(175 * C + 3)
    result, blocks = _collect(data, profile)
    assert result.size == len(data)
    assert all(cid.verify(block) for cid, block in blocks.items())
    assert b"".join(iter_file(blocks.__getitem__, result.cid)) == data
    walked = [cid for cid, _ in walk(blocks.__getitem__, result.cid)]
    assert walked[0] == result.cid
    assert set(walked) == set(blocks)
    leaves = [cid for cid in walked if cid.codec == RAW or not decode_node(blocks[cid])[0]]
    assert len(leaves) == 176
    assert {cid.codec for cid in leaves} == {RAW if profile.raw_leaves else DAG_PB}


def test_root_node_declares_sizes(pattern):
    result, blocks = _collect(pattern(2 * C + 5), KUBO_V1)
    links, data = decode_node(blocks[result.cid])
    fs = decode_unixfs(data)
    assert fs.type == UNIXFS_FILE
    assert fs.filesize == 2 * C + 5
    assert fs.blocksizes == (C, C, 5)
    assert [link.tsize for link in links] == [C, C, 5]


@pytest.mark.parametrize("n_chunks", range(0, 30))
def test_small_fanout_trees_are_balanced_and_left_full(n_chunks):
    # A fanout of 3 exercises the same layout code through several tree heights in microseconds.
    profile = Profile("tiny", cid_version=1, raw_leaves=True, chunk_size=2, max_links=3)
    data = bytes(range(2 * n_chunks))
    result, blocks = _collect(data, profile)
    assert b"".join(iter_file(blocks.__getitem__, result.cid)) == data

    def shape(cid, depth):
        if cid.codec == RAW:
            return [depth]
        links, _ = decode_node(blocks[cid])
        assert 1 <= len(links) <= 3
        return [d for link in links for d in shape(link.cid, depth + 1)]

    leaf_depths = shape(result.cid, 0)
    assert len(set(leaf_depths)) == 1  # balanced: every leaf at the same depth
    height = leaf_depths[0]
    assert 3 ** max(height - 1, 0) < max(n_chunks, 1) <= 3**height or n_chunks <= 1


def test_reading_a_directory_node_is_refused():
    from benchmark_pipeline.lib.content.cid import CID
    from benchmark_pipeline.lib.content.dagpb import UNIXFS_DIRECTORY, encode_node, encode_unixfs

    block = encode_node([], encode_unixfs(UNIXFS_DIRECTORY, filesize=0))
    cid = CID.for_block(block, DAG_PB)
    with pytest.raises(UnixFSError, match="not a UnixFS file"):
        list(iter_file({cid: block}.__getitem__, cid))


def test_unknown_profile_is_refused():
    assert get_profile("kubo-v0") is KUBO_V0
    with pytest.raises(ValueError, match="kubo-v1"):
        get_profile("kubo-v2")
