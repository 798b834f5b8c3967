"""Restore time (RTO) of a ~1 GB warehouse from a snapshot, every block verified.

Builds a warehouse with the real schema and enough random performance rows to reach the target
size (random doubles and hashes barely compress, so the file is mostly data, not free space),
snapshots it, then times:

- verify: re-hash every block of the snapshot;
- restore (warm): the live warehouse exists, is backed up, then replaced from the local blockstore;
- restore (cold): a machine with an empty blockstore imports the snapshot CAR (verified) and restores.

RTO is the restore figure; the cold figure adds the CAR import a new machine pays. Everything lives
in a temporary folder (about 5x the warehouse size) that is deleted at the end.

    uv run python benchmarks/bench_snapshot_restore.py [--size-gb 1.0] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import duckdb

from benchmark_pipeline.lib.content.car import import_car
from benchmark_pipeline.lib.snapshots.store import SnapshotStore, create_snapshot, restore_snapshot, verify_snapshot
from benchmark_pipeline.lib.warehouse.schema import migrate

RESULTS = Path(__file__).resolve().parent / "results" / "snapshots.md"
BATCH_ROWS = 1_000_000


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def build(db: Path, target_bytes: int) -> int:
    conn = duckdb.connect(str(db))
    migrate(conn)
    conn.execute("INSERT INTO models (model_name) VALUES ('bench-model')")
    conn.execute("INSERT INTO hardware_platforms (fingerprint, hardware_type, hardware_key) "
                 "VALUES ('cpu|bench', 'cpu', hardware_key('cpu', 'bench', NULL, NULL, NULL))")
    rows = 0
    while db.stat().st_size < target_bytes:
        conn.execute(
            """INSERT INTO performance_results (result_id, run_id, model_id, hardware_id, test_case, batch_size,
                   run_time, time_source, total_time_seconds, average_latency_ms, latency_p50_ms, latency_p90_ms,
                   latency_p95_ms, latency_p99_ms, throughput_items_per_second, memory_peak_mb, power_watts,
                   energy_joules, record_index, source_path, source_sha256, ingestion_run_id, ingested_at)
               SELECT ? + i, 1, 1, 1, 'default', 1 + (i % 64), TIMESTAMPTZ '2025-01-01' + to_seconds(i), 'record',
                   random(), random() * 100, random() * 100, random() * 100, random() * 100, random() * 100,
                   random() * 1000, random() * 4096, random() * 300, random() * 50, i % 1000,
                   'performance/bench_' || (i // 1000) || '.json', md5(i::VARCHAR || random()::VARCHAR),
                   'bench', now()
               FROM range(?) t(i)""", [rows, BATCH_ROWS])
        rows += BATCH_ROWS
        conn.execute("CHECKPOINT")
    conn.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-snapshot-", dir=args.workdir))
    try:
        db = work / "warehouse" / "benchmarks.duckdb"
        db.parent.mkdir()
        t = time.perf_counter()
        rows = build(db, int(args.size_gb * 1e9))
        t_build = time.perf_counter() - t
        size = db.stat().st_size

        store = SnapshotStore(work / "snapshots")
        t = time.perf_counter()
        snap = create_snapshot(store, db)
        t_create = time.perf_counter() - t
        manifest = snap.manifest

        t = time.perf_counter()
        verify_snapshot(store, manifest)
        t_verify = time.perf_counter() - t

        # Warm restore over a live file (backup included): the RTO.
        t = time.perf_counter()
        restored = restore_snapshot(store, manifest, db)
        t_restore = time.perf_counter() - t
        restored.backup.unlink()

        car = work / "snapshot.car"
        with open(car, "wb") as fh:
            store.write_car(manifest, fh)
        fresh = SnapshotStore(work / "fresh")
        t = time.perf_counter()
        with open(car, "rb") as fh:
            report = import_car(fh, fresh.blocks)
        assert not report.missing
        cold_target = work / "cold" / "benchmarks.duckdb"
        restore_snapshot(fresh, fresh.manifest(manifest.cid), cold_target)
        t_cold = time.perf_counter() - t

        mb = size / 1e6
        lines = [
            "# Snapshot restore time (RTO)",
            "",
            f"- machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
            f"- date: {dt.date.today().isoformat()}; commit: {commit()}; duckdb {duckdb.__version__}, "
            f"Python {platform.python_version()}",
            f"- warehouse: {size:,} bytes ({rows:,} performance rows, real schema v{manifest.data['schema_version']}), "
            f"{snap.blocks:,} blocks, profile {manifest.data['profile']}",
            f"- command: `uv run python benchmarks/bench_snapshot_restore.py --size-gb {args.size_gb}`",
            "",
            "| step | seconds | MB/s |",
            "| --- | ---: | ---: |",
            f"| build warehouse (not part of RTO) | {t_build:.1f} | |",
            f"| snapshot create (CHECKPOINT + copy + export + import) | {t_create:.1f} | {mb / t_create:.0f} |",
            f"| verify (re-hash every block) | {t_verify:.1f} | {mb / t_verify:.0f} |",
            f"| **restore, warm** (backup live file, rebuild from verified blocks, row-count check, swap) "
            f"| **{t_restore:.1f}** | {mb / t_restore:.0f} |",
            f"| restore, cold (import snapshot CAR into an empty blockstore, then restore) | {t_cold:.1f} "
            f"| {mb / t_cold:.0f} |",
            "",
            f"**RTO for a {size / 1e9:.2f} GB warehouse: {t_restore:.1f} s warm, {t_cold:.1f} s from a CAR "
            "on a fresh machine.** Both verify every block's sha256 before the live file is replaced.",
            "",
        ]
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text("\n".join(lines), encoding="utf-8")
        print("\n".join(lines))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
