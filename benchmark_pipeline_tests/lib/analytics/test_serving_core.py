"""The LLM-serving answers on a small set whose answers are computed by hand in the comments."""

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from benchmark_pipeline.lib.analytics.serving import (SlaError, UseCase, Workload, cost_table, daily_stats,
                                                      latest_points, pareto_points, parse_sla, rank_use_case, select,
                                                      sla_answer, suitability, usd_per_million_tokens, with_derived)

NAN = float("nan")
T0 = datetime(2025, 11, 5, tzinfo=timezone.utc)


def _point(result_id, version, config, gpus, price, concurrency, *, ttft_p90, tokens_per_s, tpot_mean=NAN,
           user_mean=NAN, energy=NAN, power=NAN, duration=100.0, model="llama-8b", model_id=1, input_tokens=512,
           output_tokens=128, day=0):
    return {"result_id": result_id, "run_time": T0 + timedelta(days=day), "model_id": model_id, "model_name": model,
            "model_version_id": version, "quantization": None, "bits": 16, "weights_format": None,
            "hardware_config_id": config, "hardware_type": "cuda", "gpu": f"gpu{config}", "gpu_count": gpus,
            "cost_per_hour_usd": price, "provider": None, "instance_type": None, "spot": None, "framework_id": 1,
            "framework": "vllm", "framework_version": "0.6", "tool": "vllm_bench_serve", "workload_type": "online",
            "dataset": "random", "input_tokens": input_tokens, "output_tokens": output_tokens,
            "concurrency": concurrency, "concurrency_unbounded": False, "request_rate": NAN,
            "request_rate_unbounded": False, "batch_size": NAN, "ttft_ms_mean": NAN, "ttft_ms_p50": ttft_p90 * 0.8,
            "ttft_ms_p90": ttft_p90, "ttft_ms_p99": NAN, "tpot_ms_mean": tpot_mean, "tpot_ms_p50": NAN,
            "tpot_ms_p90": NAN, "tpot_ms_p99": NAN, "itl_ms_p90": NAN, "e2el_ms_p90": NAN, "e2el_ms_p99": NAN,
            "output_tokens_per_s_per_user_mean": user_mean, "output_tokens_per_s": tokens_per_s,
            "total_tokens_per_s": NAN, "requests_per_s": NAN, "energy_joules": energy, "power_watts": power,
            "duration_s": duration}


def _small_set() -> pd.DataFrame:
    rows = [
        # A: 1x L4 at $0.80/h, one user: TPOT mean 40 ms -> 1000/40 = 25 tokens/s per user; 24 tokens/s in all
        #    -> 0.80 / (24 x 3600) x 1e6 = $9.259 per million output tokens.
        _point(1, 1, 1, 1, 0.80, 1, ttft_p90=120, tokens_per_s=24, tpot_mean=40),
        # B: the same L4 at 8 users: TTFT p90 350 ms > 300: misses the SLA.
        _point(2, 1, 1, 1, 0.80, 8, ttft_p90=350, tokens_per_s=150, tpot_mean=45),
        # C: 1x A100 at $3.67/h, 16 users, 22 tokens/s per user (the tool's figure), 350 tokens/s
        #    -> 3.67 / (350 x 3600) x 1e6 = $2.9127.
        _point(3, 1, 2, 1, 3.67, 16, ttft_p90=250, tokens_per_s=350, user_mean=22),
        # D: 2x A100 at $7.34/h, 32 users, 21 per user, 800 tokens/s -> 7.34 / (800 x 3600) x 1e6 = $2.5486: cheapest.
        _point(4, 1, 3, 2, 7.34, 32, ttft_p90=280, tokens_per_s=800, user_mean=21),
        # E: no TTFT p90 at all (the tool wrote only the median): cannot be judged, left out.
        _point(5, 1, 4, 1, 6.98, 64, ttft_p90=NAN, tokens_per_s=1500, user_mean=30),
        # F: meets the SLA but has no price: listed, never cheapest.
        _point(6, 1, 5, 1, NAN, 8, ttft_p90=100, tokens_per_s=500, user_mean=30),
        # G: 1x H100, 32 users: 15 tokens/s per user < 20: misses.
        _point(7, 1, 4, 1, 6.98, 32, ttft_p90=200, tokens_per_s=1400, user_mean=15),
    ]
    return with_derived(pd.DataFrame(rows))


