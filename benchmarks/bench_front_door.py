"""One front door (issue 13): the Dagster ingest against the CLI's, a small drop into a small and a large
warehouse, and one record stored through the Python API.

1. ``benchmark_job`` (the drop's selection: ingest + derived tables + regression flags, i.e. what the sensor
   runs) over N new flat records, against ``benchmark-db ingest`` (which brings the derived tables along)
   followed by ``benchmark-db regressions update``, in the same run, each into a fresh warehouse. Peak
   memory is the PSS of the whole process tree.
2. A 50-record drop through the sensor's path (``benchmark_job`` run in process with the sensor's steps and
   the file as config) into a warehouse of SMALL rows and one of LARGE rows (built with the CLI and
   cached under benchmarks/work/), time and peak memory until facts, derived tables and flags are current.
3. ``BenchmarkDB.store_performance_result`` of one record into the LARGE warehouse: median and p99.

    uv run python benchmarks/bench_front_door.py [--records 1000000] [--small 100000] [--large 10000000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import BIN, REPO, cpu_model, generate, prepend_results, timed_process  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "front_door.md"
WORK = REPO / "benchmarks" / "work" / "front_door"


# The steps of a sensor run (its asset selection, defs/ingest/sensors.py DROP_ASSETS, and their checks) inside
# benchmark_job, whose in-process executor the sensor's runs use.
DROP_STEPS = "ingested_results,warehouse_invariants,regression_flags,regression_flags_no_open_regressions,llm_answers"


def drop_run(config: Path) -> list[str]:
    return [str(BIN / "dagster"), "job", "execute", "-m", "benchmark_pipeline.definitions", "-j", "benchmark_job",
            "-c", str(config), "--op-selection", DROP_STEPS]


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak PSS (MB) of the whole process tree."""
    seconds, _rss, _output, tree_mb = timed_process(command, env, cwd)
    return seconds, tree_mb


