"""Regression flags over the ingested sample warehouse: the planted regression and outlier, and incrementality."""

from __future__ import annotations

import json

import duckdb
import pytest

from benchmark_pipeline.service import BenchmarkService, ingest_paths
from benchmark_pipeline.lib.warehouse.connection import open_writer
from benchmark_pipeline.lib.warehouse.regressions import acknowledge, list_flags, open_regressions, refresh_flags
from benchmark_pipeline_tests.lib.changepoint import regression_sample as rs


@pytest.fixture(scope="module")
def detected_source(tmp_path_factory):
    """Ingested and analysed once; each test gets a copy (detection over 348 series takes ~1 s)."""
    source = rs.build(tmp_path_factory.mktemp("regression_sample"))
    with open_writer(source[1]) as conn:
        return source, refresh_flags(conn)


@pytest.fixture
def detected(detected_source, tmp_path):
    source, first = detected_source
    return rs.copy(source, tmp_path), first


def _flags(db, **filters):
    with open_writer(db) as conn:
        return list_flags(conn, **filters)


def test_sample_yields_exactly_the_planted_regression_open(detected):
    (_, db), first = detected
    assert first.series_analysed == first.series_total > 300
    flags = _flags(db)
    performance = flags[flags["fact_table"] == "performance_results"]  # the sample's LLM runs: the next test
    regressions = performance[performance["kind"] == "regression"]
    assert set(zip(regressions["model_name"], regressions["device_name"])) == {rs.REGRESSED}
    assert set(regressions["metric"]) == rs.UP | rs.DOWN
    # 6 metrics x batch sizes 1 and 8 x precisions fp16 and fp32
    assert sorted(regressions["batch_size"].value_counts().items()) == [(1, 12), (8, 12)]
    assert (regressions["status"] == "open").all()
    assert (regressions["change_index"] == 14).all()  # day 14 of 0..20
    assert regressions["run_time"].dt.strftime("%Y-%m-%d").eq("2025-11-15").all()
    up = regressions[regressions["metric"].isin(rs.UP)]
    down = regressions[regressions["metric"].isin(rs.DOWN)]
    assert (up["direction"] == "up").all() and up["pct_change"].between(20, 30).all()
    assert (down["direction"] == "down").all() and down["pct_change"].between(-25, -15).all()
    assert flags["flag_id"].is_unique and flags["flag_id"].str.fullmatch("[0-9a-f]{16}").all()


def test_sample_llm_runs_yield_their_planted_ttft_regression(detected):
    """lib/llm/synthetic.py plants one regression in the sample's LLM runs: a newer vLLM on one configuration
    makes every TTFT statistic ``factor`` times slower from day ``from_day`` on; the decode is unchanged."""
    from benchmark_pipeline.lib.llm import synthetic

    (_, db), _ = detected
    flags = _flags(db)
    llm = flags[flags["fact_table"] == "llm_serving_results"]
    regressions = llm[llm["kind"] == "regression"]
    planted = synthetic.CONFIGS[synthetic.REGRESSION["config"]]
    assert set(zip(regressions["device_name"], regressions["gpu_count"])) == {(planted.gpu.name, planted.count)}
    assert set(regressions["metric"]) == {"ttft_ms_p50", "ttft_ms_p90", "ttft_ms_p99"}
    assert (regressions["metric_direction"] == "lower_is_better").all() and (regressions["direction"] == "up").all()
    expected = (float(synthetic.REGRESSION["factor"]) - 1.0) * 100.0
    assert regressions["pct_change"].between(expected - 5, expected + 5).all()
    assert (regressions["status"] == "open").all() and regressions["series_points"].eq(synthetic.LLM_DAYS).all()
    with open_writer(db) as conn:
        frameworks = conn.execute(
            "SELECT DISTINCT f.name || '==' || f.version FROM llm_serving_results r JOIN inference_frameworks f "
            "USING (framework_id) WHERE r.result_id IN (SELECT unnest($ids::BIGINT[]))",
            {"ids": regressions["result_id"].tolist()}).fetchall()
    assert frameworks == [(synthetic.REGRESSION["framework"],)]  # the first run on the newer vLLM, one series


def test_the_planted_spike_is_an_outlier_not_a_change_point(detected):
    (_, db), _ = detected
    t5_cpu = _flags(db, model="t5-small", hardware="cpu")
    assert set(t5_cpu["kind"]) == {"outlier"}
    spikes = t5_cpu[t5_cpu["run_time"].dt.strftime("%Y-%m-%d") == "2025-11-10"]  # day 9
    assert set(spikes["metric"]) == {"average_latency_ms", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms",
                                     "throughput_items_per_second"}
    assert set(spikes["batch_size"]) == {1, 8} and (spikes["change_index"] == 9).all()
    assert spikes.loc[spikes["metric"] == "average_latency_ms", "pct_change"].gt(150).all()


