"""Derived tables follow every write: recomputing only what a write touched gives the same rows as a full rebuild."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from benchmark_pipeline.lib.analytics.refresh import DERIVED_ORDER
from benchmark_pipeline.service import BenchmarkService
from benchmark_pipeline.service.samples import build_sample_warehouse
from benchmark_pipeline_tests.conftest import perf_record


def derived(service: BenchmarkService) -> dict[str, pd.DataFrame]:
    with service.reader() as conn:
        frames = {t: conn.execute(f"SELECT * FROM {t}").df() for t in DERIVED_ORDER}
    return {t: f.sort_values(list(f.columns)).reset_index(drop=True) for t, f in frames.items()}


@pytest.fixture
def service(tmp_path):
    return BenchmarkService(build_sample_warehouse(tmp_path, days=4))


def test_an_ingest_leaves_every_derived_table_current(service, drop, tmp_path):
    before = derived(service)
    assert all(len(f) for f in before.values())
    new_platform = perf_record(model_name="t5-small", device_name="NVIDIA H100 80GB HBM3", memory_gb=80,
                               average_latency_ms=3.0, throughput_items_per_second=2600.0)
    slower = perf_record(model_name="bert-base-uncased", hardware_type="cpu", device_name="Intel Xeon 8375C",
                         memory_gb=None, precision="fp32", average_latency_ms=900.0, throughput_items_per_second=9.0)
    report = service.ingest_paths([str(drop("performance", "extra.json", [new_platform, slower]))])
    assert report.refresh is not None and "hardware_comparison" in report.refresh.updated
    after = derived(service)
    # Only additions: the groups those two results fall in were recomputed, not every row of their models.
    assert report.refresh.scope.added_by == report.run_id
    of_models = after["hardware_comparison"]["model_name"].isin({"t5-small", "bert-base-uncased"}).sum()
    assert 0 < report.refresh.updated["hardware_comparison"] < of_models
    assert 0 < report.refresh.updated["daily_model_stats"] < after["daily_model_stats"]["model_name"].isin(
        {"t5-small", "bert-base-uncased"}).sum()
    assert not after["hardware_comparison"].equals(before["hardware_comparison"])
    assert (after["model_comparison"]["device_name"] == "NVIDIA H100 80GB HBM3").any()
    service.refresh()  # everything from scratch
    rebuilt = derived(service)
    for table in DERIVED_ORDER:
        pd.testing.assert_frame_equal(after[table], rebuilt[table], check_dtype=False, obj=table)


def test_a_superseded_file_takes_its_derived_rows_along(service, drop):
    path = drop("performance", "one.json", [perf_record(model_name="whisper-x", throughput_items_per_second=50.0)])
    service.ingest_paths([str(path)])
    assert (derived(service)["hardware_comparison"]["model_name"] == "whisper-x").any()
    path.write_text(json.dumps([perf_record(model_name="whisper-y", throughput_items_per_second=60.0)]))
    service.ingest_paths([str(path)])
    scoped = derived(service)
    assert not (scoped["hardware_comparison"]["model_name"] == "whisper-x").any()
    assert (scoped["daily_model_stats"]["model_name"] == "whisper-y").any()
    service.refresh()
    for table in DERIVED_ORDER:
        pd.testing.assert_frame_equal(scoped[table], derived(service)[table], check_dtype=False, obj=table)


def test_an_llm_only_ingest_brings_the_compatibility_matrix_along(tmp_path):
    """New models and GPUs of LLM results add matrix rows and columns; the matrix must not wait for a rebuild."""
    from benchmark_pipeline.lib.sample_data import write_sample
    from benchmark_pipeline.service import ingest_paths

    sample = tmp_path / "sample"
    write_sample(sample)
    at_once, in_two = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    ingest_paths([str(sample)], at_once)
    ingest_paths([str(sample / d) for d in ("performance", "compatibility", "integration")], in_two)
    ingest_paths([str(sample / "llm")], in_two)
    matrices = []
    for db in (at_once, in_two):
        with duckdb.connect(str(db), read_only=True) as conn:
            matrices.append(conn.execute("SELECT * EXCLUDE (last_tested) FROM compatibility_matrix "
                                         "ORDER BY ALL").fetchall())
            types = {r[0] for r in conn.execute("SELECT DISTINCT hardware_type FROM compatibility_matrix").fetchall()}
            assert "hosted" not in types  # a provider's API is no hardware to test a model on
    assert matrices[0] == matrices[1]
    assert any("llama-3.1" in str(row) for row in matrices[1])
