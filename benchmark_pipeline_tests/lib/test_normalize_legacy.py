"""Additions to the normalization layer made for the legacy converter."""

from datetime import datetime, timedelta, timezone

import pytest

from benchmark_pipeline.lib import normalize
from benchmark_pipeline.lib.legacy.stdout_metrics import parse_batch_lines


@pytest.mark.parametrize("raw, canonical", [
    ("AMD ROCm", "rocm"), ("Apple MPS", "mps"), ("WebNN", "webnn"), ("OpenVINO", "openvino"),
    ("qnn", "qualcomm"), ("Qualcomm QNN", "qualcomm"), ("cuda:0", "cuda"), ("CPU", "cpu"),
])
def test_display_names_map_to_canonical_hardware(raw, canonical):
    assert normalize.canonical_hardware_type(raw) == canonical


@pytest.mark.parametrize("name, family", [
    ("openai/clip-vit-base-patch32", "clip"), ("llava-hf/llava-v1.6-mistral-7b", "llava"),
    ("microsoft/xclip-base-patch32", "xclip"), ("google/vit-base-patch16-224", "vit"),
    ("prajjwal1/bert-tiny", "bert"), ("google/t5-efficient-tiny", "t5"),
])
def test_composite_model_names_get_the_outer_family(name, family):
    assert normalize.infer_model_family(name) == family


def test_modality_from_category():
    assert normalize.modality_from_category("embedding") == "text"
    assert normalize.modality_from_category("text_generation") == "text"
    assert normalize.modality_from_category("multimodal") == "multimodal"
    assert normalize.modality_from_category("nonsense") is None and normalize.modality_from_category(None) is None


def test_format_timestamp_is_utc_with_z():
    aware = datetime(2025, 3, 6, 19, 48, 25, 456598, tzinfo=timezone(timedelta(hours=2)))
    assert normalize.format_timestamp(aware) == "2025-03-06T17:48:25.456598Z"
    assert normalize.format_timestamp(datetime(2025, 3, 2, 20, 12, 20)) == "2025-03-02T20:12:20Z"
    assert normalize.format_timestamp(normalize.parse_timestamp("20250302_201220")) == "2025-03-02T20:12:20Z"
    assert normalize.format_timestamp(normalize.parse_timestamp(1740712027.8938057)).startswith("2025-02-28T03:07:07")


def test_new_units():
    assert normalize.convert_unit(2.0, "min", "s") == 120.0
    assert normalize.convert_unit(1.0, "GiB", "MB") == 1024.0
    assert normalize.convert_unit(250.0, "ms", "s") == 0.25


def test_stdout_batch_lines_are_parsed_with_their_units():
    text = "Results by Batch Size:\nBatch 1: Latency 24.80ms, Throughput 40.33 items/s, Memory 535.57MB\n" \
           "Batch 8: Latency 0.5s, Throughput 16 items/s, Memory 1.5GB\nBatch 2: failed\n"
    parsed = parse_batch_lines(text)
    assert parsed[1] == {"average_latency_ms": 24.80, "throughput_items_per_second": 40.33, "memory_peak_mb": 535.57}
    assert parsed[8] == {"average_latency_ms": 500.0, "throughput_items_per_second": 16.0, "memory_peak_mb": 1536.0}
    assert 2 not in parsed and parse_batch_lines(None) == {}
