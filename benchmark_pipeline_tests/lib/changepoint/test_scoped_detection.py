"""Detection looking only at the models a write touched gives exactly the flags a full detection gives.

The drop path (sensor -> ingest -> regression_flags) relies on it: it re-examines the series of the
models its ingest changed instead of fingerprinting every point of the warehouse.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from benchmark_pipeline.lib.warehouse.regressions import refresh_flags
from benchmark_pipeline.service import BenchmarkService
from benchmark_pipeline_tests.lib.changepoint import regression_sample as rs

NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)


def _later_runs(sample: Path, model: str, rename: str | None = None, slower: float = 1.0) -> list[dict]:
    """Five more nightly runs of ``model`` (optionally under another name), latencies scaled by ``slower``."""
    last = sorted((sample / "performance").rglob("*.json"))[-1]
    records = [r for r in json.loads(last.read_text()) if r["model_name"] == model]
    runs = []
    for day in range(5):
        for record in records:
            run = {**record, "timestamp": f"2025-12-0{day + 1}T02:00:00Z", "git_commit": f"c{day}"}
            run["model_name"] = rename or model
            for key in ("average_latency_ms", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms"):
                run[key] = record[key] * slower
            runs.append(run)
    return runs


def _state(db: Path) -> tuple[list, list]:
    with BenchmarkService(db).reader() as conn:
        flags = conn.execute("SELECT * FROM regression_flags ORDER BY flag_id").fetchall()
        state = conn.execute("SELECT * EXCLUDE (analysed_at) FROM regression_series_state ORDER BY 1").fetchall()
    return flags, state


def _detect(db: Path, models: frozenset[str] | None):
    with BenchmarkService(db).writer() as conn:
        return refresh_flags(conn, now=NOW, models=models)


def test_detection_scoped_to_what_an_ingest_touched_equals_a_full_detection(tmp_path):
    base = rs.build(tmp_path / "base")
    _detect(base[1], None)
    scoped, full = rs.copy(base, tmp_path / "scoped"), rs.copy(base, tmp_path / "full")
    for step, change in enumerate([
        # a drop of one model's new runs, 40 % slower: new points and a change point in its series
        lambda drop: drop.write_text(json.dumps(_later_runs(scoped[0], "t5-small", slower=1.4))),
        # the same file replaced by runs of another model: t5-small's series lose those points again
        lambda drop: drop.write_text(json.dumps(_later_runs(scoped[0], "t5-small", rename="whisper-tiny"))),
    ]):
        reports = []
        for sample, db in (scoped, full):
            drop = sample.parent / "drop" / "performance" / "later.json"
            drop.parent.mkdir(parents=True, exist_ok=True)
            change(drop)
            reports.append(BenchmarkService(db).ingest_paths([str(drop)]))
        touched = reports[0].refresh.scope.models
        assert touched == ({"t5-small"} if step == 0 else {"t5-small", "whisper-tiny"})
        looked = _detect(scoped[1], touched)
        everything = _detect(full[1], None)
        assert looked.series_total < everything.series_total  # the scope was used ...
        assert looked.series_analysed == everything.series_analysed > 0  # ... and missed nothing
        assert _state(scoped[1]) == _state(full[1])


def test_detection_in_many_small_passes_equals_one_pass(tmp_path, monkeypatch):
    """Detection holds at most POINTS_PER_PASS points at a time; how the series are split changes nothing."""
    from benchmark_pipeline.lib.warehouse import regressions

    base = rs.build(tmp_path / "base")
    one, many = rs.copy(base, tmp_path / "one"), rs.copy(base, tmp_path / "many")
    whole = _detect(one[1], None)
    monkeypatch.setattr(regressions, "POINTS_PER_PASS", 50)  # ~50 passes of a few series each
    split = _detect(many[1], None)
    assert split.series_analysed == whole.series_analysed > 50 and split.flags_total == whole.flags_total > 0
    assert _state(many[1]) == _state(one[1])


def test_detection_scoped_to_the_series_an_ingest_added_to_equals_a_full_detection(tmp_path):
    """A drop of new files only: the series with rows of its ingestion run are all that changed, however many
    series its models have (a 50-record drop naming every model must not cost every point)."""
    from benchmark_pipeline.lib.warehouse.regressions import current_fingerprints

    base = rs.build(tmp_path / "base")
    _detect(base[1], None)
    scoped, full = rs.copy(base, tmp_path / "scoped"), rs.copy(base, tmp_path / "full")
    runs = _later_runs(scoped[0], "t5-small", slower=1.4)
    some = [r for r in runs if r is runs[0] or (r["batch_size"], r.get("precision")) ==
            (runs[0]["batch_size"], runs[0].get("precision"))]  # one configuration of the model, five nights
    reports = []
    for sample, db in (scoped, full):
        drop = sample.parent / "drop" / "performance" / "later.json"
        drop.parent.mkdir(parents=True, exist_ok=True)
        drop.write_text(json.dumps(some))
        reports.append(BenchmarkService(db).ingest_paths([str(drop)]))
    report = reports[0]
    assert report.additions_only and report.refresh.scope.models == {"t5-small"}
    with BenchmarkService(scoped[1]).reader() as conn:
        of_model = len(current_fingerprints(conn, models=report.refresh.scope.models))
        of_run = current_fingerprints(conn, models=report.refresh.scope.models, run_id=report.run_id)
    with BenchmarkService(scoped[1]).writer() as conn:
        looked = refresh_flags(conn, now=NOW, models=report.refresh.scope.models, run_id=report.run_id)
    everything = _detect(full[1], None)
    performance = (of_run["fact_table"] == "performance_results").sum()
    assert 0 < performance < of_model - (len(of_run) - performance)  # fewer series than the model has ...
    assert looked.series_analysed == everything.series_analysed > 0  # ... and none missed
    assert _state(scoped[1]) == _state(full[1])

    # The same file with other content replaces the first version: more than additions, so no run scope.
    drop = scoped[0].parent / "drop" / "performance" / "later.json"
    drop.write_text(json.dumps(some[:1]))
    assert not BenchmarkService(scoped[1]).ingest_paths([str(drop)]).additions_only


def test_detection_reads_a_series_latest_points_and_counts_positions_from_its_first(tmp_path):
    """A series is analysed over its latest ``history`` points, so a drop into a long history costs what a drop
    into a short one does; a change inside that history keeps its place in the whole series, one before it is
    no longer flagged."""
    base = rs.build(tmp_path / "base")
    whole, inside, beyond = (rs.copy(base, tmp_path / name) for name in ("whole", "inside", "beyond"))
    with BenchmarkService(whole[1]).writer() as conn:
        refresh_flags(conn, now=NOW)
    points = 21  # nightly runs per series in the sample; the A100 slowdown starts at run 14
    with BenchmarkService(inside[1]).writer() as conn:
        refresh_flags(conn, now=NOW, history=18)
    with BenchmarkService(beyond[1]).writer() as conn:
        refresh_flags(conn, now=NOW, history=5)

    def regressions(db: Path) -> set[tuple]:
        with BenchmarkService(db).reader() as conn:
            return set(conn.execute(
                "SELECT series_id, change_index, run_id, series_points FROM regression_flags "
                "WHERE kind = 'regression' AND model_name = ? AND device_name = ?", list(rs.REGRESSED)).fetchall())

    found = regressions(whole[1])
    assert found and {(index, size) for _s, index, _r, size in found} == {(14, points)}
    assert regressions(inside[1]) == found  # same change, same run, same position in the series
    assert regressions(beyond[1]) == set()  # the change is older than the history analysed
    with BenchmarkService(beyond[1]).reader() as conn:
        flags, older = conn.execute("SELECT count(*), count(*) FILTER (WHERE change_index < series_points - 5) "
                                    "FROM regression_flags").fetchone()
    assert flags > 0 and older == 0  # what is flagged lies in the latest five points of its series
