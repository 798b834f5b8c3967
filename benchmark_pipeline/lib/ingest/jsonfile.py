"""Reading one result file: bytes to JSON, with every way a file can be unusable named precisely.

orjson is fast but rejects the ``NaN`` / ``Infinity`` literals some benchmark writers emit, so a
file orjson refuses is re-read by the standard library, which turns those literals into strings;
record normalization later quarantines them as ``non-finite`` instead of losing the whole file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

# File-level problems; each makes the whole file land in quarantine with this reason.
EMPTY = "empty file"
NOT_UTF8 = "not UTF-8"
TRUNCATED = "truncated JSON"
NOT_JSON = "not JSON"


@dataclass(frozen=True)
class ParsedJson:
    document: Any = None
    problem: str | None = None  # one of the constants above, None when the document parsed
    detail: str | None = None  # human-readable detail (position, byte offset)
    byte_offset: int | None = None


def parse_json_bytes(data: bytes) -> ParsedJson:
    """Parse a result file's bytes; never raises for bad content."""
    if not data.strip():
        return ParsedJson(problem=EMPTY, detail=f"{len(data)} bytes, no JSON value")
    try:
        return ParsedJson(document=orjson.loads(data))
    except orjson.JSONDecodeError:
        pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ParsedJson(
            problem=NOT_UTF8,
            detail=f"invalid UTF-8 byte 0x{data[exc.start]:02x} at byte offset {exc.start}",
            byte_offset=exc.start,
        )
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return ParsedJson(document=json.loads(text, parse_constant=str))
    except json.JSONDecodeError as exc:
        truncated = _looks_like_json_start(text) and (
            exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        )
        return ParsedJson(
            problem=TRUNCATED if truncated else NOT_JSON,
            detail=f"{exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})",
        )


def _looks_like_json_start(text: str) -> bool:
    stripped = text.lstrip()
    return bool(stripped) and stripped[0] in "[{\""
