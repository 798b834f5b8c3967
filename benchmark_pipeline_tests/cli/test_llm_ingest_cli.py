"""``benchmark-db ingest`` of LLM-serving result files as a user runs it: a real process, the --gpu / --gpu-count /
--framework / --quantization / --cost-per-hour / --model options, the reasons printed, the exit codes; and the real
files of ../shared/llm_results (read in place, never copied into the repository)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from benchmark_pipeline_tests.conftest import SHARED, needs_shared
from benchmark_pipeline_tests.lib.llm import llm_samples as samples

BENCHMARK_DB = [sys.executable, "-m", "benchmark_pipeline.cli"]
LLM_RESULTS = SHARED / "llm_results"


def run(*args):
    env = {k: v for k, v in os.environ.items() if k != "BENCHMARK_DB_PATH"}
    return subprocess.run([*BENCHMARK_DB, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)


def lines_by_file(stdout: str) -> dict[str, tuple[str, int, str]]:
    """stdout's "status<TAB>rows<TAB>path<TAB>reason" lines, by file name."""
    out = {}
    for line in stdout.splitlines():
        status, written, path, reason = line.split("\t")
        out[Path(path).name] = (status, int(written), reason)
    return out


def query(db: Path, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql, list(params)).fetchall()


def test_the_options_fill_a_vllm_file_and_the_reason_says_which_is_missing(tmp_path, db_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "serve.json").write_text(json.dumps(samples.vllm_serve_current()))
    refused = run("ingest", folder, "--db-path", db_path)
    assert refused.returncode == 1
    assert "serve.json: record 0, field 'device_name': no hardware: the file names no GPU" in refused.stderr
    assert lines_by_file(refused.stdout)["serve.json"][0] == "quarantined"

    stored = run("ingest", folder, "--db-path", db_path, "--gpu", "NVIDIA H100 80GB HBM3", "--gpu-count", "8",
                 "--framework", "vllm==0.6.3", "--quantization", "fp8", "--cost-per-hour", "98.32")
    assert stored.returncode == 0, stored.stderr
    assert lines_by_file(stored.stdout)["serve.json"][:2] == ("ingested", 1)
    [row] = query(db_path, "SELECT h.device_name, c.gpu_count, c.cost_per_hour_usd, f.name, f.version, "
                           "v.quantization, v.bits, r.ttft_ms_p99 FROM llm_serving_results r "
                           "JOIN hardware_platforms h USING (hardware_id) JOIN hardware_configurations c "
                           "USING (hardware_config_id) JOIN inference_frameworks f USING (framework_id) "
                           "JOIN model_versions v USING (model_version_id)")
    assert row == ("NVIDIA H100 80GB HBM3", 8, 98.32, "vllm", "0.6.3", "fp8", 8, 250.0)

    again = run("ingest", folder, "--db-path", db_path, "--gpu", "NVIDIA H100 80GB HBM3")
    assert again.returncode == 0 and lines_by_file(again.stdout)["serve.json"][:2] == ("unchanged", 0)


@pytest.mark.parametrize("options, message", [
    (["--gpu-count", "0"], "'0' is not a whole number >= 1"),
    (["--cost-per-hour", "-1"], "'-1' is not a number >= 0"),
    (["--framework", "vllm==="], "LLM options: 'vllm===' is not NAME or NAME==VERSION"),
    (["--gpu", " "], "LLM options: gpu ' ' is not non-empty text"),
])
def test_bad_options_are_usage_errors_that_write_nothing(tmp_path, db_path, options, message):
    (tmp_path / "serve.json").write_text(json.dumps(samples.vllm_serve_current()))
    result = run("ingest", tmp_path / "serve.json", "--db-path", db_path, *options)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr and not db_path.exists()


def test_the_help_names_the_options_and_the_formats():
    text = run("ingest", "--help").stdout
    for option in ("--gpu NAME", "--gpu-count N", "--framework NAME[==VERSION]", "--quantization Q",
                   "--cost-per-hour USD", "--model NAME", ".meta.json"):
        assert option in text, option


# -- the real files ---------------------------------------------------------------------------------------

MISSING = {"device_name": "no hardware: ", "model_name": "no model: "}


