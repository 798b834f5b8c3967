"""CARv1: the interchange format other IPFS tools accept (``ipfs dag import``, ``ipfs-car``).

Export writes the root's DAG depth-first, root first, each block once, so a reader can stream the
file back out in order. Import re-hashes every block before it reaches the store and reports the
blocks the DAG links to that neither the CAR nor the store holds, so a truncated CAR cannot pass
for a complete one. The header is a tiny fixed dag-cbor map, encoded and decoded here by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from benchmark_pipeline.lib.content.blockstore import NEW, REPAIRED, BlockStore
from benchmark_pipeline.lib.content.cid import DAG_PB, CID, CidError, decode_varint, encode_varint
from benchmark_pipeline.lib.content.dagpb import DagPbError, decode_node
from benchmark_pipeline.lib.content.errors import CarError, CorruptBlockError
from benchmark_pipeline.lib.content.unixfs import walk

# Far above any block an importer makes (kubo's largest is ~1 MiB); stops a corrupt length
# prefix from making us allocate gigabytes.
MAX_SECTION = 16 << 20
MAX_HEADER = 1 << 20
_CID_TAG = 42


def _cbor_head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes(((major << 5) | value,))
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes(((major << 5) | info,)) + value.to_bytes(size, "big")
    raise ValueError("CBOR length too large")


def encode_header(roots: list[CID]) -> bytes:
    """dag-cbor ``{"roots": [CID...], "version": 1}`` (keys in dag-cbor canonical order)."""
    out = bytearray(_cbor_head(5, 2))
    out += _cbor_head(3, 5) + b"roots" + _cbor_head(4, len(roots))
    for root in roots:
        raw = b"\0" + root.to_bytes()
        out += _cbor_head(6, _CID_TAG) + _cbor_head(2, len(raw)) + raw
    out += _cbor_head(3, 7) + b"version" + _cbor_head(0, 1)
    return bytes(out)


class _CborReader:
    """Just enough dag-cbor for CAR headers: ints, strings, arrays, maps, tag 42, simple values."""

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.buf):
            raise CarError("CAR header is truncated")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def _head(self) -> tuple[int, int]:
        first = self._take(1)[0]
        major, info = first >> 5, first & 31
        if major == 7 and info not in (20, 21, 22):
            raise CarError("CAR header uses CBOR floats or simple values dag-cbor forbids")
        if info < 24:
            return major, info
        if info in (24, 25, 26, 27):
            return major, int.from_bytes(self._take(1 << (info - 24)), "big")
        raise CarError("CAR header uses indefinite-length CBOR, which dag-cbor forbids")

    def item(self, depth: int = 0):
        if depth > 16:
            raise CarError("CAR header nests too deeply")
        major, value = self._head()
        if major == 0:
            return value
        if major == 1:
            return -1 - value
        if major == 2:
            return self._take(value)
        if major == 3:
            return self._take(value).decode("utf-8", "replace")
        if major == 4:
            return [self.item(depth + 1) for _ in range(value)]
        if major == 5:
            out = {}
            for _ in range(value):
                key = self.item(depth + 1)
                out[key] = self.item(depth + 1)
            return out
        if major == 6:
            inner = self.item(depth + 1)
            if value != _CID_TAG or not isinstance(inner, bytes) or inner[:1] != b"\0":
                raise CarError(f"unexpected CBOR tag {value} in CAR header")
            try:
                return CID.from_bytes(inner[1:])
            except CidError as exc:
                raise CarError(f"bad root CID in CAR header: {exc}") from None
        return {20: False, 21: True, 22: None}[value]


def decode_header(buf: bytes) -> list[CID]:
    reader = _CborReader(buf)
    header = reader.item()
    if reader.pos != len(buf) or not isinstance(header, dict):
        raise CarError("CAR header is not a single CBOR map")
    version = header.get("version")
    if version == 2:
        raise CarError("this is a CARv2 file; only CARv1 is supported")
    if version != 1:
        raise CarError(f"unsupported CAR version {version!r}")
    roots = header.get("roots")
    if not isinstance(roots, list) or not roots or not all(isinstance(r, CID) for r in roots):
        raise CarError("CAR header has no valid roots")
    return roots


def write_car(out: BinaryIO, roots: list[CID], blocks: Iterable[tuple[CID, bytes]]) -> int:
    """Write a CARv1 stream; return the number of blocks written."""
    header = encode_header(roots)
    out.write(encode_varint(len(header)) + header)
    count = 0
    for cid, data in blocks:
        raw = cid.to_bytes()
        out.write(encode_varint(len(raw) + len(data)) + raw)
        out.write(data)
        count += 1
    return count


def export_car(store: BlockStore, root: CID, out: BinaryIO) -> int:
    """Write the complete DAG under ``root`` (every block verified as it is read)."""
    return write_car(out, [root], walk(store.get, root))


def _read_varint(stream: BinaryIO) -> int | None:
    """A varint from a stream; None on clean EOF before its first byte."""
    value = 0
    shift = 0
    while True:
        byte = stream.read(1)
        if not byte:
            if shift == 0:
                return None
            raise CarError("CAR stream ends inside a length prefix")
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7
        if shift > 63:
            raise CarError("CAR length prefix is not a valid varint")


def _read_exact(stream: BinaryIO, n: int, what: str) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise CarError(f"CAR stream is truncated inside {what}")
    return data


def read_car(stream: BinaryIO) -> tuple[list[CID], Iterator[tuple[CID, bytes]]]:
    """Parse the header now; the returned iterator yields blocks, each verified against its CID."""
    length = _read_varint(stream)
    if length is None:
        raise CarError("empty file: not a CAR")
    if not 0 < length <= MAX_HEADER:
        raise CarError(f"implausible CAR header length {length}")
    roots = decode_header(_read_exact(stream, length, "the header"))

    def blocks() -> Iterator[tuple[CID, bytes]]:
        index = 0
        while True:
            size = _read_varint(stream)
            if size is None:
                return
            if not 0 < size <= MAX_SECTION:
                raise CarError(f"block section {index} has implausible length {size}")
            section = _read_exact(stream, size, f"block section {index}")
            try:
                cid, start = CID.read(section, 0)
            except CidError as exc:
                raise CarError(f"block section {index}: {exc}") from None
            data = section[start:]
            if not cid.verify(data):
                raise CorruptBlockError(f"CAR block {index} ({cid}) is corrupt: its bytes do not hash to its CID")
            yield cid, data
            index += 1

    return roots, blocks()


@dataclass(frozen=True, slots=True)
class CarImport:
    roots: list[CID]
    blocks: int  # sections read
    new_blocks: int  # of which were not in the store yet
    missing: list[CID]  # linked from the DAG (or a root) but neither in the CAR nor the store
    repaired_blocks: int = 0  # of which the store held a corrupt copy, now rewritten with the CAR's bytes


def import_car(stream: BinaryIO, store: BlockStore) -> CarImport:
    """Store every block of the CAR (a stored copy that is corrupt is rewritten); report what is missing."""
    roots, blocks = read_car(stream)
    present: set[tuple[int, bytes]] = set()
    referenced: dict[tuple[int, bytes], CID] = {(r.codec, r.digest): r for r in roots}
    count = new = repaired = 0
    with store.batch():
        for cid, data in blocks:
            count += 1
            present.add((cid.codec, cid.digest))
            if cid.codec == DAG_PB:
                try:
                    links, _ = decode_node(data)
                except DagPbError as exc:
                    raise CarError(f"{cid}: {exc}") from None
                for link in links:
                    referenced.setdefault((link.cid.codec, link.cid.digest), link.cid)
            outcome = store.write(cid, data, verify=False)  # verified by read_car
            new += outcome == NEW
            repaired += outcome == REPAIRED
    missing = [cid for key, cid in referenced.items() if key not in present and not store.has(cid)]
    return CarImport(roots, count, new, missing, repaired)
