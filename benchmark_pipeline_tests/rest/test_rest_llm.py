"""LLM-serving answers over HTTP: the same answers as the service (numbers computed by hand in
``llm_runs.py``, whose result files these are), refusals as 4xx JSON naming what is wrong, rankings
that say whether they are the stored ones and until when."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from benchmark_pipeline.lib.analytics.serving import Workload
from benchmark_pipeline.service import BenchmarkService
from benchmark_pipeline_tests.conftest import perf_record
from benchmark_pipeline_tests.llm_runs import MODEL, RUNS, write_llm_drops

CHAT_SLA = "ttft_ms_p90<=300,user_tokens_per_s>=20"


@pytest.fixture(scope="module")
def llm_warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rest-llm")
    db = root / "warehouse.duckdb"
    report = BenchmarkService(db).ingest_paths([str(p) for p in write_llm_drops(root / "drops")])
    assert report.result.outcomes["status"].tolist() == ["ingested"] * len(RUNS)
    return db


@pytest.fixture
def llm_db(llm_warehouse: Path, tmp_path: Path) -> Path:
    db = tmp_path / "warehouse" / "benchmarks.duckdb"
    db.parent.mkdir(parents=True)
    shutil.copy(llm_warehouse, db)
    return db


@pytest.fixture
def llm_api(llm_db, api_factory):
    return api_factory(llm_db)


def _same(rest: object, service: object) -> None:
    """The REST answer is the service's, times compared as instants (JSON writes UTC as 'Z', Python '+00:00')."""
    def norm(value):
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        if isinstance(value, list):
            return [norm(v) for v in value]
        if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value

    assert norm(rest) == norm(service)


def test_the_cheapest_configuration_meeting_an_sla_is_the_service_answer(llm_api, llm_db):
    answer = llm_api.client.get("/llm/sla", params={"sla": CHAT_SLA, "model": MODEL, "output_tokens": 128})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # By hand (test_serving.py): the H100 file has no TTFT p90 and is left out; L4 c8 misses the TTFT; of
    # L4 c1 ($9.259), A100 c16 ($2.913) and 2x A100 c32 ($2.549) the last is the cheapest.
    assert (body["considered"], body["left_out"], body["left_out_missing"], body["meeting"]) == \
        (5, 1, {"ttft_ms_p90": 1}, 3)
    cheapest = body["cheapest"]
    assert (cheapest["gpu"], cheapest["gpu_count"], cheapest["concurrency"]) == ("NVIDIA A100-SXM4-80GB", 2, 32)
    assert cheapest["usd_per_million_output_tokens"] == pytest.approx(7.34 / (800 * 3600) * 1e6)
    assert cheapest["user_tokens_per_s"] == pytest.approx(1000 / 47.6)
    assert [(p["gpu_count"], p["concurrency"]) for p in body["points"]] == [(2, 32), (1, 16), (1, 1)]
    assert body["workload"] == {"model": MODEL, "output_tokens": 128}
    service = BenchmarkService(llm_db).llm_sla(CHAT_SLA, Workload(model=MODEL, output_tokens=128))
    _same(body, service)

    on_v1 = llm_api.client.get("/v1/llm/sla", params={"sla": CHAT_SLA, "limit": 1}).json()
    assert len(on_v1["points"]) == 1 and on_v1["cheapest"] == body["cheapest"]
    none_meet = llm_api.client.get("/llm/sla", params={"sla": "ttft_ms_p90<=10"}).json()
    assert none_meet["cheapest"] is None and none_meet["meeting"] == 0 and none_meet["left_out"] == 1


def test_costs_and_the_pareto_front_are_the_service_answers(llm_api, llm_db):
    service = BenchmarkService(llm_db)
    costs = llm_api.client.get("/llm/costs", params={"model": MODEL, "per_page": 3})
    assert costs.status_code == 200 and costs.headers["X-Total-Count"] == "5" and 'rel="next"' in costs.headers["Link"]
    rest = costs.json() + llm_api.client.get("/llm/costs", params={"model": MODEL, "per_page": 3, "page": 2}).json()
    # H100 $1.293, L4 c8 $1.481, 2x A100 $2.549, A100 $2.913, L4 c1 $9.259
    assert [r["concurrency"] for r in rest] == [64, 8, 32, 16, 1]
    assert rest[0]["usd_per_million_output_tokens"] == pytest.approx(6.98 / (1500 * 3600) * 1e6)
    assert "ttft_ms_p90" not in rest[0]  # the cost table has none: left out, not a made-up null
    table = service.llm_costs(Workload(model=MODEL))
    _same(rest, table.astype(object).where(table.notna(), None).to_dict("records"))

    front = llm_api.client.get("/llm/pareto", params={"model": MODEL}).json()
    assert {(p["gpu"], p["concurrency"]) for p in front["points"] if p["on_front"]} == {("NVIDIA H100 80GB HBM3", 64)}
    _same(front, service.llm_pareto(Workload(model=MODEL)))
    narrow = llm_api.client.get("/llm/pareto", params={"input_tokens": 4096}).json()
    assert narrow["points"] == [] and narrow["workload"] == {"input_tokens": 4096}


