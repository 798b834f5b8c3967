"""The whole-column fast path gives exactly what the value-by-value path gives, and leaves each unusual value
(alone, not its column) to that path."""

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

import benchmark_pipeline.lib.ingest.batch as batch_module
from benchmark_pipeline.lib.ingest.batch import discover, read_and_validate
from benchmark_pipeline.lib.ingest.coerce import coerce
from benchmark_pipeline.lib.ingest.columns import RawColumns, fast_coerce, missing_column
from benchmark_pipeline.lib.ingest.fields import BOOL, FLOAT, INT, STR, TIME
from benchmark_pipeline.lib.ingest.validate import _suspect_rows
from benchmark_pipeline.lib.schemas import PerformanceRecord
from benchmark_pipeline_tests.conftest import perf_record


def validate(path):
    return read_and_validate(discover([path]).files)


@pytest.mark.parametrize("kind, values", [
    (FLOAT, [1.5, 2, None, 3.25]),
    (FLOAT, [1, 2, 3]),
    (INT, [1, 2, 3]),
    (INT, [1, None, 4.0]),
    (STR, [" bert ", "t5", None, "", "bert"]),
    (BOOL, [True, None, False]),
    (TIME, ["2025-11-02T03:04:05Z", "2025-01-31T23:59:59Z", None]),
    (TIME, ["2025-11-02T03:04:05+02:00", "2025-11-02T03:04:05+05:30", "2024-02-29T00:00:00+08:00"]),
    (TIME, ["2025-11-02 03:04:05.5", "2025-11-02 03:04:05.1"]),
    (TIME, ["2025-11-02T03:04", "1999-12-31T23:59"]),
    (TIME, ["2025-11-02T03:04:05.123456z", "2025-11-02T03:04:05.000001z"]),
])
def test_fast_conversion_equals_the_value_by_value_coercion(kind, values):
    raw = RawColumns([{"x": v} if v is not None else {} for v in values])
    fast, taken = fast_coerce(raw.values("x"), kind)
    slow, problems = coerce(raw.series("x"), kind)
    assert taken.all() and problems.isna().all()
    pd.testing.assert_series_equal(fast, slow, check_names=False, check_index_type=False)


@pytest.mark.parametrize("kind, values, left", [
    (FLOAT, [1.5, "2.5", 3], [1]),  # numeric string: coerced value by value
    (FLOAT, [1.5, True], [1]),
    (FLOAT, [1.5, float("inf")], [1]),
    (INT, [1, 2.5], [1]),
    (INT, [1, "4", 2**40], [1, 2]),
    (STR, ["a", 1], [1]),
    (BOOL, [True, "yes"], [1]),
    (TIME, ["2025-11-02T03:04:05Z", "2025-11-02T03:04:05+02:00", "2025-11-03T03:04:05Z"], [1]),  # two layouts
    (TIME, ["2025-02-30T03:04:05Z", "2025-02-01T03:04:05Z"], [0]),  # no such day
    (TIME, ["2025-11-02T24:00:00Z", "2025-11-02T03:04:05Z"], [0]),
    (TIME, ["20251102_030405"], [0]),
    (TIME, [" 2025-11-02T03:04:05Z"], [0]),
    (TIME, ["2025-11-02T03:04:05Z", 1762052645], [1]),
    (TIME, ["1969-11-02T03:04:05Z", "2025-11-02T03:04:05Z"], [0]),  # before any run
])
def test_each_unusual_value_alone_goes_back_to_the_value_by_value_path(kind, values, left):
    raw = RawColumns([{"x": v} for v in values])
    fast, taken = fast_coerce(raw.values("x"), kind)
    assert list(np.flatnonzero(~taken)) == left
    slow, _ = coerce(pd.Series(values, dtype=object), kind)
    pd.testing.assert_series_equal(fast[taken], slow[taken].astype(fast.dtype), check_names=False,
                                   check_index_type=False)


def test_raw_column_is_what_from_records_builds():
    records = [{"a": 1, "b": "x"}, {"a": None, "c": True}, {"b": [1, 2], "a": 2**63}, {"c": False}]
    raw = RawColumns(records)
    frame = pd.DataFrame.from_records(records)
    for key in ("a", "b", "c"):
        pd.testing.assert_series_equal(raw.series(key), frame[key])
    assert list(raw.values("b")) == ["x", None, [1, 2], None]


