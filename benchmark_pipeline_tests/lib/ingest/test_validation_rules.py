"""Each rule of "nothing lost, nothing invented", on the pure validation core (no warehouse)."""

import pandas as pd
import pytest

from benchmark_pipeline.lib.ingest.batch import discover, read_and_validate
from benchmark_pipeline_tests.conftest import perf_record


def validate(path):
    return read_and_validate(discover([path]).files)


def reasons(batch, record_index=None):
    q = batch.quarantine
    if record_index is not None:
        q = q[q["record_index"] == record_index]
    return dict(zip(q["field"], q["reason"]))


def test_bad_record_is_quarantined_and_the_rest_of_the_file_lands(drop):
    path = drop("performance", "r.json", [perf_record(), perf_record(average_latency_ms=-3, model_name="t5-small"),
                                          perf_record(model_name="vit")])
    batch = validate(path)
    assert list(batch.performance["record_index"]) == [0, 2]
    row = batch.quarantine.iloc[0]
    assert (row.record_index, row.field, row.value, row.reason) == (1, "average_latency_ms", "-3.0", "must be > 0")
    assert '"model_name":"t5-small"' in row.record_json  # kept verbatim for replay


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_literals_are_quarantined_as_non_finite(drop, bad):
    path = drop("performance", "nan.json", b'[{"model_name": "bert", "hardware_type": "cpu", '
                                           b'"average_latency_ms": ' + bad.encode() + b"}]")
    batch = validate(path)
    assert batch.performance.empty
    assert reasons(batch)["average_latency_ms"] == "non-finite"


def test_numeric_strings_are_coerced(drop):
    batch = validate(drop("performance", "s.json", [perf_record(average_latency_ms="12.75", batch_size="4")]))
    row = batch.performance.iloc[0]
    assert row.average_latency_ms == 12.75 and row.batch_size == 4
    assert batch.quarantine.empty


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("throughput_items_per_second", "fast", "wrong type: string 'fast' is not a number"),
        ("average_latency_ms", True, "wrong type: boolean where a number is expected"),
        ("memory_peak_mb", {"value": 3}, "wrong type: dict where a number is expected"),
        ("batch_size", 2.5, "not an integer"),
        ("model_name", ["bert"], "wrong type: list where text is expected"),
        ("timestamp", "last tuesday", "unparseable timestamp 'last tuesday'"),
    ],
)
def test_other_wrong_types_are_quarantined_naming_the_field(drop, field, value, expected):
    batch = validate(drop("performance", "t.json", [perf_record(**{field: value})]))
    assert batch.performance.empty
    assert reasons(batch)[field] == expected


def test_unknown_keys_are_kept_in_extra(drop):
    batch = validate(drop("performance", "x.json", [perf_record(gpu_clock_mhz=1410, notes={"k": "v"})]))
    assert batch.performance.iloc[0]["extra"] == '{"gpu_clock_mhz":1410,"notes":{"k":"v"}}'


def test_exact_duplicate_records_in_a_file_are_stored_once(drop):
    record = perf_record(batch_results=[{"batch_index": 0, "latency_ms": 12.0}])
    other = perf_record(batch_results=[{"batch_index": 0, "latency_ms": 13.0}])
    batch = validate(drop("performance", "d.json", [record, record, other]))
    assert list(batch.performance["record_index"]) == [0, 2]
    assert batch.duplicates_dropped == 1


def test_missing_metric_is_null_never_zero(drop):
    batch = validate(drop("performance", "m.json", [perf_record(memory_peak_mb=None, average_latency_ms=None)]))
    row = batch.performance.iloc[0]
    assert pd.isna(row.memory_peak_mb) and pd.isna(row.average_latency_ms)
    assert row.throughput_items_per_second == 640.0


def test_a_performance_row_needs_latency_or_throughput(drop):
    batch = validate(drop("performance", "n.json", [perf_record(average_latency_ms=None,
                                                                throughput_items_per_second=None)]))
    assert batch.performance.empty
    assert "needs average_latency_ms" in batch.quarantine.iloc[0]["reason"]


@pytest.mark.parametrize("category", ["performance", "compatibility"])
def test_record_without_model_name_is_quarantined_never_unknown(drop, category):
    record = perf_record(model_name=None) if category == "performance" else {"hardware_type": "cpu", "is_compatible": True}
    batch = validate(drop(category, "nomodel.json", [record]))
    assert batch.performance.empty and batch.compatibility.empty
    assert len(batch.quarantine) >= 1


def test_family_level_compatibility_is_accepted(drop):
    batch = validate(drop("compatibility", "fam.json", [{"model_family": "whisper", "hardware_type": "webgpu",
                                                         "is_compatible": False}]))
    assert len(batch.compatibility) == 1 and batch.quarantine.empty


