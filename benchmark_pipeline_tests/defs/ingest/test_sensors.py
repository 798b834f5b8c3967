"""The drop-folder sensor through ``build_sensor_context``, and its planner on synthetic listings."""

import json
import os
import time
from pathlib import Path

import dagster as dg
import pytest

from benchmark_pipeline.defs.ingest.sensors import DropWatch, result_files_sensor
from benchmark_pipeline.defs.resources import DataDirs, WarehouseResource
from benchmark_pipeline.service import ingest_paths
from benchmark_pipeline.lib.ingest.watch import Entry, WatchState, known_from_ledger, plan_tick, run_key
from benchmark_pipeline_tests.conftest import perf_record, writer_held

OLD_NS = 1_000_000_000 * 1_000_000_000  # 2001-09-09


@pytest.fixture
def env(tmp_path):
    data = tmp_path / "data"
    (data / "incoming" / "performance").mkdir(parents=True)
    (data / "legacy").mkdir()
    return data, tmp_path / "w.duckdb"


def write(data: Path, name: str, model: str = "m", sub: str = "incoming/performance") -> Path:
    path = data / sub / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([perf_record(model_name=model)]))
    return path


def tick(data: Path, db: Path, cursor: str | None = None, **watch) -> dg.SensorResult:
    watch = {"settle_s": 0.0, **watch}
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance, cursor=cursor,
            resources={"data_dirs": DataDirs(root=str(data)), "warehouse": WarehouseResource(db_path=str(db)),
                       "drop_watch": DropWatch(**watch)},
        )
        result = result_files_sensor(context)
    return result


def requested(result: dg.SensorResult) -> list[str]:
    paths = []
    for request in result.run_requests or []:
        paths += request.run_config["ops"]["ingested_results"]["config"]["paths"]
    return sorted(Path(p).name for p in paths)


def test_temp_names_dotfiles_and_other_files_are_ignored(env):
    data, db = env
    write(data, "good.json")
    write(data, "copying.json.tmp")
    write(data, "half.json.partial")
    write(data, ".hidden.json")
    write(data, "notes.txt")
    write(data, "stray.json", sub="incoming")  # no category directory: the ingest could not place it
    write(data, "old_shape.json", sub="legacy/run1")
    assert requested(tick(data, db)) == ["good.json", "old_shape.json"]


def test_files_younger_than_the_settle_interval_wait(env):
    data, db = env
    write(data, "fresh.json")
    result = tick(data, db, settle_s=3600)
    assert not result.run_requests
    assert requested(tick(data, db, result.cursor)) == ["fresh.json"]


def test_one_run_per_tick_ingests_exactly_the_batch_with_a_stable_run_key(env):
    data, db = env
    write(data, "a.json")
    write(data, "b|weird name.json")
    first = tick(data, db)
    (request,) = first.run_requests
    assert requested(first) == ["a.json", "b|weird name.json"]
    assert request.partition_key is None  # file names never become partition keys
    again = tick(data, db)  # same files, same versions, fresh cursor
    assert again.run_requests[0].run_key == request.run_key


def test_second_tick_with_nothing_new_requests_nothing(env):
    data, db = env
    write(data, "a.json")
    first = tick(data, db)
    assert requested(first) == ["a.json"]
    second = tick(data, db, first.cursor)  # run not finished yet: the file is pending, not asked again
    assert not second.run_requests
    ingest_paths([str(data / "incoming")], db)
    third = tick(data, db, second.cursor)
    assert not third.run_requests


def test_file_with_mtime_older_than_the_cursor_is_still_found(env):
    data, db = env
    write(data, "a.json")
    ingest_paths([str(data / "incoming")], db)
    first = tick(data, db)
    assert not first.run_requests  # already in the ledger
    late = write(data, "copied_with_cp_p.json", model="late")
    os.utime(late, ns=(OLD_NS, OLD_NS))  # cp -p / rsync -a / tar x keep the source's mtime
    assert WatchState.from_cursor(first.cursor).watermark_ns > OLD_NS
    assert requested(tick(data, db, first.cursor)) == ["copied_with_cp_p.json"]


def test_cap_per_tick_spreads_files_over_ticks_without_repeats(env):
    data, db = env
    for i in range(5):
        write(data, f"f{i}.json", model=f"m{i}")
    cursor, seen = None, []
    for _ in range(4):
        result = tick(data, db, cursor, max_files_per_tick=2)
        seen.append(requested(result))
        cursor = result.cursor
    assert [len(batch) for batch in seen] == [2, 2, 1, 0]
    assert sorted(sum(seen, [])) == [f"f{i}.json" for i in range(5)]


def test_a_retracted_file_is_not_ingested_again(env):
    from benchmark_pipeline.service import BenchmarkService

    data, db = env
    path = write(data, "a.json")
    ingest_paths([str(data / "incoming")], db)
    BenchmarkService(db).retract([str(path)])
    assert not tick(data, db).run_requests


