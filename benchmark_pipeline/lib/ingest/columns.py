"""Raw record dicts seen column by column, with fast conversions for the values that are already clean.

``RawColumns`` replaces ``DataFrame.from_records`` over all record dicts: it builds only the columns a
field spec asks for. ``fast_coerce`` converts the values of a column that have the expected JSON type
(numbers for a number field, strings for a text field, ISO 8601 strings of the column's usual layout for
a time field, ...) with a handful of whole-column numpy operations, and says which values it took. It
leaves anything else, and anything the value-by-value coercion (``coerce.coerce``) would report as a
problem, to that coercion, value by value: a messy record falls back alone, and problems, reasons and
values are the same either way (``test_fast_path_differential.py`` checks it record by record).
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
        self._odd: list[int] | None = None  # records whose keys differ from the usual ones, once transposed
        self._series: dict[str, pd.Series] = {}

    def __contains__(self, key: str) -> bool:
        return key in self.keys

    def __len__(self) -> int:
        return len(self.records)

    def values(self, key: str) -> Sequence[Any]:
        if key not in self._values:
            if not self._values and len(self.records) > 1:
                self._values = self._transposed()
            if key not in self._values:
                if self._odd is not None:  # a key only some odd records have: look in those alone
                    column = [None] * len(self.records)
                    for i in self._odd:
                        column[i] = self.records[i].get(key)
                    self._values[key] = column
                else:
                    self._values[key] = [r.get(key) for r in self.records]
        return self._values[key]

    def _transposed(self) -> dict[str, Sequence[Any]]:
        """All columns at once, in C, of the keys most records have (usually every record has the same:
        files written by one program); a record with other keys is seen through a copy with those keys."""
        common = self._usual_keys()
        names = sorted(common)
        if not names:
            return {}
        rows = self.records
        if not self._uniform:
            same = [r.keys() == common for r in rows]
            if sum(same) * 2 < len(rows):
                return {}
            self._odd = [i for i, s in enumerate(same) if not s]
            rows = [r if s else {k: r.get(k) for k in names} for r, s in zip(rows, same)]
        if len(names) == 1:
            return {names[0]: [r[names[0]] for r in rows]}
        return dict(zip(names, zip(*map(itemgetter(*names), rows))))

    def _usual_keys(self):
        """The key set of most records, judged on a sample (the first record may be the odd one out)."""
        candidates = {frozenset(r): r.keys() for r in self.records[:3]}
        if len(candidates) == 1:
            return next(iter(candidates.values()))
        sample = self.records[::max(1, len(self.records) // 64)]
        return max(candidates.values(), key=lambda keys: sum(r.keys() == keys for r in sample))

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


def fast_coerce(values: Sequence[Any], kind: str, factor: float = 1.0) -> tuple[pd.Series, np.ndarray]:
    """The canonical column for the values that whole-column conversion can take, and where it took them.

    A value of another JSON type, a time in another layout, a number out of range or not whole is left
    missing and not taken: the caller hands those values alone to the value-by-value coercion, which
    decides them and names any problem. So one messy record costs its own slow conversion, not its
    column's (a missing value counts as taken: it is missing either way).
    """
    n = len(values)
    if kind == FLOAT:
        return _fast_float(values, factor)
    if kind == INT:
        return _fast_int(values)
    if kind == STR:
        taken = _of_types(values, _TEXT)
        return text_column(values if taken.all() else _only(values, taken)), taken
    if kind == TIME:
        return _fast_iso_times(values)
    if kind == BOOL:
        taken = _of_types(values, _BOOL)
        present = _only(values, taken) if not taken.all() else values
        return pd.Series(pd.array(list(present), dtype="boolean")), taken
    return missing_column(kind, n), _of_types(values, {_NONE})  # json: every value goes value by value


_NUMBER, _TEXT, _BOOL = {float, int, _NONE}, {str, _NONE}, {bool, _NONE}


def _of_types(values: Sequence[Any], types: set[type]) -> np.ndarray:
    """Where a value's exact type is one of ``types`` (``bool`` is not an ``int`` here)."""
    if set(map(type, values)) <= types:
        return np.ones(len(values), dtype=bool)
    return np.fromiter((type(v) in types for v in values), dtype=bool, count=len(values))


def _only(values: Sequence[Any], taken: np.ndarray) -> list[Any]:
    return [v if t else None for v, t in zip(values, taken)]


