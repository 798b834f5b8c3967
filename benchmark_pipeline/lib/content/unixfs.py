"""UnixFS file import with kubo's defaults, and reading a file DAG back.

The point of matching kubo byte for byte is that a CID we print can be checked by anyone with
``ipfs add -n`` and fetched from any IPFS node. The importer streams: it keeps one chunk buffer
and at most ``max_links`` pending links per tree level, so memory stays constant whatever the
file size, and the hashing of each chunk (hashlib releases the GIL) is the only real work.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from benchmark_pipeline.lib.content.cid import CID, DAG_PB, RAW
from benchmark_pipeline.lib.content.dagpb import (
    UNIXFS_FILE,
    UNIXFS_RAW,
    DagPbError,
    Link,
    decode_node,
    decode_unixfs,
    encode_node,
    encode_unixfs,
    file_leaf_frame,
)
from benchmark_pipeline.lib.content.errors import UnixFSError

CHUNK_SIZE = 262_144
MAX_LINKS = 174

# Called once per block, children before parents. ``data`` may be a view of a reused buffer:
# it is valid only for the duration of the call.
BlockSink = Callable[[CID, "bytes | memoryview"], None]
GetBlock = Callable[[CID], bytes]


@dataclass(frozen=True, slots=True)
class Profile:
    """Importer parameters; the two named profiles are the only ones whose CIDs kubo reproduces."""

    name: str
    cid_version: int
    raw_leaves: bool
    chunk_size: int = CHUNK_SIZE
    max_links: int = MAX_LINKS

    def __post_init__(self) -> None:
        if self.chunk_size < 1 or self.max_links < 2:
            raise ValueError("chunk_size must be >= 1 and max_links >= 2")


KUBO_V1 = Profile("kubo-v1", cid_version=1, raw_leaves=True)
KUBO_V0 = Profile("kubo-v0", cid_version=0, raw_leaves=False)
PROFILES = {p.name: p for p in (KUBO_V1, KUBO_V0)}
DEFAULT_PROFILE = KUBO_V1


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r} (choose from {', '.join(PROFILES)})") from None


@dataclass(frozen=True, slots=True)
class ImportResult:
    cid: CID
    size: int  # file bytes
    blocks: int  # blocks emitted (repeated chunks count each time)


@dataclass(slots=True)
class _Pending:
    link: Link
    filesize: int


class _Importer:
    def __init__(self, profile: Profile, sink: BlockSink | None) -> None:
        self.profile = profile
        self.sink = sink
        # levels[0] holds leaves, levels[i] nodes of height i; a level is flushed into its
        # parent only when one more entry arrives, which yields kubo's balanced layout.
        self.levels: list[list[_Pending]] = [[]]
        self.blocks = 0
        self.size = 0
        self._frames: dict[int, tuple[bytes, bytes]] = {}

    def _emit(self, cid: CID, data: bytes | memoryview) -> None:
        self.blocks += 1
        if self.sink is not None:
            self.sink(cid, data)

    def add_chunk(self, chunk: memoryview) -> None:
        n = len(chunk)
        self.size += n
        self._push(0, self._leaf(chunk))

    def _leaf(self, chunk: memoryview) -> _Pending:
        n = len(chunk)
        if self.profile.raw_leaves:
            cid = CID(1, RAW, hashlib.sha256(chunk).digest())
            self._emit(cid, chunk)
            return _Pending(Link(cid, n), n)
        frame = self._frames.get(n)
        if frame is None:
            frame = self._frames[n] = file_leaf_frame(n)
        prefix, suffix = frame
        h = hashlib.sha256(prefix)
        h.update(chunk)
        h.update(suffix)
        cid = CID(self.profile.cid_version, DAG_PB, h.digest())
        if self.sink is not None:
            self._emit(cid, b"".join((prefix, chunk, suffix)))
        else:
            self.blocks += 1
        return _Pending(Link(cid, len(prefix) + n + len(suffix)), n)

    def _push(self, height: int, entry: _Pending) -> None:
        if len(self.levels[height]) == self.profile.max_links:
            self._flush(height)
        self.levels[height].append(entry)

    def _flush(self, height: int) -> None:
        """Turn the entries pending at ``height`` into one node one level up."""
        entries = self.levels[height]
        self.levels[height] = []
        if height + 1 == len(self.levels):
            self.levels.append([])
        node = self._node(entries)
        self._push(height + 1, node)

    def _node(self, entries: list[_Pending]) -> _Pending:
        filesize = sum(e.filesize for e in entries)
        data = encode_unixfs(UNIXFS_FILE, filesize=filesize, blocksizes=[e.filesize for e in entries])
        block = encode_node([e.link for e in entries], data)
        cid = CID(self.profile.cid_version, DAG_PB, hashlib.sha256(block).digest())
        self._emit(cid, block)
        tsize = len(block) + sum(e.link.tsize for e in entries)
        return _Pending(Link(cid, tsize), filesize)

    def finish(self) -> ImportResult:
        if not self.levels[0]:  # empty file
            if self.profile.raw_leaves:
                root = self._leaf(memoryview(b""))
            else:
                block = encode_node([], encode_unixfs(UNIXFS_FILE, filesize=0))
                cid = CID(self.profile.cid_version, DAG_PB, hashlib.sha256(block).digest())
                self._emit(cid, block)
                root = _Pending(Link(cid, len(block)), 0)
            return ImportResult(root.link.cid, 0, self.blocks)
        height = 0
        while True:
            above = any(self.levels[height + 1 :])
            if not above and len(self.levels[height]) == 1:
                return ImportResult(self.levels[height][0].link.cid, self.size, self.blocks)
            if self.levels[height]:
                self._flush(height)
            height += 1


def _read_full(stream: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` unless EOF comes first: kubo's chunker cuts at fixed offsets, not at reads."""
    filled = 0
    total = len(view)
    while filled < total:
        got = stream.readinto(view[filled:])
        if not got:
            break
        filled += got
    return filled