def test_short_noise_series_do_not_drown_in_outliers(detected):
    (_, db), _ = detected
    flags = _flags(db, kind="outlier")
    per_series = flags.groupby("series_id").size()
    assert per_series.max() <= 2  # 21 runs: at most 1 in 10 tested (not GESD's 10 of 21)


def test_rerun_reanalyses_nothing_and_keeps_flags(detected):
    (_, db), first = detected
    before = _flags(db).sort_values("flag_id").reset_index(drop=True)
    with open_writer(db) as conn:
        again = refresh_flags(conn)
    assert (again.series_analysed, again.series_removed, again.flags_total) == (0, 0, first.flags_total)
    after = _flags(db).sort_values("flag_id").reset_index(drop=True)
    assert after["flag_id"].tolist() == before["flag_id"].tolist()
    assert after["detected_at"].tolist() == before["detected_at"].tolist()


def _one_record_file(sample_dir, name, latency, day="2025-11-22T02:10:00Z"):
    record = {"model_name": "t5-small", "hardware_type": "cpu", "device_name": "Intel Xeon Platinum 8380",
              "memory_gb": 256.0, "compute_units": 40, "batch_size": 1, "precision": "fp32", "sequence_length": 128,
              "test_case": "inference", "average_latency_ms": latency, "latency_p50_ms": latency * 0.98,
              "latency_p90_ms": latency * 1.08, "latency_p99_ms": latency * 1.21,
              "throughput_items_per_second": 1000.0 / latency, "memory_peak_mb": 637.6, "timestamp": day}
    path = sample_dir / "performance" / "extra" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([record]), encoding="utf-8")
    return path


def test_one_new_file_reanalyses_only_the_series_it_touches(detected):
    (sample_dir, db), first = detected
    path = _one_record_file(sample_dir, "t5_cpu_day21.json", 55.2)
    ingest_paths([str(path)], db)
    with open_writer(db) as conn:
        step = refresh_flags(conn)
    # t5-small / cpu / batch 1: four latencies, throughput, memory (no power on the CPU)
    assert step.series_analysed == 6 and step.series_total == first.series_total
    # the same file again with other numbers supersedes its rows: the same six series, nothing else
    _one_record_file(sample_dir, "t5_cpu_day21.json", 56.0)
    ingest_paths([str(path)], db)
    with open_writer(db) as conn:
        assert refresh_flags(conn).series_analysed == 6
        assert refresh_flags(conn).series_analysed == 0


def test_removed_points_reanalyse_their_series_and_drop_their_flags(detected):
    (_, db), first = detected
    with open_writer(db) as conn:
        conn.execute("DELETE FROM performance_results WHERE model_id IN (SELECT model_id FROM models "
                     "WHERE model_name = 't5-small') AND hardware_id IN (SELECT hardware_id FROM hardware_platforms "
                     "WHERE hardware_type = 'cpu') AND batch_size = 8")
        step = refresh_flags(conn)
        left = list_flags(conn, model="t5-small", hardware="cpu")
    assert (step.series_analysed, step.series_removed) == (0, 6)
    assert set(left["batch_size"]) == {1}
    assert step.series_total == first.series_total - 6


def test_ack_closes_a_regression_and_survives_redetection(detected):
    (_, db), _ = detected
    with open_writer(db) as conn:
        opened = open_regressions(conn)
        target = opened.iloc[0]
        row = acknowledge(conn, target["flag_id"][:10], "known: new cuDNN", "tester")
        assert row["flag_id"] == target["flag_id"]
        conn.execute("DELETE FROM regression_series_state")  # force a full re-detection
        assert refresh_flags(conn).series_analysed > 300
        flags = list_flags(conn)
    acked = flags[flags["flag_id"] == target["flag_id"]].iloc[0]
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "tester"
    assert (flags["status"] == "open").sum() == len(opened) - 1


def test_an_ack_survives_its_run_being_retracted_and_ingested_again(detected):
    """A file retracted by mistake and ingested again holds the same runs: a regression acknowledged on one of
    them stays acknowledged, though the warehouse gives the runs new surrogate ids."""
    (_, db), _ = detected
    with open_writer(db) as conn:
        target = open_regressions(conn).iloc[0]
        acknowledge(conn, target["flag_id"], "known: new cuDNN", "tester")
        (path,) = conn.execute("SELECT source_path FROM test_runs WHERE run_id = ?", [int(target["run_id"])]).fetchone()
    BenchmarkService(db).retract([path], reason="by mistake")
    with open_writer(db) as conn:
        refresh_flags(conn)
        assert target["flag_id"] not in set(list_flags(conn)["flag_id"])  # its points are gone
    ingest_paths([path], db)
    with open_writer(db) as conn:
        refresh_flags(conn)
        flags = list_flags(conn)
    (back,) = [row for _, row in flags[flags["flag_id"] == target["flag_id"]].iterrows()]
    assert back["run_id"] != target["run_id"]  # a new surrogate id, the same run
    assert (back["status"], back["acknowledged_by"]) == ("acknowledged", "tester")


