"""What any ingest of the issue-3 workload must spend on this machine, measured piece by piece.

The ingest benchmark (``bench_ingest.py``) compares ``benchmark-db ingest`` with DuckDB's
``read_json_auto``. This one asks how close any implementation could get: it times the steps an
ingest cannot skip, each at its fastest known form, on the same 1,000,000 records in 10,000 files:

- starting a Python process that imports duckdb;
- reading every file's bytes (needed for the sha256 the ledger keys on) and hashing them;
- the fastest parse measured here: DuckDB's parallel reader on one newline-delimited stream of the
  same records (converting the JSON-array files into that stream is timed separately), and orjson;
- writing the rows into ``performance_results`` (the warehouse schema, provenance on every row) from
  an already-parsed DuckDB table, and committing.

Medians of 3, written to ``benchmarks/results/ingest_floor.md`` with machine and date.

    uv run python benchmarks/bench_ingest_floor.py [--files 10000] [--records 100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import REPO, cpu_model, generate  # noqa: E402

from benchmark_pipeline.lib.warehouse.connection import open_writer  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "ingest_floor.md"
REPEATS = 3


def median_seconds(step, repeats: int = REPEATS) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def to_ndjson(datas: list[bytes]) -> bytes:
    """The files' records as one newline-delimited stream (valid for the generator's compact arrays only)."""
    return b"\n".join(d.strip()[1:-1].replace(b"}, {", b"}\n{") for d in datas)


INSERT = """
INSERT INTO performance_results (result_id, run_id, model_id, hardware_id, test_case, batch_size, sequence_length,
    precision, run_time, time_source, average_latency_ms, latency_p50_ms, latency_p90_ms, latency_p99_ms,
    throughput_items_per_second, memory_peak_mb, iterations, record_index, source_path, source_sha256,
    ingestion_run_id, ingested_at, is_simulated)
SELECT row_number() OVER (), 1, 1, 1, test_case, batch_size, sequence_length, precision, "timestamp", 'record',
    average_latency_ms, latency_p50_ms, latency_p90_ms, latency_p99_ms, throughput_items_per_second, memory_peak_mb,
    iterations, 0, filename, sha, 'cli-00000000-0000-0000-0000-000000000000', now(), false
FROM parsed
"""


def insert_and_commit(work: Path, drop: Path, run: int) -> float:
    db = work / f"floor_{run}.duckdb"
    with open_writer(db) as conn:
        conn.execute(f"CREATE TEMP TABLE parsed AS SELECT *, sha256(filename) AS sha "
                     f"FROM read_json_auto('{drop}/**/*.json', filename=true)")
        start = time.perf_counter()
        conn.execute("BEGIN")
        conn.execute(INSERT)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
    db.unlink()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=100)
    args = parser.parse_args()
    rows = args.files * args.records
    work = Path(tempfile.mkdtemp(prefix="bench_floor_"))
    drop = work / "incoming"
    nbytes = generate(drop, args.files, args.records)
    paths = sorted(drop.rglob("*.json"))
    subprocess.run(["cat", *map(str, paths)], stdout=subprocess.DEVNULL, check=True)  # warm cache

    steps: list[tuple[str, float, list[float]]] = []

    def record(label: str, step) -> float:
        seconds, runs = median_seconds(step)
        steps.append((label, seconds, runs))
        print(f"{label}: {seconds:.2f} s", file=sys.stderr)
        return seconds

    startup = record("start Python and import duckdb (fresh process)", lambda: subprocess.run(
        [sys.executable, "-c", "import duckdb"], check=True))
    datas: list[bytes] = []
    read = record("read all files' bytes, 1 thread", lambda: datas.__setitem__(
        slice(None), [p.read_bytes() for p in paths]))
    with ThreadPoolExecutor(2) as pool:
        read2 = record("read all files' bytes, 2 threads", lambda: list(pool.map(Path.read_bytes, paths)))
        hashed2 = record("read and sha256 all files, 2 threads", lambda: list(pool.map(
            lambda p: hashlib.sha256(p.read_bytes()).digest(), paths)))
    record("sha256 of all bytes, 1 thread", lambda: [hashlib.sha256(d).digest() for d in datas])
    gc.disable()
    record("orjson.loads of every file (GC off), 1 thread", lambda: [orjson.loads(d) for d in datas])
    gc.enable()
    stream: list[bytes] = []
    convert = record("convert the files to one newline-delimited stream", lambda: stream.__setitem__(
        slice(None), [to_ndjson(datas)]))
    ndjson = work / "all.ndjson"
    ndjson.write_bytes(stream[0])
    conn = duckdb.connect()
    parse = record("DuckDB parses that stream into a table (parallel)", lambda: conn.execute(
        f"CREATE OR REPLACE TABLE t AS SELECT * FROM read_json_auto('{ndjson}', format='newline_delimited')"))
    baseline = record("read_json_auto over the 10,000 files (the benchmark's baseline, in process)",
                      lambda: conn.execute(f"CREATE OR REPLACE TABLE t AS SELECT * FROM read_json_auto('{drop}/**/*.json')"))
    conn.close()
    runs = [insert_and_commit(work, drop, i) for i in range(REPEATS)]
    write = statistics.median(runs)
    steps.append(("INSERT 1M rows into performance_results from a parsed DuckDB table, and COMMIT", write, runs))
    print(f"insert: {write:.2f} s", file=sys.stderr)

    floor = startup + min(read2, hashed2) + parse + write
    budget = (baseline + startup) / 1.5
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=REPO).stdout.strip()
    lines = [
        "# Ingest floor: the steps no ingest can skip, each at its fastest", "",
        "Produced by `uv run python benchmarks/bench_ingest_floor.py` (run on demand, not a test); see its docstring.", "",
        "| what | value |", "| --- | --- |",
        f"| date | {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC |",
        f"| commit | {commit} |",
        f"| machine | {cpu_model()}, {os.cpu_count()} logical cores (shared with other work), "
        f"Python {platform.python_version()} |",
        f"| input | {args.files:,} files x {args.records} flat performance records = {rows:,} rows, "
        f"{nbytes / 1e6:,.1f} MB, page cache warm |",
        "", "| step | median of 3 | runs |", "| --- | --- | --- |",
    ]
    lines += [f"| {label} | {seconds:.2f} s | {', '.join(f'{r:.2f}' for r in runs_)} |" for label, seconds, runs_ in steps]
    lines += [
        "",
        f"- Sum of the unavoidable steps at their fastest (start-up + reading and hashing on 2 threads + the parallel "
        f"parse + the insert): **{floor:.2f} s**, before converting the files for that parser "
        f"({convert:.2f} s here), validation, de-duplication, dimensions, the ledger and quarantine.",
        f"- Time allowed by the 1.5x target against this run's `read_json_auto` (+ the same start-up): "
        f"**{budget:.2f} s**.",
        f"- Read on one thread: {read:.2f} s.",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
