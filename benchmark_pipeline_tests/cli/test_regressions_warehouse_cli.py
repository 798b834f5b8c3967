"""benchmark-db regressions update / list / ack / check on the ingested sample warehouse."""

from __future__ import annotations

import json

import pytest

from benchmark_pipeline.cli.main import main
from benchmark_pipeline_tests.lib.changepoint import regression_sample as rs


@pytest.fixture(scope="module")
def sample_source(tmp_path_factory):
    return rs.build(tmp_path_factory.mktemp("regression_cli_sample"))


@pytest.fixture
def db(sample_source, tmp_path):
    return rs.copy(sample_source, tmp_path)[1]


def run(capsys, *argv):
    code = main(["regressions", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_is_a_ci_gate_that_opens_after_every_regression_is_acknowledged(capsys, db, monkeypatch):
    code, _, err = run(capsys, "check", "--db-path", db, "--fail-on", "regression")
    assert code == 2 and "never run" in err  # nothing to judge yet is not a pass

    assert run(capsys, "update", "--db-path", db)[0] == 0
    code, out, _ = run(capsys, "list", "--db-path", db, "--open", "--format", "json")
    opened = json.loads(out)
    # The performance results' planted regression; the sample's LLM runs have their own (see
    # test_changepoint_warehouse_flags.test_sample_llm_runs_yield_their_planted_ttft_regression).
    performance = [f for f in opened if f["fact_table"] == "performance_results"]
    assert code == 0 and len(performance) == 24
    assert {(f["model_name"], f["device_name"], f["kind"], f["status"]) for f in performance} == {
        (*rs.REGRESSED, "regression", "open")}
    pairs = len({(f["model_name"], f["hardware_fingerprint"]) for f in opened})
    confirmed = sum(f["confirmation"] == "confirmed" for f in opened)

    code, out, err = run(capsys, "check", "--db-path", db, "--fail-on", "regression")
    assert code == 1 and (f"{len(opened)} open regression(s) ({confirmed} confirmed, {len(opened) - confirmed} "
                          f"suspected) on {pairs} model x hardware pair(s)") in err
    assert out.count("bert-base-uncased") == 24

    monkeypatch.setenv("USER", "ci-bot")
    for flag in opened[:-1]:
        assert run(capsys, "ack", flag["flag_id"][:12], "--db-path", db, "--note", "cuDNN 9 upgrade")[0] == 0
    assert run(capsys, "check", "--db-path", db)[0] == 1
    code, out, _ = run(capsys, "ack", opened[-1]["flag_id"], "--db-path", db, "--note", "same", "--by", "alice")
    assert code == 0 and out.startswith(f"ack\t{opened[-1]['flag_id']}\talice\t")
    code, _, err = run(capsys, "check", "--db-path", db, "--fail-on", "regression")
    assert code == 0 and "no open regressions" in err

    code, out, _ = run(capsys, "list", "--db-path", db, "--kind", "regression", "--format", "json")
    acked = json.loads(out)
    assert {f["status"] for f in acked} == {"acknowledged"}
    assert {f["acknowledged_by"] for f in acked} == {"ci-bot", "alice"}
    assert {f["ack_note"] for f in acked} == {"cuDNN 9 upgrade", "same"}


def test_since_filters_by_the_first_bad_run(capsys, db):
    run(capsys, "update", "--db-path", db)
    code, out, _ = run(capsys, "check", "--db-path", db, "--since", "2025-11-15")
    assert code == 1 and "bert-base-uncased" in out  # its first bad run is 2025-11-15 ...
    assert "bert-base-uncased" not in run(capsys, "check", "--db-path", db, "--since", "2025-11-16T00:00:00Z")[1]
    assert run(capsys, "check", "--db-path", db, "--since", "2030-01-01")[0] == 0  # ... and none is later
    code, _, err = run(capsys, "check", "--db-path", db, "--since", "last week")
    assert code == 2 and "ISO date" in err


def test_list_filters_and_table_output(capsys, db):
    run(capsys, "update", "--db-path", db)
    code, out, _ = run(capsys, "list", "--db-path", db, "--model", "t5-small", "--hardware", "cpu")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:3] == ["flag", "kind", "status"]
    assert len(lines) == 11 and all(" outlier " in line for line in lines[1:])
    code, out, _ = run(capsys, "list", "--db-path", db, "--hardware", "NVIDIA A100-SXM4-80GB", "--open")
    assert code == 0 and len(out.splitlines()) == 25
    code, out, err = run(capsys, "list", "--db-path", db, "--model", "no-such-model", "--format", "json")
    assert code == 2 and out == "" and "no model named 'no-such-model'" in err
    code, out, err = run(capsys, "list", "--db-path", db, "--hardware", "nvidia a100-sxm4")
    assert code == 2 and "did you mean: NVIDIA A100-SXM4-80GB" in err
    code, out, err = run(capsys, "list", "--db-path", db, "--model", "T5-Small", "--hardware", "Intel CPU", "--format", "json")
    assert code == 0, err
    assert len(json.loads(out)) == 10  # names resolved: any case, any hardware spelling


def test_mute_closes_a_flag_and_bad_ids_are_usage_errors(capsys, db):
    run(capsys, "update", "--db-path", db)
    opened = json.loads(run(capsys, "list", "--db-path", db, "--open", "--format", "json")[1])
    code, out, _ = run(capsys, "ack", opened[0]["flag_id"], "--mute", "--note", "flaky box", "--db-path", db)
    assert code == 0 and out.startswith("mute\t")
    statuses = {f["flag_id"]: f["status"] for f in json.loads(run(capsys, "list", "--db-path", db, "--format", "json")[1])}
    assert statuses[opened[0]["flag_id"]] == "muted"
    assert run(capsys, "ack", "0123456789abcdef", "--note", "x", "--db-path", db)[0] == 2
    code, _, err = run(capsys, "ack", "", "--note", "x", "--db-path", db)
    assert code == 2
    assert run(capsys, "ack", opened[1]["flag_id"], "--note", "  ", "--db-path", db)[0] == 2


def test_stale_flags_are_reported_on_stderr(capsys, db):
    run(capsys, "update", "--db-path", db)
    from benchmark_pipeline.lib.warehouse.connection import open_writer

    with open_writer(db) as conn:
        conn.execute("DELETE FROM regression_series_state WHERE series_id IN "
                     "(SELECT series_id FROM regression_series_state LIMIT 3)")
    code, _, err = run(capsys, "list", "--db-path", db, "--open")
    assert code == 0 and "3 series changed since the last detection" in err


def test_missing_warehouse_is_a_usage_error(capsys, tmp_path):
    code, _, err = run(capsys, "check", "--db-path", tmp_path / "none.duckdb")
    assert code == 2 and "no warehouse" in err


def test_threshold_commands_and_confirmed_only_gate(capsys, tmp_path):
    """Issue 18: thresholds through the CLI; `check --confirmed-only` ignores a suspected regression."""
    import duckdb as _duckdb

    from benchmark_pipeline_tests.lib.changepoint import regression_sample as rs

    _, db = rs.build(tmp_path)
    db = str(db)
    assert run(capsys, "update", "--db-path", db)[0] == 0
    code, out, _err = run(capsys, "threshold", "set", "--metric", "latency_p50_ms", "--relative", "0.4",
                          "--note", "tolerant", "--db-path", db)
    assert code == 0 and out.startswith("metric:latency_p50_ms\trelative\t0.4")
    assert run(capsys, "threshold", "set", "--metric", "latency_p50_ms", "--db-path", db)[0] == 2
    code, out, _ = run(capsys, "threshold", "list", "--format", "json", "--db-path", db)
    assert code == 0 and json.loads(out)[0]["kind"] == "relative"
    assert run(capsys, "update", "--db-path", db)[0] == 0
    opened = json.loads(run(capsys, "list", "--open", "--format", "json", "--db-path", db)[1])
    performance = [f for f in opened if f["fact_table"] == "performance_results"]
    assert len(performance) == 20  # the four p50 regressions are under 40 %
    assert "latency_p50_ms" not in {f["metric"] for f in performance}
    code, _, err = run(capsys, "check", "--db-path", db)
    assert code == 1 and f"{len(opened)} open regression(s)" in err
    with _duckdb.connect(db) as rw:
        rw.execute("UPDATE regression_flags SET confirmation = 'suspected' WHERE kind = 'regression'")
    code, _, err = run(capsys, "check", "--confirmed-only", "--db-path", db)
    assert code == 0 and f"{len(opened)} suspected regression(s) not gated" in err
    assert run(capsys, "threshold", "remove", "--metric", "latency_p50_ms", "--db-path", db)[0] == 0
    assert run(capsys, "threshold", "remove", "--metric", "latency_p50_ms", "--db-path", db)[0] == 2
