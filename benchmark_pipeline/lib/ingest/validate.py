"""Normalized frames to validated frames and quarantine rows: the rules of "nothing lost, nothing invented".

A record with any problem (a coercion problem from ``records`` or a pandera failure) is quarantined
whole, with one quarantine row per failing field, and the rest of its file lands. Exact duplicate
records within a file are stored once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import functools
import json
import warnings

import numpy as np
import orjson
import pandas as pd
import pandera.pandas as pa
from pandera.engines import pandas_engine

from benchmark_pipeline.lib.batch_contract import QUARANTINE_COLUMNS
from benchmark_pipeline.lib.normalize import TIME_SOURCE_FILE_NAME, TIME_SOURCE_LEDGER, TIME_SOURCE_RECORD
from benchmark_pipeline.lib.schemas import CATEGORY_SCHEMAS, CHILD_SCHEMAS, MISSING_REASONS

from .fields import FIELDS
from .records import KEY_COLUMNS, NormalizedCategory, Problems, normalize_category

_STATUS_ALIASES = {
    "pass": "pass", "passed": "pass", "ok": "pass", "success": "pass", "succeeded": "pass",
    "fail": "fail", "failed": "fail", "failure": "fail",
    "error": "error", "errored": "error",
    "skip": "skip", "skipped": "skip",
}


@dataclass
class CategoryRecords:
    """Raw records of one category across files, each with its file id and index in its file."""

    records: list[Any] = field(default_factory=list)
    file_ids: list[int] = field(default_factory=list)
    record_indexes: list[int] = field(default_factory=list)

    def extend(self, file_id: int, records: list[Any]) -> None:
        self.records.extend(records)
        self.file_ids.extend([file_id] * len(records))
        self.record_indexes.extend(range(len(records)))

    def of_file(self, file_id: int) -> "CategoryRecords":
        """The records of one file only."""
        keep = [i for i, f in enumerate(self.file_ids) if f == file_id]
        return CategoryRecords([self.records[i] for i in keep], [file_id] * len(keep),
                               [self.record_indexes[i] for i in keep])


@dataclass
class ValidatedCategory:
    frame: pd.DataFrame
    children: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    duplicates_dropped: int


def validate_category(category: str, batch: CategoryRecords, files: pd.DataFrame) -> ValidatedCategory:
    """Normalize, validate, resolve run times and de-duplicate one category's records.

    ``files`` is indexed by file_id and has ``file_name_time`` and ``seen_at`` (UTC timestamps).
    """
    if not batch.records:  # a one-record submission leaves two categories empty: no need to validate them
        empty = _empty_category(category)
        return ValidatedCategory(empty.frame.copy(), {k: v.copy() for k, v in empty.children.items()},
                                 empty.quarantine.copy(), 0)
    return _validate_category(category, batch, files)


@functools.lru_cache(maxsize=None)
def _empty_category(category: str) -> ValidatedCategory:
    """The typed empty result of a category, computed once per process (callers get copies)."""
    files = pd.DataFrame({"file_name_time": pd.Series(dtype="datetime64[ns, UTC]"),
                          "seen_at": pd.Series(dtype="datetime64[ns, UTC]")}, index=pd.Index([], name="file_id"))
    return _validate_category(category, CategoryRecords(), files)


def _validate_category(category: str, batch: CategoryRecords, files: pd.DataFrame) -> ValidatedCategory:
    normalized = normalize_category(
        category, batch.records, np.asarray(batch.file_ids, dtype=np.int64),
        np.asarray(batch.record_indexes, dtype=np.int64),
    )
    frame = normalized.frame
    if category == "integration":
        frame["status"] = _canonical_status(frame["status"], normalized.problems, frame)
    if category == "performance":
        _fill_power_from_child(frame, normalized.children.get("power_metrics"))
    bad = frame["has_problem"].to_numpy().copy()
    bad |= _pandera_failures(CATEGORY_SCHEMAS[category], frame, normalized.problems, None)
    for name, child in normalized.children.items():
        child_bad = _pandera_failures(CHILD_SCHEMAS[name], child, normalized.problems, name)
        if child_bad.any():
            bad |= _parents_of(frame, child[child_bad])
    _resolve_run_time(frame, files)

    quarantine = _quarantine_frame(category, normalized, bad)
    good = frame.loc[~bad].drop(columns=["has_problem"])
    good, dropped = _drop_exact_duplicates(good, normalized.children)
    children = {
        name: child.merge(good[KEY_COLUMNS], on=KEY_COLUMNS, how="inner")
        for name, child in normalized.children.items()
    }
    return ValidatedCategory(good.reset_index(drop=True), children, quarantine, dropped)


def normalize_failures(batch: CategoryRecords, files: pd.DataFrame) -> pd.DataFrame:
    """Failure rows of converted legacy files: typed and timed, never quarantined (they are diagnostics)."""
    from .fields import FAILURE_FIELDS
    from .records import normalize_rows

    frame = normalize_rows(batch.records, FAILURE_FIELDS, np.asarray(batch.file_ids, dtype=np.int64),
                           np.asarray(batch.record_indexes, dtype=np.int64))
    _resolve_run_time(frame, files)
    return frame


def _canonical_status(status: pd.Series, problems: Problems, frame: pd.DataFrame) -> pd.Series:
    lowered = status.str.strip().str.lower()
    mapped = lowered.map(_STATUS_ALIASES).astype("string")
    # Unknown spellings stay as written so pandera reports the value the file really had.
    return mapped.fillna(status)


def _fill_power_from_child(frame: pd.DataFrame, power: pd.DataFrame | None) -> None:
    """A nested ``power_metrics`` object also fills the record's own power columns when they are empty."""
    if power is None or power.empty:
        return
    summary = power.drop_duplicates(KEY_COLUMNS).set_index(KEY_COLUMNS)
    index = pd.MultiIndex.from_frame(frame[KEY_COLUMNS])
    for column, child_column in (("power_watts", "power_watts_avg"), ("energy_joules", "energy_joules"),
                                 ("items_per_joule", "items_per_joule")):
        fill = summary[child_column].reindex(index).to_numpy(dtype="float64", na_value=np.nan)
        frame[column] = frame[column].fillna(pd.Series(fill, index=frame.index))


