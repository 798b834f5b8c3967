"""Reading one result file: bytes to JSON, with every way a file can be unusable named precisely.

orjson is fast but rejects the ``NaN`` / ``Infinity`` literals some benchmark writers emit, so a
file orjson refuses is re-read by the standard library, which turns those literals into strings;
record normalization later quarantines them as ``non-finite`` instead of losing the whole file.

The standard library accepts more than orjson, and what it accepts must not reach the warehouse
unchecked: numbers no double holds (``1e400``, an integer of thousands of digits) are kept as the
text the file gave, like the literals above, so they are quarantined under their own spelling;
integers beyond 64 bits become floats, as orjson makes them; a lone surrogate escape (``"\\ud800"``)
makes a string that is no Unicode text and cannot be stored, and nesting deeper than the parser's
stack is refused: both quarantine the whole file, naming where the problem sits. Whatever a file
holds, parsing it never raises.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

# File-level problems; each makes the whole file land in quarantine with this reason.
EMPTY = "empty file"
NOT_UTF8 = "not UTF-8"
TRUNCATED = "truncated JSON"
NOT_JSON = "not JSON"
TOO_DEEP = "nested too deeply"
NOT_UNICODE = "invalid Unicode escape"

# Integers orjson returns as ``int``; beyond these it returns floats, and so does the fallback.
_INT_MIN, _UINT_MAX = -(2 ** 63), 2 ** 64 - 1
# Longer than any integer in that range (sign included): never handed to ``int()``, whose digit limit
# (4,300 by default) would raise for a long enough literal.
_INT_DIGITS = 21
# The nesting orjson reads; the standard library's own limit is its recursion limit (a little less).
_MAX_DEPTH = 1024
# A ``\uD800``-``\uDFFF`` escape: the only way a surrogate gets into a string parsed from UTF-8.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


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
    except orjson.JSONDecodeError as exc:
        too_deep_for_orjson = str(exc).startswith("depth limit exceeded")
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
        document = json.loads(text, parse_constant=str, parse_float=_float_or_text, parse_int=_int_or_float)
    except json.JSONDecodeError as exc:
        truncated = _looks_like_json_start(text) and (
            exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        )
        return ParsedJson(
            problem=TRUNCATED if truncated else NOT_JSON,
            detail=f"{exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})",
        )
    except RecursionError:
        depth = f"more than {_MAX_DEPTH} levels deep" if too_deep_for_orjson else "deeper than the parser follows"
        return ParsedJson(problem=TOO_DEEP, detail=f"arrays and objects nested {depth}")
    except ValueError as exc:  # anything else the parser refuses: never let it stop the batch
        return ParsedJson(problem=NOT_JSON, detail=str(exc)[:200])
    if _SURROGATE_ESCAPE.search(text):  # cheap test first: without such an escape no string can hold one
        where = _first_lone_surrogate(document)
        if where is not None:
            return ParsedJson(problem=NOT_UNICODE, detail=where)
    return ParsedJson(document=document)


def _float_or_text(text: str) -> float | str:
    """A JSON number with a fraction or exponent: its float, or its text when no double holds it."""
    number = float(text)
    return number if number - number == 0 else text


def _int_or_float(text: str) -> int | float | str:
    """A JSON integer as orjson reads it: an int within 64 bits, else a float (its text if even that overflows)."""
    if len(text) <= _INT_DIGITS:
        number = int(text)
        if _INT_MIN <= number <= _UINT_MAX:
            return number
    return _float_or_text(text)


def _first_lone_surrogate(document: Any) -> str | None:
    """Where the first string or key holding a lone surrogate is, as record and field; None when none does.

    Walks the document without recursion (it may be as deep as the parser allowed). The record is the
    index in a top-level array (0 for a top-level object); the field is the path inside the record.
    """
    top_is_list = isinstance(document, list)
    stack: list[tuple[Any, tuple]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return _describe(path, top_is_list, value)
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                if _SURROGATE.search(key):
                    return _describe(path + (key,), top_is_list, key, is_key=True)
                stack.append((item, path + (key,)))
        elif isinstance(value, list):
            stack.extend((item, path + (i,)) for i, item in reversed(list(enumerate(value))))
    return None


def _describe(path: tuple, top_is_list: bool, text: str, is_key: bool = False) -> str:
    what = f"lone surrogate in the {'key' if is_key else 'string'} '{_escape_surrogates(text)[:80]}'"
    if top_is_list:
        record, inner = path[0], path[1:]
    elif not path:
        return f"{what}: the whole document"
    else:
        record, inner = 0, path
    field = _field_name(inner)
    return f"{what}: record {record}, field '{field}'" if field else f"{what}: record {record}"


def _field_name(path: tuple) -> str:
    """``a.b[2].c`` for the path (keys and indexes) inside a record, lone surrogates escaped."""
    name = ""
    for part in path:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += ("." if name else "") + _escape_surrogates(part)
    return name


def _escape_surrogates(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _looks_like_json_start(text: str) -> bool:
    stripped = text.lstrip()
    return bool(stripped) and stripped[0] in "[{\""
