"""The Python API: a stored record takes the dropped file's path (validation, quarantine, ledger) and says what happened."""

from __future__ import annotations

import pytest

from benchmark_pipeline import BenchmarkDB
from benchmark_pipeline.lib.names import UnknownNameError
from benchmark_pipeline_tests.conftest import perf_record


@pytest.fixture
def db(tmp_path):
    return BenchmarkDB(tmp_path / "w.duckdb", data_dir=tmp_path / "data")


def test_a_stored_record_lands_once_however_often_it_is_sent(db):
    first = db.store_performance_result(perf_record())
    assert first["status"] == "ingested" and len(first["stored_ids"]) == 1 and first["quarantined"] == []
    assert first["source_path"].startswith("api://performance/")
    again = db.store_performance_result(**perf_record())  # same content, as keyword arguments
    assert again["stored_ids"] == first["stored_ids"] and again["status"].startswith("unchanged")
    rows = db.query_performance_results(model="bert-base-uncased", hardware="cuda")
    assert [r["result_id"] for r in rows] == first["stored_ids"]
    assert rows[0]["device_name"] == "NVIDIA A100-SXM4-80GB" and rows[0]["average_latency_ms"] == 12.5
    status = db.get_status()
    assert status["tables"]["performance_results"] == 1 and status["ledger"] == {"ingested": 1}


def test_a_bad_record_is_quarantined_with_field_and_value(db):
    outcome = db.store("performance", [perf_record(), perf_record(batch_size=16, average_latency_ms=-2.0)])
    assert outcome["status"] == "partial" and len(outcome["stored_ids"]) == 1
    (bad,) = outcome["quarantined"]
    assert bad["record_index"] == 1 and bad["field"] == "average_latency_ms" and bad["value"] == "-2.0"
    assert "> 0" in bad["reason"]
    nothing = db.store_performance_result(hardware_type="cuda", average_latency_ms=3.0)
    assert nothing["status"] == "quarantined" and nothing["stored_ids"] == []
    assert nothing["quarantined"][0]["field"] == "model_name"


def test_summaries_come_from_the_derived_tables_kept_current_by_each_store(db):
    db.store_performance_result(perf_record(hardware_type="cpu", device_name="AMD EPYC 7B13", memory_gb=None,
                                            throughput_items_per_second=64.0))
    db.store_performance_result(perf_record())
    summary = db.get_model_performance_summary("BERT-base-uncased")
    by_type = {row["hardware_type"]: row for row in summary["hardware"]}
    assert by_type["cuda"]["speedup_vs_cpu"] == pytest.approx(640.0 / 64.0)
    models = db.get_hardware_benchmark_summary("cuda")["models"]
    assert [m["model_name"] for m in models] == ["bert-base-uncased"]
    with pytest.raises(UnknownNameError, match="did you mean: bert-base-uncased"):
        db.get_model_performance_summary("bert-base")
    compat = db.store_hardware_compatibility(model_name="bert-base-uncased", hardware_type="cuda", is_compatible=True)
    assert compat["status"] == "ingested"
    assert db.query_hardware_compatibility(model="bert-base-uncased")[0]["is_compatible"] is True


def test_regressions_through_the_api(tmp_path):
    from benchmark_pipeline.lib.sample_data import write_sample

    write_sample(tmp_path / "sample")  # one planted slowdown: bert-base-uncased on the A100
    db = BenchmarkDB(tmp_path / "w.duckdb", data_dir=tmp_path / "data")
    db.ingest_files(tmp_path / "sample")
    assert db.update_regressions()["series_analysed"] > 0
    open_flags = db.get_regressions()
    assert open_flags and all(f["status"] == "open" for f in open_flags)
    metric = open_flags[0]["metric"]
    assert db.set_regression_threshold("relative", 0.9, metric=metric)["kind"] == "relative"
    db.update_regressions()
    assert all(f["metric"] != metric for f in db.get_regressions())  # a 90 % threshold silences that metric


