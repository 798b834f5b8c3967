"""Column-wise type coercion that remembers, per value, why it could not be used.

Whole numeric columns are handled with numpy; only columns pandas had to store as ``object``
(mixed types, strings, the strings our tolerant JSON parser makes of ``NaN``) go value by value.
Each problem is a reason string that ends up in the quarantine table.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import orjson
import pandas as pd

from benchmark_pipeline.lib.normalize import RUN_TIME_MAX_YEAR, RUN_TIME_MIN_YEAR, parse_timestamp

from .columns import text_column
from .fields import BOOL, FLOAT, INT, INT_MAX, INT_MIN, JSON, STR, TIME

NON_FINITE = "non-finite"
# A number written in full that no double holds (``1e400``): kept as its text by the parser.
OUT_OF_RANGE_FLOAT = f"{NON_FINITE}: out of range of a double (beyond ±1.8e308)"
_NON_FINITE_SPELLINGS = {"nan", "inf", "infinity"}
# orjson writes JSON at most this many arrays and objects deep; a deeper value cannot be stored.
JSON_MAX_DEPTH = 254
OUT_OF_RANGE_INT = f"out of range: integer fields hold {INT_MIN} to {INT_MAX}"
OUT_OF_RANGE_TIME = f"timestamp out of range: years {RUN_TIME_MIN_YEAR} to {RUN_TIME_MAX_YEAR}"
WRONG_TYPE = "wrong type"

_TRUE = {"true", "yes", "y", "1", "pass", "passed", "success"}
_FALSE = {"false", "no", "n", "0", "fail", "failed"}


def coerce(series: pd.Series, kind: str, factor: float = 1.0) -> tuple[pd.Series, pd.Series]:
    """Return (values, problems): values in the canonical dtype, problems a reason or None per row."""
    if kind == FLOAT:
        return _coerce_float(series, factor)
    if kind == INT:
        return _coerce_int(series)
    if kind == STR and _all_text(series):
        return _coerce_text(series)
    if kind == TIME and _all_text(series):
        return _coerce_iso_times(series)
    converter = {STR: _to_str, BOOL: _to_bool, JSON: _to_json, TIME: _to_time}[kind]
    return _elementwise(series, converter, dtype=_DTYPES[kind])


def _all_text(series: pd.Series) -> bool:
    return series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")


def _coerce_text(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole-column ``_to_str`` for columns holding only strings (the common case): strip, empty -> missing.

    Equal values end up as one shared ``str`` object: model and hardware names repeat on every row, and a
    million separate copies would cost more memory than all the numeric columns together.
    """
    return text_column(series.to_numpy(dtype=object)).set_axis(series.index), _no_problems(series.index)


# ISO 8601 date-times that pandas and ``datetime.fromisoformat`` read alike; anything else goes value by value.
_ISO = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:[Zz]|[+-]\d{2}:\d{2})?"


