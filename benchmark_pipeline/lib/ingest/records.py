"""Raw record dicts of one category to typed, canonical frames plus per-field problems.

Works column by column over all files of a batch at once: the record dicts seen as columns
(``columns.RawColumns``, only the keys the fields ask for), each accepted spelling coerced and merged
into its canonical column (whole-column fast path for the clean values, value by value for each of the others),
unknown keys kept as an ``extra`` JSON column, nested ``batch_results`` / ``power_metrics`` /
``assertions`` split into child frames keyed by (file_id, record_index).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd

from benchmark_pipeline.lib.normalize import canonical_hardware_type
from benchmark_pipeline.lib.vocabulary import LLM_SERVING

from .coerce import coerce, unstorable_json
from .columns import RawColumns, fast_coerce, missing_column
from .fields import CHILDREN, FIELDS, STR, FieldSpec, known_raw_keys

KEY_COLUMNS = ["file_id", "record_index"]


@dataclass
class Problems:
    """Per-field problems found while normalizing: one row per (record, field)."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, file_id: int, record_index: int, field_name: str | None, value: Any, reason: str) -> None:
        self.rows.append(
            {"file_id": file_id, "record_index": record_index, "field": field_name,
             "value": _render(value), "reason": reason}
        )

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["file_id", "record_index", "field", "value", "reason"])


@dataclass
class NormalizedCategory:
    frame: pd.DataFrame  # one row per dict record: KEY_COLUMNS + canonical columns + extra + has_problem
    children: dict[str, pd.DataFrame]  # child name -> KEY_COLUMNS + child_index + canonical columns
    problems: Problems
    raw_records: list[dict[str, Any]]  # aligned with frame rows; kept to store quarantined records verbatim


def normalize_category(
    category: str, records: list[Any], file_ids: np.ndarray, record_indexes: np.ndarray
) -> NormalizedCategory:
    problems = Problems()
    keep = [i for i, r in enumerate(records) if isinstance(r, dict)]
    for i in range(len(records)):
        if not isinstance(records[i], dict):
            problems.add(int(file_ids[i]), int(record_indexes[i]), None, records[i],
                         f"record is a {type(records[i]).__name__}, not a JSON object")
    dict_records = [records[i] for i in keep] if len(keep) != len(records) else records
    raw = RawColumns(dict_records)
    keys = pd.DataFrame({"file_id": file_ids[keep].astype("int64"),
                         "record_index": record_indexes[keep].astype("int64")})

    frame, bad = _canonical_columns(raw, FIELDS[category], keys, problems)
    if "hardware_type" in frame and category != LLM_SERVING:
        # LLM results arrive typed (lib/llm/hardware.py, which adds "hosted"); the schema checks the type.
        frame["hardware_type"] = _canonical_hardware(frame["hardware_type"], keys, problems, bad)
    known = known_raw_keys(category)
    frame["extra"] = _extra_json(dict_records, known, keys, problems, bad) if not raw.keys <= known \
        else missing_column(STR, len(dict_records))
    children = {}
    for child_key, child_fields in CHILDREN.get(category, {}).items():
        column = raw[child_key] if child_key in raw else pd.Series([], dtype=object)  # none: no child rows
        children[child_key] = _child_frame(column, child_fields, keys, problems, bad, child_key)
    frame = pd.concat([keys, frame], axis=1)
    frame["has_problem"] = bad
    return NormalizedCategory(frame=frame, children=children, problems=problems, raw_records=dict_records)


def normalize_rows(records: list[dict[str, Any]], specs: tuple[FieldSpec, ...], file_ids: np.ndarray,
                   record_indexes: np.ndarray) -> pd.DataFrame:
    """Typed canonical columns for trusted diagnostic rows; values that cannot be coerced become NULL."""
    raw = RawColumns(records)
    keys = pd.DataFrame({"file_id": file_ids.astype("int64"), "record_index": record_indexes.astype("int64")})
    frame, _ = _canonical_columns(raw, specs, keys, Problems())
    if "hardware_type" in frame:
        frame["hardware_type"] = frame["hardware_type"].map(
            lambda v: canonical_hardware_type(v) if isinstance(v, str) else None).astype("string")
    return pd.concat([keys, frame], axis=1)


