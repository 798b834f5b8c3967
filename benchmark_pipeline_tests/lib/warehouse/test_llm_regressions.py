"""Regression flags over LLM-serving results: the same detector, state, flags, acks and thresholds as
performance results, with each metric's direction from the LLM vocabulary.

The warehouse is built from vLLM ``bench serve`` documents written here, one per nightly run, each with
a ``<file>.meta.json`` sidecar naming what vLLM's files never say (GPU, count, framework, price):

- ``upgrade``: 8 GPUs at concurrency 4; from run 8 the framework moves from vLLM 0.6.3 to 0.6.4 and TTFT
  rises 40 % while throughput falls 25 %: regressions, inside the one series per metric.
- ``faster``: the same GPUs at concurrency 16; from run 8 TTFT falls 40 %: an improvement.
- ``flat``: 4 GPUs at concurrency 4, runs within ±5 % of one level and a price cut halfway: no flag, one
  series.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from benchmark_pipeline.cli.main import main
from benchmark_pipeline.lib.changepoint.series import (
    LLM,
    LLM_REGRESSION_COLUMNS,
    METRICS,
    PERFORMANCE,
    build_flags,
)
from benchmark_pipeline.lib.llm.metrics import LLM_METRICS, metric_columns
from benchmark_pipeline.lib.vocabulary import METRICS as PERFORMANCE_VOCABULARY
from benchmark_pipeline.lib.warehouse.connection import open_writer
from benchmark_pipeline.lib.warehouse.regressions import (
    acknowledge,
    current_fingerprints,
    list_flags,
    open_regressions,
    refresh_flags,
    set_threshold,
)
from benchmark_pipeline.lib.warehouse.schema import migrate
from benchmark_pipeline.service import ingest_paths
from benchmark_pipeline_tests.lib.llm import llm_samples as samples

NOW = datetime(2026, 4, 1, tzinfo=timezone.utc)
FIRST_DAY = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
DAYS = 14
CHANGE_DAY = 8
GPU = "NVIDIA H100 80GB HBM3"
# (gpu count, concurrency) of each configuration.
UPGRADE, FASTER, FLAT = (8, 4), (8, 16), (4, 4)
# What a vLLM serve file reports that detection analyses (it has no per-user speed).
VLLM_METRICS = {c for c in LLM_REGRESSION_COLUMNS if c != "output_tokens_per_s_per_user_mean"}
TTFT = {"ttft_ms_p50", "ttft_ms_p90", "ttft_ms_p99"}
THROUGHPUT = {"output_tokens_per_s", "total_tokens_per_s", "requests_per_s"}


def _vllm_run(day: int, rng: np.random.Generator, *, concurrency: int, ttft: float, tokens_per_s: float,
              noise: float) -> dict:
    """One ``vllm bench serve`` document: TTFT stats scale with ``ttft`` (its p90), throughputs with
    ``tokens_per_s`` (output tokens/s); TPOT, ITL and end-to-end latency stay at one level.

    The noise is bounded (uniform within ±``noise``): no run strays further, so a flag on a flat series
    would be the detector's mistake, never a freak draw that a seed happened to produce.
    """
    def jitter(level: float) -> float:
        return float(level * (1.0 + noise * rng.uniform(-1.0, 1.0)))

    t, out = jitter(ttft), jitter(tokens_per_s)
    doc = samples.vllm_serve_current()
    doc.update({
        "date": (FIRST_DAY + timedelta(days=day)).strftime("%Y%m%d-%H%M%S"), "max_concurrency": concurrency,
        "num_prompts": 200, "completed": 200, "failed": 0, "duration": 25.6,
        "total_input_tokens": 200 * 1024, "total_output_tokens": 200 * 128,
        "output_throughput": out, "total_token_throughput": jitter(out * 9.0), "request_throughput": jitter(out / 128),
        "max_output_tokens_per_s": jitter(out * 1.2),
        "mean_ttft_ms": t * 0.9, "median_ttft_ms": t * 0.85, "p90_ttft_ms": t, "p99_ttft_ms": t * 1.3,
        "std_ttft_ms": t * 0.1,
    })
    for metric, level in (("tpot", 12.0), ("itl", 11.0), ("e2el", 1700.0)):
        base = jitter(level)
        doc.update({f"mean_{metric}_ms": base, f"median_{metric}_ms": base * 0.95, f"p90_{metric}_ms": base * 1.2,
                    f"p99_{metric}_ms": base * 1.4, f"std_{metric}_ms": base * 0.1})
    return doc


def _write_config(folder: Path, name: str, config: tuple[int, int], *, days: range = range(DAYS), seed: int,
                  ttft_after: float = 1.0, tokens_after: float = 1.0, upgrade: bool = False, noise: float = 0.01,
                  price_cut: bool = False) -> None:
    gpu_count, concurrency = config
    rng = np.random.default_rng(seed)
    for day in days:
        after = day >= CHANGE_DAY
        doc = _vllm_run(day, rng, concurrency=concurrency, ttft=100.0 * (ttft_after if after else 1.0),
                        tokens_per_s=1000.0 * (tokens_after if after else 1.0), noise=noise)
        path = folder / f"{name}-{day:02d}.json"
        path.write_text(json.dumps(doc))
        sidecar = {"gpu": GPU, "gpu_count": gpu_count, "framework": "vllm==0.6.4" if upgrade and after else "vllm==0.6.3",
                   "cost_per_hour": 12.29 * gpu_count * (0.8 if price_cut and day >= DAYS // 2 else 1.0)}
        Path(f"{path}.meta.json").write_text(json.dumps(sidecar))


def _write_llm(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _write_config(folder, "upgrade", UPGRADE, seed=1, ttft_after=1.4, tokens_after=0.75, upgrade=True)
    _write_config(folder, "faster", FASTER, seed=2, ttft_after=0.6, upgrade=True)
    _write_config(folder, "flat", FLAT, seed=3, noise=0.05, price_cut=True)
    return folder


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, Path]:
    """(LLM folder, warehouse): the three configurations ingested, never analysed."""
    root = tmp_path_factory.mktemp("llm_regressions")
    folder = _write_llm(root / "llm")
    db = root / "warehouse" / "benchmarks.duckdb"
    report = ingest_paths([str(folder)], db, workers=1)
    assert report.result.outcomes["status"].eq("ingested").sum() == 3 * DAYS
    return folder, db


@pytest.fixture
def db(base, tmp_path) -> Path:
    copy = tmp_path / "benchmarks.duckdb"
    shutil.copy(base[1], copy)
    return copy


def _detect(db: Path, **options):
    with open_writer(db) as conn:
        return refresh_flags(conn, now=NOW, **options)


def _flags(db: Path, **filters) -> pd.DataFrame:
    with open_writer(db) as conn:
        return list_flags(conn, **filters)


def _of(flags: pd.DataFrame, config: tuple[int, int]) -> pd.DataFrame:
    return flags[(flags["gpu_count"] == config[0]) & (flags["concurrency"] == config[1])]


# -- detection over the warehouse --------------------------------------------------------------------


def test_a_framework_upgrade_that_slows_ttft_and_throughput_is_flagged_inside_its_series(db):
    report = _detect(db)
    assert report.series_analysed == report.series_total == 3 * len(VLLM_METRICS)
    upgraded = _of(_flags(db), UPGRADE)
    assert set(upgraded["kind"]) == {"regression"} and set(upgraded["status"]) == {"open"}
    assert set(upgraded["metric"]) == TTFT | THROUGHPUT  # TPOT, ITL and end-to-end latency did not move
    assert (upgraded["change_index"] == CHANGE_DAY).all() and (upgraded["series_points"] == DAYS).all()
    assert upgraded["run_time"].dt.date.eq((FIRST_DAY + timedelta(days=CHANGE_DAY)).date()).all()

    ttft = upgraded[upgraded["metric"] == "ttft_ms_p90"].iloc[0]
    assert (ttft["direction"], ttft["metric_direction"]) == ("up", "lower_is_better")
    assert 35 < ttft["pct_change"] < 45 and ttft["confirmation"] == "confirmed"
    tokens = upgraded[upgraded["metric"] == "output_tokens_per_s"].iloc[0]
    assert (tokens["direction"], tokens["metric_direction"]) == ("down", "higher_is_better")
    assert -30 < tokens["pct_change"] < -20

    # What the flag says about its setup, and the first bad run is the first on the new framework version.
    assert set(upgraded["fact_table"]) == {"llm_serving_results"} and set(upgraded["framework"]) == {"vllm"}
    assert set(upgraded["tool"]) == {"vllm_bench_serve"} and set(upgraded["device_name"]) == {GPU}
    assert upgraded["test_case"].isna().all() and upgraded["request_rate_unbounded"].all()
    with open_writer(db) as conn:
        versions = conn.execute(
            "SELECT DISTINCT f.version FROM llm_serving_results r JOIN inference_frameworks f USING (framework_id) "
            "WHERE r.result_id IN (SELECT unnest($ids::BIGINT[]))", {"ids": upgraded["result_id"].tolist()}).fetchall()
    assert versions == [("0.6.4",)]


def test_ttft_falling_is_an_improvement_and_a_flat_noisy_series_gets_no_flag(db):
    _detect(db)
    flags = _flags(db)
    faster = _of(flags, FASTER)
    assert set(faster["metric"]) == TTFT and set(faster["kind"]) == {"improvement"}
    assert (faster["direction"] == "down").all() and faster["pct_change"].between(-45, -35).all()
    assert faster["status"].isna().all()  # an improvement is never open
    assert _of(flags, FLAT).empty
    with open_writer(db) as conn:
        opened = open_regressions(conn)
    assert set(zip(opened["gpu_count"], opened["concurrency"])) == {UPGRADE}


def test_each_gpu_count_and_concurrency_is_a_series_of_its_own_and_a_price_change_is_not(db):
    with open_writer(db) as conn:
        current = current_fingerprints(conn)
    llm = current[current["fact_table"] == "llm_serving_results"]
    per_config = llm.groupby(["gpu_count", "concurrency"])["metric"].apply(set).to_dict()
    assert per_config == {UPGRADE: VLLM_METRICS, FASTER: VLLM_METRICS, FLAT: VLLM_METRICS}
    assert llm["series_id"].is_unique and (llm["point_count"] == DAYS).all()  # neither price nor version split one


def test_detection_is_incremental_over_llm_series(db, base):
    first = _detect(db)
    before = _flags(db).sort_values("flag_id").reset_index(drop=True)
    again = _detect(db)
    assert (again.series_analysed, again.series_removed, again.flags_total) == (0, 0, first.flags_total)
    assert _flags(db).sort_values("flag_id")["flag_id"].tolist() == before["flag_id"].tolist()

    later = base[0].parent / "later"
    later.mkdir(exist_ok=True)
    _write_config(later, "flat", FLAT, days=range(DAYS, DAYS + 1), seed=4, noise=0.05)
    ingest_paths([str(later)], db, workers=1)
    step = _detect(db)
    assert step.series_analysed == len(VLLM_METRICS) and step.series_total == first.series_total


def test_an_ingest_scoped_to_performance_models_still_analyses_llm_series(db):
    """The drop path narrows detection to the models an ingest's performance facts touched: LLM series
    are looked at all the same, or a drop of LLM files alone would never be analysed."""
    report = _detect(db, models=frozenset())
    assert report.series_analysed == 3 * len(VLLM_METRICS)
    assert set(_flags(db, kind="regression")["metric"]) == TTFT | THROUGHPUT


def test_ack_and_mute_close_llm_regressions_and_survive_redetection(db):
    _detect(db)
    with open_writer(db) as conn:
        opened = open_regressions(conn).set_index("metric")
        acknowledge(conn, opened.loc["ttft_ms_p90", "flag_id"][:8], "vLLM 0.6.4 prefill scheduling", "tester")
        acknowledge(conn, opened.loc["output_tokens_per_s", "flag_id"], "known", "tester", mute=True)
        conn.execute("DELETE FROM regression_series_state")  # force a full re-detection
        assert refresh_flags(conn, now=NOW).series_analysed == 3 * len(VLLM_METRICS)
        status = list_flags(conn).set_index("flag_id")["status"]
        still_open = set(open_regressions(conn)["metric"])
    assert status[opened.loc["ttft_ms_p90", "flag_id"]] == "acknowledged"
    assert status[opened.loc["output_tokens_per_s", "flag_id"]] == "muted"
    assert still_open == (TTFT | THROUGHPUT) - {"ttft_ms_p90", "output_tokens_per_s"}


def test_a_threshold_on_an_llm_metric_applies_to_its_series(db):
    _detect(db)
    with open_writer(db) as conn:
        set_threshold(conn, "relative", 0.5, metric="ttft_ms_p90", by="tester")
    assert _detect(db).series_analysed == 3  # the ttft_ms_p90 series of each configuration
    assert set(_flags(db, kind="regression")["metric"]) == (TTFT | THROUGHPUT) - {"ttft_ms_p90"}


# -- performance flags are not touched ----------------------------------------------------------------


def _performance_file(folder: Path) -> Path:
    """Fourteen nightly runs of one CPU configuration whose latency steps up 30 % from run 9."""
    records = []
    for day in range(DAYS):
        latency = 50.0 * (1.3 if day >= 9 else 1.0) * (1 + 0.01 * np.sin(day * 1.7))
        records.append({
            "model_name": "t5-small", "hardware_type": "cpu", "device_name": "Intel Xeon Platinum 8380",
            "memory_gb": 256.0, "compute_units": 40, "batch_size": 1, "precision": "fp32", "sequence_length": 128,
            "test_case": "inference", "average_latency_ms": latency, "latency_p50_ms": latency * 0.98,
            "latency_p90_ms": latency * 1.08, "latency_p99_ms": latency * 1.21,
            "throughput_items_per_second": 1000.0 / latency, "memory_peak_mb": 637.6,
            "timestamp": (FIRST_DAY + timedelta(days=day)).isoformat().replace("+00:00", "Z"),
        })
    path = folder / "performance" / "cpu_runs.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records))
    return path


def _performance_flags(db: Path) -> list[tuple]:
    with open_writer(db) as conn:
        return conn.execute("SELECT * EXCLUDE (detected_at) FROM regression_flags "
                            "WHERE fact_table = 'performance_results' ORDER BY flag_id").fetchall()


def test_performance_flags_of_a_mixed_warehouse_are_those_without_llm_rows(tmp_path, base):
    only = tmp_path / "only" / "benchmarks.duckdb"
    ingest_paths([str(_performance_file(tmp_path / "files"))], only, workers=1)
    first = _detect(only)
    mixed = tmp_path / "mixed" / "benchmarks.duckdb"
    mixed.parent.mkdir()
    shutil.copy(only, mixed)
    ingest_paths([str(base[0])], mixed, workers=1)

    step = _detect(mixed)
    assert step.series_analysed == 3 * len(VLLM_METRICS)  # only the LLM series were new
    assert step.series_total == first.series_total + 3 * len(VLLM_METRICS)
    with_llm = _performance_flags(mixed)
    assert with_llm == _performance_flags(only) and len(with_llm) >= 5  # four latencies and throughput moved
    with open_writer(mixed) as conn:
        conn.execute("DELETE FROM regression_series_state")
        conn.execute("DELETE FROM regression_flags")
        refresh_flags(conn, now=NOW)  # detected from scratch beside the LLM series: still the same flags
    assert _performance_flags(mixed) == with_llm


def test_migration_10_keeps_performance_flags_their_ids_and_acks():
    conn = duckdb.connect()
    migrate(conn, target=9)
    conn.execute(
        "INSERT INTO regression_flags (flag_id, series_id, model_name, hardware_id, hardware_fingerprint, batch_size, "
        "test_case, metric, kind, direction, change_index, run_id, result_id, run_time, is_latest_change, recovered, "
        "series_points, mode, detected_at) VALUES ('f1', 's1', 'm', 1, 'cpu | x', 8, 'inference', "
        "'average_latency_ms', 'regression', 'up', 5, 7, 2, now(), true, false, 20, 'robust', now())")
    conn.execute("INSERT INTO regression_acks VALUES ('f1', 's1', 'mute', 'known', 'me', now())")
    before = conn.execute("SELECT * FROM regression_flags").fetchall()
    migrate(conn)
    columns = [r[0] for r in conn.execute("DESCRIBE regression_flags").fetchall()]
    after = conn.execute("SELECT * FROM regression_flags").fetchall()
    assert [row[:len(before[0])] for row in after] == before
    new = dict(zip(columns[len(before[0]):], after[0][len(before[0]):]))
    assert new.pop("fact_table") == "performance_results" and set(new.values()) == {None}
    assert list_flags(conn)["status"].tolist() == ["muted"]


# -- the rules: direction from the vocabulary, one key definition, the columns analysed ---------------


def _step_up(metric: str) -> pd.Series:
    """The one change build_flags finds in a series of ``metric`` that rises 40 % at run 16 of 24."""
    n = 24
    rng = np.random.default_rng(7)
    values = np.r_[np.full(16, 100.0), np.full(n - 16, 140.0)] * (1 + 0.005 * rng.uniform(-1, 1, n))
    points = pd.DataFrame({"series_id": "s", "metric": metric, "run_id": np.arange(n),
                           "run_key": [f"sha-{i}" for i in range(n)], "result_id": np.arange(n),
                           "run_time": [NOW + timedelta(days=i) for i in range(n)], "value": values})
    flags = build_flags(points, pd.DataFrame({"series_id": ["s"], "metric": [metric]}), "robust", NOW)
    (change,) = [row for _, row in flags[flags["kind"] != "outlier"].iterrows()]
    assert change["direction"] == "up"
    return change


@pytest.mark.parametrize("metric", METRICS)
def test_a_rise_is_judged_by_the_vocabulary_direction(metric):
    column = metric_columns()[metric][0] if metric in metric_columns() else metric
    info = LLM_METRICS.get(column) or PERFORMANCE_VOCABULARY[metric]
    assert _step_up(metric)["kind"] == ("improvement" if info.higher_is_better else "regression")


def test_the_vocabulary_decides_even_where_the_name_reads_otherwise(monkeypatch):
    """Every analysed name happens to read the way its entry says; an entry that disagreed would still win."""
    from benchmark_pipeline.lib.changepoint import series

    assert _step_up("ttft_ms_p90")["kind"] == "regression"
    flipped = dataclasses.replace(series.METRIC_INFO["ttft_ms_p90"], higher_is_better=True)
    monkeypatch.setitem(series.METRIC_INFO, "ttft_ms_p90", flipped)
    assert _step_up("ttft_ms_p90")["kind"] == "improvement"


def test_the_series_key_macros_take_the_columns_the_code_groups_by():
    """The key is written once, as a macro; the code passes it the columns it groups by, in its order."""
    conn = duckdb.connect()
    migrate(conn)
    for source in (PERFORMANCE, LLM):
        (parameters,) = conn.execute("SELECT parameters FROM duckdb_functions() WHERE function_name = ?",
                                     [source.key_macro]).fetchone()
        assert parameters == [*source.key, "metric"]
    assert "framework_version" not in LLM.key and "cost_per_hour_usd" not in LLM.key


def test_the_llm_columns_analysed_are_vocabulary_columns_with_their_own_names():
    analysed = set(LLM.metrics)
    assert analysed <= set(metric_columns())
    assert {"ttft_ms_p50", "ttft_ms_p90", "ttft_ms_p99", "tpot_ms_p50", "tpot_ms_p90", "itl_ms_p90", "e2el_ms_p90",
            "output_tokens_per_s", "total_tokens_per_s", "requests_per_s",
            "output_tokens_per_s_per_user_mean"} <= analysed
    assert not analysed & set(PERFORMANCE.metrics) and len(set(METRICS)) == len(METRICS)


# -- the command line ---------------------------------------------------------------------------------


def test_regressions_list_and_check_name_the_serving_setup(capsys, db):
    assert main(["regressions", "update", "--db-path", str(db)]) == 0
    capsys.readouterr()
    assert main(["regressions", "list", "--db-path", str(db), "--kind", "regression"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split()
    assert header[header.index("test_case") + 1:header.index("test_case") + 3] == ["serving", "metric"]
    ttft = next(line for line in lines if " ttft_ms_p90 " in line)
    assert f"8x {GPU}" in ttft and "vllm · concurrency 4 · rate unbounded" in ttft and "+4" in ttft
    assert len(lines) == 1 + len(TTFT | THROUGHPUT)

    assert main(["regressions", "list", "--db-path", str(db), "--format", "json", "--open"]) == 0
    records = json.loads(capsys.readouterr().out)
    by_metric = {r["metric"]: r for r in records}
    assert by_metric["ttft_ms_p90"]["metric_direction"] == "lower_is_better"
    assert by_metric["ttft_ms_p90"]["gpu_count"] == 8 and by_metric["ttft_ms_p90"]["batch_size"] is None

    assert main(["regressions", "check", "--db-path", str(db)]) == 1
    for record in records:
        assert main(["regressions", "ack", record["flag_id"][:12], "--db-path", str(db), "--note", "vLLM 0.6.4"]) == 0
    assert main(["regressions", "check", "--db-path", str(db)]) == 0
