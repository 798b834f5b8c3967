"""Raw record dicts seen column by column, with fast conversions for columns that are already clean.

``RawColumns`` replaces ``DataFrame.from_records`` over all record dicts: it builds only the columns a
field spec asks for. ``fast_coerce`` converts a column whose values all have the expected JSON type
(numbers for a number field, strings for a text field, ISO 8601 strings of one layout for a time
field, ...) with a handful of whole-column numpy operations. It returns None whenever the column
has anything else, or anything the value-by-value coercion (``coerce.coerce``) would report as a
problem: the caller then runs that coercion on ``RawColumns.series``, which is exactly the column
``DataFrame.from_records`` would have built, so problems, reasons and values are the same either way.
"""

from __future__ import annotations

import re
from operator import itemgetter
from typing import Any, Sequence

import numpy as np
import pandas as pd

from benchmark_pipeline.lib.normalize import RUN_TIME_MAX_YEAR, RUN_TIME_MIN_YEAR

from .fields import BOOL, FLOAT, INT, INT_MAX, INT_MIN, STR, TIME

_NONE = type(None)
_NAN = float("nan")


class RawColumns:
    """Columns of a list of record dicts, built on demand.

    ``values(key)`` is a plain sequence with None where a record lacks the key (for ``fast_coerce``);
    ``series(key)`` is the column ``DataFrame.from_records(records)`` would hold (same dtype inference,
    NaN where a record lacks the key), for the value-by-value coercion.
    """

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.index = pd.RangeIndex(len(records))
        self.keys: set[str] = set().union(*records) if records else set()
        # Every record has every key (files written by one program): transpose all at once in C.
        self._uniform = bool(records) and len(records[0]) == len(self.keys) and \
            len(set(map(len, records))) == 1
        self._values: dict[str, Sequence[Any]] = {}
        self._series: dict[str, pd.Series] = {}

    def __contains__(self, key: str) -> bool:
        return key in self.keys

    def __len__(self) -> int:
        return len(self.records)

    def values(self, key: str) -> Sequence[Any]:
        if key not in self._values:
            if self._uniform and not self._values:
                names = sorted(self.keys)
                if len(names) == 1:
                    self._values = {names[0]: [r[names[0]] for r in self.records]}
                else:
                    self._values = dict(zip(names, zip(*map(itemgetter(*names), self.records))))
            else:
                self._values[key] = [r.get(key) for r in self.records]
        return self._values[key]

    def __getitem__(self, key: str) -> pd.Series:
        return self.series(key)

    def series(self, key: str) -> pd.Series:
        if key not in self._series:
            column = pd.DataFrame.from_records(self.records, columns=[key])[key]
            self._series[key] = column.set_axis(self.index)
        return self._series[key]


def missing_column(kind: str, n: int) -> pd.Series:
    """An all-missing column in the canonical dtype of ``kind`` (a field no record has)."""
    if kind == FLOAT:
        return pd.Series(np.full(n, np.nan))
    if kind == INT:
        return pd.Series(pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool)))
    if kind == BOOL:
        return pd.Series(pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool)))
    if kind == TIME:
        return pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")).dt.tz_localize("UTC")
    return pd.Series(pd.arrays.StringArray(np.full(n, pd.NA, dtype=object)))  # str, json


def fast_coerce(values: Sequence[Any], kind: str, factor: float = 1.0) -> pd.Series | None:
    """The canonical column for clean values, or None when the value-by-value path must decide."""
    types = set(map(type, values))
    if kind == FLOAT:
        return _fast_float(values, types, factor)
    if kind == INT:
        return _fast_int(values, types)
    if kind == STR and types <= {str, _NONE}:
        return text_column(values)
    if kind == TIME and str in types and types <= {str, _NONE}:
        return _fast_iso_times(values, _NONE in types)
    if kind == BOOL and types <= {bool, _NONE}:
        return pd.Series(pd.array(list(values), dtype="boolean"))
    return None


def _floats(values: Sequence[Any], types: set[type]) -> np.ndarray | None:
    if _NONE in types:
        values = [_NAN if v is None else v for v in values]
    try:
        array = np.array(values, dtype=np.float64)
    except (OverflowError, ValueError, TypeError):
        return None
    if np.isinf(array).any():
        return None  # non-finite: reported by the value-by-value path
    return array


def _fast_float(values: Sequence[Any], types: set[type], factor: float) -> pd.Series | None:
    if not types <= {float, int, _NONE}:
        return None
    array = _floats(values, types)
    if array is None:
        return None
    series = pd.Series(array)
    return series * factor if factor != 1.0 else series


