"""Shared inputs for the content-addressing tests: the issue's reference file pattern."""

from __future__ import annotations

import io

import pytest

CHUNK = 262_144
_PERIOD = bytes(range(251))


def _pattern(n: int) -> bytes:
    return (_PERIOD * (n // 251 + 1))[:n]


@pytest.fixture
def pattern():
    """``bytes(i % 251 for i in range(n))`` without a per-byte Python loop."""
    return _pattern


class RepeatingStream(io.RawIOBase):
    """``total`` bytes made of ``unit`` repeated, produced on demand (never held in memory)."""

    def __init__(self, unit: bytes, total: int) -> None:
        self._unit = memoryview(unit)
        self._left = total
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self._left, len(self._unit) - self._offset)
        buffer[:n] = self._unit[self._offset : self._offset + n]
        self._offset = (self._offset + n) % len(self._unit)
        self._left -= n
        return n


@pytest.fixture
def repeating_stream():
    return RepeatingStream


@pytest.fixture
def blockstore(tmp_path):
    from benchmark_pipeline.lib.content.blockstore import BlockStore

    return BlockStore(tmp_path / "blocks")