def test_hardware_type_is_never_defaulted(drop):
    batch = validate(drop("performance", "nohw.json", [perf_record(hardware_type=None)]))
    assert batch.performance.empty
    assert reasons(batch)["hardware_type"] == "missing required field"


def test_hardware_display_names_are_canonical(drop):
    batch = validate(drop("performance", "hw.json", [perf_record(hardware_type="AMD ROCm"), perf_record(hardware_type="CUDA:0")]))
    assert list(batch.performance["hardware_type"]) == ["rocm", "cuda"]


def test_integration_records_may_lack_model_and_hardware(drop):
    batch = validate(drop("integration", "i.json", [{"test_module": "tests.api", "test_name": "test_health",
                                                     "status": "PASSED", "assertions": [{"name": "ok", "passed": True}]}]))
    assert len(batch.integration) == 1 and batch.quarantine.empty
    assert batch.integration.iloc[0]["status"] == "pass"
    assert len(batch.assertions) == 1


def test_bad_nested_batch_result_quarantines_its_record_naming_the_nested_field(drop):
    batch = validate(drop("performance", "b.json", [perf_record(batch_results=[{"latency_ms": 1}, {"latency_ms": -1}])]))
    assert batch.performance.empty and batch.batch_results.empty
    assert reasons(batch)["batch_results[1].latency_ms"] == "must be > 0"


def test_power_in_milliwatts_lands_in_watts(drop):
    batch = validate(drop("performance", "p.json", [perf_record(power_metrics={"average_power_mw": 250000,
                                                                              "energy_consumption_mj": 1500})]))
    assert batch.performance.iloc[0]["power_watts"] == 250.0
    assert batch.power_metrics.iloc[0]["energy_joules"] == 1.5


def test_run_time_comes_from_record_then_file_name_then_first_seen(drop):
    record_time = validate(drop("performance", "a_20240101_000000.json", [perf_record()])).performance.iloc[0]
    assert (str(record_time.run_time), record_time.time_source) == ("2025-11-02 03:04:05+00:00", "record")
    named = validate(drop("performance", "b_20240101_101500.json", [perf_record(timestamp=None)])).performance.iloc[0]
    assert (str(named.run_time), named.time_source) == ("2024-01-01 10:15:00+00:00", "file_name")
    unnamed = validate(drop("performance", "c.json", [perf_record(timestamp=None)])).performance.iloc[0]
    assert unnamed.time_source == "ledger"


def test_epoch_timestamps_are_utc(drop):
    row = validate(drop("performance", "e.json", [perf_record(timestamp=1735689600)])).performance.iloc[0]
    assert str(row.run_time) == "2025-01-01 00:00:00+00:00"


def test_a_single_object_file_is_one_record(drop):
    assert len(validate(drop("performance", "one.json", perf_record())).performance) == 1


def test_only_json_files_are_considered(drop, tmp_path):
    drop("performance", "ok.json", [perf_record()])
    (tmp_path / "drop" / "performance" / "notes.txt").write_text("hi")
    found = discover([tmp_path / "drop"])
    assert list(found.files["category"]) == ["performance"]
    assert [why for _, why in found.skipped] == ["not a *.json file"]


@pytest.mark.parametrize("raw, field, reason", [
    (b'"batch_size": 9223372036854775808', "batch_size", "out of range: integer fields hold"),
    (b'"batch_size": 1e300', "batch_size", "out of range: integer fields hold"),
    (b'"iterations": 3000000000', "iterations", "out of range: integer fields hold"),
    (b'"timestamp": "2300-01-01T00:00:00Z"', "timestamp", "timestamp out of range: years 1970 to 2100"),
    (b'"timestamp": "1900-01-01 00:00:00"', "timestamp", "timestamp out of range: years 1970 to 2100"),
])
def test_values_the_warehouse_cannot_hold_are_quarantined_not_fatal(drop, raw, field, reason):
    good = b'{"model_name": "bert", "hardware_type": "cpu", "average_latency_ms": 5.0}'
    bad = b'{"model_name": "bert", "hardware_type": "cpu", "average_latency_ms": 6.0, ' + raw + b"}"
    batch = validate(drop("performance", "range.json", b"[" + good + b", " + bad + b"]"))
    assert list(batch.performance["record_index"]) == [0]
    assert reasons(batch, record_index=1)[field].startswith(reason)


def test_integers_beyond_64_bits_in_free_form_fields_are_kept(drop, db_path):
    from benchmark_pipeline.service import ingest_paths

    path = drop("performance", "big.json", b'[{"model_name": "bert", "hardware_type": "cpu", "average_latency_ms": 5.0, '
                                           b'"foo": 123456789012345678901234567890}]')
    report = ingest_paths([path], db_path)
    assert report.result.outcomes.iloc[0]["status"] == "ingested"
