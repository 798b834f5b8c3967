"""The analytics SQL, recommendations, compare views and the locked-down query connection on an ingested warehouse."""

import shutil
from datetime import date

import duckdb
import pandas as pd
import pytest

from benchmark_pipeline.lib.analytics import queries as q
from benchmark_pipeline.lib.analytics.compare import CompareError, compare_hardware, compare_model, compare_runs
from benchmark_pipeline.lib.analytics.costs import cost_per_hour
from benchmark_pipeline.lib.analytics.recommend import hardware_recommendations
from benchmark_pipeline.lib.analytics.safe_query import QueryFailed, QueryRefused, connect_read_only, run_query
from benchmark_pipeline.lib.analytics.synthetic import commit_for_day
from benchmark_pipeline.service.samples import build_sample_warehouse
from benchmark_pipeline.lib.normalize import KNOWN_HARDWARE_TYPES

A100 = "cuda: NVIDIA A100-SXM4-80GB"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    return build_sample_warehouse(tmp_path_factory.mktemp("analytics"))


@pytest.fixture
def conn(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as c:
        yield c


def test_compatibility_matrix_covers_every_cell(conn):
    matrix = q.compatibility_matrix(conn)
    subjects = matrix[["level", "subject"]].drop_duplicates()
    assert len(matrix) == len(subjects) * len(KNOWN_HARDWARE_TYPES)
    cell = matrix.set_index(["level", "subject", "hardware_type"])
    assert cell.loc[("model", "vit-base-patch16-224", "openvino"), "status"] == "untested"
    t5_ov = cell.loc[("model", "t5-small", "openvino")]
    assert (t5_ov["status"], t5_ov["score"], t5_ov["tests"]) == ("partial", 0.5, 2)
    assert t5_ov["error_summary"] == "UnsupportedOp: op not supported (1)"
    assert cell.loc[("model", "bert-base-uncased", "cuda"), "status"] == "compatible"
    # a family-only result makes a family row; families also count their models' tests
    assert cell.loc[("family", "llama", "mps"), "status"] == "incompatible"
    assert cell.loc[("family", "t5", "openvino"), "tests"] == 2
    only = q.compatibility_matrix(conn, q.Filters(model="t5-small", hardware="openvino"))
    assert set(zip(only["level"], only["subject"])) == {("model", "t5-small"), ("family", "t5")}


def test_hardware_comparison_speedups_and_simulated_rows(conn):
    comparison = q.hardware_comparison(conn)
    bert = comparison[(comparison["model_name"] == "bert-base-uncased") & (comparison["batch_size"] == 1)]
    by_hw = bert.set_index("hardware")
    assert by_hw.loc["cpu: Intel Xeon 8375C", "speedup_vs_cpu"] == pytest.approx(1.0)
    assert 8 < by_hw.loc[A100, "speedup_vs_cpu"] < 10
    assert by_hw.loc[A100, "results"] == 12  # the 12 simulated rows are not counted
    assert by_hw.loc[A100, "median_throughput_items_per_second"] < 1000
    with_sim = q.hardware_comparison(conn, q.Filters(include_simulated=True)).set_index(
        ["model_name", "batch_size", "hardware"])
    assert with_sim.loc[("bert-base-uncased", 1, A100), "results"] == 24
    # the CPU baseline survives a hardware filter
    cuda = q.hardware_comparison(conn, q.Filters(hardware="gpu"))
    assert set(cuda["hardware_type"]) == {"cuda"} and cuda["speedup_vs_cpu"].notna().all()


def test_model_comparison_and_daily_stats(conn):
    models = q.model_comparison(conn, q.Filters(hardware="NVIDIA T4"))
    assert set(models["hardware"]) == {"cuda: NVIDIA T4"}
    assert models.groupby(["batch_size"])["relative_throughput"].max().eq(1.0).all()
    daily = q.daily_model_stats(conn)
    assert len(daily) == 3 * 12
    bert_day = daily[(daily["model_name"] == "bert-base-uncased")].iloc[0]
    assert bert_day["benchmarks"] == 8 and bert_day["p95_latency_ms"] > 0
    since = q.daily_model_stats(conn, q.Filters(since=date(2025, 3, 10)))
    assert since["day"].min() == pd.Timestamp("2025-03-10")


def test_recommendations_rank_every_group(conn):
    recs = hardware_recommendations(q.hardware_comparison(conn))
    for _key, group in recs.groupby(["model_name", "batch_size", "precision"]):
        assert sorted(group["topsis_rank"].tolist()) == list(range(1, len(group) + 1))
        assert group["pareto_optimal"].any()
    # CPU has no price, so cost is dropped and the weights renormalised
    assert "cost_per_hour_usd" not in recs["criteria_used"].iloc[0]
    assert recs.iloc[0]["hardware"] == A100


def test_recommendations_use_cost_when_every_candidate_has_one():
    frame = pd.DataFrame({
        "model_name": ["m", "m"], "batch_size": [1, 1], "precision": ["fp16", "fp16"],
        "hardware_type": ["cuda", "cuda"], "device_name": ["NVIDIA T4", "NVIDIA H100"],
        "hardware": ["cuda: NVIDIA T4", "cuda: NVIDIA H100"],
        "median_latency_p99_ms": [10.0, 9.0], "median_throughput_items_per_second": [100.0, 110.0],
        "median_memory_peak_mb": [1000.0, 1000.0], "median_power_watts": [70.0, 700.0],
    })
    recs = hardware_recommendations(frame)
    assert "cost_per_hour_usd" in recs["criteria_used"].iloc[0]
    assert recs["pareto_optimal"].all()
    assert recs.iloc[0]["hardware"] == "cuda: NVIDIA T4"  # barely slower, far cheaper and cooler
    single = hardware_recommendations(frame.iloc[:1])
    assert single["topsis_score"].tolist() == [1.0] and single["topsis_rank"].tolist() == [1]


def test_cost_table_matches_device_patterns():
    assert cost_per_hour("cuda", "NVIDIA A100-SXM4-80GB") == 5.12
    assert cost_per_hour("cuda", "NVIDIA A100-SXM4-40GB") == 4.10
    assert cost_per_hour("cpu", "Intel Xeon 8375C") is None
    assert cost_per_hour("cuda", None) is None


def test_compare_views(conn):
    wide = compare_model(conn, "BERT-BASE-UNCASED", "throughput")
    assert wide.columns[:2] == ["batch_size", "precision"] and A100 in wide.columns
    assert wide.column("best") == [A100, A100] and wide.column("batch_size") == [1, 8]
    frame = wide.to_frame().set_index("batch_size")
    assert frame.loc[1, A100] > frame.loc[1, "cuda: NVIDIA T4"] > frame.loc[1, "cpu: Intel Xeon 8375C"]
    latency = compare_model(conn, "bert-base-uncased", "latency")
    assert set(latency.column("best")) == {A100}
    models = compare_hardware(conn, "cuda", "efficiency")
    assert {"bert-base-uncased", "t5-small", "vit-base-patch16-224"} <= set(models.columns)
    assert set(models.column("hardware")) == {A100, "cuda: NVIDIA T4"}
    with pytest.raises(CompareError, match="did you mean bert-base-uncased"):
        compare_model(conn, "bert-base-uncase", "throughput")
    with pytest.raises(CompareError, match="known: cpu"):
        compare_hardware(conn, "tpu", "throughput")


def test_compare_runs_by_commit_shows_the_step(conn):
    table, side_a, side_b = compare_runs(conn, commit_for_day(7)[:10], commit_for_day(8), "throughput")
    frame = table.to_frame()
    assert side_a.label.startswith("commit ") and len(frame) == 22
    step = frame[(frame["model_name"] == "bert-base-uncased") & (frame["hardware"] == A100)]
    assert (step["change_pct"] < -25).all() and (step["verdict"] == "worse").all()
    all_metrics, _a, _b = compare_runs(conn, "8", "9")
    assert set(all_metrics.column("metric")) == {"latency_p50_ms", "latency_p99_ms", "throughput_items_per_second",
                                          "memory_peak_mb", "power_watts", "items_per_joule"}
    with pytest.raises(CompareError):
        compare_runs(conn, "99999", "8")


def test_trend_marks_follow_regression_flags(warehouse, tmp_path, conn):
    points = q.trend_points(conn, "throughput_items_per_second", q.Filters(model="bert-base-uncased"))
    assert q.regression_flags(conn).empty  # migration 4 made the table; nothing detected yet
    assert q.mark_flags(points, None, "throughput_items_per_second").empty
    copy = tmp_path / "flags.duckdb"
    shutil.copy(warehouse, copy)
    step = points[(points["hardware"] == A100) & (points["batch_size"] == 1)].iloc[8]
    with duckdb.connect(str(copy)) as rw:
        rw.execute("""INSERT INTO regression_flags (flag_id, series_id, model_name, hardware_id,
                hardware_fingerprint, hardware_type, device_name, batch_size, sequence_length, precision, test_case,
                metric, kind, direction, change_index, run_id, result_id, run_time, mean_before, stdev_before,
                mean_after, stdev_after, pct_change, pvalue, is_latest_change, recovered, series_points, mode,
                detected_at, confirmation, noise, noise_floor)
            SELECT 'f1', 's1', 'bert-base-uncased', ?, 'fp', 'cuda', 'NVIDIA A100-SXM4-80GB', 1, NULL, 'fp32',
                   'inference', 'throughput_items_per_second', 'regression', 'down', 8, ?, ?, ?,
                   360, 5, 250, 5, -30.0, 0.0001, true, false, 12, 'robust', now(), 'confirmed', 5.0, 25.0""",
                   [int(step["hardware_id"]), int(step["run_id"]), int(step["result_id"]), step["run_time"]])
    with duckdb.connect(str(copy), read_only=True) as ro:
        flags = q.regression_flags(ro)
        assert flags.loc[0, "hardware"] == A100 and bool(flags.loc[0, "open"])
        marks = q.mark_flags(points, flags, "throughput_items_per_second")
        assert len(marks) == 1 and marks.iloc[0]["run_id"] == step["run_id"] and marks.iloc[0]["kind"] == "regression"
        assert q.mark_flags(points, flags, "memory_peak_mb").empty
    # flags keyed by run and series columns only (no result id) still land on the same point
    by_series = flags.drop(columns=["result_id"])
    assert len(q.mark_flags(points, by_series, "throughput_items_per_second")) == 1
    with duckdb.connect(str(copy)) as rw:
        rw.execute("DROP TABLE regression_flags")
        assert q.regression_flags(rw) is None


@pytest.mark.parametrize("sql", [
    "INSERT INTO models (model_name) VALUES ('x')",
    "COPY models TO '/tmp/benchmark_db_leak.csv'",
    "ATTACH '/tmp/other.duckdb'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET memory_limit = '64GB'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT 1; SELECT 2",
    "CREATE TABLE t AS SELECT 1",
])
def test_query_refuses_writes_and_file_access(warehouse, sql):
    with connect_read_only(warehouse) as c:
        with pytest.raises(QueryRefused, match="^refused: "):
            run_query(c, sql)


def test_query_limits(warehouse):
    with connect_read_only(warehouse, memory_limit="256MB") as c:
        table, truncated = run_query(c, "SELECT model_name FROM models ORDER BY 1", max_rows=2)
        assert table.column("model_name") == ["bert-base-uncased", "t5-small"] and truncated
        with pytest.raises(QueryFailed, match="timeout"):
            run_query(c, "SELECT sum(hash(i)) FROM range(100000000000) t(i)", timeout_s=0.3)
        assert c.execute("SELECT current_setting('memory_limit')").fetchone()[0].startswith("244")