def import_stream(stream: BinaryIO, profile: Profile = DEFAULT_PROFILE, sink: BlockSink | None = None) -> ImportResult:
    """Chunk ``stream`` into a UnixFS file DAG; pass each block to ``sink`` and return the root."""
    importer = _Importer(profile, sink)
    buf = bytearray(profile.chunk_size)
    view = memoryview(buf)
    while True:
        n = _read_full(stream, view)
        if n:
            importer.add_chunk(view[:n])
        if n < len(view):
            break
    return importer.finish()


def import_path(
    path: str | os.PathLike[str], profile: Profile = DEFAULT_PROFILE, sink: BlockSink | None = None
) -> ImportResult:
    with open(path, "rb", buffering=0) as stream:
        return import_stream(stream, profile, sink)


def import_bytes(data: bytes, profile: Profile = DEFAULT_PROFILE, sink: BlockSink | None = None) -> ImportResult:
    import io

    return import_stream(io.BytesIO(data), profile, sink)


def _decode_file_node(cid: CID, block: bytes):
    try:
        links, data = decode_node(block)
        if data is None:
            raise UnixFSError(f"{cid}: dag-pb node without UnixFS data")
        fs = decode_unixfs(data)
    except DagPbError as exc:
        raise UnixFSError(f"{cid}: {exc}") from None
    if fs.type not in (UNIXFS_FILE, UNIXFS_RAW):
        raise UnixFSError(f"{cid} is not a UnixFS file (UnixFS type {fs.type})")
    return links, fs


def iter_file(get_block: GetBlock, root: CID) -> Iterator[bytes]:
    """Yield the file's bytes in order, fetching one block at a time (memory ~ tree depth x links)."""
    expected = None
    produced = 0
    stack = [root]
    while stack:
        cid = stack.pop()
        block = get_block(cid)
        if cid.codec == RAW:
            produced += len(block)
            yield block
            continue
        links, fs = _decode_file_node(cid, block)
        if expected is None:
            expected = fs.filesize
        if fs.data:
            produced += len(fs.data)
            yield fs.data
        stack.extend(link.cid for link in reversed(links))
    if expected is not None and produced != expected:
        raise UnixFSError(f"{root}: file DAG holds {produced} bytes but its root declares {expected}")


def walk(get_block: GetBlock, root: CID) -> Iterator[tuple[CID, bytes]]:
    """Every block of the DAG, depth-first pre-order, each distinct block once (the CARv1 order)."""
    seen: set[tuple[int, bytes]] = set()
    stack = [root]
    while stack:
        cid = stack.pop()
        key = (cid.codec, cid.digest)
        if key in seen:
            continue
        seen.add(key)
        block = get_block(cid)
        yield cid, block
        if cid.codec == DAG_PB:
            try:
                links, _ = decode_node(block)
            except DagPbError as exc:
                raise UnixFSError(f"{cid}: {exc}") from None
            stack.extend(link.cid for link in reversed(links))
