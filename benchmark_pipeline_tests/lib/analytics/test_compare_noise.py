"""``compare --run A --run B`` judges each change against the noise of its own series: within it is "same"."""

from __future__ import annotations

import pytest

from benchmark_pipeline.lib.analytics.compare import compare_runs
from benchmark_pipeline.lib.sample_data import write_sample
from benchmark_pipeline.service import BenchmarkService


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare-noise")
    write_sample(root / "sample")  # nightly runs 1..21; bert-base-uncased on the A100 slows down from 2025-11-15
    service = BenchmarkService(root / "w.duckdb")
    service.ingest_paths([str(root / "sample")])
    return service


def verdicts(service, a: str, b: str, metric: str | None = None):
    with service.reader() as conn:
        table, _, _ = compare_runs(conn, a, b, metric)
    return [dict(zip(table.columns, row)) for row in table.rows]


def test_two_quiet_nights_are_mostly_the_same(service):
    rows = verdicts(service, "12", "13")
    same = sum(r["verdict"] == "same" for r in rows)
    assert same / len(rows) > 0.95  # before the noise band every 0.9 % move was "better" or "worse"
    assert all(r["noise_band"] > 0 for r in rows if r["value_a"] != r["value_b"])


def test_the_planted_slowdown_is_worse_beyond_its_band(service):
    rows = verdicts(service, "13", "16", "latency")
    slowed = [r for r in rows if r["model_name"] == "bert-base-uncased" and "A100" in r["hardware"]]
    assert slowed and all(r["verdict"] == "worse" for r in slowed)
    assert all(abs(r["value_b"] - r["value_a"]) > r["noise_band"] for r in slowed)


def test_a_metric_threshold_widens_the_band(service):
    with service.writer() as conn:
        from benchmark_pipeline.lib.warehouse.regressions import set_threshold

        set_threshold(conn, "relative", 0.5, metric="latency_p50_ms")
    rows = verdicts(service, "13", "16", "latency")
    assert all(r["verdict"] == "same" for r in rows)  # nothing moved by half