def test_tick_does_not_fail_while_a_writer_holds_the_warehouse(env):
    data, db = env
    write(data, "a.json")
    ingest_paths([str(data / "incoming")], db)
    first = tick(data, db)
    write(data, "b.json", model="b")
    with writer_held(db, 6):
        started = time.monotonic()
        result = tick(data, db, first.cursor, ledger_timeout_s=0.5)
        assert time.monotonic() - started < 4
        assert requested(result) == ["b.json"]  # the watermark alone still finds the new file


# --- the planner on synthetic listings -------------------------------------------------------------

NOW = 2_000_000_000 * 1_000_000_000


def entry(name: str, changed_s_ago: float, size: int = 10, mtime_ns: int | None = None) -> Entry:
    changed = NOW - int(changed_s_ago * 1e9)
    return Entry(f"/d/{name}", size, changed if mtime_ns is None else mtime_ns, changed)


def plan(entries, known, state, **kw):
    args = {"settle_s": 5.0, "max_files": 100, "pending_ttl_s": 600.0, **kw}
    return plan_tick(entries, known, state, NOW, args["settle_s"], args["max_files"], args["pending_ttl_s"])


def test_ledger_reconciliation_finds_a_file_older_than_the_watermark_by_mtime_and_ctime():
    old = Entry("/d/tar_x.json", 10, OLD_NS, OLD_NS)  # e.g. a filesystem that keeps ctime too
    state = WatchState(watermark_ns=NOW - 10**9)
    assert [e.path for e in plan([old], {}, state).batch] == ["/d/tar_x.json"]
    assert plan([old], None, state).batch == []  # ledger unreadable: found on a later tick, not lost


def test_changed_size_is_a_new_version_and_same_size_with_old_times_is_known():
    a, b = entry("a.json", 100, size=10), entry("b.json", 100, size=20)
    known = {"/d/a.json": {10}, "/d/b.json": {10}}
    result = plan([a, b], known, WatchState(watermark_ns=NOW))
    assert [e.path for e in result.batch] == ["/d/b.json"]


def test_pending_requests_expire_so_a_failed_run_is_retried():
    a = entry("a.json", 100)
    first = plan([a], {}, WatchState())
    assert len(first.batch) == 1
    assert plan([a], {}, first.state).batch == []
    expired = WatchState(first.state.watermark_ns, {k: [v[0], v[1], v[2] - 3600] for k, v in first.state.pending.items()})
    assert len(plan([a], {}, expired).batch) == 1


def test_no_cursor_and_busy_ledger_waits_instead_of_requesting_everything():
    assert plan([entry("a.json", 100)], None, WatchState()).batch == []


def test_run_key_depends_on_versions_not_order():
    a, b = entry("a.json", 100), entry("b.json", 50)
    assert run_key([a, b]) == run_key([b, a])
    assert run_key([a, b]) != run_key([a, Entry(b.path, b.size + 1, b.mtime_ns, b.ctime_ns)])


def test_relative_ledger_paths_are_resolved_against_the_working_directory(tmp_path):
    known = known_from_ledger([("data/incoming/performance/a.json", 5), ("/abs/b.json", 7)], cwd=tmp_path)
    assert known == {str(tmp_path / "data/incoming/performance/a.json"): {5}, "/abs/b.json": {7}}


# --- wiring ------------------------------------------------------------------------------------------


def test_sensor_and_daily_schedule_ship_running_and_target_the_no_config_job():
    from benchmark_pipeline.definitions import defs

    definitions = defs()
    sensor = definitions.resolve_sensor_def("result_files_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING and sensor.minimum_interval_seconds >= 30
    assert sensor.job_name == "benchmark_job"
    (schedule,) = [s for s in definitions.schedules if s.name == "daily_refresh"]
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING and schedule.job_name == "benchmark_job"
    dg.validate_run_config(definitions.resolve_job_def("benchmark_job"), {})  # still needs no run config


def test_a_sensor_run_ingests_exactly_the_requested_files(env, tmp_path):
    from benchmark_pipeline.defs.warehouse.assets import ingested_results
    from benchmark_pipeline.lib.warehouse.connection import open_reader

    data, db = env
    write(data, "a.json", model="a")
    write(data, "b.json", model="b")
    result = tick(data, db, max_files_per_tick=1)
    (request,) = result.run_requests
    materialized = dg.materialize(
        [ingested_results], run_config=request.run_config,
        resources={"data_dirs": DataDirs(root=str(data)), "warehouse": WarehouseResource(db_path=str(db))},
    )
    # A drop's run stops at the flags: reports and the snapshot follow on their own clock.
    selected = {key.to_user_string() for key in request.asset_selection}
    assert "regression_flags" in selected and "hardware_recommendations" in selected
    assert not selected & {"summary_report", "ipfs_snapshot"}
    assert materialized.success
    with open_reader(db) as conn:
        ledgered = [Path(p).name for (p,) in conn.execute("SELECT source_path FROM ingestion_ledger").fetchall()]
    assert ledgered == requested(result)