def _coerce_iso_times(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = series.astype("string").str.strip()
    iso = text.str.fullmatch(_ISO).fillna(False).to_numpy(dtype=bool)
    values = pd.Series(pd.NaT, index=series.index, dtype="datetime64[us, UTC]")
    problems = _no_problems(series.index)
    if iso.any():
        # One pandas call per offset spelling: mixing naive and offset values in one call shifts the naive ones.
        normalized = text[iso].str.replace(r"[Zz]$", "+00:00", regex=True)
        offsets = normalized.str.extract(r"([+-]\d{2}:\d{2})$", expand=False).fillna("")
        for offset in offsets.unique():
            group = normalized[(offsets == offset).to_numpy()]
            parsed = pd.to_datetime(group, format="ISO8601", utc=True, errors="coerce")
            values[group.index] = parsed.astype("datetime64[us, UTC]")
        iso &= values.notna().to_numpy()
        years = values.dt.year
        implausible = iso & ((years < RUN_TIME_MIN_YEAR) | (years > RUN_TIME_MAX_YEAR)).fillna(False).to_numpy()
        values[implausible] = pd.NaT
        problems[implausible] = OUT_OF_RANGE_TIME
        iso &= ~implausible
    rest = ~iso & series.notna().to_numpy() & problems.isna().to_numpy()
    if rest.any():
        rest_values, rest_problems = _elementwise(series[rest], _to_time, dtype=_DTYPES[TIME])
        values[rest] = rest_values
        problems[rest] = rest_problems
    return values, problems


_DTYPES = {STR: "string", BOOL: "boolean", JSON: "string", TIME: "datetime64[us, UTC]"}


def _no_problems(index: pd.Index) -> pd.Series:
    return pd.Series(None, index=index, dtype="object")


def _coerce_float(series: pd.Series, factor: float) -> tuple[pd.Series, pd.Series]:
    if series.dtype.kind in "fiu":
        values = series.astype("float64")
        problems = _no_problems(series.index)
        problems[np.isinf(values.to_numpy())] = NON_FINITE
        values = values.mask(np.isinf(values))
        return values * factor if factor != 1.0 else values, problems
    values, problems = _elementwise(series, _to_float, dtype="float64")
    return values * factor if factor != 1.0 else values, problems


def _coerce_int(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    if series.dtype.kind in "iu" and ((series >= INT_MIN) & (series <= INT_MAX)).all():
        return series.astype("Int64"), _no_problems(series.index)
    floats, problems = _coerce_float(series, 1.0)
    frac = floats.notna() & (floats != np.floor(floats.fillna(0)))
    out_of_range = floats.notna() & ((floats < INT_MIN) | (floats > INT_MAX))
    problems = problems.mask(frac & problems.isna(), "not an integer")
    problems = problems.mask(out_of_range & problems.isna(), OUT_OF_RANGE_INT)
    return floats.mask(frac | out_of_range).round().astype("Int64"), problems


def _elementwise(
    series: pd.Series, converter: Callable[[Any], tuple[Any, str | None]], dtype: str
) -> tuple[pd.Series, pd.Series]:
    out: list[Any] = []
    problems: list[str | None] = []
    for value in series.tolist():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            out.append(None)
            problems.append(None)
            continue
        converted, problem = converter(value)
        out.append(converted)
        problems.append(problem)
    values = pd.Series(out, index=series.index, dtype=dtype if dtype != "datetime64[us, UTC]" else "object")
    if dtype == "datetime64[us, UTC]":
        values = pd.to_datetime(values, utc=True).astype(dtype)
    return values, pd.Series(problems, index=series.index, dtype="object")


def _to_float(value: Any) -> tuple[float | None, str | None]:
    if isinstance(value, bool):
        return None, f"{WRONG_TYPE}: boolean where a number is expected"
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None, f"{WRONG_TYPE}: string {value[:40]!r} is not a number"
        if math.isinf(number) and value.strip().lstrip("+-").lower() not in _NON_FINITE_SPELLINGS:
            return None, OUT_OF_RANGE_FLOAT
    else:
        return None, f"{WRONG_TYPE}: {type(value).__name__} where a number is expected"
    if not math.isfinite(number):
        return None, NON_FINITE
    return number, None


def _to_str(value: Any) -> tuple[str | None, str | None]:
    if isinstance(value, str):
        text = value.strip()
        return (text or None), None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value), None
    return None, f"{WRONG_TYPE}: {type(value).__name__} where text is expected"


def _to_bool(value: Any) -> tuple[bool | None, str | None]:
    if isinstance(value, bool):
        return value, None
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value), None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True, None
        if text in _FALSE:
            return False, None
    return None, f"{WRONG_TYPE}: {value!r:.40} is not a boolean"


def _to_json(value: Any) -> tuple[str | None, str | None]:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode(), None
    except TypeError as exc:  # parsed JSON nested deeper than orjson writes
        return None, unstorable_json(exc)


def unstorable_json(exc: TypeError) -> str:
    """Why orjson could not write a parsed value back as JSON (the only cause left: it is nested too deeply)."""
    if "Recursion limit" in str(exc):
        return f"cannot be stored as JSON: nested more than {JSON_MAX_DEPTH} levels deep"
    return f"cannot be stored as JSON: {exc}"


def _to_time(value: Any) -> tuple[Any, str | None]:
    parsed = parse_timestamp(value)
    if parsed is None:
        return None, f"unparseable timestamp {value!r:.40}"
    if not RUN_TIME_MIN_YEAR <= parsed.year <= RUN_TIME_MAX_YEAR:
        return None, OUT_OF_RANGE_TIME
    return pd.Timestamp(parsed), None