def test_uniform_records_are_transposed_once():
    raw = RawColumns([{"a": 1, "b": "x"}, {"b": "y", "a": 2}])
    assert list(raw.values("a")) == [1, 2] and list(raw.values("b")) == ["x", "y"]


@pytest.mark.parametrize("kind, dtype", [(FLOAT, "float64"), (INT, "Int64"), (BOOL, "boolean"), (STR, "string"),
                                         (TIME, "datetime64[us, UTC]")])
def test_missing_columns_have_the_canonical_dtype(kind, dtype):
    column = missing_column(kind, 3)
    pd.testing.assert_series_equal(column, pd.Series(pd.array([None] * 3, dtype=dtype)))


def test_a_bad_value_in_one_file_of_a_chunk_is_quarantined_and_the_clean_files_land(drop, monkeypatch):
    monkeypatch.setattr(batch_module, "CHUNK_RECORDS", 1000)
    drop("performance", "a.json", [perf_record(average_latency_ms=1.0 + i, timestamp="2025-11-02T03:04:05+02:00")
                                   for i in range(3)])
    drop("performance", "b.json", [perf_record(average_latency_ms="fast"), perf_record(average_latency_ms=7.0),
                                   perf_record(batch_size=2.5), perf_record(timestamp="2025-02-30T00:00:00Z")])
    path = drop("performance", "c.json", [perf_record(average_latency_ms="12.75", model_name=" vit ")])
    batch = validate(path.parent)
    reasons = {(row.field, row.record_index): row.reason for row in batch.quarantine.itertuples()}
    assert reasons == {
        ("average_latency_ms", 0): "wrong type: string 'fast' is not a number",
        ("batch_size", 2): "not an integer",
        ("timestamp", 3): "unparseable timestamp '2025-02-30T00:00:00Z'",
    }
    perf = batch.performance.merge(batch.files[["file_id", "source_path"]], on="file_id")
    perf["name"] = perf["source_path"].str.rsplit("/", n=1).str[-1]
    assert list(zip(perf["name"], perf["record_index"])) == [("a.json", 0), ("a.json", 1), ("a.json", 2),
                                                            ("b.json", 1), ("c.json", 0)]
    assert list(perf["average_latency_ms"]) == [1.0, 2.0, 3.0, 7.0, 12.75]
    assert list(perf["model_name"]) == ["bert-base-uncased"] * 4 + ["vit"]
    assert perf["run_time"].iloc[0] == pd.Timestamp("2025-11-02T01:04:05Z")
    assert perf["run_time"].iloc[3] == pd.Timestamp("2025-11-02T03:04:05Z")


def test_exact_duplicates_are_still_dropped_when_the_float_columns_repeat(drop):
    batch = validate(drop("performance", "d.json", [perf_record(), perf_record(), perf_record(precision="fp32")]))
    assert batch.duplicates_dropped == 1
    assert list(batch.performance["record_index"]) == [0, 2]


def test_quick_schema_check_agrees_with_pandera(drop):
    good = validate(drop("performance", "g.json", [perf_record(), perf_record(batch_size=4)])).performance
    frame = good.assign(has_problem=False)
    assert not _suspect_rows(PerformanceRecord, frame).any()
    PerformanceRecord.validate(frame, lazy=True)
    for bad in (frame.assign(average_latency_ms=-1.0), frame.assign(hardware_type=pd.array(["tpu-x"] * 2, dtype="string")),
                frame.assign(batch_size=pd.array([0, 1], dtype="Int64")), frame.assign(average_latency_ms=np.nan,
                throughput_items_per_second=np.nan, latency_p50_ms=np.nan), frame.assign(file_id=frame["file_id"] * 1.0)):
        suspect = _suspect_rows(PerformanceRecord, bad)
        assert suspect.any()
        with pytest.raises(pa.errors.SchemaErrors) as errors:
            PerformanceRecord.validate(bad, lazy=True)
        failing = set(errors.value.failure_cases["index"].dropna().astype(int))
        assert failing <= set(np.flatnonzero(suspect)), "a row pandera reports must be suspect"
