"""LLM-serving result files through the one ingest: recognised by content in any folder, gaps filled by the ingest
options then the sidecar (never over the file), refused with the reason when hardware or model is missing, a run
where every request failed stored as a failure, and the ledger, retract and supersede as for every other file.

The expected values are the synthetic samples' (benchmark_pipeline_tests/lib/llm/llm_samples.py), converted by
hand: seconds x 1000 = ms, MJ x 1e6 = J, kWh x 3.6e6 = J, decimal MB x 10^6 / 2^20 = the project's MB.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest

from benchmark_pipeline.lib.ingest.batch import MLPERF_OTHER_LOG, NO_CATEGORY, NOT_JSON, discover
from benchmark_pipeline.lib.ingest.watch import scan
from benchmark_pipeline.lib.llm.defaults import LlmDefaults
from benchmark_pipeline.lib.llm.metrics import metric_columns
from benchmark_pipeline.lib.warehouse.dictionary import COLUMNS
from benchmark_pipeline.lib.warehouse.maintenance import validate_warehouse
from benchmark_pipeline.lib.warehouse.schema import migrate
from benchmark_pipeline.service import BenchmarkService, ingest_paths
from benchmark_pipeline_tests.conftest import perf_record
from benchmark_pipeline_tests.lib.llm import llm_samples as samples

H100 = LlmDefaults(gpu="NVIDIA H100 80GB HBM3", gpu_count=8)


def write(folder: Path, name: str, payload) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(payload, str):
        path.write_text(payload, encoding="utf-8")
    else:
        path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def ingest(paths, db: Path, llm: LlmDefaults | None = None, **kwargs):
    return ingest_paths([str(p) for p in paths], db, workers=1, llm=llm, **kwargs)


def rows(db: Path, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql, list(params)).fetchall()


def result_of(db: Path, path: Path, *columns: str, record_index: int = 0) -> dict:
    """One stored run of a file, with its dimensions joined, as {column: value}."""
    sql = (f"SELECT {', '.join(columns)} FROM llm_serving_results r JOIN models m USING (model_id) "
           "JOIN hardware_platforms h USING (hardware_id) JOIN model_versions v USING (model_version_id) "
           "JOIN hardware_configurations c USING (hardware_config_id) "
           "LEFT JOIN inference_frameworks f USING (framework_id) WHERE r.source_path = ? AND r.record_index = ?")
    found = rows(db, sql, [str(path.resolve()), record_index])
    assert len(found) == 1, (path, found)
    return dict(zip(columns, found[0]))


def status_of(report, path: Path) -> str:
    outcomes = report.result.outcomes.set_index("source_path")
    return outcomes.loc[str(path.resolve()), "status"]


def reasons_of(report, path: Path) -> dict[tuple[int, str], str]:
    quarantine = report.result.quarantine
    mine = quarantine[quarantine["source_path"] == str(path.resolve())]
    return {(int(r.record_index), r.field): r.reason for r in mine.itertuples()}


def counts(db: Path) -> dict[str, int]:
    return {table: rows(db, f"SELECT count(*) FROM {table}")[0][0]
            for table in ("llm_serving_results", "benchmark_failures", "test_runs", "quarantine")}


# -- the schema -------------------------------------------------------------------------------------------

def test_the_metric_columns_of_the_migration_are_the_vocabularys():
    conn = duckdb.connect()
    migrate(conn)
    live = [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'llm_serving_results' "
        "ORDER BY ordinal_position").fetchall()]
    metric_block = live[live.index("duration_s") + 1:live.index("energy_joules")]
    assert metric_block == list(metric_columns())
    assert {"ttft_ms_p90", "tpot_ms_mean", "itl_ms_p99", "e2el_ms_p50", "output_tokens_per_s", "requests_per_s",
            "goodput_requests_per_s", "gpu_utilization_pct"} <= set(metric_block)
    for table in ("llm_serving_results", "model_versions", "hardware_configurations", "inference_frameworks"):
        documented = set(COLUMNS[table])
        columns = {r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns "
                                              "WHERE table_name = ?", [table]).fetchall()}
        assert columns == documented, table


def test_the_dictionary_reads_the_metric_meanings_from_the_vocabulary():
    documented = COLUMNS["llm_serving_results"]
    unit, text = documented["tpot_ms_p90"]
    assert unit == "ms" and text.startswith("90th percentile of the time per output token (lower is better)")
    assert "first token excluded" in text and "inter_token_latency (their name, our TPOT)" in text
    assert "pooled across all requests" in documented["itl_ms_mean"][1]
    assert documented["output_tokens_per_s"][0] == "tokens/s" and "higher is better" in documented["output_tokens_per_s"][1]


# -- every format, a few values each ---------------------------------------------------------------------

def test_every_format_lands_with_canonical_units(tmp_path, db_path):
    folder = tmp_path / "results"  # no category directory: recognised by content
    serve = write(folder, "serve.json", samples.vllm_serve_current())
    legacy = write(folder, "legacy.json", samples.vllm_serve_legacy())
    latency = write(folder, "latency.json", samples.vllm_latency())
    throughput = write(folder, "throughput.json", samples.vllm_throughput())
    sglang = write(folder, "sglang.jsonl", samples.sglang_jsonl(
        samples.sglang_new_line(), samples.sglang_new_line() | {"tag": "run-c", "request_rate": 2.0}))
    genai_old = write(folder, "genai_old.json", samples.genai_perf_old())
    genai_new = write(folder, "genai_new.json", samples.genai_perf_new())
    aiperf_early = write(folder, "aiperf_early.json", samples.aiperf_early())
    aiperf_10 = write(folder, "aiperf_10.json", samples.aiperf_v1_0())
    aiperf_13 = write(folder, "aiperf_13.json", samples.aiperf_v1_3())
    llmperf = write(folder, "llmperf_summary.json", samples.llmperf_summary())
    optimum = write(folder, "benchmark.json", samples.optimum_text_generation())
    forward = write(folder, "benchmark_report.json", samples.optimum_forward_report())
    offline = write(folder, "offline/mlperf_log_summary.txt", samples.MLPERF_OFFLINE_SUMMARY)
    report = ingest([folder], db_path, LlmDefaults(gpu="NVIDIA H100 80GB HBM3", gpu_count=8, model="acme/llm-8b"))
    statuses = dict(zip(report.result.outcomes["source_path"], report.result.outcomes["status"]))
    assert set(statuses.values()) == {"ingested"}, report.result.quarantine.to_dict("records")
    assert len(statuses) == 14

    got = result_of(db_path, serve, "r.tool", "m.model_name", "r.ttft_ms_mean", "r.ttft_ms_p50", "r.ttft_ms_p99",
                    "r.tpot_ms_mean", "r.e2el_ms_p99", "r.output_tokens_per_s", "r.peak_output_tokens_per_s",
                    "r.request_rate", "r.request_rate_unbounded", "r.concurrency", "r.failed", "r.duration_s",
                    "r.input_tokens_mean", "f.name", "h.hardware_type", "h.device_name", "h.memory_gb",
                    "c.gpu_count", "c.vram_total_gb", "r.time_source", "r.run_time")
    assert got["r.tool"] == "vllm_bench_serve" and got["m.model_name"] == "acme/llm-7b"  # the file's, not --model
    assert (got["r.ttft_ms_mean"], got["r.ttft_ms_p50"], got["r.ttft_ms_p99"]) == (120.5, 100.0, 250.0)
    assert (got["r.tpot_ms_mean"], got["r.e2el_ms_p99"]) == (12.0, 950.0)
    assert (got["r.output_tokens_per_s"], got["r.peak_output_tokens_per_s"]) == (225.0, 300.0)
    assert got["r.request_rate"] is None and got["r.request_rate_unbounded"] is True  # "inf"
    assert (got["r.concurrency"], got["r.failed"], got["r.duration_s"], got["r.input_tokens_mean"]) == (4, 1, 2.0, 100.0)
    assert got["f.name"] == "vllm"
    assert (got["h.hardware_type"], got["h.device_name"], got["h.memory_gb"]) == ("cuda", "NVIDIA H100 80GB HBM3", 80.0)
    assert (got["c.gpu_count"], got["c.vram_total_gb"]) == (8, 640.0)
    assert got["r.time_source"] == "record" and str(got["r.run_time"]).startswith("2026-03-01 12:00:00")

    got = result_of(db_path, legacy, "r.ttft_ms_p90", "r.goodput_requests_per_s", "r.metrics", "r.failed")
    assert got["r.ttft_ms_p90"] == 230.0 and got["r.goodput_requests_per_s"] == 1.2  # "request_goodput:"
    assert json.loads(got["r.metrics"])["ttft_ms"]["p99.9"] == 300.0  # no column, kept in metrics
    assert got["r.failed"] == 2  # num_prompts - completed

    got = result_of(db_path, latency, "m.model_name", "r.batch_latency_ms_mean", "r.batch_latency_ms_p50",
                    "r.batch_latency_ms_min", "r.workload_type", "r.filled_from")
    assert got["m.model_name"] == "acme/llm-8b"  # the file names none: --model
    assert (got["r.batch_latency_ms_mean"], got["r.batch_latency_ms_p50"], got["r.batch_latency_ms_min"]) == \
        (1500.0, 1500.0, 1250.0)  # 1.5 s, 1.25 s
    assert got["r.workload_type"] == "offline"
    assert json.loads(got["r.filled_from"]) == {"device_name": "option", "gpu_count": "option", "memory_gb": "name",
                                                "model_name": "option", "parameters_million": "name"}

    got = result_of(db_path, throughput, "r.total_tokens_per_s", "r.requests_per_s", "r.duration_s", "r.num_prompts")
    assert (got["r.total_tokens_per_s"], got["r.requests_per_s"], got["r.duration_s"], got["r.num_prompts"]) == \
        (1200.0, 2.5, 40.0, 100)

    got = result_of(db_path, sglang, "m.model_name", "r.ttft_ms_mean", "r.ttft_ms_std", "r.e2el_ms_p90",
                    "r.itl_ms_p95", "r.input_tokens_per_s", "c.gpu_count", "v.quantization", "v.bits",
                    "f.name", "f.version", "r.source_record", "r.failed", "r.concurrency")
    assert got["m.model_name"] == "acme-70b" and got["c.gpu_count"] == 8  # tp 4 x dp 2: the file's, not --gpu-count
    assert (got["r.ttft_ms_mean"], got["r.ttft_ms_std"], got["r.e2el_ms_p90"], got["r.itl_ms_p95"]) == \
        (300.0, None, 2100.0, 60.0)  # the NaN std is dropped, not stored
    assert got["r.input_tokens_per_s"] == 30.0
    assert (got["v.quantization"], got["v.bits"], got["f.name"], got["f.version"]) == ("fp8", 8, "sglang", "0.5.9")
    assert (got["r.source_record"], got["r.failed"], got["r.concurrency"]) == ("line 1", 1, 16)
    got = result_of(db_path, sglang, "r.source_record", "r.request_rate", "r.request_rate_unbounded", record_index=1)
    assert (got["r.source_record"], got["r.request_rate"], got["r.request_rate_unbounded"]) == ("line 2", 2.0, False)

    got = result_of(db_path, genai_old, "r.tpot_ms_mean", "r.tpot_ms_p99", "r.e2el_ms_p99",
                    "r.output_tokens_per_s_per_request_mean", "r.output_tokens_per_s", "r.requests_per_s")
    assert (got["r.tpot_ms_mean"], got["r.tpot_ms_p99"]) == (16.0, 20.0)  # GenAI-Perf's inter_token_latency is TPOT
    assert (got["r.e2el_ms_p99"], got["r.output_tokens_per_s_per_request_mean"]) == (990.0, 55.0)
    assert (got["r.output_tokens_per_s"], got["r.requests_per_s"]) == (100.0, 2.0)

    got = result_of(db_path, genai_new, "r.energy_joules", "r.power_watts", "r.gpu_utilization_pct", "c.gpu_count",
                    "r.ttst_ms_mean", "r.output_tokens_per_s_per_user_p50", "r.memory_peak_mb")
    assert got["r.energy_joules"] == pytest.approx(6000.0)  # (10.006 - 10.0) MJ on the one busy GPU
    assert (got["r.power_watts"], got["r.gpu_utilization_pct"], got["c.gpu_count"]) == (300.0, 80.0, 1)
    assert (got["r.ttst_ms_mean"], got["r.output_tokens_per_s_per_user_p50"]) == (9.0, 128.0)
    assert got["r.memory_peak_mb"] == pytest.approx(72e9 / 2 ** 20)  # DCGM's 72 GB

    got = result_of(db_path, aiperf_early, "h.device_name", "h.memory_gb", "c.gpu_count", "r.ttft_ms_p90",
                    "r.itl_ms_p99", "r.tpot_ms_mean", "r.energy_joules", "r.duration_s", "r.notes")
    assert (got["h.device_name"], got["h.memory_gb"], got["c.gpu_count"]) == ("NVIDIA H100 80GB HBM3", 80.0, 1)
    assert (got["r.ttft_ms_p90"], got["r.itl_ms_p99"], got["r.tpot_ms_mean"]) == (130.0, 45.0, 20.0)
    assert got["r.energy_joules"] == pytest.approx(4000.0) and got["r.duration_s"] == 10.0
    got = result_of(db_path, aiperf_10, "r.request_rate", "r.failed", "r.completed", "r.extra")
    assert (got["r.request_rate"], got["r.failed"], got["r.completed"]) == (0.5, 2, 8)
    assert json.loads(got["r.extra"])["errors"] == ["TimeoutError x2"]
    got = result_of(db_path, aiperf_13, "r.goodput_requests_per_s", "r.concurrency", "m.model_name")
    assert (got["r.goodput_requests_per_s"], got["r.concurrency"], got["m.model_name"]) == (0.9, 16, "acme-4b")

    got = result_of(db_path, llmperf, "h.hardware_type", "h.device_name", "c.provider", "c.gpu_count",
                    "r.ttft_ms_mean", "r.ttft_ms_p90", "r.e2el_per_output_token_ms_mean", "r.requests_per_s",
                    "r.tpot_ms_mean")
    assert (got["h.hardware_type"], got["h.device_name"], got["c.provider"]) == ("hosted", "hosted:acmecloud",
                                                                                "acmecloud")
    assert got["c.gpu_count"] is None  # --gpu-count is for GPUs, not a provider's API
    assert got["r.ttft_ms_mean"] == 250.0 and got["r.ttft_ms_p90"] == pytest.approx(300.0)  # 0.25 s, 0.3 s
    assert got["r.e2el_per_output_token_ms_mean"] == 12.5 and got["r.tpot_ms_mean"] is None  # llmperf's "ITL"
    assert got["r.requests_per_s"] == 0.5  # 30 per minute

    got = result_of(db_path, optimum, "h.device_name", "c.gpu_count", "v.quantization", "v.bits", "v.weights_format",
                    "v.vram_required_gb", "r.ttft_ms_mean", "r.tpot_ms_mean", "r.itl_ms_mean",
                    "r.decode_tokens_per_s", "r.energy_joules", "r.memory_peak_mb", "f.name", "f.version",
                    "m.parameters_million")
    assert (got["h.device_name"], got["c.gpu_count"]) == ("NVIDIA L4", 2)  # device_ids "0,1" of three L4
    assert (got["v.quantization"], got["v.bits"], got["v.weights_format"]) == ("awq", 4, "awq")
    assert got["m.parameters_million"] == 8000.0  # "llm-8b-awq"
    assert got["v.vram_required_gb"] == pytest.approx(8e9 * 4 / 8 * 1.2 / 2 ** 30)
    assert got["r.ttft_ms_mean"] == pytest.approx(25.0)  # prefill mean of 0.02 s and 0.03 s
    assert got["r.tpot_ms_mean"] == pytest.approx(25.0)  # decode mean 0.8 s / (33 - 1) tokens
    assert got["r.itl_ms_mean"] == pytest.approx(25.0) and got["r.decode_tokens_per_s"] == 80.0
    assert got["r.energy_joules"] == pytest.approx(108.0)  # (0.00001 + 0.00002) kWh
    assert got["r.memory_peak_mb"] == pytest.approx(5000.0)  # 5242.88 decimal MB
    assert (got["f.name"], got["f.version"]) == ("pytorch", "2.5.0")
    got = result_of(db_path, forward, "r.batch_latency_ms_mean", "r.samples_per_s", "m.model_name")
    assert (got["r.batch_latency_ms_mean"], got["r.samples_per_s"]) == (500.0, 128.0)

    got = result_of(db_path, offline, "r.samples_per_s", "r.output_tokens_per_s", "r.e2el_ms_mean",
                    "r.request_rate_unbounded", "r.tool")
    assert (got["r.samples_per_s"], got["r.output_tokens_per_s"]) == (80.5, 24000.5)
    assert got["r.e2el_ms_mean"] is None and got["r.request_rate_unbounded"] is True  # Offline: not latencies

    with duckdb.connect(str(db_path), read_only=True) as conn:
        problems = [r for r in validate_warehouse(conn) if r.findings]
    assert problems == [], [(r.name, [f.summary for f in r.findings]) for r in problems]
    assert rows(db_path, "SELECT count(*) FROM test_runs WHERE test_type = 'llm_serving'")[0][0] == 14


def test_an_mlperf_summary_and_its_detail_log_are_one_run(tmp_path, db_path):
    root = tmp_path / "submission"
    run_dir = root.joinpath(*samples.MLPERF_RUN_DIR)
    summary = write(run_dir, "mlperf_log_summary.txt", samples.MLPERF_SERVER_SUMMARY)
    detail = write(run_dir, "mlperf_log_detail.txt", samples.mlperf_server_detail())
    write(root / "closed" / "Acme" / "systems", "4xH100-SXM_TRT.json", samples.MLPERF_SYSTEM)
    write(run_dir, "mlperf_log_accuracy.json", [{"qsl_idx": 0, "data": "00"}])  # not a result: skipped
    report = ingest([root], db_path)
    assert status_of(report, summary) == "ingested"
    assert status_of(report, detail) == "not a result"
    assert "stored from the summary log" in report.result.outcomes.set_index("source_path").loc[
        str(detail.resolve()), "reason"]
    skipped = dict(report.skipped)
    assert skipped[str((run_dir / "mlperf_log_accuracy.json").resolve())] == MLPERF_OTHER_LOG  # not performance/
    assert skipped[str((root / "closed/Acme/systems/4xH100-SXM_TRT.json").resolve())] == NO_CATEGORY
    got = result_of(db_path, summary, "m.model_name", "h.device_name", "c.gpu_count", "r.ttft_ms_p90",
                    "r.ttft_ms_p50", "r.tpot_ms_mean", "r.requests_per_s", "r.output_tokens_per_s",
                    "r.tool_version", "r.duration_s", "r.workload_type", "r.request_rate", "f.name", "f.version")
    assert (got["m.model_name"], got["h.device_name"], got["c.gpu_count"]) == ("llama2-70b", "NVIDIA H100-SXM-80GB", 4)
    assert (got["r.ttft_ms_p90"], got["r.tpot_ms_mean"]) == (400.0, 150.0)  # 400000000 ns, 150000000 ns
    assert got["r.ttft_ms_p50"] == 240.0  # only the detail log has it
    assert (got["r.requests_per_s"], got["r.output_tokens_per_s"]) == (10.5, 3000.25)
    assert (got["r.tool_version"], got["r.duration_s"]) == ("5.0 @ abcdef", 600.5)  # from the detail log
    assert (got["r.workload_type"], got["r.request_rate"]) == ("online", 10.6)
    assert (got["f.name"], got["f.version"]) == ("tensorrt-llm", "0.12")  # the system description's "TensorRT-LLM 0.12"
    assert counts(db_path)["llm_serving_results"] == 1


def test_a_detail_log_ingested_before_its_summary_is_folded_into_the_summary_run(tmp_path, db_path):
    """A sensor may see the detail log in one drop and its summary in the next: the run must not be counted twice."""
    root = tmp_path / "submission"
    run_dir = root.joinpath(*samples.MLPERF_RUN_DIR)
    write(root / "closed" / "Acme" / "systems", "4xH100-SXM_TRT.json", samples.MLPERF_SYSTEM)
    detail = write(run_dir, "mlperf_log_detail.txt", samples.mlperf_server_detail())
    assert status_of(ingest([detail], db_path), detail) == "ingested"  # alone: its run is stored from it
    assert result_of(db_path, detail, "r.ttft_ms_p50")["r.ttft_ms_p50"] == 240.0

    summary = write(run_dir, "mlperf_log_summary.txt", samples.MLPERF_SERVER_SUMMARY)
    report = ingest([summary], db_path)
    assert status_of(report, summary) == "ingested"
    assert counts(db_path)["llm_serving_results"] == 1  # one run, from the summary with its detail log
    got = result_of(db_path, summary, "r.ttft_ms_p90", "r.ttft_ms_p50")
    assert (got["r.ttft_ms_p90"], got["r.ttft_ms_p50"]) == (400.0, 240.0)
    status, reason, written, history = rows(
        db_path, "SELECT status, reason, rows_written, history FROM ingestion_ledger WHERE source_path = ?",
        [str(detail.resolve())])[0]
    assert (status, written) == ("not a result", 0)
    assert str(summary.resolve()) in reason and "ingested -> not a result" in history
    assert rows(db_path, "SELECT count(*) FROM test_runs WHERE source_path = ?", [str(detail.resolve())]) == [(0,)]

    again = ingest([root], db_path)  # the whole folder again: nothing changes
    assert set(again.result.outcomes["status"]) == {"unchanged"}
    assert counts(db_path)["llm_serving_results"] == 1
    with duckdb.connect(str(db_path), read_only=True) as conn:
        problems = [r for r in validate_warehouse(conn) if r.findings]
    assert problems == [], [(r.name, [f.summary for f in r.findings]) for r in problems]


# -- what the file lacks: options, then the sidecar, never over the file ------------------------------------

def test_options_and_sidecar_fill_only_what_the_file_lacks(tmp_path, db_path):
    folder = tmp_path / "drop" / "llm"
    serve = write(folder, "serve.json", samples.vllm_serve_current())
    write(folder, "serve.json.meta.json", {"gpu": "AMD Instinct MI300X", "gpu_count": 4, "cost_per_hour": 12.5,
                                            "provider": "acme-cloud", "spot": True, "framework": "vllm==0.6.0",
                                            "capabilities": ["prefix_caching"]})
    named = write(folder, "aiperf.json", samples.aiperf_early())  # names its GPU: H100
    write(folder, "aiperf.meta.json", {"model": "not-this-one", "cost_per_hour": 3.0})
    options = LlmDefaults.from_options(gpu="NVIDIA A100-SXM4-80GB", framework="vllm==0.6.3")
    report = ingest([tmp_path / "drop"], db_path, options)
    assert set(report.result.outcomes["status"]) == {"ingested"}
    assert not any("meta.json" in path for path in report.result.outcomes["source_path"])
    assert all(why.startswith("a sidecar") for path, why in report.skipped if "meta.json" in path)

    got = result_of(db_path, serve, "h.device_name", "h.memory_gb", "c.gpu_count", "c.cost_per_hour_usd",
                    "c.provider", "c.spot", "f.name", "f.version", "f.capabilities", "r.filled_from", "r.notes")
    assert got["h.device_name"] == "NVIDIA A100-SXM4-80GB"  # the option, before the sidecar's MI300X
    assert got["h.memory_gb"] == 80.0 and got["c.gpu_count"] == 4  # the name's 80GB; the sidecar's count
    assert (got["c.cost_per_hour_usd"], got["c.provider"], got["c.spot"]) == (12.5, "acme-cloud", True)
    assert (got["f.name"], got["f.version"]) == ("vllm", "0.6.3")  # the file's backend, the option's version
    assert json.loads(got["f.capabilities"]) == ["prefix_caching"]
    assert json.loads(got["r.filled_from"]) == {
        "cost_per_hour_usd": "sidecar", "device_name": "option", "framework_capabilities": "sidecar",
        "framework_version": "option", "gpu_count": "sidecar", "memory_gb": "name", "parameters_million": "name",
        "provider": "sidecar", "spot": "sidecar"}

    got = result_of(db_path, named, "h.device_name", "m.model_name", "c.cost_per_hour_usd", "r.notes")
    assert got["h.device_name"] == "NVIDIA H100 80GB HBM3" and got["m.model_name"] == "acme/llm-20b"  # the file's
    assert got["c.cost_per_hour_usd"] == 3.0
    assert "gpu 'NVIDIA A100-SXM4-80GB' (option) not used: the file names its hardware" in got["r.notes"]


def test_a_broken_sidecar_refuses_its_file_naming_the_sidecar_and_key(tmp_path, db_path):
    serve = write(tmp_path / "llm", "serve.json", samples.vllm_serve_current())
    write(tmp_path / "llm", "serve.json.meta.json", {"gpu": "H100", "gpus": 8})
    report = ingest([tmp_path / "llm"], db_path)
    assert status_of(report, serve) == "quarantined"
    reason = report.result.outcomes.set_index("source_path").loc[str(serve.resolve()), "reason"]
    assert reason.startswith("unreadable sidecar: ") and "serve.json.meta.json: field 'gpus': unknown key" in reason


def test_no_hardware_is_quarantined_with_the_reason_until_it_is_given(tmp_path, db_path):
    folder = tmp_path / "results"
    serve = write(folder, "serve.json", samples.vllm_serve_current())
    sglang = write(folder, "runs.jsonl", samples.sglang_jsonl(samples.sglang_old_line(), samples.sglang_new_line()))
    report = ingest([folder], db_path)
    assert status_of(report, serve) == "quarantined" and status_of(report, sglang) == "quarantined"
    reasons = reasons_of(report, serve)
    assert list(reasons) == [(0, "device_name")]
    assert reasons[(0, "device_name")].startswith("no hardware: the file names no GPU") and "--gpu" in \
        reasons[(0, "device_name")]
    # the old line names no model either: both reasons, each on its field
    assert set(reasons_of(report, sglang)) == {(0, "device_name"), (0, "model_name"), (1, "device_name")}
    assert counts(db_path)["llm_serving_results"] == 0

    assert status_of(ingest([folder], db_path), serve) == "unchanged"  # nothing new: nothing done
    again = ingest([folder], db_path, LlmDefaults(gpu="NVIDIA H100", model="acme/llm-13b"))
    assert status_of(again, serve) == "ingested" and status_of(again, sglang) == "ingested"
    assert counts(db_path)["llm_serving_results"] == 3
    open_rows = rows(db_path, "SELECT count(*) FROM quarantine WHERE status = 'open'")[0][0]
    assert open_rows == 0  # the earlier refusals are superseded
    assert result_of(db_path, sglang, "m.model_name", record_index=1)["m.model_name"] == "acme-70b"  # its own
    # an ingest without options does not undo what the options filled
    assert status_of(ingest([folder], db_path), serve) == "unchanged"
    assert counts(db_path)["llm_serving_results"] == 3


def test_a_gpu_no_rule_can_type_is_refused_naming_it(tmp_path, db_path):
    serve = write(tmp_path / "llm", "serve.json", samples.vllm_serve_current())
    report = ingest([serve], db_path, LlmDefaults(gpu="Mystery 9000"))
    assert "cannot tell the hardware type" in reasons_of(report, serve)[(0, "device_name")]
    assert report.result.quarantine.iloc[0]["value"] == "Mystery 9000"


def test_a_run_where_every_request_failed_is_a_failure_not_a_measurement(tmp_path, db_path):
    folder = tmp_path / "llm"
    vllm = write(folder, "failed.json", samples.vllm_serve_all_failed())
    aiperf = write(folder, "aiperf_failed.json", samples.aiperf_all_failed())
    report = ingest([folder], db_path)  # no hardware needed to record a failure
    assert status_of(report, vllm) == "ingested" and status_of(report, aiperf) == "ingested"
    assert counts(db_path)["llm_serving_results"] == 0
    failures = rows(db_path, "SELECT model_name, error_type, error_message, stage FROM benchmark_failures "
                             "ORDER BY source_path")
    assert failures == [
        ("acme-4b", "all requests failed", "aiperf run of acme-4b on unnamed hardware: all 5 requests failed: "
                                           "HTTPError (HTTP 503) x5", "llm_serving"),
        ("acme/llm-7b", "all requests failed", "vllm_bench_serve run of acme/llm-7b on unnamed hardware: "
                                               "all 10 requests failed", "llm_serving"),
    ]


# -- the ledger: re-ingest, retract, supersede ----------------------------------------------------------------

def test_reingest_retract_and_supersede(tmp_path, db_path):
    folder = tmp_path / "llm"
    serve = write(folder, "serve.json", samples.vllm_serve_current())
    sglang = write(folder, "runs.jsonl", samples.sglang_jsonl(samples.sglang_new_line(), samples.sglang_new_line()
                                                                | {"tag": "run-c", "request_rate": 8.0}))
    first = ingest([folder], db_path, H100)
    assert first.result.outcomes["rows_written"].sum() == 3
    before = counts(db_path)
    second = ingest([folder], db_path, H100)
    assert set(second.result.outcomes["status"]) == {"unchanged"} and counts(db_path) == before

    service = BenchmarkService(db_path)
    [done] = service.retract([str(serve)], reason="wrong GPU")
    assert done.result_rows == 1
    assert rows(db_path, "SELECT count(*) FROM llm_serving_results WHERE source_path = ?", [str(serve.resolve())]) \
        == [(0,)]
    assert rows(db_path, "SELECT status FROM ingestion_ledger WHERE source_path = ?", [str(serve.resolve())]) \
        == [("retracted",)]

    changed = samples.sglang_new_line() | {"mean_ttft_ms": 333.0}
    sglang.write_text(samples.sglang_jsonl(changed), encoding="utf-8")
    third = ingest([sglang], db_path, H100)
    assert status_of(third, sglang) == "ingested"
    assert rows(db_path, "SELECT ttft_ms_mean FROM llm_serving_results WHERE source_path = ?",
                [str(sglang.resolve())]) == [(333.0,)]  # the two earlier runs replaced by the one of the new version
    assert rows(db_path, "SELECT status FROM ingestion_ledger WHERE source_path = ? ORDER BY ledger_id",
                [str(sglang.resolve())]) == [("superseded",), ("ingested",)]
    with duckdb.connect(str(db_path), read_only=True) as conn:
        assert [r.name for r in validate_warehouse(conn) if r.findings] == []


# -- discovery: any folder, .json / .jsonl / .txt, beside the project's own files ------------------------------

def test_a_mixed_folder_ingests_llm_files_and_the_projects_own(tmp_path, db_path):
    folder = tmp_path / "mixed"
    perf = write(folder, "performance/bert.json", [perf_record()])
    serve = write(folder, "serve.json", samples.vllm_serve_current())
    in_perf = write(folder, "performance/also_llm.json", samples.llmperf_summary())  # content wins over folder
    mlperf = write(folder, "run1/mlperf_log_summary.txt", samples.MLPERF_OFFLINE_SUMMARY)
    write(folder, "run1/mlperf_log_summary.meta.json", {"model": "gptj-6b"})  # outside a submission: no model
    notes = write(folder, "performance/notes.txt", "not a log")
    stray = write(folder, "config.json", {"hello": "world"})
    report = ingest([folder], db_path, LlmDefaults(gpu="NVIDIA L40S"))
    assert {Path(p).name: s for p, s in zip(report.result.outcomes["source_path"],
                                            report.result.outcomes["status"])} == {
        "bert.json": "ingested", "serve.json": "ingested", "also_llm.json": "ingested",
        "mlperf_log_summary.txt": "ingested"}
    skipped = dict(report.skipped)
    assert skipped.pop(str((folder / "run1/mlperf_log_summary.meta.json").resolve())).startswith("a sidecar")
    assert skipped == {str(notes.resolve()): NOT_JSON, str(stray.resolve()): NO_CATEGORY}
    assert result_of(db_path, mlperf, "m.model_name")["m.model_name"] == "gptj-6b"
    assert rows(db_path, "SELECT count(*) FROM performance_results")[0][0] == 1
    assert rows(db_path, "SELECT count(*) FROM llm_serving_results")[0][0] == 3
    assert rows(db_path, "SELECT category FROM quarantine") == []
    assert rows(db_path, "SELECT detected_type FROM ingestion_ledger WHERE source_path = ?",
                [str(in_perf.resolve())]) == [("llm_serving:llmperf",)]
    # one model dimension for both kinds; the test runs say which kind
    assert rows(db_path, "SELECT test_type, count(*) FROM test_runs GROUP BY ALL ORDER BY 1") == \
        [("llm_serving", 3), ("performance", 1)]
    assert perf.exists() and serve.exists() and mlperf.exists()


def test_type_performance_still_recognises_llm_files_by_content(tmp_path, db_path):
    folder = tmp_path / "flat"
    write(folder, "bert.json", [perf_record()])
    write(folder, "serve.json", samples.vllm_serve_current())
    report = ingest([folder], db_path, LlmDefaults(gpu="H100"), category="performance")
    assert set(report.result.outcomes["status"]) == {"ingested"}
    assert rows(db_path, "SELECT (SELECT count(*) FROM performance_results), (SELECT count(*) FROM "
                         "llm_serving_results)") == [(1, 1)]


def test_discovery_reads_only_what_may_be_an_llm_file(tmp_path):
    folder = tmp_path / "d"
    write(folder, "a.jsonl", samples.sglang_jsonl(samples.sglang_old_line()))
    write(folder, "other.jsonl", '{"a": 1}\n{"a": 2}\n')
    write(folder, "x/mlperf_log_detail.txt", samples.mlperf_server_detail())
    write(folder, "readme.txt", "hello")
    write(folder, "llm/anything.txt", "dropped in the LLM folder: the ingest decides")
    found = discover([folder])
    assert sorted(Path(p).name for p in found.files["source_path"]) == ["a.jsonl", "anything.txt",
                                                                         "mlperf_log_detail.txt"]
    assert set(found.files["category"]) == {"llm_serving"}
    assert sorted(why for _, why in found.skipped) == [NOT_JSON, NOT_JSON]
    with pytest.raises(ValueError, match="cannot tell its category: no LLM benchmark format recognises it"):
        discover([write(tmp_path, "alone.json", {"a": 1})])


def test_a_file_in_the_llm_folder_that_no_tool_wrote_is_not_a_result(tmp_path, db_path):
    odd = write(tmp_path / "incoming" / "llm", "odd.json", {"a": 1})
    report = ingest([tmp_path / "incoming"], db_path)
    assert status_of(report, odd) == "not a result"
    assert report.result.outcomes.iloc[0]["reason"] == "no LLM benchmark format recognises this content"


def test_a_broken_llm_file_is_quarantined_naming_file_record_and_field(tmp_path, db_path):
    broken = samples.sglang_new_line()
    broken["completed"] = "three"
    path = write(tmp_path / "llm", "runs.jsonl", samples.sglang_jsonl(samples.sglang_new_line(), broken))
    report = ingest([path], db_path, H100)
    assert status_of(report, path) == "quarantined"
    reason = report.result.outcomes.iloc[0]["reason"]
    assert reason.startswith("unreadable LLM result: ") and "runs.jsonl: line 2: field 'completed'" in reason


def test_the_watcher_lists_llm_files_and_folds_sidecars_into_their_file(tmp_path):
    incoming = tmp_path / "incoming"
    serve = write(incoming / "llm", "serve.json", samples.vllm_serve_current())
    log = write(incoming / "llm" / "run", "mlperf_log_summary.txt", samples.MLPERF_OFFLINE_SUMMARY)
    lines = write(incoming / "llm", "runs.jsonl", samples.sglang_jsonl(samples.sglang_new_line()))
    write(incoming / "performance", "notes.txt", "not listed outside the LLM folder")
    listed = {Path(e.path).name: e for e in scan([incoming])}
    assert set(listed) == {"serve.json", "mlperf_log_summary.txt", "runs.jsonl"}
    sidecar = write(incoming / "llm", "serve.json.meta.json", {"gpu": "H100"})
    later = listed["serve.json"].changed_ns + 10 ** 9
    os.utime(sidecar, ns=(later, later))
    relisted = {Path(e.path).name: e for e in scan([incoming])}
    assert set(relisted) == set(listed)  # the sidecar is not a file of its own
    assert relisted["serve.json"].changed_ns >= max(later, sidecar.stat().st_ctime_ns)
    assert relisted["runs.jsonl"] == listed["runs.jsonl"] and log.exists() and serve.exists() and lines.exists()


def test_replay_revalidates_quarantined_llm_runs(tmp_path, db_path):
    serve = write(tmp_path / "llm", "serve.json", samples.vllm_serve_current())
    ingest([serve], db_path)
    replayed = BenchmarkService(db_path).replay()
    assert (replayed.records_replayed, replayed.records_landed) == (1, 0)  # still no hardware: still refused
    assert list(replayed.still_failing["field"]) == ["device_name"]
    [(record,)] = rows(db_path, "SELECT record FROM quarantine WHERE status = 'open'")
    stored = json.loads(record)  # the run as the ingest made it, kept for replay
    assert (stored["tool"], stored["model_name"], stored["ttft_ms_mean"]) == ("vllm_bench_serve", "acme/llm-7b", 120.5)


def test_a_declared_weights_format_beats_one_read_from_a_name(tmp_path, db_path):
    folder = tmp_path / "drop" / "llm"
    serve = write(folder, "serve.json", samples.vllm_serve_current())
    write(folder, "serve.json.meta.json", {"gpu": "NVIDIA L4", "quantization": "bf16", "format": "safetensors"})
    ingest([tmp_path / "drop"], db_path, None)
    got = result_of(db_path, serve, "v.quantization", "v.bits", "v.weights_format")
    assert (got["v.quantization"], got["v.bits"], got["v.weights_format"]) == ("bf16", 16, "safetensors")
