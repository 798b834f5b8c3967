"""Where an ingest at the speed of ``read_json_auto`` would have to find its time (issue 17).

Times, on the messy records of ``bench_ingest.py`` (1M flat performance records in 10,000 files by default),
what each candidate way of reading them costs before any rule runs, and what each step of today's pipeline
costs per record, so the gap to ``read_json_auto`` can be read as a CPU budget:

1. DuckDB: ``read_json_auto`` into a table (the goal's yardstick); ``read_json_objects`` (each record as
   JSON text); the same with ``from_json`` into the typed fields; with ``json_keys`` added (explicit columns
   drop another tool's key spellings silently, so a record's keys must be looked at); ``read_json`` with the
   fields as explicit typed columns; fetching the typed fields into pandas. Each in a fresh in-memory
   database, with DuckDB's threads and with one.
2. Today's pipeline on one core, one chunk of files after another: reading, the CID, orjson,
   the columns and their coercion, the pandera models' checks, the rest of validation, pickling a chunk to
   the writer and back, and the writer.

    uv run python benchmarks/bench_ingest_routes.py [--files 10000] [--records 100] [--messy 0.02] [--chunks 4]

Results go to benchmarks/results/ingest_routes.md (newest first), naming the machine, the commit and the date.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import REPO, cpu_model, generate, prepend_results  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "ingest_routes.md"

# The fields the generated records carry, typed as the pandera model types them.
TYPED_FIELDS = {
    "model_name": "VARCHAR", "hardware_type": "VARCHAR", "device_name": "VARCHAR", "memory_gb": "DOUBLE",
    "batch_size": "BIGINT", "sequence_length": "BIGINT", "precision": "VARCHAR", "test_case": "VARCHAR",
    "average_latency_ms": "DOUBLE", "latency_p50_ms": "DOUBLE", "latency_p90_ms": "DOUBLE",
    "latency_p99_ms": "DOUBLE", "throughput_items_per_second": "DOUBLE", "memory_peak_mb": "DOUBLE",
    "iterations": "BIGINT", "timestamp": "VARCHAR",
}


def duckdb_routes(files_glob: str, threads: int) -> list[tuple[str, float]]:
    import duckdb
    import pandas  # noqa: F401  (imported before the clock starts: the fetch into pandas needs it)

    struct = "{" + ", ".join(f'"{k}": "{v}"' for k, v in TYPED_FIELDS.items()) + "}"
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in TYPED_FIELDS.items()) + "}"
    objects = f"read_json_objects('{files_glob}', format = 'array')"
    routes = [
        ("`read_json_auto` into a table", f"SELECT * FROM read_json_auto('{files_glob}')"),
        ("`read_json_objects` (each record as JSON text)", f"SELECT json FROM {objects}"),
        ("... + `from_json` into the typed fields", f"SELECT from_json(json, '{struct}') AS r FROM {objects}"),
        ("... + `json_keys` of each record", f"SELECT from_json(json, '{struct}') AS r, json_keys(json) AS k FROM {objects}"),
        ("`read_json` with the fields as explicit typed columns",
         f"SELECT * FROM read_json('{files_glob}', format = 'array', columns = {columns}, ignore_errors = true)"),
    ]
    out = []
    for label, sql in routes:
        with duckdb.connect() as conn:
            conn.execute(f"SET threads = {threads}")
            start = time.perf_counter()
            conn.execute(f"CREATE TABLE t AS {sql}")
            out.append((label, time.perf_counter() - start))
            if label.startswith("... + `from_json` into"):
                start = time.perf_counter()
                conn.execute("SELECT unnest(r) FROM t").df()
                out.append(("fetching those typed fields into pandas", time.perf_counter() - start))
    return out


def pipeline_steps(root: Path, chunks: int) -> tuple[int, dict[str, float]]:
    """Seconds per step of today's pipeline over the first ``chunks`` chunks, on this core alone."""
    import benchmark_pipeline.lib.ingest.batch as batch
    import benchmark_pipeline.lib.ingest.records as records
    import benchmark_pipeline.lib.ingest.validate as validate
    from benchmark_pipeline.lib.ingest.parallel import chunk_files, paused_gc
    from benchmark_pipeline.lib.warehouse.connection import open_writer
    from benchmark_pipeline.lib.warehouse.load import BatchWriter

    spent: dict[str, float] = defaultdict(float)

    def timed(module, name: str, step: str) -> None:
        inner = getattr(module, name)

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[step] += time.perf_counter() - start
        setattr(module, name, wrapper)

    timed(batch, "read_regular_file", "read the bytes")
    timed(batch, "cid_of_bytes", "CID (from the sha256)")
    timed(batch, "parse_json_bytes", "parse (orjson)")
    timed(records, "_canonical_columns", "columns and coercion")
    timed(validate, "normalize_category", "normalize (columns and coercion included)")
    timed(validate, "_pandera_failures", "the pandera models' checks")
    timed(batch, "_validate_isolating", "validate (normalize and checks included)")
    files = batch.discover([str(root)]).files
    now = datetime.now(timezone.utc)
    parts, n_records = [], 0
    with paused_gc():
        start = time.perf_counter()
        for chunk in chunk_files(files)[:chunks]:
            parts.append(batch.read_and_validate(chunk, seen_at=now))
            n_records += int(parts[-1].files["records_total"].sum())
        spent["worker, all steps"] = time.perf_counter() - start
    start = time.perf_counter()
    blobs = [pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL) for part in parts]
    parts = [pickle.loads(blob) for blob in blobs]
    spent["pickle to the writer and back"] = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        with open_writer(Path(tmp) / "w.duckdb") as conn:
            start = time.perf_counter()
            with BatchWriter(conn, "bench", now) as writer:
                for part in parts:
                    writer.write(part)
            spent["writer (plan, dimensions, facts, ledger, quarantine, commit)"] = time.perf_counter() - start
    return n_records, dict(spent)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--messy", type=float, default=0.02)
    parser.add_argument("--chunks", type=int, default=4, help="chunks of files timed through today's pipeline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=REPO / "benchmarks") as tmp_name:
        root = Path(tmp_name) / "drop"
        size = generate(root, args.files, args.records, messy=args.messy)
        total = args.files * args.records
        files_glob = f"{root}/**/*.json"
        routes = {threads: duckdb_routes(files_glob, threads) for threads in (os.cpu_count() or 1, 1)}
        n_records, steps = pipeline_steps(root, args.chunks)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    lines = [
        "# Ingest routes: what reading the records costs before any rule, and today's steps per record", "",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical cores (shared with other work)",
        f"- commit: {commit}; date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- input: {args.files:,} files x {args.records} flat performance records = {total:,} records, "
        f"{size / 1e6:.1f} MB, {args.messy:.0%} messy (`bench_ingest.generate`); page cache warm",
        f"- command: `uv run python benchmarks/bench_ingest_routes.py --files {args.files} --records {args.records} "
        f"--messy {args.messy} --chunks {args.chunks}`", "",
        f"| DuckDB route, all {total:,} records | {os.cpu_count()} threads | 1 thread |", "| --- | --- | --- |",
    ]
    many, one = routes[os.cpu_count() or 1], routes[1]
    lines += [f"| {label} | {a:.2f} s | {b:.2f} s |" for (label, a), (_, b) in zip(many, one)]
    lines += ["", f"Today's pipeline, one core, {n_records:,} records ({args.chunks} chunks): time per record "
              "(nested steps are included in the lines below them)", "",
              "| step | seconds | us per record |", "| --- | --- | --- |"]
    lines += [f"| {step} | {seconds:.2f} | {seconds / n_records * 1e6:.1f} |" for step, seconds in steps.items()]
    text = "\n".join(lines) + "\n"
    prepend_results(RESULTS, text)
    print(text)


if __name__ == "__main__":
    main()
