import math

from benchmark_pipeline.lib.ingest.jsonfile import EMPTY, NOT_JSON, NOT_UTF8, TRUNCATED, parse_json_bytes


def test_valid_json_parses():
    assert parse_json_bytes(b'[{"a": 1}]').document == [{"a": 1}]


def test_nan_and_infinity_literals_survive_as_strings_for_later_quarantine():
    parsed = parse_json_bytes(b'{"latency": NaN, "throughput": Infinity, "x": -Infinity}')
    assert parsed.problem is None
    assert parsed.document == {"latency": "NaN", "throughput": "Infinity", "x": "-Infinity"}
    assert not math.isfinite(float(parsed.document["latency"]))


def test_empty_and_whitespace_files_are_empty():
    assert parse_json_bytes(b"").problem == EMPTY
    assert parse_json_bytes(b"  \n").problem == EMPTY


def test_truncated_json_is_named_truncated():
    parsed = parse_json_bytes(b'[{"model_name": "bert", "latency')
    assert parsed.problem == TRUNCATED
    assert "line 1" in parsed.detail


def test_non_json_text_is_not_json():
    assert parse_json_bytes(b"model,latency\nbert,12\n").problem == NOT_JSON


def test_non_utf8_reports_byte_offset_of_first_invalid_byte():
    data = b'{"model_name": "caf' + b"\xe9" + b'"}'
    parsed = parse_json_bytes(data)
    assert parsed.problem == NOT_UTF8
    assert parsed.byte_offset == data.index(b"\xe9")
    assert f"byte offset {parsed.byte_offset}" in parsed.detail


def test_utf8_bom_is_accepted():
    assert parse_json_bytes("\ufeff[1]".encode()).document == [1]