def test_cost_per_million_output_tokens_by_hand():
    assert usd_per_million_tokens(0.80, 24).iloc[0] == pytest.approx(9.259259, rel=1e-6)
    assert np.isnan(usd_per_million_tokens(1.0, 0).iloc[0])  # nothing produced: no cost per token, not infinity
    points = _small_set().set_index("result_id")
    assert points.loc[4, "usd_per_million_output_tokens"] == pytest.approx(7.34 / (800 * 3600) * 1e6)
    assert points.loc[1, "user_tokens_per_s"] == 25 and points.loc[1, "user_tokens_per_s_from"] == "1000/tpot_ms_mean"
    assert points.loc[3, "user_tokens_per_s"] == 22 and points.loc[3, "user_tokens_per_s_from"] == "tool"
    assert points.loc[4, "output_tokens_per_s_per_gpu"] == 400
    # Every point, SLA or not: E 6.98 / (1500 x 3600) x 1e6 = $1.293, G $1.385, B $1.481, D, C, A; F unpriced last.
    table = cost_table(_small_set())
    assert list(table["result_id"]) == [5, 7, 2, 4, 3, 1, 6]


def test_cheapest_configuration_meeting_an_sla_by_hand():
    answer = sla_answer(_small_set(), parse_sla("ttft_ms_p90<=300, user_tokens_per_s>=20"))
    assert answer["considered"] == 7
    assert answer["left_out"] == 1 and answer["left_out_missing"] == {"ttft_ms_p90": 1}  # E
    assert answer["judged"] == 6 and answer["meeting"] == 4 and answer["meeting_unpriced"] == 1  # A, C, D, F
    cheapest = answer["cheapest"]
    assert cheapest["result_id"] == 4 and cheapest["gpu_count"] == 2
    assert cheapest["usd_per_million_output_tokens"] == pytest.approx(2.548611, rel=1e-6)
    assert [p["result_id"] for p in answer["points"]] == [4, 3, 1, 6]


def test_sla_terms_are_checked_and_named():
    assert [str(c) for c in parse_sla("ttft_ms_p90 < 300,user_tokens_per_s>20")] == \
        ["ttft_ms_p90<=300", "user_tokens_per_s>=20"]
    with pytest.raises(SlaError, match="'ttft_p90'"):
        parse_sla("ttft_p90<=300")
    with pytest.raises(SlaError, match="not COLUMN<=LIMIT"):
        parse_sla("ttft_ms_p90 == 3")


def test_tokens_per_joule_from_energy_else_power():
    rows = [_point(1, 1, 1, 1, 1.0, 1, ttft_p90=100, tokens_per_s=50, energy=25_000, duration=100),  # 5000 / 25000 J
            _point(2, 1, 1, 1, 1.0, 4, ttft_p90=100, tokens_per_s=300, power=600),  # 300 tokens/s / 600 W
            _point(3, 1, 1, 1, 1.0, 8, ttft_p90=100, tokens_per_s=300)]
    efficiency = with_derived(pd.DataFrame(rows))["output_tokens_per_joule"].tolist()
    assert efficiency[:2] == [pytest.approx(0.2), pytest.approx(0.5)] and np.isnan(efficiency[2])


def test_pareto_front_of_throughput_per_gpu_against_speed_per_user():
    # A concurrency sweep trades speed per user (1000 / TPOT) for tokens per GPU; (user, per GPU):
    # c1 (50, 60), c4 (40, 200), c16 (25, 480), c64 (10, 700) are each best somewhere; (20, 300) on
    # another GPU is beaten by c16 on both; a hosted API has no GPU count: left out.
    sweep = [_point(i + 1, 1, 1, 1, 2.0, c, ttft_p90=100, tokens_per_s=t, tpot_mean=tpot)
             for i, (c, t, tpot) in enumerate([(1, 60, 20), (4, 200, 25), (16, 480, 40), (64, 700, 100)])]
    beaten = _point(5, 1, 2, 2, 4.0, 16, ttft_p90=100, tokens_per_s=600, tpot_mean=50)
    hosted = _point(6, 1, 3, NAN, NAN, 16, ttft_p90=100, tokens_per_s=900, tpot_mean=10)
    front, left_out = pareto_points(with_derived(pd.DataFrame(sweep + [beaten, hosted])))
    assert left_out == 1
    assert set(front.loc[front["on_front"], "result_id"]) == {1, 2, 3, 4}
    assert list(front["result_id"]) == [4, 5, 3, 2, 1]  # by speed per user


def test_workload_selection_matches_lengths_within_ten_percent():
    points = with_derived(pd.DataFrame([
        _point(1, 1, 1, 1, 1.0, 1, ttft_p90=100, tokens_per_s=50, input_tokens=512),
        _point(2, 1, 1, 1, 1.0, 1, ttft_p90=100, tokens_per_s=50, input_tokens=560),
        _point(3, 1, 1, 1, 1.0, 1, ttft_p90=100, tokens_per_s=50, input_tokens=4096)]))
    assert list(select(points, Workload(input_tokens=512))["result_id"]) == [1, 2]
    assert list(select(points, Workload(input_range=(1024, 8192)))["result_id"]) == [3]