_CHECK_REASONS = {
    "not_nullable": "missing required field",
    "greater_than(0)": "must be > 0",
    "greater_than_or_equal_to(0)": "must be >= 0",
    "greater_than_or_equal_to(1)": "must be >= 1",
    "str_length(1, None)": "must not be empty",
    "latency or throughput": "needs average_latency_ms, latency_p50_ms or throughput_items_per_second > 0",
    "model or family": "needs model_name (or model_family for a family-level result)",
    "llm hardware type": "cannot tell the hardware type (cuda, rocm, npu, tpu, hpu, cpu or hosted) of the hardware named "
                         "in device_name; name the GPU with its vendor (--gpu \"NVIDIA ...\", \"AMD ...\") or as "
                         "hosted:<provider>",
    "llm measurement": "no measurement: no latency or throughput value (a run where every request failed is "
                       "stored as a benchmark failure, not as a result)",
}


# Record-level checks that are about one field all the same: the quarantine row names it, with its value.
_FRAME_CHECK_FIELDS = {"llm hardware type": "device_name"}


def _reason(check: str) -> str:
    if check in _CHECK_REASONS:
        return _CHECK_REASONS[check]
    if check.startswith("isin("):
        return "must be one of " + check[len("isin("):-1]
    if check.startswith("in_range("):
        return "must be within " + check[len("in_range("):-1]
    return check


def _pandera_failures(
    model: type[pa.DataFrameModel], frame: pd.DataFrame, problems: Problems, child: str | None
) -> np.ndarray:
    bad = np.zeros(len(frame), dtype=bool)
    rows = np.flatnonzero(_suspect_rows(model, frame)) if not frame.empty else []
    if not len(rows):
        return bad
    checked = frame if len(rows) == len(frame) else frame.iloc[rows].reset_index(drop=True)
    try:
        with warnings.catch_warnings():
            # pandera's own report building concatenates all-missing failure cases, which pandas 2.x warns
            # about (pandera/backends/pandas/error_formatters.py): nothing of ours, and no user's concern.
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"pandera\.")
            model.validate(checked, lazy=True)
        return bad
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    if cases["index"].isna().any():
        structural = cases[cases["index"].isna()]
        raise RuntimeError(f"frame does not match {model.__name__}: {structural.to_dict('records')}")
    already = {(r["file_id"], r["record_index"], r["field"]) for r in problems.rows}
    frame_checks = {check.name for check in model.to_schema().checks}
    seen_frame_failures: set[int] = set()
    for case in cases.itertuples(index=False):
        pos = int(rows[int(case.index)])
        bad[pos] = True
        check = str(case.check)
        if check in frame_checks:
            if pos in seen_frame_failures:
                continue
            seen_frame_failures.add(pos)
            column = _FRAME_CHECK_FIELDS.get(check)
        else:
            column = case.column
        if check == "not_nullable" and _coercion_failed(already, frame, pos, column):
            continue
        reason = _reason(check)
        if check == "not_nullable":
            reason = MISSING_REASONS.get(model, {}).get(column, reason)
        field_name = column
        if child and column:
            field_name = f"{child}[{int(frame['child_index'].iat[pos])}].{column}"
        value = frame[column].iat[pos] if column else None
        problems.add(int(frame["file_id"].iat[pos]), int(frame["record_index"].iat[pos]), field_name,
                     None if column is None or pd.isna(value) else value, reason)
    return bad


