"""Recognition by content: every sample is its own format and only that, this project's own result files are
no LLM format at all, and a broken LLM file is refused naming the file, the record and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark_pipeline.lib.llm.adapters import ADAPTERS
from benchmark_pipeline.lib.llm.detect import parse_llm_bytes, read_llm_folder, read_llm_results, recognise
from benchmark_pipeline.lib.llm.errors import LlmFormatError, LlmIngestError, UnrecognizedFormat
from benchmark_pipeline_tests.conftest import REPO_ROOT, perf_record
from benchmark_pipeline_tests.lib.llm import llm_samples as s

SAMPLES = {
    "vllm_serve_current": (s.vllm_serve_current, "vllm_bench_serve"),
    "vllm_serve_legacy": (s.vllm_serve_legacy, "vllm_bench_serve"),
    "vllm_serve_fork": (s.vllm_serve_fork_minimal, "vllm_bench_serve"),
    "vllm_serve_all_failed": (s.vllm_serve_all_failed, "vllm_bench_serve"),
    "vllm_latency": (s.vllm_latency, "vllm_offline"),
    "vllm_throughput": (s.vllm_throughput, "vllm_offline"),
    "sglang_old": (s.sglang_old_line, "sglang_bench_serving"),
    "sglang_new": (s.sglang_new_line, "sglang_bench_serving"),
    "genai_perf_old": (s.genai_perf_old, "genai_perf"),
    "genai_perf_new": (s.genai_perf_new, "genai_perf"),
    "aiperf_early": (s.aiperf_early, "aiperf"),
    "aiperf_1_0": (s.aiperf_v1_0, "aiperf"),
    "aiperf_1_3": (s.aiperf_v1_3, "aiperf"),
    "aiperf_all_failed": (s.aiperf_all_failed, "aiperf"),
    "llmperf": (s.llmperf_summary, "llmperf"),
    "optimum_generation": (s.optimum_text_generation, "optimum_benchmark"),
    "optimum_report": (s.optimum_forward_report, "optimum_benchmark"),
    "mlperf_server_summary": (lambda: s.MLPERF_SERVER_SUMMARY, "mlperf_loadgen"),
    "mlperf_offline_summary": (lambda: s.MLPERF_OFFLINE_SUMMARY, "mlperf_loadgen"),
    "mlperf_detail": (s.mlperf_server_detail, "mlperf_loadgen"),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_sample_is_recognised_as_its_format_and_no_other(name):
    make, expected = SAMPLES[name]
    document = make()
    assert [adapter.NAME for adapter in ADAPTERS if adapter.matches(document)] == [expected]
    assert recognise(document).NAME == expected


def _project_documents() -> list[tuple[str, object]]:
    documents = [("perf_record", perf_record()), ("perf_record list", [perf_record(), perf_record(batch_size=1)])]
    for path in sorted((REPO_ROOT / "data" / "sample").rglob("*.json")):
        if path.relative_to(REPO_ROOT / "data" / "sample").parts[0] == "llm":
            continue  # the sample's LLM-serving files: written in the LLM tools' formats, not the project's
        documents.append((str(path.relative_to(REPO_ROOT)), json.loads(path.read_text(encoding="utf-8"))))
    return documents


def test_this_projects_own_result_files_are_not_llm_results(tmp_path):
    documents = _project_documents()
    assert len(documents) > 5
    for name, document in documents:
        path = tmp_path / "drop.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        with pytest.raises(UnrecognizedFormat):
            read_llm_results(path)
        if isinstance(document, list):
            assert all(recognise(item) is None for item in document), name


@pytest.mark.parametrize("content", [b"", b"   \n", b"\xff\xfe\x00garbage", b"just some text\n",
                                     b"{\"a\": 1}", b"[]", b"[1, 2]", b"{\"a\": 1}\n{\"b\": 2}\n",
                                     b"model,throughput\nbert,12\n"])
def test_what_no_adapter_recognises(content):
    with pytest.raises(UnrecognizedFormat) as raised:
        parse_llm_bytes(content, "drop/x.json")
    assert isinstance(raised.value, ValueError) and "drop/x.json" in str(raised.value)


def test_a_wrong_type_names_file_and_field(tmp_path):
    sample = s.vllm_serve_current()
    sample["mean_ttft_ms"] = "fast"
    path = tmp_path / "serve.json"
    path.write_text(json.dumps(sample), encoding="utf-8")
    with pytest.raises(LlmFormatError) as raised:
        read_llm_results(path)
    error = raised.value
    assert isinstance(error, ValueError) and error.file == str(path) and error.field == "mean_ttft_ms"
    assert "expected a number" in str(error) and "'fast'" in str(error)


def test_a_missing_required_field_is_named(tmp_path):
    sample = s.vllm_throughput()
    sample["elapsed_time"] = None
    with pytest.raises(LlmFormatError) as raised:
        parse_llm_bytes(json.dumps(sample).encode(), "t.json")
    assert raised.value.field == "elapsed_time" and "missing" in str(raised.value)


def test_a_wrong_unit_is_named(tmp_path):
    sample = s.genai_perf_old()
    sample["time_to_first_token"]["unit"] = "furlongs"
    with pytest.raises(LlmFormatError) as raised:
        parse_llm_bytes(json.dumps(sample).encode(), "g.json")
    assert raised.value.field == "time_to_first_token.unit" and "furlongs" in str(raised.value)


def test_a_nested_wrong_type_has_its_path(tmp_path):
    sample = s.aiperf_v1_0()
    sample["input_config"]["loadgen"]["request_count"] = "ten"
    with pytest.raises(LlmFormatError) as raised:
        parse_llm_bytes(json.dumps(sample).encode(), "a.json")
    assert raised.value.field == "input_config.loadgen.request_count"


def test_jsonl_errors_name_the_line():
    good = json.dumps(s.sglang_old_line())
    with pytest.raises(LlmFormatError) as raised:
        parse_llm_bytes(f"{good}\n{good}\n{{\"backend\": \n".encode(), "runs.jsonl")
    assert raised.value.record == "line 3" and "not JSON" in str(raised.value)

    broken = s.sglang_old_line()
    broken["duration"] = [1, 2]
    with pytest.raises(LlmFormatError) as raised:
        parse_llm_bytes(f"{good}\n\n{json.dumps(broken)}\n".encode(), "runs.jsonl")
    assert (raised.value.record, raised.value.field) == ("line 3", "duration")

    with pytest.raises(LlmFormatError) as raised:
        parse_llm_bytes(f"{good}\n{json.dumps({'other': 1})}\n".encode(), "runs.jsonl")
    assert raised.value.record == "line 2" and "sglang_bench_serving" in str(raised.value)


def test_a_json_list_of_runs_is_read_item_by_item():
    results = parse_llm_bytes(json.dumps([s.vllm_serve_current(), s.vllm_serve_legacy()]).encode(), "l.json")
    assert [r.record for r in results] == ["item 1", "item 2"]


def test_the_folder_reader_skips_what_is_not_an_llm_result(tmp_path):
    (tmp_path / "perf.json").write_text(json.dumps([perf_record()]), encoding="utf-8")
    (tmp_path / "serve.json").write_text(json.dumps(s.vllm_serve_current()), encoding="utf-8")
    (tmp_path / "serve.json.meta.json").write_text(json.dumps({"gpu": "H100"}), encoding="utf-8")
    (tmp_path / "notes.md").write_text("# not read", encoding="utf-8")
    results = read_llm_folder([tmp_path])
    assert [Path(r.source).name for r in results] == ["serve.json"]


def test_every_refusal_is_one_value_error_family():
    assert issubclass(LlmFormatError, LlmIngestError) and issubclass(UnrecognizedFormat, LlmIngestError)
    assert issubclass(LlmIngestError, ValueError) and not issubclass(UnrecognizedFormat, LlmFormatError)