def test_mute_closes_later_flags_of_the_series_too(detected):
    (_, db), _ = detected
    with open_writer(db) as conn:
        target = open_regressions(conn).iloc[0]
        acknowledge(conn, target["flag_id"], "noisy box", "tester", mute=True)
        conn.execute("UPDATE regression_flags SET flag_id = 'ffffffffffffffff' WHERE flag_id = ?", [target["flag_id"]])
        flags = list_flags(conn)
    assert flags.loc[flags["flag_id"] == "ffffffffffffffff", "status"].item() == "muted"


def test_simulated_results_are_left_out_unless_asked(detected):
    (_, db), first = detected
    with open_writer(db) as conn:
        conn.execute("UPDATE performance_results SET is_simulated = true, simulation_reason = 'test' "
                     "WHERE hardware_id IN (SELECT hardware_id FROM hardware_platforms WHERE hardware_type = 'rocm')")
        without = refresh_flags(conn)
        flagged_rocm = list_flags(conn, hardware="rocm")
        with_sim = refresh_flags(conn, include_simulated=True)
    assert without.series_total < first.series_total and flagged_rocm.empty
    assert with_sim.series_total == first.series_total and with_sim.series_analysed == first.series_total


def test_readers_see_flags_written_by_the_writer(detected):
    (_, db), first = detected
    conn = duckdb.connect(str(db), read_only=True)
    try:
        assert conn.execute("SELECT count(*) FROM regression_flags").fetchone()[0] == first.flags_total
    finally:
        conn.close()


def test_mute_through_a_non_latest_flag_closes_it_for_the_report_and_the_gate(detected):
    """Issue 13: one rule for "open"; a mute given through an older flag of the series counts everywhere."""
    from benchmark_pipeline.lib.analytics.queries import regression_flags as report_flags

    (_, db), _ = detected
    with open_writer(db) as conn:
        target = open_regressions(conn).iloc[0]
        other = conn.execute(
            "SELECT flag_id FROM regression_flags WHERE series_id = ? AND flag_id <> ? LIMIT 1",
            [target["series_id"], target["flag_id"]]).fetchone()
        if other is None:  # give the series a second, older flag to mute through
            conn.execute("INSERT INTO regression_flags SELECT * REPLACE ('0000' || left(flag_id, 12) AS flag_id, "
                         "'outlier' AS kind, false AS is_latest_change) FROM regression_flags WHERE flag_id = ?",
                         [target["flag_id"]])
            other = ("0000" + target["flag_id"][:12],)
        acknowledge(conn, other[0], "noisy host", "tester", mute=True)
        gate = set(open_regressions(conn)["flag_id"])
        report = report_flags(conn)
    assert target["flag_id"] not in gate
    assert set(report.loc[report["open"], "flag_id"]) == gate


def test_thresholds_set_list_remove_and_redetect(detected):
    from benchmark_pipeline.lib.warehouse.regressions import (
        ThresholdError, list_thresholds, remove_threshold, set_threshold,
    )

    (_, db), _ = detected
    with open_writer(db) as conn:
        before = open_regressions(conn)
        set_threshold(conn, "relative", 0.4, metric="latency_p50_ms", by="tester", note="tolerant")
        sid = before.loc[before["metric"] == "latency_p90_ms", "series_id"].iloc[0]
        set_threshold(conn, "absolute", 1e6, series_id=sid, by="tester")
        listed = list_thresholds(conn)
        assert list(listed["scope"]) == ["metric:latency_p50_ms", sid]
        report = refresh_flags(conn)
        assert 0 < report.series_analysed < report.series_total  # only the series the thresholds cover
        after = open_regressions(conn)
        assert "latency_p50_ms" not in set(after["metric"]) and sid not in set(after["series_id"])
        assert len(after) == len(before) - 4 - 1
        assert remove_threshold(conn, metric="latency_p50_ms") and not remove_threshold(conn, metric="latency_p50_ms")
        refresh_flags(conn)
        assert len(open_regressions(conn)) == len(before) - 1
        with pytest.raises(ThresholdError):
            set_threshold(conn, "relative", 0.1, metric="no_such_metric")
        with pytest.raises(ThresholdError):
            set_threshold(conn, "sideways", 0.1, metric="latency_p50_ms")


def test_confirmed_only_leaves_out_suspected(detected):
    (_, db), _ = detected
    with open_writer(db) as conn:
        flag = open_regressions(conn).iloc[0]["flag_id"]
        conn.execute("UPDATE regression_flags SET confirmation = 'suspected' WHERE flag_id = ?", [flag])
        assert flag in set(open_regressions(conn)["flag_id"])
        assert flag not in set(open_regressions(conn, confirmed_only=True)["flag_id"])