def _fast_int(values: Sequence[Any], types: set[type]) -> pd.Series | None:
    if types == {int}:
        # What from_records builds for whole numbers (int64), as Int64.
        try:
            array = np.array(values, dtype=np.int64)
        except OverflowError:
            return None
        if ((array < INT_MIN) | (array > INT_MAX)).any():
            return None  # "out of range": reported by the value-by-value path
        return pd.Series(array).astype("Int64")
    if not types <= {float, int, _NONE}:
        return None
    # Mixed with floats or missing values: from_records makes float64, which the int coercion rounds.
    array = _floats(values, types)
    if array is None:
        return None
    floats = pd.Series(array)
    if (floats.notna() & ((floats != np.floor(floats.fillna(0))) | (floats < INT_MIN) | (floats > INT_MAX))).any():
        return None  # "not an integer" or "out of range": reported by the value-by-value path
    return floats.round().astype("Int64")


def text_column(values: Sequence[Any]) -> pd.Series:
    """Strings (or None) stripped, empty -> missing, as one shared ``str`` object per distinct value."""
    codes, uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=True)
    stripped = np.array([u.strip() or pd.NA for u in uniques] + [pd.NA], dtype=object)
    shared = stripped[np.where(codes >= 0, codes, len(uniques))]
    return pd.Series(pd.arrays.StringArray(shared))


# The ISO 8601 spellings ``coerce._coerce_iso_times`` hands to pandas (same pattern).
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:[Zz]|[+-]\d{2}:\d{2})?")
_ZERO = ord("0")


def _fast_iso_times(values: Sequence[Any], has_missing: bool) -> pd.Series | None:
    """UTC times for a column of ISO 8601 strings that all share one layout (the usual case).

    Layout = same length, same separators and same kind of offset: then every value matches the ISO
    pattern when the first one does, and the fields sit at fixed positions. Values that are not valid
    dates or times, or fall outside the years pandas handles at nanosecond precision, send the column
    back to the value-by-value path, which reports or parses them as before.
    """
    present = [v for v in values if v is not None] if has_missing else values
    first = present[0]
    if not _ISO.fullmatch(first) or len(set(map(len, present))) != 1:
        return None
    try:
        raw = np.array(present, dtype="S")
    except UnicodeEncodeError:
        return None
    width = len(first)
    if raw.dtype.itemsize != width:
        return None
    grid = raw.view(np.uint8).reshape(len(present), width)
    template = grid[0]
    digit = (template >= _ZERO) & (template <= _ZERO + 9)
    if not (grid[:, ~digit] == template[~digit]).all():
        return None
    digits = grid[:, digit].astype(np.int64) - _ZERO
    if ((digits < 0) | (digits > 9)).any():
        return None

    def number(start: int, length: int) -> np.ndarray:
        out = np.zeros(len(present), dtype=np.int64)
        for pos in range(start, start + length):
            out = out * 10 + (grid[:, pos].astype(np.int64) - _ZERO)
        return out

    year, month, day = number(0, 4), number(5, 2), number(8, 2)
    hour, minute = number(11, 2), number(14, 2)
    rest = first[16:]
    second = micros = offset_minutes = np.zeros(len(present), dtype=np.int64)
    pos = 16
    if rest[:1] == ":":
        second = number(17, 2)
        pos = 19
        if first[19:20] == ".":
            end = 20
            while end < width and first[end].isdigit():
                end += 1
            micros = number(20, end - 20) * 10 ** (6 - (end - 20))
            pos = end
    suffix = first[pos:]
    if suffix and suffix[0] in "+-":
        hours_off, minutes_off = number(pos + 1, 2), number(pos + 4, 2)
        if (hours_off > 23).any() or (minutes_off > 59).any():
            return None
        offset_minutes = (hours_off * 60 + minutes_off) * (1 if suffix[0] == "+" else -1)
    if ((year < RUN_TIME_MIN_YEAR) | (year > RUN_TIME_MAX_YEAR) | (month < 1) | (month > 12) | (day < 1) | (hour > 23) | (minute > 59)
            | (second > 59)).any():
        return None
    months = (year - 1970) * 12 + (month - 1)
    dates = months.astype("datetime64[M]").astype("datetime64[D]") + (day - 1)
    if (dates.astype("datetime64[M]").astype(np.int64) != months).any():
        return None  # day past the end of its month
    micro = ((dates.astype(np.int64) * 1440 + hour * 60 + minute - offset_minutes) * 60 + second) * 1_000_000 + micros
    if has_missing:
        full = np.full(len(values), np.iinfo(np.int64).min, dtype=np.int64)  # NaT
        full[np.fromiter((v is not None for v in values), dtype=bool, count=len(values))] = micro
        micro = full
    return pd.Series(micro.view("datetime64[us]")).dt.tz_localize("UTC")