def test_latest_result_of_each_load_point_is_the_one_judged():
    old = _point(1, 1, 1, 1, 1.0, 4, ttft_p90=100, tokens_per_s=50, day=0)
    new = _point(2, 1, 1, 1, 1.0, 4, ttft_p90=400, tokens_per_s=50, day=3)
    other = _point(3, 1, 1, 1, 1.0, 8, ttft_p90=100, tokens_per_s=50, day=0)
    assert list(latest_points(pd.DataFrame([new, old, other]))["result_id"]) == [2, 3]


def _chat(weights=None) -> UseCase:
    return UseCase.from_row({
        "use_case": "chatbot", "characteristics": json.dumps({"input_tokens": [32, 2048], "output_tokens": [32, 1024]}),
        "sla": json.dumps({"ttft_ms_p90": {"max": 300}, "user_tokens_per_s": {"min": 20}}),
        "default_weights": json.dumps(weights or {"usd_per_million_output_tokens": 1.0}), "ranking_ttl_s": 60})


def test_topsis_per_use_case_ranks_each_configuration_by_its_best_point():
    # Configurations meeting the chat SLA: L4 (A only, B misses), 1x A100 (C), 2x A100 (D), unpriced (F).
    # Most have a price, so cost is kept and F, which has none, is left unranked rather than cost dropped for all.
    chat = _chat({"usd_per_million_output_tokens": 1.0, "output_tokens_per_s_per_gpu": 1.0,
                  "output_tokens_per_joule": 1.0})
    ranked, dropped, unranked = rank_use_case(_small_set(), chat)
    assert dropped == ["output_tokens_per_joule"]  # nobody has energy
    assert list(unranked["result_id"]) == [6] and unranked.iloc[0]["lacks"] == ["usd_per_million_output_tokens"]
    # D is cheapest and best per GPU: rank 1; A (L4) is worst on both: last.
    assert list(ranked["result_id"]) == [4, 3, 1] and list(ranked["rank_position"]) == [1, 2, 3]
    assert ranked.iloc[0]["score_breakdown"]["output_tokens_per_s_per_gpu"] == {
        "value": 400.0, "unit": "tokens/s", "direction": "higher_is_better", "weight": 0.5}

    by_cost, _, _ = rank_use_case(_small_set(), _chat())
    assert list(by_cost["result_id"]) == [4, 3, 1]  # cheapest per token first


def test_a_criterion_most_candidates_lack_is_dropped_for_all():
    # Only the L4 has no price: cost is kept and it is unranked. Take the price from three of four: dropped.
    points = _small_set()
    points.loc[points["result_id"].isin([3, 4, 6]), "usd_per_million_output_tokens"] = NAN
    ranked, dropped, unranked = rank_use_case(points, _chat({"usd_per_million_output_tokens": 1.0,
                                                             "output_tokens_per_s_per_gpu": 1.0}))
    assert dropped == ["usd_per_million_output_tokens"] and unranked.empty
    assert list(ranked["result_id"]) == [6, 4, 3, 1]  # per GPU: F 500, D 400, C 350, A 24


def test_suitability_is_the_share_of_configurations_meeting_the_use_case():
    points = _small_set()
    chat = _chat({"usd_per_million_output_tokens": 1.0, "output_tokens_per_s_per_gpu": 1.0})
    ranked, _, _ = rank_use_case(points, chat)
    fit = suitability(points, chat, ranked).set_index("model_id").loc[1]
    # Configurations tested in the chat workload: 1 (L4), 2, 3, 4 (H100: E left out, G misses), 5: 4 of 5 meet.
    assert fit["configurations_tested"] == 5 and fit["configurations_meeting_sla"] == 4
    assert fit["suitability_score"] == pytest.approx(0.8) and fit["priority"] == 1 and fit["recommended"]


def test_daily_stats_per_model_and_day():
    rows = [_point(1, 1, 1, 1, 0.8, 1, ttft_p90=100, tokens_per_s=24, day=0),
            _point(2, 1, 2, 1, 3.67, 1, ttft_p90=300, tokens_per_s=350, day=0),
            _point(3, 1, 1, 1, 0.8, 1, ttft_p90=120, tokens_per_s=30, day=1)]
    daily = daily_stats(with_derived(pd.DataFrame(rows))).set_index("stats_date")
    first = daily.loc[T0.date()]
    assert first["results"] == 2 and first["configurations"] == 2 and first["median_ttft_ms_p90"] == 200
    assert first["max_output_tokens_per_s"] == 350
    assert first["min_usd_per_million_output_tokens"] == pytest.approx(3.67 / (350 * 3600) * 1e6)
