"""Reading one field of a tool's document with the type it must have, or an error naming it.

Adapters never index a document directly: a missing required key, a string where a number belongs, or an
object where a list belongs becomes an ``LlmFormatError`` that names the file, the record and the dotted
field path, which is what a person fixing the file needs.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Mapping

from .errors import LlmFormatError


def _type_name(value: object) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__)


class Record:
    """One JSON object of a tool's file, with where it sits (file, record, path inside the document)."""

    def __init__(self, data: Mapping[str, Any], source: str, record: str | None = None, path: str = ""):
        if not isinstance(data, Mapping):
            raise LlmFormatError(f"expected an object, got {_type_name(data)}", file=source, record=record,
                                 field=path or None)
        self.data = data
        self.source = source
        self.record = record
        self.path = path

    # -- where
    def field_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str | None, problem: str) -> LlmFormatError:
        return LlmFormatError(problem, file=self.source, record=self.record,
                              field=self.field_path(key) if key is not None else (self.path or None))

    # -- raw access
    def __contains__(self, key: str) -> bool:
        return key in self.data

    def keys(self) -> Iterator[str]:
        return iter(self.data.keys())

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def present(self, key: str) -> bool:
        """Present and not null."""
        return self.data.get(key) is not None

    # -- typed access
    def number(self, key: str, *, required: bool = False, text_ok: bool = False) -> float | None:
        """A finite or infinite float; None when absent or null (unless required). Text only if ``text_ok``."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(key, "required number is missing")
            return None
        if isinstance(value, bool):
            raise self.error(key, f"expected a number, got {_type_name(value)} {value!r}")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str) and text_ok:
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise self.error(key, f"expected a number, got {_type_name(value)} {value!r}")

    def integer(self, key: str, *, required: bool = False, text_ok: bool = False) -> int | None:
        """An integer count; an integral float (``8.0``) is accepted, a fraction is not."""
        value = self.number(key, required=required, text_ok=text_ok)
        if value is None:
            return None
        if not math.isfinite(value) or value != int(value):
            raise self.error(key, f"expected a whole number, got {self.data.get(key)!r}")
        return int(value)

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(key, "required text is missing")
            return None
        if isinstance(value, str):
            return value
        raise self.error(key, f"expected text, got {_type_name(value)} {value!r}")

    def child(self, key: str, *, required: bool = False) -> "Record | None":
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(key, "required object is missing")
            return None
        if not isinstance(value, Mapping):
            raise self.error(key, f"expected an object, got {_type_name(value)}")
        return Record(value, self.source, self.record, self.field_path(key))

    def items_list(self, key: str) -> list[Any] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self.error(key, f"expected a list, got {_type_name(value)}")
        return value

    def first_text(self, key: str) -> str | None:
        """Text, or the first text of a list of texts (GenAI-Perf and AIPerf list their model names)."""
        value = self.data.get(key)
        if isinstance(value, list):
            texts = [item for item in value if isinstance(item, str) and item]
            return texts[0] if texts else None
        return self.text(key)