def test_snapshots_sync_list_and_restore_through_the_api(tmp_path, monkeypatch):
    """The seed's sync_to_ipfs / get_version_history / restore_from_ipfs over the local blockstore (no node)."""
    for name in ("IPFS_API_URL", "IPFS_REQUIRED", "BENCHMARK_BLOCKS_DIR"):
        monkeypatch.delenv(name, raising=False)
    db = BenchmarkDB(tmp_path / "w.duckdb", data_dir=tmp_path / "data")
    db.store_performance_result(perf_record())
    first = db.sync_to_ipfs()
    assert first["created"] and not first["published"] and first["cid"].startswith("baf")
    assert db.sync_to_ipfs()["created"] is False  # same data: no new snapshot
    db.store_performance_result(perf_record(batch_size=16))
    second = db.sync_to_ipfs()
    history = db.get_version_history()
    assert [h["cid"] for h in history] == [second["cid"], first["cid"]]
    assert history[0]["previous"] == first["cid"] and history[1]["row_counts"]["performance_results"] == 1
    assert {h["state"] for h in history} == {"local"}

    restored = db.restore_from_ipfs(first["cid"])
    assert restored["target"] == str((tmp_path / "w.duckdb").resolve()) and restored["backup"]
    assert len(db.query_performance_results()) == 1
    copy = db.restore_from_ipfs("HEAD", target=tmp_path / "copy.duckdb")
    assert BenchmarkDB(copy["target"]).get_status()["tables"]["performance_results"] == 2


def test_llm_files_with_options_and_the_answers_through_the_api(tmp_path):
    import json

    from benchmark_pipeline_tests.llm_runs import MODEL, serve_result

    drops = tmp_path / "drops"
    drops.mkdir()
    (drops / "a100.json").write_text(json.dumps(serve_result(16, 250.0, 45.0, 350.0)))
    (drops / "l4.json").write_text(json.dumps(serve_result(1, 120.0, 40.0, 24.0)))
    (drops / "a100.json.meta.json").write_text(json.dumps({"gpu": "NVIDIA A100-SXM4-80GB", "cost_per_hour": 3.67}))
    (drops / "l4.json.meta.json").write_text(json.dumps({"gpu": "NVIDIA L4", "cost_per_hour": 0.8,
                                                         "framework": "sglang"}))
    db = BenchmarkDB(tmp_path / "w.duckdb", data_dir=tmp_path / "data")
    # What the files lack comes from the options first, then the sidecars (the L4's framework is the option's).
    outcome = db.ingest_files(drops, gpu_count=1, framework="vllm==0.6.3")
    assert [f["status"] for f in outcome["files"]] == ["ingested", "ingested"]
    answer = db.find_cheapest_under_sla("ttft_ms_p90<=300,user_tokens_per_s>=20", model=MODEL)
    assert answer["meeting"] == 2 and answer["cheapest"]["gpu"] == "NVIDIA A100-SXM4-80GB"
    assert answer["cheapest"]["usd_per_million_output_tokens"] == pytest.approx(3.67 / (350 * 3600) * 1e6)
    assert [(p["gpu"], p["framework"]) for p in answer["points"]] == [("NVIDIA A100-SXM4-80GB", "vllm"),
                                                                       ("NVIDIA L4", "vllm")]
    assert {c["use_case"] for c in db.get_use_cases()} >= {"chatbot", "code-completion", "summarization"}
    ranking = db.get_llm_rankings("chatbot")
    assert ranking["cached"] and ranking["candidates"] == 2
    assert [p["gpu"] for p in db.get_llm_costs()] == ["NVIDIA A100-SXM4-80GB", "NVIDIA L4"]
    with pytest.raises(ValueError, match="gpu_count"):
        db.ingest_files(drops, gpu_count=0)


def test_an_llm_result_stored_through_the_api_is_recognised_filled_and_stored_once(tmp_path):
    from benchmark_pipeline_tests.llm_runs import serve_result

    db = BenchmarkDB(tmp_path / "w.duckdb", data_dir=tmp_path / "data")
    document = serve_result(8, 200.0, 30.0, 400.0)
    refused = db.store_llm_result(document, name="serve c8.json")
    assert refused["status"] == "quarantined" and refused["stored_ids"] == {}
    assert refused["quarantined"][0]["field"] == "device_name" and "no hardware" in refused["quarantined"][0]["reason"]

    stored = db.store_llm_result(document, name="serve c8.json", gpu="NVIDIA L40S", gpu_count=2, cost_per_hour=2.4)
    assert stored["status"] == "ingested" and len(stored["stored_ids"]["llm_serving"]) == 1
    assert stored["source_path"].startswith("upload://llm_serving/") and stored["source_path"].endswith("/serve_c8.json")
    again = db.store_llm_result(document, name="serve c8.json", gpu="NVIDIA L40S", gpu_count=2, cost_per_hour=2.4)
    assert again["stored_ids"] == stored["stored_ids"] and again["status"].startswith("unchanged")
    assert db.store_llm_result(document, name="copy.json", gpu="NVIDIA L40S")["status"] == "duplicate"
    costs = db.get_llm_costs()
    assert len(costs) == 1 and costs[0]["gpu_count"] == 2
    assert costs[0]["usd_per_million_output_tokens"] == pytest.approx(2.4 / (400 * 3600) * 1e6)
