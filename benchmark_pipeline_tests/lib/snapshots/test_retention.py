"""Retention of backups: the policy as a pure selection, and pruning the snapshot store by it."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from benchmark_pipeline.lib.snapshots import store as store_module
from benchmark_pipeline.lib.snapshots.errors import SnapshotError
from benchmark_pipeline.lib.snapshots.retention import (RetentionPolicy, apply_retention, plan_retention,
                                                        select_retained)
from benchmark_pipeline.lib.snapshots.store import create_snapshot, restore_snapshot, verify_snapshot
from benchmark_pipeline.service import BenchmarkService


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def kept(times: dict[str, str], **policy) -> dict[str, list[str]]:
    return select_retained([(name, t(when)) for name, when in times.items()], RetentionPolicy(**policy))


# --- the policy, pure ------------------------------------------------------------------------------------------


def test_hourly_keeps_the_newest_of_each_of_the_last_hours():
    times = {"a": "2026-03-01T10:00", "b": "2026-03-01T10:30", "c": "2026-03-01T11:00", "d": "2026-03-01T11:45",
             "e": "2026-03-01T12:10"}
    assert kept(times, keep_last=1, keep_hourly=2, keep_daily=0) == {
        "e": ["last", "hourly 2026-03-01T12:00Z"], "d": ["hourly 2026-03-01T11:00Z"]}
    assert set(kept(times, keep_last=1, keep_hourly=3, keep_daily=0)) == {"e", "d", "b"}


def test_daily_keeps_the_newest_of_each_day_and_rules_add_up():
    times = {"d1a": "2026-03-01T09:00", "d1b": "2026-03-01T18:00", "d2": "2026-03-02T08:00",
             "d3a": "2026-03-03T07:00", "d3b": "2026-03-03T20:00"}
    assert kept(times, keep_last=1, keep_hourly=0, keep_daily=2) == {
        "d3b": ["last", "daily 2026-03-03"], "d2": ["daily 2026-03-02"]}
    both = kept(times, keep_last=2, keep_hourly=0, keep_daily=3)
    assert both == {"d3b": ["last", "daily 2026-03-03"], "d3a": ["last"], "d2": ["daily 2026-03-02"],
                    "d1b": ["daily 2026-03-01"]}


def test_a_day_of_half_hourly_backups_and_a_month_of_history():
    """The default policy over 40 days of backups every 30 minutes: 24 hourly plus 30 daily, overlapping."""
    start = t("2026-01-01T00:10")
    times = {f"s{i}": (start + timedelta(minutes=30 * i)).isoformat()[:16] for i in range(40 * 48)}
    result = kept(times)
    newest = start + timedelta(minutes=30 * (40 * 48 - 1))  # 2026-02-09T23:40
    hours = {f"hourly {(newest - timedelta(hours=h)).strftime('%Y-%m-%dT%H:00Z')}" for h in range(24)}
    days = {f"daily {(newest - timedelta(days=d)).strftime('%Y-%m-%d')}" for d in range(30)}
    reasons = {why for whys in result.values() for why in whys}
    assert reasons == {"last"} | hours | days
    # the last day's hours and that day itself fall on the same snapshots: 24 + 30 - 1 snapshots
    assert len(result) == 24 + 29
    assert all(times[name][14:16] == "40" for name in result)  # the newest of each hour is its :40 backup


def test_weeks_are_iso_weeks_and_months_calendar_months():
    times = {"sun": "2026-03-01T12:00", "mon": "2026-03-02T12:00", "feb": "2026-02-27T12:00",
             "jan": "2026-01-31T12:00"}
    assert kept(times, keep_last=1, keep_hourly=0, keep_daily=0, keep_weekly=2) == {
        "mon": ["last", "weekly 2026-W10"], "sun": ["weekly 2026-W09"]}
    assert kept(times, keep_last=1, keep_hourly=0, keep_daily=0, keep_monthly=3) == {
        "mon": ["last", "monthly 2026-03"], "feb": ["monthly 2026-02"], "jan": ["monthly 2026-01"]}


def test_periods_count_backups_not_the_clock():
    """Backups that stopped a month ago are not aged out: the last 24 hours that have one are kept."""
    start = t("2025-06-01T00:05")
    times = {f"s{i}": (start + timedelta(hours=i)).isoformat()[:16] for i in range(30)}
    result = kept(times, keep_last=1, keep_hourly=24, keep_daily=0)
    assert set(result) == {f"s{i}" for i in range(6, 30)}


def test_input_order_does_not_matter_and_times_may_be_naive():
    times = [(f"s{i}", datetime(2026, 3, 1, i // 4, (i % 4) * 15)) for i in range(48)]
    expected = select_retained(times, RetentionPolicy(keep_last=2, keep_hourly=5, keep_daily=1))
    shuffled = times[:]
    random.Random(3).shuffle(shuffled)
    aware = [(k, v.replace(tzinfo=timezone.utc)) for k, v in shuffled]
    assert select_retained(aware, RetentionPolicy(keep_last=2, keep_hourly=5, keep_daily=1)) == expected
    assert set(expected) == {"s47", "s46", "s43", "s39", "s35", "s31"}


def test_a_policy_always_keeps_the_newest():
    for bad in ({"keep_last": 0}, {"keep_hourly": -1}, {"keep_daily": 1.5}, {"keep_weekly": True}):
        with pytest.raises(ValueError):
            RetentionPolicy(**bad)
    assert RetentionPolicy().describe() == "keep the newest 1, 24 hourly, 30 daily"
    assert select_retained([("only", t("2020-01-01T00:00"))], RetentionPolicy(1, 0, 0, 0, 0)) == {"only": ["last"]}
    assert select_retained([], RetentionPolicy()) == {}


# --- applied to a snapshot store -------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """Snapshots taken at chosen times (their manifests' created_at)."""
    now = {"value": "2026-03-01T10:05:00+00:00"}
    monkeypatch.setattr(store_module, "_now", lambda: now["value"])
    return now


def snap_at(store, db, clock, when: str, change: str | None = None):
    if change is not None:
        conn = duckdb.connect(str(db))
        conn.execute(change)
        conn.close()
    clock["value"] = f"{when}:00+00:00"
    return create_snapshot(store, db, force=True).manifest


def test_retention_prunes_what_the_policy_drops_and_kept_snapshots_still_restore(warehouse, store, clock, tmp_path):
    first = snap_at(store, warehouse, clock, "2026-03-01T10:05")
    second = snap_at(store, warehouse, clock, "2026-03-01T10:40",
                     "DELETE FROM performance_results WHERE result_id = (SELECT max(result_id) FROM performance_results)")
    third = snap_at(store, warehouse, clock, "2026-03-01T11:10",
                    "DELETE FROM performance_results WHERE result_id = (SELECT max(result_id) FROM performance_results)")
    fourth = snap_at(store, warehouse, clock, "2026-03-02T09:00")  # forced: same data as the third
    policy = RetentionPolicy(keep_last=1, keep_hourly=2, keep_daily=0)

    plan = plan_retention(store, policy)
    assert plan.dry_run and [m.cid for m, _ in plan.kept] == [fourth.cid, third.cid]
    assert [m.cid for m in plan.pruned] == [second.cid, first.cid]
    assert all(store.state(m) == "local" for m in (first, second))  # the plan changed nothing

    report = apply_retention(store, policy)
    assert [m.cid for m in report.pruned] == [second.cid, first.cid] and report.blocks_removed > 0
    assert [store.state(m) for m in (fourth, third, second, first)] == ["local", "local", "pruned", "pruned"]
    for manifest in (fourth, third):
        verify_snapshot(store, manifest)
    restored = restore_snapshot(store, third, tmp_path / "restored.duckdb")
    assert restored.bytes == third.size
    with pytest.raises(SnapshotError):
        verify_snapshot(store, first)
    # nothing left to prune; the pruned ones cannot fill an hour in place of a restorable snapshot
    again = apply_retention(store, policy)
    assert again.pruned == [] and [m.cid for m, _ in again.kept] == [fourth.cid, third.cid]


def test_a_pruned_snapshot_does_not_take_the_place_of_a_restorable_one(warehouse, store, clock):
    older = snap_at(store, warehouse, clock, "2026-03-01T10:05")
    newer_same_hour = snap_at(store, warehouse, clock, "2026-03-01T10:50",
                              "DELETE FROM models WHERE model_id NOT IN (SELECT model_id FROM performance_results)")
    newest = snap_at(store, warehouse, clock, "2026-03-01T11:30",
                     "DELETE FROM performance_results WHERE result_id = (SELECT max(result_id) FROM performance_results)")
    store_module.prune(store, keep=1)  # by count: both older ones lose their data
    assert store.state(newer_same_hour) == "pruned"
    report = apply_retention(store, RetentionPolicy(keep_last=1, keep_hourly=24, keep_daily=0))
    assert [m.cid for m, _ in report.kept] == [newest.cid] and report.pruned == []
    assert store.state(older) == "pruned"


def test_a_backup_that_fails_prunes_nothing(warehouse, store, clock, monkeypatch):
    service = BenchmarkService(warehouse)
    old = snap_at(store, warehouse, clock, "2026-03-01T10:05")
    newer = snap_at(store, warehouse, clock, "2026-03-01T11:05",
                    "DELETE FROM performance_results WHERE result_id = (SELECT max(result_id) FROM performance_results)")

    def broken(*args, **kwargs):
        raise SnapshotError("the new snapshot does not verify")

    monkeypatch.setattr(service, "snapshot", broken)
    with pytest.raises(SnapshotError):
        service.backup(store, RetentionPolicy(keep_last=1, keep_hourly=0, keep_daily=0))
    assert store.state(old) == "local" and store.state(newer) == "local"


def test_a_backup_takes_a_snapshot_then_applies_the_policy(warehouse, store, clock):
    service = BenchmarkService(warehouse)
    old = snap_at(store, warehouse, clock, "2026-03-01T10:05")
    clock["value"] = "2026-03-01T12:00:00+00:00"
    conn = duckdb.connect(str(warehouse))
    conn.execute("DELETE FROM performance_results WHERE result_id = (SELECT max(result_id) FROM performance_results)")
    conn.close()
    report = service.backup(store, RetentionPolicy(keep_last=1, keep_hourly=0, keep_daily=0))
    assert report.snapshot.created and report.snapshot.manifest.cid == store.head()
    assert [m.cid for m in report.retention.pruned] == [old.cid] and store.state(old) == "pruned"
    dry = service.backup(store, RetentionPolicy(), dry_run=True)
    assert dry.snapshot is None and dry.retention.dry_run and dry.retention.pruned == []