def test_rankings_say_whether_they_are_stored_and_until_when(llm_api, llm_db):
    fresh = llm_api.client.get("/llm/rankings", params={"use_case": "chatbot"})
    assert fresh.status_code == 200, fresh.text
    body = fresh.json()
    assert body["cached"] is True and body["reason"] == "fresh"
    calculated, expires = (datetime.fromisoformat(body[k].replace("Z", "+00:00")) for k in ("calculated_at",
                                                                                            "expires_at"))
    assert (expires - calculated).total_seconds() == 3600  # the chatbot's ranking_ttl_s
    assert body["candidates"] == 3 and body["criteria_dropped"] == ["output_tokens_per_joule"]
    assert [r["rank_position"] for r in body["rankings"]] == [1, 2, 3]
    assert set(body["rankings"][0]["score_breakdown"]) == {"ttft_ms_p90", "tpot_ms_p90", "user_tokens_per_s",
                                                            "output_tokens_per_s_per_gpu",
                                                            "usd_per_million_output_tokens"}
    _same(body, BenchmarkService(llm_db).llm_rankings("chatbot"))
    assert len(llm_api.client.get("/llm/rankings", params={"use_case": "chatbot", "limit": 1}).json()["rankings"]) == 1

    # Stored rankings that expired are not served: the answer is computed afresh and says so.
    with duckdb.connect(str(llm_db)) as conn:
        conn.execute("UPDATE llm_answers_state SET expires_at = expires_at - INTERVAL 2 HOUR")
    expired = llm_api.client.get("/llm/rankings", params={"use_case": "chatbot", "limit": 5}).json()
    assert expired["cached"] is False and expired["reason"] == "expired"
    assert [(r["result_id"], r["rank_position"]) for r in expired["rankings"]] == \
        [(r["result_id"], r["rank_position"]) for r in body["rankings"]]  # same inputs, same order
    assert datetime.fromisoformat(expired["expires_at"].replace("Z", "+00:00")) > calculated


def test_use_cases_suitability_and_daily_statistics(llm_api, llm_db):
    service = BenchmarkService(llm_db)
    cases = llm_api.client.get("/llm/use-cases").json()
    assert {c["use_case"] for c in cases} >= {"chatbot", "code-completion", "rag-qa", "batch-generation"}
    _same(cases, service.llm_use_cases())
    chatbot = next(c for c in cases if c["use_case"] == "chatbot")
    assert chatbot["sla"] == {"ttft_ms_p90": {"max": 300}, "user_tokens_per_s": {"min": 20}}

    fits = llm_api.client.get("/llm/suitability", params={"model": MODEL.upper()}).json()
    fit = next(f for f in fits if f["use_case"] == "chatbot")
    # Configurations in the chat workload: L4, A100, 2x A100, H100 (no TTFT p90): 3 of 4 meet.
    assert (fit["configurations_tested"], fit["configurations_meeting_sla"], fit["recommended"]) == (4, 3, True)
    assert fit["suitability_score"] == pytest.approx(0.75) and fit["performance_summary"]["best_ttft_ms_p90"] == 120
    assert len(fits) == len(service.llm_suitability(MODEL))
    daily = llm_api.client.get("/llm/daily", params={"model": MODEL}).json()
    assert [(d["stats_date"], d["results"], d["configurations"], d["max_output_tokens_per_s"]) for d in daily] == \
        [("2025-11-05", 5, 4, 1500.0)]


@pytest.mark.parametrize("sla, named", [("ttft_p90<=300", "'ttft_p90'"), ("ttft_ms_p90=300", "'ttft_ms_p90=300'"),
                                        ("ttft_ms_p90<=fast", "'ttft_ms_p90<=fast'"), (",", "at least one term")])
def test_an_sla_that_cannot_be_read_is_a_400_naming_the_term(llm_api, sla, named):
    answer = llm_api.client.get("/llm/sla", params={"sla": sla})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_sla" and named in answer.json()["message"]
    assert answer.headers["X-Cache"] == "miss"