def env_for(db: Path, data: Path, home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    return {**os.environ, "BENCHMARK_DB_PATH": str(db), "BENCHMARK_DATA_DIR": str(data), "DAGSTER_HOME": str(home)}


def sensor_run(db: Path, drop: Path, tmp: Path, tag: str) -> tuple[float, float]:
    config = tmp / f"{tag}.yaml"
    config.write_text(json.dumps({"ops": {"ingested_results": {"config": {"paths": [str(drop)]}}}}))
    env = env_for(db, tmp / f"{tag}-data", tmp / f"{tag}-home")
    return timed(drop_run(config), env, tmp)


def warehouse_of(rows: int) -> Path:
    """A warehouse of ``rows`` flat records built with the CLI (ingest + regressions update), cached."""
    cached = WORK / f"warehouse-{rows}.duckdb"
    if cached.exists():
        from benchmark_pipeline.service import BenchmarkService

        # Brought to the current schema and derived-table definitions here, not inside a timed run.
        BenchmarkService(cached).refresh()
        return cached
    WORK.mkdir(parents=True, exist_ok=True)
    files = WORK / f"files-{rows}"
    if not files.exists():
        generate(files, max(1, rows // 100), 100)
    env = {**os.environ, "BENCHMARK_DB_PATH": str(cached)}
    subprocess.run([str(BIN / "benchmark-db"), "ingest", str(files)], env=env, check=True, capture_output=True)
    subprocess.run([str(BIN / "benchmark-db"), "regressions", "update"], env=env, check=True, capture_output=True)
    return cached


def fifty_record_drop(root: Path) -> Path:
    generate(root, 1, 50, seed=99)
    return next(root.rglob("*.json"))


def store_latency(db: Path, n: int) -> tuple[float, float]:
    code = f"""
import json, statistics, sys, time
from benchmark_pipeline import BenchmarkDB
db = BenchmarkDB({str(db)!r})
times = []
for i in range({n}):
    record = {{"model_name": "model-00", "hardware_type": "cuda", "device_name": "NVIDIA A100-SXM4-80GB",
              "memory_gb": 80, "batch_size": 1, "precision": "fp16", "average_latency_ms": 5.0 + i / 1000,
              "throughput_items_per_second": 200.0, "timestamp": "2026-06-01T00:00:00Z"}}
    start = time.perf_counter()
    out = db.store_performance_result(record)
    times.append(time.perf_counter() - start)
    assert out["stored_ids"], out
times.sort()
print(json.dumps([statistics.median(times), times[int(0.99 * (len(times) - 1))]]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return tuple(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=10_000_000)
    parser.add_argument("--stores", type=int, default=200)
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory(dir=REPO / "benchmarks") as tmp_name:
        tmp = Path(tmp_name)
        files = tmp / "files"
        generate(files, max(1, args.records // 100), 100)
        # 1. the Dagster drop run against the CLI, each into a fresh warehouse
        config = tmp / "job.yaml"
        config.write_text(json.dumps({"ops": {"ingested_results": {"config": {"paths": [str(files)]}}}}))
        job_s, job_mb = timed(drop_run(config), env_for(tmp / "job.duckdb", tmp / "job-data", tmp / "job-home"), tmp)
        cli_env = {**os.environ, "BENCHMARK_DB_PATH": str(tmp / "cli.duckdb")}
        ingest_s, ingest_mb = timed([str(BIN / "benchmark-db"), "ingest", str(files)], cli_env, tmp)
        flags_s, flags_mb = timed([str(BIN / "benchmark-db"), "regressions", "update"], cli_env, tmp)
        cli_s = ingest_s + flags_s
        lines += [f"| Dagster drop run over {args.records:,} new records | {job_s:.1f} s | {job_mb:,.0f} MB |",
                  f"| `benchmark-db ingest` (derived tables included) | {ingest_s:.1f} s | {ingest_mb:,.0f} MB |",
                  f"| `benchmark-db regressions update` | {flags_s:.1f} s | {flags_mb:,.0f} MB |",
                  f"| ratio Dagster / CLI (target <= 1.3) | **{job_s / cli_s:.2f}x** | |"]
        # 2. a 50-record drop into a small and a large warehouse
        drops = {}
        for size in (args.small, args.large):
            db = tmp / f"w{size}.duckdb"
            shutil.copy(warehouse_of(size), db)
            drop = fifty_record_drop(tmp / f"drop{size}")
            drops[size] = sensor_run(db, drop, tmp, f"drop{size}")
        (small_s, small_mb), (large_s, large_mb) = drops[args.small], drops[args.large]
        lines += [f"| 50-record drop into {args.small:,} rows | {small_s:.1f} s | {small_mb:,.0f} MB |",
                  f"| 50-record drop into {args.large:,} rows | {large_s:.1f} s | {large_mb:,.0f} MB |",
                  f"| ratio large / small (target <= 1.3) | **{large_s / small_s:.2f}x** time | "
                  f"**{large_mb / small_mb:.2f}x** memory |"]
        # 3. one record through the Python API into the large warehouse
        db = tmp / "api.duckdb"
        shutil.copy(warehouse_of(args.large), db)
        median, p99 = store_latency(db, args.stores)
        lines += [f"| `store_performance_result`, {args.stores} stores into {args.large:,} rows | "
                  f"median {median * 1000:.0f} ms | p99 {p99 * 1000:.0f} ms |"]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    header = [
        "# One front door: Dagster vs CLI ingest, drop cost vs warehouse size, API store latency", "",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical cores (shared with other work)",
        f"- commit: {commit}; date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- command: `uv run python benchmarks/bench_front_door.py --records {args.records} --small {args.small} "
        f"--large {args.large} --stores {args.stores}`",
        "- one run each (times are wall clock of the whole process, imports included; memory = peak PSS of the "
        "process tree)", "",
        "| what | time | memory |", "| --- | --- | --- |",
    ]
    text = "\n".join(header + lines) + "\n"
    prepend_results(RESULTS, text)
    print(text)


if __name__ == "__main__":
    main()