def _numbers(values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """float64 of the JSON numbers (NaN elsewhere) and where a value was a number or missing.

    The parser hands over integers within 64 bits only (``jsonfile``), so every number has a double.
    """
    types = set(map(type, values))
    if types <= _NUMBER:
        taken, present = np.ones(len(values), dtype=bool), values
    else:
        taken = _of_types(values, _NUMBER)
        present = _only(values, taken)
    return np.array(present, dtype=np.float64), taken  # None -> NaN


def _fast_float(values: Sequence[Any], factor: float) -> tuple[pd.Series, np.ndarray]:
    array, taken = _numbers(values)
    infinite = np.isinf(array)
    if infinite.any():  # non-finite: reported by the value-by-value path
        array[infinite] = np.nan
        taken &= ~infinite
    series = pd.Series(array)
    return (series * factor if factor != 1.0 else series), taken


def _fast_int(values: Sequence[Any]) -> tuple[pd.Series, np.ndarray]:
    if set(map(type, values)) == {int}:  # the usual column: whole numbers only, no gaps
        try:
            whole = np.array(values, dtype=np.int64)
        except OverflowError:  # beyond 64 bits: out of range, decided below
            whole = None
        if whole is not None and whole.min() >= INT_MIN and whole.max() <= INT_MAX:
            return (pd.Series(pd.arrays.IntegerArray(whole, np.zeros(len(whole), dtype=bool))),
                    np.ones(len(whole), dtype=bool))
    array, taken = _numbers(values)
    present = ~np.isnan(array)
    whole = present & (array == np.floor(np.where(present, array, 0))) & (array >= INT_MIN) & (array <= INT_MAX)
    unfit = present & ~whole  # "not an integer" or "out of range": reported by the value-by-value path
    if unfit.any():
        array[unfit] = np.nan
        taken &= ~unfit
    return pd.Series(array).round().astype("Int64"), taken


def text_column(values: Sequence[Any]) -> pd.Series:
    """Strings (or None) stripped, empty -> missing, as one shared ``str`` object per distinct value."""
    codes, uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=True)
    stripped = np.array([u.strip() or pd.NA for u in uniques] + [pd.NA], dtype=object)
    shared = stripped[np.where(codes >= 0, codes, len(uniques))]
    return pd.Series(pd.arrays.StringArray(shared))


# The ISO 8601 spellings ``coerce._coerce_iso_times`` hands to pandas (same pattern).
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:[Zz]|[+-]\d{2}:\d{2})?")
_ZERO = ord("0")


def _fast_iso_times(values: Sequence[Any]) -> tuple[pd.Series, np.ndarray]:
    """UTC times for the ISO 8601 strings that share the column's usual layout, and where they were taken.

    Layout = same length, same separators and same kind of offset as the commonest string length's first
    value: then each such value matches the ISO pattern when that one does, and its fields sit at fixed
    positions, read here as a grid of bytes (five times faster than pandas' ISO parser on this machine).
    Values in another layout, not valid dates or times, or outside the years a run may have are not taken:
    the value-by-value path parses or reports them alone.
    """
    n = len(values)
    out = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)  # NaT
    types = set(map(type, values))
    if types == {str}:
        taken, strings, text = np.zeros(n, dtype=bool), np.arange(n), values
    else:
        taken = np.fromiter((v is None for v in values), dtype=bool, count=n)
        strings = np.flatnonzero(np.fromiter((type(v) is str for v in values), dtype=bool, count=n))
        text = [values[i] for i in strings]
    if len(strings):
        lengths = np.fromiter(map(len, text), dtype=np.int64, count=len(text))
        width = int(np.bincount(lengths).argmax())
        same = np.flatnonzero(lengths == width)
        first = text[same[0]]
        if _ISO.fullmatch(first) and first.isascii():
            micro, ok = _iso_grid(text if len(same) == len(text) else [text[i] for i in same], first)
            out[strings[same[ok]]] = micro[ok]
            taken[strings[same[ok]]] = True
    return pd.Series(out.view("datetime64[us]")).dt.tz_localize("UTC"), taken


def _iso_grid(present: list[str], first: str) -> tuple[np.ndarray, np.ndarray]:
    """Microseconds since the epoch of strings laid out like ``first``, and which ones were valid."""
    width = len(first)
    try:  # numpy refuses a string that is not ASCII, so when it takes them all they all are
        raw = np.array(present, dtype=f"S{width}")
        ascii_only = np.ones(len(present), dtype=bool)
    except UnicodeEncodeError:
        raw = np.array([v.encode("ascii", "replace") for v in present], dtype=f"S{width}")
        ascii_only = np.fromiter((v.isascii() for v in present), dtype=bool, count=len(present))
    grid = raw.view(np.uint8).reshape(len(present), width)
    template = np.frombuffer(first.encode(), dtype=np.uint8)
    digit = (template >= _ZERO) & (template <= _ZERO + 9)
    cells = grid[:, digit] - np.uint8(_ZERO)  # wraps below "0": then > 9 too
    ok = (grid[:, ~digit] == template[~digit]).all(axis=1) & (cells <= 9).all(axis=1) & ascii_only

    digits = grid.astype(np.int64) - _ZERO

    def number(start: int, length: int) -> np.ndarray:
        out = digits[:, start].copy()
        for pos in range(start + 1, start + length):
            out *= 10
            out += digits[:, pos]
        return out

    year, month, day = number(0, 4), number(5, 2), number(8, 2)
    hour, minute = number(11, 2), number(14, 2)
    second = micros = offset_minutes = np.zeros(len(present), dtype=np.int64)
    pos = 16
    if first[16:17] == ":":
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
        ok &= (hours_off <= 23) & (minutes_off <= 59)
        offset_minutes = (hours_off * 60 + minutes_off) * (1 if suffix[0] == "+" else -1)
    ok &= (year >= RUN_TIME_MIN_YEAR) & (year <= RUN_TIME_MAX_YEAR) & (month >= 1) & (month <= 12) & (day >= 1) \
        & (hour <= 23) & (minute <= 59) & (second <= 59)
    months = (np.where(ok, year, 1970) - 1970) * 12 + (np.where(ok, month, 1) - 1)
    dates = months.astype("datetime64[M]").astype("datetime64[D]") + (np.where(ok, day, 1) - 1)
    ok &= dates.astype("datetime64[M]").astype(np.int64) == months  # a day past the end of its month
    micro = ((dates.astype(np.int64) * 1440 + hour * 60 + minute - offset_minutes) * 60 + second) * 1_000_000 + micros
    return micro, ok
