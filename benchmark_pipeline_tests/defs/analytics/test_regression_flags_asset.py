"""The regression_flags asset and its non-blocking no_open_regressions check, materialized in process."""

import dagster as dg
import pytest

from benchmark_pipeline.defs.analytics.regressions import no_open_regressions, regression_flags
from benchmark_pipeline.defs.resources import WarehouseResource
from benchmark_pipeline.lib.warehouse.connection import open_writer
from benchmark_pipeline.lib.warehouse.regressions import acknowledge, open_regressions
from benchmark_pipeline_tests.lib.changepoint import regression_sample as rs


def _materialize(db):
    return dg.materialize([regression_flags, no_open_regressions],
                          resources={"warehouse": WarehouseResource(db_path=str(db))})


def _metadata(result):
    (event,) = result.get_asset_materialization_events()
    return event.materialization.metadata


def _check(result):
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


@pytest.mark.slow
def test_asset_writes_flags_incrementally_and_the_check_warns_until_acknowledged(tmp_path):
    _, db = rs.build(tmp_path)
    first = _materialize(db)
    assert first.success
    meta = _metadata(first)
    assert meta["series_reanalysed"].value == meta["series_total"].value > 300
    with open_writer(db) as conn:
        opened = open_regressions(conn)
    # The performance results' planted regression, and the sample's LLM runs' own (see
    # test_changepoint_warehouse_flags.test_sample_llm_runs_yield_their_planted_ttft_regression).
    assert (opened["fact_table"] == "performance_results").sum() == 24
    assert meta["open_regressions"].value == len(opened) and meta["dagster/row_count"].value > len(opened)
    assert meta["preview"].value.startswith("| flag")
    check = _check(first)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert f"{len(opened)} open regression(s)" in check.metadata["summary"].value
    assert opened["device_name"].iloc[0] in check.metadata["summary"].value

    second = _materialize(db)
    assert second.success and _metadata(second)["series_reanalysed"].value == 0

    with open_writer(db) as conn:
        for flag in open_regressions(conn)["flag_id"]:
            acknowledge(conn, flag, "expected: new kernel", "tester")
    third = _materialize(db)
    assert third.success and _check(third).passed
    assert _check(third).metadata["summary"].value == "No open regressions."
