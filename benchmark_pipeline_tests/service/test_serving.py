"""LLM-serving answers through the service, from vLLM result files ingested like any drop.

The numbers are chosen so the answers can be computed by hand (in the comments).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from benchmark_pipeline.lib.analytics.serving import SlaError, Workload
from benchmark_pipeline.lib.names import UnknownNameError
from benchmark_pipeline.service import BenchmarkService
from benchmark_pipeline_tests.llm_runs import MODEL, RUNS, serve_result, write_llm_drops


@pytest.fixture
def service(tmp_path) -> BenchmarkService:
    drops = tmp_path / "drops"
    write_llm_drops(drops)
    svc = BenchmarkService(tmp_path / "warehouse.duckdb")
    report = svc.ingest_paths([str(drops)])
    assert report.result.outcomes["status"].tolist() == ["ingested"] * len(RUNS)
    assert report.refresh.llm.recomputed and report.refresh.llm.rankings >= 3
    return svc


def test_cheapest_configuration_meeting_an_sla_by_hand(service):
    answer = service.llm_sla("ttft_ms_p90<=300,user_tokens_per_s>=20", Workload(model=MODEL, output_tokens=128))
    assert answer["considered"] == 5
    assert answer["left_out"] == 1 and answer["left_out_missing"] == {"ttft_ms_p90": 1}
    assert answer["meeting"] == 3 and answer["meeting_unpriced"] == 0
    cheapest = answer["cheapest"]
    assert (cheapest["gpu"], cheapest["gpu_count"], cheapest["concurrency"]) == ("NVIDIA A100-SXM4-80GB", 2, 32)
    assert cheapest["usd_per_million_output_tokens"] == pytest.approx(7.34 / (800 * 3600) * 1e6)  # $2.549
    assert cheapest["user_tokens_per_s"] == pytest.approx(1000 / 47.6)
    assert [(p["gpu_count"], p["concurrency"]) for p in answer["points"]] == [(2, 32), (1, 16), (1, 1)]
    assert answer["points"][-1]["usd_per_million_output_tokens"] == pytest.approx(0.80 / (24 * 3600) * 1e6)


def test_questions_that_cannot_be_answered_say_why(service):
    with pytest.raises(SlaError, match="'ttft_p90'"):
        service.llm_sla("ttft_p90<=300")
    with pytest.raises(UnknownNameError, match="acme/llm-8b"):
        service.llm_sla("ttft_ms_p90<=300", Workload(model="acme/llm-8"))
    with pytest.raises(UnknownNameError, match="chatbot"):
        service.llm_rankings("chatbott")


def test_costs_and_pareto_front(service):
    costs = service.llm_costs(Workload(model=MODEL))
    # H100 6.98 / (1500 x 3600) x 1e6 = $1.293, L4 c8 $1.481, 2x A100 $2.549, A100 $2.913, L4 c1 $9.259
    assert costs["concurrency"].tolist() == [64, 8, 32, 16, 1]
    assert costs["usd_per_million_output_tokens"].is_monotonic_increasing
    front = service.llm_pareto(Workload(model=MODEL))
    on = {(p["gpu"], p["concurrency"]) for p in front["points"] if p["on_front"]}
    # per user / per GPU: L4 c1 25/24, L4 c8 22.2/150, A100 22.2/350, 2xA100 21/400, H100 33.3/1500: H100 alone.
    assert on == {("NVIDIA H100 80GB HBM3", 64)} and front["left_out"] == 0


def test_rankings_are_stored_by_the_ingest_and_computed_afresh_once_expired(service):
    ranking = service.llm_rankings("chatbot")
    assert ranking["cached"] and ranking["reason"] == "fresh"
    # Candidates meeting the chatbot SLA (TTFT p90 <= 300 ms, >= 20 tokens/s per user): L4 c1, A100, 2x A100.
    assert ranking["candidates"] == 3
    assert ranking["criteria_dropped"] == ["output_tokens_per_joule"]  # no energy in any file
    order = [(r["gpu_count"], r["concurrency"]) for r in ranking["rankings"]]
    assert [r["rank_position"] for r in ranking["rankings"]] == [1, 2, 3]
    assert set(ranking["rankings"][0]["score_breakdown"]) == {"ttft_ms_p90", "tpot_ms_p90", "user_tokens_per_s",
                                                               "output_tokens_per_s_per_gpu",
                                                               "usd_per_million_output_tokens"}

    later = datetime.now(timezone.utc) + timedelta(hours=2)
    expired = service.llm_rankings("chatbot", now=later)
    assert not expired["cached"] and expired["reason"] == "expired"
    assert [(r["gpu_count"], r["concurrency"]) for r in expired["rankings"]] == order  # same inputs, same answer

    refreshed = service.refresh_llm_answers(now=later)
    assert refreshed.recomputed and refreshed.reason == "expired"
    assert service.llm_rankings("chatbot", now=later)["cached"]
    assert not service.refresh_llm_answers(now=later).recomputed  # fresh: nothing to do


def test_suitability_and_daily_stats_are_kept_with_the_facts(service):
    fit = service.llm_suitability(MODEL).set_index("use_case").loc["chatbot"]
    # Configurations in the chat workload: L4, A100, 2x A100, H100; the H100 has no TTFT p90: 3 of 4 meet.
    assert (fit["configurations_tested"], fit["configurations_meeting_sla"]) == (4, 3)
    assert fit["suitability_score"] == pytest.approx(0.75) and fit["recommended"]
    daily = service.llm_daily_stats(MODEL)
    assert daily["results"].tolist() == [5] and daily["configurations"].tolist() == [4]
    assert daily["max_output_tokens_per_s"].tolist() == [1500.0]


def test_a_retraction_recomputes_the_answers_in_its_own_transaction(service, tmp_path):
    service.retract([str(tmp_path / "drops" / "a100x2_c32.json")])
    answer = service.llm_sla("ttft_ms_p90<=300,user_tokens_per_s>=20")
    assert answer["cheapest"]["gpu_count"] == 1 and answer["cheapest"]["concurrency"] == 16
    ranking = service.llm_rankings("chatbot")
    assert ranking["cached"] and ranking["candidates"] == 2


def test_a_candidate_lacking_a_price_is_listed_unranked_not_dropping_cost_for_all(service, tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "l40s_c8.json").write_text(json.dumps(serve_result(8, 150.0, 30.0, 500.0)))
    (extra / "l40s_c8.json.meta.json").write_text(json.dumps({"gpu": "NVIDIA L40S", "gpu_count": 1}))  # no price
    service.ingest_paths([str(extra)])
    for now in (None, datetime.now(timezone.utc) + timedelta(hours=2)):  # stored, then computed afresh
        ranking = service.llm_rankings("chatbot", now=now)
        assert ranking["cached"] is (now is None)
        assert ranking["candidates"] == 3 and "usd_per_million_output_tokens" not in ranking["criteria_dropped"]
        [unranked] = ranking["unranked"]
        assert unranked["gpu"] == "NVIDIA L40S" and unranked["lacks"] == ["usd_per_million_output_tokens"]
        assert [r["rank_position"] for r in ranking["rankings"]] == [1, 2, 3]
