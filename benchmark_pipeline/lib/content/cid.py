"""CIDs restricted to what kubo's file importer produces: sha2-256 over dag-pb or raw blocks.

The multiformats are small enough that the standard library covers them (base32 lower without
padding, base58btc, unsigned varints), which keeps the importer free of third-party packages that
would sit on the hot path or add import time to the CLI. Anything outside that subset (other
hashes, other bases) is refused with a clear error rather than half-supported.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from benchmark_pipeline.lib.content.errors import ContentError

DAG_PB = 0x70
RAW = 0x55
SHA2_256 = 0x12
SHA2_256_LENGTH = 32

_CODEC_NAMES = {DAG_PB: "dag-pb", RAW: "raw"}
_B58_ALPHABET = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}


class CidError(ContentError, ValueError):
    """A CID string or binary CID that is malformed or outside the supported subset."""


def encode_varint(value: int) -> bytes:
    if value < 0:
        raise ValueError("varints are unsigned")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(buf: bytes | memoryview, pos: int = 0) -> tuple[int, int]:
    """Return ``(value, next_pos)``; truncated input raises instead of reading garbage."""
    value = 0
    shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise CidError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise CidError("varint longer than 9 bytes")


def b58encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\0"))
    num = int.from_bytes(data, "big")
    out = bytearray()
    while num:
        num, rem = divmod(num, 58)
        out.append(_B58_ALPHABET[rem])
    out.extend(b"1" * zeros)
    return bytes(reversed(out)).decode("ascii")


def b58decode(text: str) -> bytes:
    num = 0
    for ch in text.encode("ascii", "replace"):
        digit = _B58_INDEX.get(ch)
        if digit is None:
            raise CidError(f"invalid base58btc character {chr(ch)!r}")
        num = num * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    return b"\0" * zeros + body


def b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def b32decode(text: str) -> bytes:
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded)
    except ValueError as exc:
        raise CidError(f"invalid base32: {exc}") from None


@dataclass(frozen=True, slots=True)
class CID:
    """A sha2-256 CID; ``version`` 0 implies dag-pb, as the CIDv0 spec fixes it."""

    version: int
    codec: int
    digest: bytes

    def __post_init__(self) -> None:
        if self.version not in (0, 1):
            raise CidError(f"unsupported CID version {self.version}")
        if self.version == 0 and self.codec != DAG_PB:
            raise CidError("CIDv0 can only address dag-pb blocks")
        if self.codec not in _CODEC_NAMES:
            raise CidError(f"unsupported codec 0x{self.codec:x} (only dag-pb and raw)")
        if len(self.digest) != SHA2_256_LENGTH:
            raise CidError("digest must be 32 bytes (sha2-256)")

    @classmethod
    def for_block(cls, data: bytes | memoryview, codec: int, version: int = 1) -> CID:
        return cls(version, codec, hashlib.sha256(data).digest())

    @property
    def multihash(self) -> bytes:
        return bytes((SHA2_256, SHA2_256_LENGTH)) + self.digest

    @property
    def codec_name(self) -> str:
        return _CODEC_NAMES[self.codec]

    def to_bytes(self) -> bytes:
        """Binary form as embedded in dag-pb links and CAR sections."""
        if self.version == 0:
            return self.multihash
        return encode_varint(1) + encode_varint(self.codec) + self.multihash

    def __str__(self) -> str:
        if self.version == 0:
            return b58encode(self.multihash)
        return "b" + b32encode(self.to_bytes())

    def __repr__(self) -> str:
        return f"CID({self})"

    def verify(self, data: bytes | memoryview) -> bool:
        return hashlib.sha256(data).digest() == self.digest

    @classmethod
    def parse(cls, text: str) -> CID:
        """Parse the string forms kubo prints: CIDv0 (``Qm...``) and CIDv1 in base32 (``b...``)."""
        text = text.strip()
        try:
            if len(text) == 46 and text.startswith("Qm"):
                return cls.from_bytes(b58decode(text))
            if text[:1] in ("b", "B") and len(text) > 1:
                return cls.from_bytes(b32decode(text[1:]))
            if text[:1] == "z" and len(text) > 1:
                return cls.from_bytes(b58decode(text[1:]))
        except CidError as exc:
            raise CidError(f"invalid CID {text!r}: {exc}") from None
        raise CidError(f"not a CID (expected Qm... or base32 b...): {text!r}")

    @classmethod
    def from_bytes(cls, data: bytes | memoryview) -> CID:
        cid, end = cls.read(data, 0)
        if end != len(data):
            raise CidError("trailing bytes after CID")
        return cid

    @classmethod
    def read(cls, data: bytes | memoryview, pos: int) -> tuple[CID, int]:
        """Decode a binary CID at ``pos`` (as found inside CAR sections); return it and the end."""
        if data[pos : pos + 2] == bytes((SHA2_256, SHA2_256_LENGTH)):
            version, codec = 0, DAG_PB
        else:
            version, pos = decode_varint(data, pos)
            if version != 1:
                raise CidError(f"unsupported CID version {version}")
            codec, pos = decode_varint(data, pos)
        hash_code, pos = decode_varint(data, pos)
        length, pos = decode_varint(data, pos)
        if hash_code != SHA2_256:
            raise CidError(f"unsupported multihash 0x{hash_code:x} (only sha2-256)")
        if length != SHA2_256_LENGTH or pos + length > len(data):
            raise CidError("bad sha2-256 digest length")
        return cls(version, codec, bytes(data[pos : pos + length])), pos + length