@needs_shared("llm_results")
def test_every_shared_file_ingests_or_is_refused_naming_what_is_missing(tmp_path):
    db = tmp_path / "shared.duckdb"
    result = run("ingest", LLM_RESULTS, "--db-path", db)
    assert result.returncode == 1 and "Traceback" not in result.stderr  # 1: some are refused
    outcomes = lines_by_file(result.stdout)
    files = [p for p in LLM_RESULTS.rglob("*") if p.is_file() and p.name != "MANIFEST.md"]
    assert set(outcomes) == {p.name for p in files}
    by_status: dict[str, int] = {}
    for status, _, _ in outcomes.values():
        by_status[status] = by_status.get(status, 0) + 1
    assert by_status == {"ingested": 15, "not a result": 2, "quarantined": 25}

    # Every refusal is a missing model or hardware, said on its field, and nothing else.
    refusals = query(db, "SELECT DISTINCT source_path, field, reason FROM quarantine")
    assert refusals and all(reason.startswith(MISSING[field]) for _, field, reason in refusals)
    quarantined = {Path(p).name for p, _, _ in refusals}
    assert quarantined == {name for name, (status, _, _) in outcomes.items() if status == "quarantined"}
    # The two detail logs are stored with their summary, as one run each.
    details = {name: reason for name, (status, _, reason) in outcomes.items() if status == "not a result"}
    assert all(name.endswith("mlperf_log_detail.txt") and "stored from the summary log" in reason
               for name, reason in details.items())
    # vLLM's serving files name no hardware: refused for that alone (the all-failed one is a failure row).
    vllm = [p.name for p in (LLM_RESULTS / "vllm_serve").iterdir()]
    refused_fields = {(Path(p).name, field) for p, field, _ in refusals}
    for name in vllm:
        if "all_requests_failed" in name:
            assert outcomes[name][:2] == ("ingested", 1)
        else:
            assert outcomes[name][0] == "quarantined" and (name, "device_name") in refused_fields
            assert (name, "model_name") not in refused_fields
    assert query(db, "SELECT model_name, error_type FROM benchmark_failures") == [("facebook/opt-125m",
                                                                                  "all requests failed")]

    # A few values against the files, by hand: llmperf's seconds and MLPerf's nanoseconds, in ms.
    [(groq_ttft, groq_tokens, groq_hw)] = query(
        db, "SELECT r.ttft_ms_p50, r.output_tokens_per_s, h.device_name FROM llm_serving_results r "
            "JOIN hardware_platforms h USING (hardware_id) WHERE r.source_path LIKE '%groq_70b.json'")
    assert groq_ttft == pytest.approx(0.2218883791938424 * 1000) and groq_tokens == pytest.approx(441.84737788500206)
    assert groq_hw == "hosted:groq"
    [(first_token_p99, tokens, requests)] = query(
        db, "SELECT ttft_ms_p99, output_tokens_per_s, requests_per_s FROM llm_serving_results "
            "WHERE source_path LIKE '%GH200%mlperf_log_summary.txt'")
    assert first_token_p99 == pytest.approx(579347528 / 1e6) and tokens == 3883.67 and requests == 13.33


@needs_shared("llm_results")
def test_the_vllm_files_ingest_once_gpu_is_given(tmp_path):
    db = tmp_path / "shared.duckdb"
    result = run("ingest", LLM_RESULTS / "vllm_serve", "--db-path", db, "--gpu", "NVIDIA H100 80GB HBM3",
                 "--gpu-count", "1")
    assert result.returncode == 0, result.stderr
    outcomes = lines_by_file(result.stdout)
    assert len(outcomes) == 8 and {status for status, _, _ in outcomes.values()} == {"ingested"}
    assert query(db, "SELECT count(*) FROM llm_serving_results")[0][0] == 7
    [(ttft, throughput, filled)] = query(
        db, "SELECT ttft_ms_p50, output_tokens_per_s, filled_from FROM llm_serving_results "
            "WHERE source_path LIKE '%protocol__tests__fixtures__bench_serve_v0.25.1.json'")
    assert (ttft, throughput) == (pytest.approx(55.68139649994919), pytest.approx(82.89297074037474))  # ms, tokens/s
    assert json.loads(filled)["device_name"] == "option"
