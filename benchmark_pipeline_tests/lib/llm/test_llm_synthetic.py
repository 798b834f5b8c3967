"""The sample's synthetic LLM-serving results: deterministic, each file recognised by content as the tool it
imitates, every sidecar key used, ingested without a quarantine, numbers that behave like hardware, and the
planted TTFT regression present in the stored facts."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from benchmark_pipeline.lib.ingest.llm import read_sidecar, to_record
from benchmark_pipeline.lib.llm import synthetic
from benchmark_pipeline.lib.llm.adapters import ADAPTERS, aiperf, llmperf, vllm_serve
from benchmark_pipeline.lib.llm.defaults import SIDECAR_SUFFIX
from benchmark_pipeline.lib.llm.detect import read_llm_results
from benchmark_pipeline.lib.sample_data import DAYS, START, write_sample
from benchmark_pipeline.service.core import ingest_paths
from benchmark_pipeline_tests.conftest import REPO_ROOT

LLM_START = START + timedelta(days=DAYS - synthetic.LLM_DAYS, hours=1)
# The adapter each folder of data/sample/llm imitates.
TOOL_OF_FOLDER = {"vllm_bench_serve": vllm_serve, "aiperf": aiperf, "llmperf": llmperf}
# The column of llm_serving_results each sidecar key fills (filled_from names it).
COLUMN_OF_KEY = {"gpu": "device_name", "gpu_count": "gpu_count", "vram_gb": "memory_gb",
                 "framework": "framework_version", "quantization": "quantization", "format": "weights_format",
                 "parameters": "parameters_million", "cost_per_hour": "cost_per_hour_usd", "provider": "provider",
                 "instance_type": "instance_type", "spot": "spot"}
HAND_CHECKED = "llm/vllm_bench_serve/2xa100_llama-3.1-8b-instruct-fp16_summarize_vllm-0.11.0.jsonl"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sample")
    write_sample(root)
    return root


@pytest.fixture(scope="module")
def warehouse(sample, tmp_path_factory) -> tuple[Path, object]:
    db = tmp_path_factory.mktemp("warehouse") / "w.duckdb"
    report = ingest_paths([str(sample / synthetic.FOLDER)], db)
    return db, report


def _query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()


def _result_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / synthetic.FOLDER).rglob("*")
                  if p.is_file() and not p.name.endswith(SIDECAR_SUFFIX))


def _vllm_lines(root: Path) -> dict[str, list[dict]]:
    return {path.name: [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            for path in sorted((root / synthetic.FOLDER / "vllm_bench_serve").glob("*.jsonl"))}


# -- the generator ---------------------------------------------------------------------------------------------

def test_the_same_seed_gives_the_same_files_and_another_seed_other_numbers():
    first = synthetic.sample_files(LLM_START, seed=7)
    assert first == synthetic.sample_files(LLM_START, seed=7)
    other = synthetic.sample_files(LLM_START, seed=8)
    assert [path for path, _ in other] == [path for path, _ in first]
    assert [text for _, text in other] != [text for _, text in first]


def test_write_sample_writes_them_beside_the_other_drops(sample):
    expected = dict(synthetic.sample_files(LLM_START, seed=7))
    written = {str(p.relative_to(sample)): p.read_text(encoding="utf-8")
               for p in (sample / synthetic.FOLDER).rglob("*") if p.is_file()}
    assert written == expected
    assert {p.name for p in sample.iterdir()} == {"performance", "compatibility", "integration", "llm"}


def test_the_committed_sample_is_what_write_sample_writes(sample):
    committed = REPO_ROOT / "data" / "sample"
    ours = {str(p.relative_to(sample)): p.read_bytes() for p in sample.rglob("*") if p.is_file()}
    theirs = {str(p.relative_to(committed)): p.read_bytes() for p in committed.rglob("*") if p.is_file()}
    assert sorted(theirs) == sorted(ours), "regenerate: uv run python scripts/generate_sample_data.py"
    assert [name for name in ours if ours[name] != theirs[name]] == []


def test_small_a_few_dozen_files(sample):
    files = [p for p in (sample / synthetic.FOLDER).rglob("*") if p.is_file()]
    assert 10 <= len(files) <= 36
    assert sum(p.stat().st_size for p in files) < 512 * 1024


def test_every_file_is_recognised_by_content_as_the_tool_it_imitates(sample):
    files = _result_files(sample)
    assert {p.relative_to(sample / synthetic.FOLDER).parts[0] for p in files} == set(TOOL_OF_FOLDER)
    for path in files:
        tool = TOOL_OF_FOLDER[path.relative_to(sample / synthetic.FOLDER).parts[0]]
        text = path.read_text(encoding="utf-8")
        documents = [json.loads(line) for line in text.splitlines()] if path.suffix == ".jsonl" else [json.loads(text)]
        for document in documents:
            assert [adapter.NAME for adapter in ADAPTERS if adapter.matches(document)] == [tool.NAME], path
        results = read_llm_results(path)
        assert len(results) == len(documents) and {r.tool for r in results} == {tool.NAME}


def test_every_sidecar_key_fills_a_column(sample):
    """A key the ingest would not use (a GPU the file names itself, bits the scheme states) is not written."""
    sidecars = 0
    for path in _result_files(sample):
        given = json.loads(path.with_name(path.name + SIDECAR_SUFFIX).read_text(encoding="utf-8"))
        defaults = read_sidecar(str(path), lambda where: Path(where).read_bytes())
        sidecars += 1
        for result in read_llm_results(path):
            record, failure = to_record(result, None, defaults)
            assert failure is None
            filled = record["filled_from"] or {}
            unused = [key for key in given if COLUMN_OF_KEY[key] not in filled]
            assert unused == [], f"{path.name}: {unused} not used"
    assert sidecars == len(_result_files(sample))  # every file has one, the hosted API's too


def test_every_run_is_dated_inside_the_samples_weeks(sample):
    for path in _result_files(sample):
        for result in read_llm_results(path):
            assert START <= result.run_timestamp < START + timedelta(days=DAYS), path


# -- numbers that behave like hardware ----------------------------------------------------------------------

def test_latency_grows_with_concurrency_and_throughput_saturates(sample):
    for name, lines in _vllm_lines(sample).items():
        sweeps = defaultdict(list)
        for line in lines:
            sweeps[line["date"][:8]].append(line)
        for sweep in sweeps.values():
            assert [line["max_concurrency"] for line in sweep] == list(synthetic.CONCURRENCIES)
            for low, high in zip(sweep, sweep[1:]):
                assert high["mean_ttft_ms"] > low["mean_ttft_ms"] and high["p90_ttft_ms"] > low["p90_ttft_ms"]
                assert high["mean_tpot_ms"] > low["mean_tpot_ms"]
                assert high["output_throughput"] > low["output_throughput"], name
            assert sweep[-1]["output_throughput"] < 0.75 * 4 * sweep[-2]["output_throughput"]  # far from 4x


def test_each_run_is_consistent_with_itself(sample):
    for name, lines in _vllm_lines(sample).items():
        for line in lines:
            output_len = line["total_output_tokens"] / line["completed"]
            e2el = line["mean_ttft_ms"] + line["mean_tpot_ms"] * (output_len - 1)
            assert line["mean_e2el_ms"] == pytest.approx(e2el, rel=0.001)
            assert line["output_throughput"] == pytest.approx(line["total_output_tokens"] / line["duration"], rel=1e-4)
            assert line["median_ttft_ms"] < line["p90_ttft_ms"] < line["p99_ttft_ms"]
            assert line["failed"] == 0 and line["completed"] == line["num_prompts"]


def _first_sweep(lines_by_file: dict[str, list[dict]], prefix: str) -> dict[int, dict]:
    (lines,) = [lines for name, lines in lines_by_file.items() if name.startswith(prefix)]
    return {line["max_concurrency"]: line for line in lines[:len(synthetic.CONCURRENCIES)]}


def test_int4_decodes_faster_but_prefills_slower_and_gpus_rank_as_they_should(sample):
    lines = _vllm_lines(sample)
    fp16 = _first_sweep(lines, "a100_llama-3.1-8b-instruct-fp16")
    awq = _first_sweep(lines, "a100_llama-3.1-8b-instruct-awq")
    l4 = _first_sweep(lines, "l4_llama-3.1-8b-instruct-awq")
    h100 = _first_sweep(lines, "h100_llama-3.1-8b-instruct-fp16_chat_vllm-0.11.0")
    assert awq[1]["mean_tpot_ms"] < 0.6 * fp16[1]["mean_tpot_ms"]
    assert 1.0 < awq[1]["mean_ttft_ms"] / fp16[1]["mean_ttft_ms"] < 1.3
    for c in synthetic.CONCURRENCIES:
        assert l4[c]["mean_tpot_ms"] > awq[c]["mean_tpot_ms"]  # same weights, a fifth of the bandwidth
        assert h100[c]["mean_tpot_ms"] < fp16[c]["mean_tpot_ms"] and h100[c]["mean_ttft_ms"] < fp16[c]["mean_ttft_ms"]
    long = _first_sweep(lines, "2xa100_llama-3.1-8b-instruct-fp16_summarize")
    assert long[1]["mean_ttft_ms"] > 3 * fp16[1]["mean_ttft_ms"]  # 8x the prompt on 2x the GPUs


# -- through the ingest ---------------------------------------------------------------------------------------

def test_ingested_without_quarantine(warehouse):
    db, report = warehouse
    assert not report.has_quarantine
    statuses = report.result.outcomes["status"].tolist()
    assert statuses == ["ingested"] * 12  # 9 vLLM files, 2 AIPerf exports, 1 llmperf summary
    # 7 vLLM series x 10 days x 4 concurrencies, the 2 AIPerf runs and the llmperf one.
    assert _query(db, "SELECT count(*) FROM llm_serving_results") == [(283,)]
    assert _query(db, "SELECT count(*) FROM quarantine") == [(0,)]
    assert _query(db, "SELECT count(*) FROM benchmark_failures") == [(0,)]
    assert _query(db, "SELECT count(*) FROM hardware_configurations") == [(5,)]  # 4 priced + the hosted API


def test_one_file_by_hand(sample, warehouse):
    db, _ = warehouse
    first = json.loads((sample / HAND_CHECKED).read_text(encoding="utf-8").splitlines()[0])
    assert first["max_concurrency"] == 1 and first["total_input_tokens"] / first["completed"] == 4096
    assert 200 < first["p90_ttft_ms"] < 400  # 4096 tokens of prefill on two A100s, nobody queued ahead
    rows = _query(db, """
        SELECT r.ttft_ms_p90, r.ttft_ms_mean, r.tpot_ms_p99, r.e2el_ms_p50, r.output_tokens_per_s, r.requests_per_s,
               r.input_tokens_mean, r.concurrency, r.request_rate_unbounded, r.dataset, r.run_time,
               h.device_name, h.hardware_type, h.memory_gb, c.gpu_count, c.vram_total_gb, c.cost_per_hour_usd,
               c.provider, c.instance_type, c.spot, f.name, f.version, v.quantization, v.bits, v.weights_format,
               v.vram_required_gb, m.model_name, m.parameters_million
        FROM llm_serving_results r JOIN hardware_platforms h USING (hardware_id)
        JOIN hardware_configurations c USING (hardware_config_id) JOIN inference_frameworks f USING (framework_id)
        JOIN model_versions v USING (model_version_id) JOIN models m ON m.model_id = r.model_id
        WHERE r.source_path LIKE ? AND r.record_index = 0""", [f"%{Path(HAND_CHECKED).name}"])
    assert len(rows) == 1
    (ttft_p90, ttft_mean, tpot_p99, e2el_p50, output_tps, rps, input_mean, concurrency, unbounded, dataset,
     run_time, device, kind, memory, gpus, vram_total, cost, provider, instance, spot, framework, version,
     quantization, bits, weights, vram_needed, model, parameters) = rows[0]
    assert ttft_p90 == first["p90_ttft_ms"] and ttft_mean == first["mean_ttft_ms"]
    assert tpot_p99 == first["p99_tpot_ms"] and e2el_p50 == first["median_e2el_ms"]
    assert output_tps == first["output_throughput"] and rps == first["request_throughput"]
    assert (input_mean, concurrency, unbounded, dataset) == (4096, 1, True, "random")
    assert run_time.astimezone(timezone.utc).strftime("%Y%m%d-%H%M%S") == first["date"]
    assert (device, kind, memory) == ("NVIDIA A100 80GB PCIe", "cuda", 80.0)
    assert (gpus, vram_total, cost, provider, instance, spot) == (2, 160.0, 7.346, "azure",
                                                                  "Standard_NC48ads_A100_v4", False)
    assert (framework, version) == ("vllm", "0.11.0")
    assert (quantization, bits, weights) == ("fp16", 16, "safetensors")
    assert (model, parameters) == ("llama-3.1-8b-instruct", 8030.0)
    assert vram_needed == pytest.approx(8.03e9 * 16 / 8 * 1.2 / 2 ** 30)  # ~17.9 GB


def test_the_quantized_version_and_the_cheap_gpu(warehouse):
    db, _ = warehouse
    rows = _query(db, """
        SELECT DISTINCT v.quantization, v.bits, v.weights_format, h.device_name, h.memory_gb, c.gpu_count,
               c.cost_per_hour_usd, c.provider
        FROM llm_serving_results r JOIN model_versions v USING (model_version_id)
        JOIN hardware_platforms h USING (hardware_id) JOIN hardware_configurations c USING (hardware_config_id)
        WHERE v.quantization = 'awq' ORDER BY c.cost_per_hour_usd""")
    assert rows == [("awq", 4, "awq", "NVIDIA L4", 24.0, 1, 0.854, "gcp"),
                    ("awq", 4, "awq", "NVIDIA A100 80GB PCIe", 80.0, 1, 3.673, "azure")]


def test_energy_gives_tokens_per_joule(warehouse):
    db, _ = warehouse
    rows = _query(db, """
        SELECT h.device_name, r.energy_joules, r.power_watts, r.output_tokens_per_s * r.duration_s / r.energy_joules
        FROM llm_serving_results r JOIN hardware_platforms h USING (hardware_id)
        WHERE r.energy_joules IS NOT NULL ORDER BY r.power_watts""")
    assert [row[0] for row in rows] == ["NVIDIA L4", "NVIDIA H100 NVL"]
    for _, energy, power, tokens_per_joule in rows:
        assert energy > 0 and 1.0 < tokens_per_joule < 20.0
    assert rows[0][2] < 72 < rows[1][2]  # the L4's whole TDP is 72 W


def test_the_hosted_api_has_no_gpu_and_no_hourly_price(warehouse):
    db, _ = warehouse
    rows = _query(db, """
        SELECT h.hardware_type, h.device_name, c.gpu_count, c.cost_per_hour_usd, c.provider, r.ttft_ms_p50
        FROM llm_serving_results r JOIN hardware_platforms h USING (hardware_id)
        JOIN hardware_configurations c USING (hardware_config_id) WHERE r.tool = 'llmperf'""")
    assert len(rows) == 1
    kind, device, gpus, cost, provider, ttft = rows[0]
    assert (kind, device, gpus, cost, provider) == ("hosted", "hosted:together", None, None, "together")
    assert 100 < ttft < 1000  # the round trip is in it


def test_the_planted_regression_is_in_the_stored_facts(warehouse):
    db, _ = warehouse
    bump = LLM_START + timedelta(days=synthetic.REGRESSION["from_day"])
    rows = _query(db, """
        SELECT h.device_name, m.model_name, r.concurrency,
               avg(r.ttft_ms_p90) FILTER (WHERE r.run_time >= $1) / avg(r.ttft_ms_p90) FILTER (WHERE r.run_time < $1),
               avg(r.tpot_ms_p90) FILTER (WHERE r.run_time >= $1) / avg(r.tpot_ms_p90) FILTER (WHERE r.run_time < $1),
               list(DISTINCT f.version ORDER BY f.version) FILTER (WHERE r.run_time >= $1)
        FROM llm_serving_results r JOIN hardware_platforms h USING (hardware_id)
        JOIN hardware_configurations c USING (hardware_config_id) JOIN models m ON m.model_id = r.model_id
        JOIN model_versions v USING (model_version_id) JOIN inference_frameworks f USING (framework_id)
        WHERE r.tool = 'vllm_bench_serve'
        GROUP BY h.device_name, c.gpu_count, m.model_name, v.quantization, r.concurrency""", [bump])
    assert len(rows) == 7 * 4
    regressed = [row for row in rows if row[0] == "NVIDIA H100 NVL"]
    assert len(regressed) == 2 * 4  # both models at every concurrency
    for device, model, concurrency, ttft_ratio, tpot_ratio, versions in rows:
        if device == "NVIDIA H100 NVL":
            assert 1.2 < ttft_ratio < 1.4, (model, concurrency)
            assert versions == ["0.11.1"]
        else:
            assert 0.95 < ttft_ratio < 1.05, (device, model, concurrency)
            assert versions == ["0.11.0"]
        assert 0.95 < tpot_ratio < 1.05  # the decode did not change