def test_unknown_names_and_bad_parameters_are_4xx_naming_them(llm_api):
    case = llm_api.client.get("/llm/rankings", params={"use_case": "chatbott"})
    assert case.status_code == 404 and case.json()["error"] == "unknown_name"
    assert "'chatbott'" in case.json()["message"] and "chatbot" in case.json()["message"].split(";", 1)[1]
    model = llm_api.client.get("/llm/sla", params={"sla": CHAT_SLA, "model": "acme/llm-8"})
    assert model.status_code == 404 and MODEL in model.json()["message"]
    assert llm_api.client.get("/llm/pareto", params={"model": "acme/llm-8"}).status_code == 404
    for path in ("/llm/suitability", "/llm/daily"):  # stored answers: a typo is not "no rows"
        answer = llm_api.client.get(path, params={"model": "acme/llm-8"})
        assert answer.status_code == 404 and answer.json()["error"] == "unknown_name", (path, answer.text)
        assert "'acme/llm-8'" in answer.json()["message"] and MODEL in answer.json()["message"]
    for path, params, named in [("/llm/sla", {}, "sla"), ("/llm/rankings", {}, "use_case"),
                                ("/llm/costs", {"workload_type": "streaming"}, "workload_type"),
                                ("/llm/pareto", {"output_tokens": -1}, "output_tokens"),
                                ("/llm/rankings", {"use_case": "chatbot", "limit": 0}, "limit"),
                                ("/llm/sla", {"sla": CHAT_SLA, "since": "2025-12-01", "until": "2025-11-01"}, "until")]:
        answer = llm_api.client.get(path, params=params)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request", (path, answer.text)
        assert named in answer.json()["message"], (path, answer.text)


def test_a_repeated_read_is_kept_until_a_write_changes_the_answer(llm_api, llm_db):
    first = llm_api.client.get("/llm/rankings", params={"use_case": "chatbot"})
    again = llm_api.client.get("/llm/rankings", params={"use_case": "chatbot"})
    assert (first.headers["X-Cache"], again.headers["X-Cache"]) == ("miss", "hit") and again.content == first.content
    BenchmarkService(llm_db).ingest_records("performance", perf_record(batch_size=4244))
    assert llm_api.client.get("/llm/rankings", params={"use_case": "chatbot"}).headers["X-Cache"] == "miss"


def test_a_warehouse_without_llm_results_answers_with_nothing(tmp_path, api_factory):
    db = tmp_path / "plain" / "benchmarks.duckdb"
    BenchmarkService(db).ingest_records("performance", perf_record(batch_size=1))
    api = api_factory(db)
    sla = api.client.get("/llm/sla", params={"sla": CHAT_SLA}).json()
    assert (sla["considered"], sla["cheapest"], sla["points"]) == (0, None, [])
    ranking = api.client.get("/llm/rankings", params={"use_case": "chatbot"}).json()
    assert ranking["rankings"] == [] and ranking["candidates"] == 0
    assert api.client.get("/llm/pareto").json()["points"] == []
    assert api.client.get("/llm/costs").json() == [] and api.client.get("/llm/daily").json() == []


def test_a_warehouse_older_than_the_llm_answers_is_a_409_saying_what_to_do(llm_db, api_factory):
    with duckdb.connect(str(llm_db)) as conn:  # as a warehouse of schema version 8 had it
        conn.execute("DROP TABLE use_case_taxonomy")
    api = api_factory(llm_db)
    for path, params in [("/llm/use-cases", {}), ("/llm/sla", {"sla": CHAT_SLA}),
                         ("/llm/rankings", {"use_case": "chatbot"}), ("/llm/daily", {})]:
        answer = api.client.get(path, params=params)
        assert answer.status_code == 409, (path, answer.text)
        assert answer.json()["error"] == "llm_answers_unavailable" and "benchmark-db refresh" in answer.json()["message"]


def test_reads_need_a_token_beyond_loopback(llm_db, api_factory):
    remote = api_factory(llm_db, reads_need_token=True)
    assert remote.client.get("/llm/use-cases").status_code == 401
    assert remote.client.get("/llm/use-cases", headers=remote.auth("read")).status_code == 200


def test_openapi_documents_the_llm_endpoints(llm_api):
    spec = llm_api.client.get("/openapi.json").json()
    paths = {p: item for p, item in spec["paths"].items() if p.startswith("/llm/")}
    assert set(paths) == {"/llm/use-cases", "/llm/sla", "/llm/costs", "/llm/pareto", "/llm/rankings",
                          "/llm/suitability", "/llm/daily"}
    for path, item in paths.items():
        op = item["get"]
        assert op["tags"] == ["llm"] and op["summary"] and op["description"], path
        assert all(p.get("description") for p in op.get("parameters", [])), path
        assert {"400", "404", "409"} <= set(op["responses"]) and "422" not in op["responses"], path
    point = spec["components"]["schemas"]["LlmPointOut"]
    assert point["description"] and "usd_per_million_output_tokens" in point["properties"]
    assert "$ per million output tokens" in point["properties"]["usd_per_million_output_tokens"]["description"]
