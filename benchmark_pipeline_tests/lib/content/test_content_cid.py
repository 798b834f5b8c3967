from __future__ import annotations

import hashlib

import pytest

from benchmark_pipeline.lib.content.cid import (
    CID,
    DAG_PB,
    RAW,
    CidError,
    b58decode,
    b58encode,
    decode_varint,
    encode_varint,
)

V0 = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
V1_RAW = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
V1_PB = "bafybeiedpcapwld4tkgtzwahfofgn4wex5ryysf4se6hwpmlrsh4ntnrau"


@pytest.mark.parametrize("text", [V0, V1_RAW, V1_PB])
def test_parse_and_print_round_trip(text):
    assert str(CID.parse(text)) == text
    assert CID.from_bytes(CID.parse(text).to_bytes()) == CID.parse(text)


def test_parse_accepts_uppercase_base32_and_surrounding_whitespace():
    assert CID.parse("B" + V1_RAW[1:].upper()) == CID.parse(V1_RAW)
    assert CID.parse(f"  {V0}\n") == CID.parse(V0)


def test_kinds_are_decoded():
    v0, raw, pb = CID.parse(V0), CID.parse(V1_RAW), CID.parse(V1_PB)
    assert (v0.version, v0.codec) == (0, DAG_PB)
    assert (raw.version, raw.codec) == (1, RAW)
    assert (pb.version, pb.codec) == (1, DAG_PB)
    # the empty raw block: its digest is sha256(b"")
    assert raw.digest == hashlib.sha256(b"").digest()
    assert raw.verify(b"") and not raw.verify(b"x")


@pytest.mark.parametrize(
    "text",
    ["", "hello", "Qm" + "0" * 44, "bafy", V1_RAW[:-3], "b!!!!", "f01551220" + "00" * 32],
)
def test_garbage_is_refused_with_cid_error(text):
    with pytest.raises(CidError):
        CID.parse(text)


def test_other_hash_functions_are_refused():
    blake3 = bytes([0x01, RAW, 0x1E, 0x20]) + bytes(32)
    with pytest.raises(CidError, match="multihash"):
        CID.from_bytes(blake3)


def test_cidv0_cannot_address_raw_blocks():
    with pytest.raises(CidError):
        CID(0, RAW, bytes(32))


@pytest.mark.parametrize("data", [b"", b"\0", b"\0\0\1", bytes(range(256)), b"\xff" * 40])
def test_base58_round_trip_keeps_leading_zero_bytes(data):
    assert b58decode(b58encode(data)) == data


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**32, 2**63 - 1])
def test_varint_round_trip(value):
    encoded = encode_varint(value)
    assert decode_varint(encoded + b"\x99", 0) == (value, len(encoded))


def test_truncated_varint_is_an_error():
    with pytest.raises(CidError):
        decode_varint(b"\x80\x80", 0)
