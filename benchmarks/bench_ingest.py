"""Ingest throughput against DuckDB's own ``read_json_auto`` over the same files, in the same run.

Issue 17 sets the goal at >= 1.0x ``read_json_auto`` rows/s with peak memory <= 1.5 GB for 1,000,000
flat performance records in 10,000 JSON files of 100 records, about 2 % of them messy and spread over
most files (another tool's key spellings, epoch times, invalid values, missing names: ``--messy``). The
ingest's time is the whole process from start to committed facts, every record validated, quarantine,
ledger, provenance and CIDs included; the derived-table refresh that runs before its commit is timed
apart (the ingest prints it) and subtracted. Both sides run as fresh processes (imports included) on a
warm page cache and Python's bytecode cache, alternating, each into a fresh database; medians of the
repeats are reported. Memory is the peak total PSS of the whole process tree (the ingest's worker
processes included, shared pages counted once), sampled every 50 ms in one more run of each side (the
sampling itself takes CPU, so the timed runs are not watched); the largest single process's peak RSS
from ``/usr/bin/time -v`` is reported next to it. ``--profile`` adds where one process's time goes (cProfile of the same ingest on
one worker). The same run can also time ``benchmark_job`` over the same files, one sensor tick over
100,000 files with a 100,000-row ledger, and ``benchmark-db --help``.

    uv run python benchmarks/bench_ingest.py [--files 10000] [--records 100] [--messy 0.02] [--repeats 3]
        [--profile] [--skip-job] [--skip-sensor]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "ingest.md"
BIN = Path(sys.executable).parent
TARGET_RATIO = 1.0
TARGET_RSS_MB = 1536
MODELS = [f"model-{i:02d}" for i in range(40)]
HARDWARE = [("cuda", "NVIDIA A100-SXM4-80GB", 80), ("cuda", "NVIDIA H100", 80), ("rocm", "MI300X", 192),
            ("cpu", "AMD EPYC 9654", 512), ("mps", "Apple M3 Max", 64), ("openvino", "Intel Arc A770", 16)]


def _mess_up(record: dict, rng: random.Random) -> dict:
    """One way a real drop goes wrong: another tool's key spelling or time format (stored after coercion),
    an invalid value or a missing name (quarantined with its reason)."""
    kind = rng.randrange(6)
    if kind == 0:  # alternative key spellings
        record["latency_ms"] = record.pop("average_latency_ms")
        record["model"] = record.pop("model_name")
    elif kind == 1:
        record["throughput"] = record.pop("throughput_items_per_second")
    elif kind == 2:  # epoch seconds instead of ISO 8601
        record["timestamp"] = int(dt.datetime.fromisoformat(record["timestamp"]).timestamp())
    elif kind == 3:  # a value no rule accepts
        record["average_latency_ms"] = -record["average_latency_ms"]
    elif kind == 4:
        record["batch_size"] = "large"
    else:  # no model name
        del record["model_name"]
    return record


def generate(root: Path, files: int, records: int, seed: int = 7, messy: float = 0.0) -> int:
    """Flat performance records, 100 files per directory; returns the bytes written.

    ``messy``: the share of records spoilt by ``_mess_up`` (picked at random, so spread over most files).
    """
    rng = random.Random(seed)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    total = 0
    for f in range(files):
        directory = root / "performance" / f"d{f // 100:03d}"
        directory.mkdir(parents=True, exist_ok=True)
        rows = []
        for r in range(records):
            hw_type, device, mem = HARDWARE[(f + r) % len(HARDWARE)]
            latency = rng.uniform(1, 200)
            rows.append({
                "model_name": MODELS[(f * 7 + r) % len(MODELS)], "hardware_type": hw_type, "device_name": device,
                "memory_gb": mem, "batch_size": 2 ** (r % 6), "sequence_length": 128 * (1 + r % 4),
                "precision": ("fp32", "fp16", "int8")[r % 3], "test_case": "inference",
                "average_latency_ms": round(latency, 4), "latency_p50_ms": round(latency * 0.95, 4),
                "latency_p90_ms": round(latency * 1.2, 4), "latency_p99_ms": round(latency * 1.5, 4),
                "throughput_items_per_second": round(1000 / latency * 2 ** (r % 6), 4),
                "memory_peak_mb": round(rng.uniform(200, 8000), 2), "iterations": 100,
                "timestamp": (base + dt.timedelta(seconds=f * 60 + r)).isoformat(),
            })
            if messy and rng.random() < messy:
                _mess_up(rows[-1], rng)
        data = json.dumps(rows).encode()
        (directory / f"run_{f:05d}.json").write_bytes(data)
        total += len(data)
    return total


def _tree_pss_mb(root: int) -> float:
    """Proportional set size (MB) of a process and all its descendants: shared pages counted once."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
    return total / 1024