# The column checks the models use, whole-column on the non-missing values (pandera's ignore_na).
_QUICK_CHECKS = {
    "greater_than": lambda values, stats: values > stats["min_value"],
    "greater_than_or_equal_to": lambda values, stats: values >= stats["min_value"],
    "less_than_or_equal_to": lambda values, stats: values <= stats["max_value"],
    "isin": lambda values, stats: values.isin(stats["allowed_values"]),
    "str_length": lambda values, stats: _length_ok(values.str.len(), stats),
}


def _length_ok(lengths: pd.Series, stats: dict[str, Any]) -> pd.Series:
    ok = pd.Series(True, index=lengths.index)
    if stats.get("exact_value") is not None:
        ok &= lengths == stats["exact_value"]
    if stats.get("min_value") is not None:
        ok &= lengths >= stats["min_value"]
    if stats.get("max_value") is not None:
        ok &= lengths <= stats["max_value"]
    return ok


@functools.cache
def _schema(model: type[pa.DataFrameModel]) -> pa.DataFrameSchema:
    return model.to_schema()


def _suspect_rows(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> np.ndarray:
    """The rows pandera might report: every other row passes each dtype and check of ``model``.

    One vectorised pass over the model's own checks (read from its schema: the rules are the pandera
    model's, written once) instead of pandera's machinery, which then runs on the suspect rows alone, so a
    messy record costs its own validation, not its chunk's. All rows when it meets anything it cannot
    tell (a dtype pandera would refuse, a check it does not know): pandera itself decides them all.
    """
    schema = _schema(model)
    everything = np.ones(len(frame), dtype=bool)
    suspect = np.zeros(len(frame), dtype=bool)
    for name, column in schema.columns.items():
        if name not in frame.columns or not column.dtype.check(pandas_engine.Engine.dtype(frame[name].dtype)):
            return everything
        values = frame[name]
        missing = values.isna().to_numpy()
        if not column.nullable:
            suspect |= missing
        for check in column.checks:
            quick = _QUICK_CHECKS.get(check.name)
            if quick is None or not check.ignore_na:
                return everything
            passed = pd.Series(quick(values, check.statistics)).fillna(True).to_numpy(dtype=bool)
            suspect |= ~passed & ~missing
    for check in schema.checks:
        output = check(frame).check_output
        if not isinstance(output, pd.Series) or len(output) != len(frame):
            return everything
        suspect |= ~output.to_numpy(dtype=bool)
    return suspect


def _coercion_failed(already: set, frame: pd.DataFrame, pos: int, column: str) -> bool:
    """True when the value is missing only because its raw spelling was already rejected."""
    file_id, record_index = int(frame["file_id"].iat[pos]), int(frame["record_index"].iat[pos])
    sources = _RAW_SOURCES.get(column, (column,))
    return any((file_id, record_index, source) in already for source in sources)


_RAW_SOURCES = {
    spec.name: tuple(src for src, _ in spec.sources()) for specs in FIELDS.values() for spec in specs
}


def _parents_of(frame: pd.DataFrame, children: pd.DataFrame) -> np.ndarray:
    keys = pd.MultiIndex.from_frame(frame[KEY_COLUMNS])
    return keys.isin(pd.MultiIndex.from_frame(children[KEY_COLUMNS]))


_TIME_SOURCES = np.array([TIME_SOURCE_RECORD, TIME_SOURCE_FILE_NAME, TIME_SOURCE_LEDGER], dtype=object)


def _resolve_run_time(frame: pd.DataFrame, files: pd.DataFrame) -> None:
    """Run time = the record's timestamp, else the file name's stamp, else when the ledger first saw the file."""
    file_ids = frame["file_id"].to_numpy()
    from_name = files["file_name_time"].reindex(file_ids).set_axis(frame.index)
    seen = files["seen_at"].reindex(file_ids).set_axis(frame.index)
    record_time = frame["timestamp"]
    has_record = record_time.notna().to_numpy()
    has_name = from_name.notna().to_numpy()
    run_time = record_time.astype("datetime64[us, UTC]").where(
        has_record, from_name.astype("datetime64[us, UTC]").where(has_name, seen.astype("datetime64[us, UTC]")))
    frame["run_time"] = run_time
    # One shared object per source, picked by position: np.where over the names would make a new string
    # per row, and each would be hashed, pickled to the writer and scanned again on its own.
    derived = _TIME_SOURCES[np.where(has_record, 0, np.where(has_name, 1, 2))]
    given = frame["time_source"].to_numpy(dtype=object, na_value=None)
    keep_given = has_record & pd.notna(given)
    frame["time_source"] = pd.Series(np.where(keep_given, given, derived), index=frame.index, dtype="string")
    frame.drop(columns=["timestamp"], inplace=True)


def _quarantine_frame(category: str, normalized: NormalizedCategory, bad: np.ndarray) -> pd.DataFrame:
    rows = normalized.problems.frame()
    if rows.empty:
        return pd.DataFrame(columns=QUARANTINE_COLUMNS)
    frame = normalized.frame
    position = dict(zip(zip(frame["file_id"].tolist(), frame["record_index"].tolist()), range(len(frame))))
    json_of: dict[int, str | None] = {}  # one record, many failing fields: written once
    record_json = []
    for key in zip(rows["file_id"].tolist(), rows["record_index"].tolist()):
        pos = position.get(key)
        if pos is not None and pos not in json_of:
            json_of[pos] = _record_json(normalized.raw_records[pos])
        record_json.append(json_of.get(pos) if pos is not None else None)
    rows["record_json"] = record_json
    rows["category"] = category
    return rows[QUARANTINE_COLUMNS].drop_duplicates(["file_id", "record_index", "field", "reason"])


def _record_json(record: dict[str, Any]) -> str | None:
    """The quarantined record verbatim as sorted JSON; a record nested deeper than orjson writes goes through
    the standard library (same JSON), and one too deep even for that is kept by its quarantine rows alone."""
    try:
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        pass
    try:
        return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (RecursionError, ValueError, TypeError):
        return None


def _drop_exact_duplicates(good: pd.DataFrame, children: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, int]:
    if good.empty:
        return good, 0
    # Exact duplicates agree on every column, so when the float columns alone tell the rows of each file
    # apart (the usual case: measurements differ) there is nothing to drop and no need to hash the rest.
    floats = [c for c in good.columns if good[c].dtype == np.float64]
    if floats:
        float_hash = pd.util.hash_pandas_object(good[floats], index=False).to_numpy()
        if not pd.DataFrame({"file_id": good["file_id"].to_numpy(), "h": float_hash}).duplicated().any():
            return good, 0
    content = good.drop(columns=["record_index"])
    row_hash = pd.util.hash_pandas_object(content, index=False).to_numpy()
    key = pd.DataFrame({"file_id": good["file_id"].to_numpy(), "h": row_hash}, index=good.index)
    for salt, (name, child) in enumerate(sorted(children.items()), start=1):
        if child.empty:
            continue
        child_hash = pd.util.hash_pandas_object(child.drop(columns=["record_index"]), index=False)
        per_parent = (
            pd.DataFrame({"file_id": child["file_id"], "record_index": child["record_index"],
                          "h": child_hash.to_numpy() * np.uint64(2 * salt + 1)})
            .groupby(KEY_COLUMNS)["h"].sum()
        )
        parent_hash = per_parent.reindex(pd.MultiIndex.from_frame(good[KEY_COLUMNS])).fillna(0).to_numpy("uint64")
        key["h"] = key["h"].to_numpy() ^ parent_hash
    duplicated = key.duplicated().to_numpy()
    return good.loc[~duplicated], int(duplicated.sum())