def _canonical_columns(
    raw: RawColumns, specs: tuple[FieldSpec, ...], keys: pd.DataFrame, problems: Problems,
    labels: list[str] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    columns: dict[str, pd.Series] = {}
    bad = np.zeros(len(raw), dtype=bool)
    for spec in specs:
        merged: pd.Series | None = None
        for source, factor in spec.sources():
            if source not in raw:
                continue
            values = raw.values(source)
            converted, taken = fast_coerce(values, spec.kind, factor)
            rest = np.flatnonzero(~taken)
            if len(rest):  # the values whole-column conversion left: each decided alone, problems named
                slow, reasons = coerce(pd.Series([values[i] for i in rest], index=rest, dtype=object),
                                       spec.kind, factor)
                converted = converted.where(taken, slow.astype(converted.dtype).reindex(converted.index))
                for pos, reason in zip(rest, reasons):
                    if pd.notna(reason):
                        bad[pos] = True
                        problems.add(int(keys.file_id.iat[pos]), int(keys.record_index.iat[pos]),
                                     (labels[pos] if labels else "") + source, values[pos], reason)
            merged = converted if merged is None else merged.fillna(converted) \
                if merged.dtype == converted.dtype else merged.where(merged.notna(), converted)
        if merged is None:
            merged = missing_column(spec.kind, len(raw))
        columns[spec.name] = merged
    return pd.DataFrame(columns, index=raw.index), bad


def _canonical_hardware(values: pd.Series, keys: pd.DataFrame, problems: Problems, bad: np.ndarray) -> pd.Series:
    uniques = {v: canonical_hardware_type(v) for v in values.dropna().unique()}
    canonical = values.map(uniques).astype("string")
    unknown = (values.notna() & canonical.isna()).to_numpy()
    for pos in np.flatnonzero(unknown):
        problems.add(int(keys.file_id.iat[pos]), int(keys.record_index.iat[pos]), "hardware_type",
                     values.iat[pos], "unknown hardware type")
    bad |= unknown
    return canonical


def _extra_json(records: list[dict[str, Any]], known: set[str], keys: pd.DataFrame, problems: Problems,
                bad: np.ndarray) -> pd.Series:
    """Unknown keys of each record, verbatim, as sorted JSON (None when a record has none).

    A record whose unknown keys cannot be written as JSON (nested deeper than orjson writes) is a
    problem of that record, named by key, never an error of the batch.
    """
    out: list[str | None] = []
    for pos, record in enumerate(records):
        if record.keys() <= known:
            out.append(None)
            continue
        item = {k: v for k, v in record.items() if k not in known}
        try:
            out.append(orjson.dumps(item, option=orjson.OPT_SORT_KEYS).decode())
        except TypeError as whole:
            out.append(None)
            bad[pos] = True
            file_id, record_index = int(keys.file_id.iat[pos]), int(keys.record_index.iat[pos])
            named = 0
            for key, value in item.items():
                try:
                    orjson.dumps({key: value})
                except TypeError as exc:
                    problems.add(file_id, record_index, key, value, unstorable_json(exc))
                    named += 1
            if not named:  # never quarantine a record without saying why
                problems.add(file_id, record_index, None, None, unstorable_json(whole))
    return pd.Series(pd.array(out, dtype="string"))


def _child_frame(
    column: pd.Series, specs: tuple[FieldSpec, ...], keys: pd.DataFrame, problems: Problems,
    bad: np.ndarray, child_key: str,
) -> pd.DataFrame:
    """Explode a nested list (or single object) column into child rows."""
    items: list[Any] = []
    parents: list[int] = []
    positions: list[int] = []
    for pos, value in enumerate(column.tolist()):
        if _is_missing(value):
            continue
        elements = value if isinstance(value, list) else [value] if isinstance(value, dict) else None
        if elements is None:
            problems.add(int(keys.file_id.iat[pos]), int(keys.record_index.iat[pos]), child_key, value,
                         "wrong type: expected a list of objects")
            bad[pos] = True
            continue
        for child_pos, element in enumerate(elements):
            if not isinstance(element, dict):
                problems.add(int(keys.file_id.iat[pos]), int(keys.record_index.iat[pos]),
                             f"{child_key}[{child_pos}]", element, "wrong type: expected an object")
                bad[pos] = True
                continue
            items.append(element)
            parents.append(pos)
            positions.append(child_pos)
    raw = RawColumns(items)
    child_keys = keys.iloc[parents].reset_index(drop=True)
    labels = [f"{child_key}[{p}]." for p in positions]
    frame, child_bad = _canonical_columns(raw, specs, child_keys, problems, labels)
    if child_bad.any():
        bad[np.asarray(parents, dtype=np.int64)[child_bad]] = True
    frame.insert(0, "child_index", np.asarray(positions, dtype=np.int64))
    return pd.concat([child_keys, frame], axis=1)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _render(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()  # numpy scalar
    if isinstance(value, str):
        return value[:500]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else "Infinity" if value > 0 else "-Infinity"  # orjson would say null
    try:
        return orjson.dumps(value).decode()[:500]
    except TypeError:
        pass
    try:
        return repr(value)[:500]
    except RecursionError:
        return f"a {type(value).__name__} nested too deeply to show"
