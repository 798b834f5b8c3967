"""The two protobuf messages a UnixFS file needs: dag-pb ``PBNode`` and the UnixFS ``Data`` inside it.

Written by hand because the CID depends on the exact bytes: field order (links before data, as
the dag-pb spec and kubo emit them), an empty link name that is present rather than omitted, and
``filesize`` written even when zero. A general protobuf library would not promise any of that.
Decoding is lenient about field order and unknown fields so blocks made by other tools still read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmark_pipeline.lib.content.cid import CID, CidError, decode_varint, encode_varint
from benchmark_pipeline.lib.content.errors import ContentError

# UnixFS Data.DataType values.
UNIXFS_RAW = 0
UNIXFS_DIRECTORY = 1
UNIXFS_FILE = 2

_VARINT = 0
_I64 = 1
_LEN = 2
_I32 = 5


class DagPbError(ContentError, ValueError):
    """A block that does not decode as dag-pb / UnixFS."""


@dataclass(frozen=True, slots=True)
class Link:
    cid: CID
    tsize: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class UnixFSData:
    type: int
    data: bytes = b""
    filesize: int | None = None
    blocksizes: tuple[int, ...] = field(default_factory=tuple)


def _key(number: int, wire: int) -> bytes:
    return encode_varint((number << 3) | wire)


def _len_field(number: int, payload: bytes) -> bytes:
    return _key(number, _LEN) + encode_varint(len(payload)) + payload


def encode_unixfs(
    type_: int, *, filesize: int, data: bytes | None = None, blocksizes: tuple[int, ...] | list[int] = ()
) -> bytes:
    out = bytearray(_key(1, _VARINT) + encode_varint(type_))
    if data is not None:
        out += _len_field(2, data)
    out += _key(3, _VARINT) + encode_varint(filesize)
    for size in blocksizes:
        out += _key(4, _VARINT) + encode_varint(size)
    return bytes(out)


def encode_link(link: Link) -> bytes:
    return (
        _len_field(1, link.cid.to_bytes())
        + _len_field(2, link.name.encode("utf-8"))
        + _key(3, _VARINT)
        + encode_varint(link.tsize)
    )


def encode_node(links: list[Link] | tuple[Link, ...], data: bytes | None) -> bytes:
    out = bytearray()
    for link in links:
        out += _len_field(2, encode_link(link))
    if data is not None:
        out += _len_field(1, data)
    return bytes(out)


def file_leaf_frame(chunk_length: int) -> tuple[bytes, bytes]:
    """Bytes before and after a chunk in a dag-pb file leaf, so the chunk itself is never copied.

    The leaf is ``PBNode{Data: UnixFS{Type: File, Data: chunk, filesize: len(chunk)}}``; hashing
    ``prefix``, the chunk and ``suffix`` in turn gives its CID without building the block.
    """
    head = _key(1, _VARINT) + encode_varint(UNIXFS_FILE) + _key(2, _LEN) + encode_varint(chunk_length)
    suffix = _key(3, _VARINT) + encode_varint(chunk_length)
    prefix = _key(1, _LEN) + encode_varint(len(head) + chunk_length + len(suffix)) + head
    return prefix, suffix


def _fields(buf: bytes | memoryview):
    """Yield ``(field_number, wire_type, value)``; LEN values are memoryview slices."""
    view = memoryview(buf)
    pos = 0
    end = len(view)
    try:
        while pos < end:
            key, pos = decode_varint(view, pos)
            number, wire = key >> 3, key & 7
            if wire == _VARINT:
                value, pos = decode_varint(view, pos)
            elif wire == _LEN:
                length, pos = decode_varint(view, pos)
                if pos + length > end:
                    raise DagPbError("length-delimited field runs past the end of the block")
                value, pos = view[pos : pos + length], pos + length
            elif wire == _I64:
                value, pos = view[pos : pos + 8], pos + 8
            elif wire == _I32:
                value, pos = view[pos : pos + 4], pos + 4
            else:
                raise DagPbError(f"unsupported protobuf wire type {wire}")
            if pos > end:
                raise DagPbError("field runs past the end of the block")
            yield number, wire, value
    except CidError as exc:
        raise DagPbError(str(exc)) from None


def decode_node(block: bytes | memoryview) -> tuple[list[Link], bytes | None]:
    links: list[Link] = []
    data: bytes | None = None
    for number, wire, value in _fields(block):
        if number == 2 and wire == _LEN:
            links.append(_decode_link(value))
        elif number == 1 and wire == _LEN:
            data = bytes(value)
        else:
            raise DagPbError(f"unexpected dag-pb field {number}")
    return links, data


def _decode_link(buf: memoryview) -> Link:
    cid: CID | None = None
    name = ""
    tsize = 0
    for number, wire, value in _fields(buf):
        if number == 1 and wire == _LEN:
            try:
                cid = CID.from_bytes(value)
            except CidError as exc:
                raise DagPbError(f"bad link CID: {exc}") from None
        elif number == 2 and wire == _LEN:
            name = bytes(value).decode("utf-8", "replace")
        elif number == 3 and wire == _VARINT:
            tsize = value
    if cid is None:
        raise DagPbError("dag-pb link without a hash")
    return Link(cid, tsize, name)


def decode_unixfs(buf: bytes | memoryview) -> UnixFSData:
    type_: int | None = None
    data = b""
    filesize: int | None = None
    blocksizes: list[int] = []
    for number, wire, value in _fields(buf):
        if number == 1 and wire == _VARINT:
            type_ = value
        elif number == 2 and wire == _LEN:
            data = bytes(value)
        elif number == 3 and wire == _VARINT:
            filesize = value
        elif number == 4 and wire == _VARINT:
            blocksizes.append(value)
        elif number == 4 and wire == _LEN:  # packed encoding, as some writers emit
            pos = 0
            while pos < len(value):
                size, pos = decode_varint(value, pos)
                blocksizes.append(size)
    if type_ is None:
        raise DagPbError("UnixFS data without a type")
    return UnixFSData(type_, data, filesize, tuple(blocksizes))