def timed_process(command: list[str], env: dict | None = None, cwd: Path | None = None,
                  sample_tree: bool = True) -> tuple[float, int, str, int]:
    """Wall seconds, peak RSS (MB) of the largest single process (``/usr/bin/time -v``), output, and the
    peak total PSS (MB) of the whole process tree, workers included (sampled every 50 ms; 0 unless
    ``sample_tree``: the sampling takes CPU from the process it watches, 1-4 s of a 19 s ingest here)."""
    start = time.perf_counter()
    proc = subprocess.Popen(["/usr/bin/time", "-v", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=cwd)
    peak_tree = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not done.is_set():
            peak_tree = max(peak_tree, _tree_pss_mb(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    if sample_tree:
        sampler.start()
    stdout, stderr = proc.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    if sample_tree:
        sampler.join()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{command[:3]} failed ({proc.returncode}): {stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr).group(1)) // 1024
    return elapsed, rss, stdout + stderr, round(peak_tree)


def count_rows(db: Path, table: str) -> int:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def sensor_tick_seconds(work: Path, n_files: int, repeats: int) -> tuple[float, int, list[float]]:
    """One tick of the drop-folder sensor over n_files already in a ledger of n_files rows."""
    import dagster as dg

    from benchmark_pipeline.defs.ingest.sensors import DropWatch, result_files_sensor
    from benchmark_pipeline.defs.resources import DataDirs, WarehouseResource
    from benchmark_pipeline.lib.warehouse.connection import open_writer

    data = work / "sensor_data"
    incoming = data / "incoming" / "performance"
    for i in range(n_files):
        directory = incoming / f"d{i // 1000:03d}"
        if i % 1000 == 0:
            directory.mkdir(parents=True, exist_ok=True)
        (directory / f"r{i:06d}.json").write_bytes(b"[]")
    db = work / "sensor.duckdb"
    with open_writer(db) as conn:
        conn.execute(
            "INSERT INTO ingestion_ledger (source_path, sha256, size_bytes, status, first_seen_at, status_changed_at, "
            "ingestion_run_id) SELECT ? || '/d' || lpad(CAST(i // 1000 AS VARCHAR), 3, '0') || '/r' || "
            "lpad(CAST(i AS VARCHAR), 6, '0') || '.json', md5(CAST(i AS VARCHAR)), 2, 'not a result', now(), now(), 'b' "
            "FROM range(?) t(i)", [str(incoming.resolve()), n_files])
    times, requested = [], 0
    with dg.instance_for_test() as instance:
        for _ in range(repeats):
            context = dg.build_sensor_context(instance=instance, cursor=None, resources={
                "data_dirs": DataDirs(root=str(data)), "warehouse": WarehouseResource(db_path=str(db)),
                "drop_watch": DropWatch(settle_s=0)})
            start = time.perf_counter()
            result = result_files_sensor(context)
            times.append(time.perf_counter() - start)
            requested = len(result.run_requests or [])
    shutil.rmtree(data)
    return statistics.median(times), requested, times


def prepend_results(path: Path, text: str) -> None:
    """Write this run's ``text`` at the top of ``path``, the runs before it kept below "## Earlier runs"."""
    path.parent.mkdir(parents=True, exist_ok=True)
    newest, _, earlier = (path.read_text() if path.exists() else "").partition("## Earlier runs")
    kept = "\n\n".join(part.strip() for part in (newest, earlier) if part.strip())
    path.write_text(text + (f"\n## Earlier runs\n\n{kept}\n" if kept else ""))


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def stored_and_quarantined(db: Path) -> tuple[int, int]:
    """Rows stored and records quarantined (each record once, whatever number of its fields failed)."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM performance_results), "
            "(SELECT count(*) FROM (SELECT DISTINCT source_path, record_index FROM quarantine "
            "WHERE record_index IS NOT NULL))").fetchall()[0]


def refresh_seconds(output: str) -> float:
    """The derived-table refresh time the ingest prints on its last line."""
    found = re.search(r"derived tables refreshed in ([0-9.]+) s", output)
    return float(found.group(1)) if found else 0.0


# Where one process's time goes: (label, function names as cProfile lists them, cumulative seconds summed).
PROFILE_STEPS = [
    ("read files (bytes, sha256, CID)", ("read_regular_file", "cid_of_bytes")),
    ("parse JSON (orjson)", ("parse_json_bytes",)),
    ("columns and coercion (RawColumns, fast path, value-by-value fall-back)", ("_canonical_columns",)),
    ("hardware type, extra keys, children", ("_canonical_hardware", "_extra_json", "_child_frame")),
    ("rules: vectorised checks of the pandera models, pandera on suspect rows", ("_pandera_failures",)),
    ("run times, quarantine rows, exact duplicates", ("_resolve_run_time", "_quarantine_frame",
                                                     "_drop_exact_duplicates")),
    ("warehouse write (plan, dimensions, facts, ledger, quarantine)", ("write",)),
    ("derived-table refresh", ("refresh_derived",)),
]


def profile_ingest(drop: Path, work: Path) -> tuple[float, list[tuple[str, float]], list[str]]:
    """cProfile of one ingest in this process on one worker: total, per step, and the top functions."""
    import cProfile
    import io
    import pstats

    from benchmark_pipeline.service import BenchmarkService

    db = work / "profile.duckdb"
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    BenchmarkService(db).ingest_paths([str(drop)], workers=1)
    profiler.disable()
    total = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    cumulative: dict[str, float] = {}
    for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        if "benchmark_pipeline" in filename:
            key = "write" if name == "write" and filename.endswith("load.py") else name
            cumulative[key] = cumulative.get(key, 0.0) + ct
    steps = [(label, sum(cumulative.get(n, 0.0) for n in names)) for label, names in PROFILE_STEPS]
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(12)
    top = [line for line in text.getvalue().splitlines() if re.match(r"\s+\d", line)]
    db.unlink(missing_ok=True)
    return total, steps, top


def floor_line() -> str:
    floor = REPO / "benchmarks" / "results" / "ingest_floor.md"
    found = re.search(r"Sum of the unavoidable steps[^*]*\*\*([0-9.]+ s)\*\*", floor.read_text()) if floor.exists() else None
    return found.group(1) if found else "not measured"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--messy", type=float, default=0.02, help="share of records spoilt (default 0.02)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sensor-files", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="also profile one ingest in process")
    parser.add_argument("--skip-job", action="store_true", help="do not time benchmark_job")
    parser.add_argument("--skip-sensor", action="store_true", help="do not time the sensor tick and --help")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir, removed)")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    drop = data / "incoming"
    rows = args.files * args.records
    print(f"generating {args.files} files x {args.records} records ({args.messy:.0%} messy) in {drop}", file=sys.stderr)
    shutil.rmtree(drop, ignore_errors=True)
    nbytes = generate(drop, args.files, args.records, messy=args.messy)
    subprocess.run(["cat", *map(str, drop.rglob("*.json"))], stdout=subprocess.DEVNULL, check=True)  # warm cache

    # Python writes its bytecode cache as on a user's machine (this sandbox sets PYTHONDONTWRITEBYTECODE, which
    # made every run compile ~120 of our modules again: 0.3 s), and one small untimed ingest writes it first.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    warm = work / "warm_up"
    first = next(drop.rglob("*.json"))
    (warm / first.parent.relative_to(drop)).mkdir(parents=True, exist_ok=True)
    shutil.copy(first, warm / first.relative_to(drop))
    timed_process([str(BIN / "benchmark-db"), "ingest", str(warm), "--db-path", str(work / "warm_up.duckdb")], env)
    ingest_cmd = [str(BIN / "benchmark-db"), "ingest", str(drop), "--db-path", "{db}"]
    duck_sql = f"CREATE TABLE t AS SELECT * FROM read_json_auto('{drop}/**/*.json')"
    duck_cmd = [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); c.execute(sys.argv[2]); "
                "print(c.execute('SELECT count(*) FROM t').fetchall()[0][0])", "{db}", duck_sql]
    ours, theirs = [], []
    stored = quarantined = 0

    def run(label: str, template: list[str], name: str, sample_tree: bool) -> tuple[float, int, int, float]:
        nonlocal stored, quarantined
        db = work / f"{label}_{name}.duckdb"
        command = [str(db) if part == "{db}" else part for part in template]
        seconds, rss, output, tree = timed_process(command, env, sample_tree=sample_tree)
        if label == "ingest":
            stored, quarantined = stored_and_quarantined(db)
            got, refresh = stored + quarantined, refresh_seconds(output)
        else:
            got, refresh = count_rows(db, "t"), 0.0
        if got != rows:
            raise RuntimeError(f"{label}: {got} rows stored or quarantined, expected {rows}")
        print(f"{label} run {name}: {seconds:.2f} s ({refresh:.2f} s of it the derived refresh), "
              f"{rows / (seconds - refresh):,.0f} rows/s, peak RSS {rss} MB, peak tree PSS {tree} MB", file=sys.stderr)
        db.unlink()
        Path(str(db) + ".lock").unlink(missing_ok=True)
        return seconds - refresh, rss, tree, refresh

    # Timed runs unwatched; then one run of each watched for the memory of its whole process tree.
    commands = (("ingest", ingest_cmd, ours), ("read_json_auto", duck_cmd, theirs))
    for i in range(args.repeats):
        for label, template, bucket in commands:
            bucket.append(run(label, template, str(i + 1), sample_tree=False))
    tree_peak = {label: run(label, template, "memory", sample_tree=True)[2] for label, template, _ in commands}

    profile = profile_ingest(drop, work) if args.profile else None

    job = None
    if not args.skip_job:
        home = work / "dagster_home"
        home.mkdir(exist_ok=True)
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
        job_env = {**env, "DAGSTER_HOME": str(home), "BENCHMARK_DATA_DIR": str(data),
                   "BENCHMARK_DB_PATH": str(work / "job.duckdb")}
        seconds, rss, out, tree = timed_process([str(BIN / "dagster"), "job", "execute", "-m",
                                                 "benchmark_pipeline.definitions", "-j", "benchmark_job"],
                                                job_env, cwd=REPO)
        ok = "RUN_SUCCESS" in out
        job = (seconds, tree, ok, count_rows(work / "job.duckdb", "performance_results") if ok else 0)
        print(f"benchmark_job: {seconds:.1f} s, peak tree PSS {tree} MB, success {ok}", file=sys.stderr)

    tick = None
    if not args.skip_sensor:
        print(f"sensor tick over {args.sensor_files} files", file=sys.stderr)
        tick = sensor_tick_seconds(work, args.sensor_files, 3)
        help_times = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([str(BIN / "benchmark-db"), "--help"], capture_output=True, check=True)
            help_times.append(time.perf_counter() - start)

    ours_rate = statistics.median(rows / s for s, _, _, _ in ours)
    theirs_rate = statistics.median(rows / s for s, _, _, _ in theirs)
    ratio = ours_rate / theirs_rate
    peak = tree_peak["ingest"]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "benchmark_pipeline/lib"], capture_output=True, text=True,
                           cwd=REPO).stdout.strip()
    lines = [
        "# Ingest benchmark", "",
        "Produced by `uv run python benchmarks/bench_ingest.py` (run on demand, not a test). Goal (issue 17): "
        f"`benchmark-db ingest` >= {TARGET_RATIO}x DuckDB `read_json_auto` rows/s on messy records, every record "
        "validated, with peak memory <= 1.5 GB.", "",
        "| what | value |", "| --- | --- |",
        f"| date | {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC |",
        f"| commit | {commit}{' (with uncommitted changes under benchmark_pipeline/lib)' if dirty else ''} |",
        f"| machine | {cpu_model()}, {os.cpu_count()} logical cores (shared with other work), "
        f"Python {platform.python_version()} |",
        f"| input | {args.files:,} files x {args.records} flat performance records = {rows:,} records, "
        f"{nbytes / 1e6:,.1f} MB, {args.messy:.0%} messy; page cache warm; bytecode cache written by an untimed "
        "warm-up ingest |",
        f"| outcome | {stored:,} rows stored, {quarantined:,} records quarantined with their reasons |",
        "| ingest command | `benchmark-db ingest DIR --db-path NEW.duckdb` (fresh process and database per run; "
        "time to committed facts = wall time minus the derived refresh it prints) |",
        "| DuckDB command | `CREATE TABLE t AS SELECT * FROM read_json_auto('DIR/**/*.json')` (fresh process and "
        "database; unchecked: mixed columns land as JSON) |",
        f"| ingest runs | {', '.join(f'{s:.2f} s (+ {r:.2f} s refresh)' for s, _, _, r in ours)} |",
        f"| read_json_auto runs | {', '.join(f'{s:.2f} s' for s, _, _, _ in theirs)} |",
        f"| **ingest median** | **{ours_rate:,.0f} rows/s** |",
        f"| **read_json_auto median** | **{theirs_rate:,.0f} rows/s** |",
        f"| **ratio** | **{ratio:.2f}x** (goal {TARGET_RATIO}x: {'met' if ratio >= TARGET_RATIO else 'NOT met'}) |",
        f"| floor (`ingest_floor.md`: start-up, read and hash, fastest parse, insert and commit) | {floor_line()} |",
        f"| ingest peak memory, all processes | {peak:,} MB PSS (goal <= {TARGET_RSS_MB:,} MB: "
        f"{'met' if peak <= TARGET_RSS_MB else 'NOT met'}); largest single process {max(r for _, r, _, _ in ours):,} MB RSS |",
        f"| read_json_auto peak memory | {tree_peak['read_json_auto']:,} MB PSS, {max(r for _, r, _, _ in theirs):,} MB RSS |",
    ]
    if job:
        lines.append(f"| `dagster job execute -j benchmark_job` | {job[0]:.1f} s, peak memory {job[1]:,} MB PSS, "
                     f"{'RUN_SUCCESS' if job[2] else 'FAILED'}, {job[3]:,} performance rows (ingest, derived tables, "
                     "checks, regression flags, reports and snapshot) |")
    if tick:
        median_tick, tick_requests, tick_runs = tick
        lines += [
            f"| sensor tick, {args.sensor_files:,} files, {args.sensor_files:,}-row ledger | median "
            f"{median_tick:.2f} s ({', '.join(f'{t:.2f}' for t in tick_runs)}); {tick_requests} run requests "
            f"(target <= 2 s: {'met' if median_tick <= 2 else 'NOT met'}) |",
            f"| `benchmark-db --help` | median {statistics.median(help_times):.2f} s of 5 "
            f"(target <= 0.5 s: {'met' if statistics.median(help_times) <= 0.5 else 'NOT met'}) |",
        ]
    if profile:
        total, steps, top = profile
        lines += ["", f"Where one process's time goes (cProfile, the same ingest in process on one worker: {total:.1f} s "
                  "under the profiler; cumulative seconds per step):", "", "| step | seconds | share |", "| --- | --- | --- |"]
        lines += [f"| {label} | {seconds:.2f} | {seconds / total:.0%} |" for label, seconds in steps]
        lines += ["", "Top functions by own time:", "", "```", *top, "```"]
    text = "\n".join(lines) + "\n"
    prepend_results(RESULTS, text)
    print(text)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
