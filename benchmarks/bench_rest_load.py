"""The REST API under load (a benchmark run on demand, not a test): N concurrent clients reading filtered
``/performance`` and the comparisons for a fixed time on loopback, while a 100k-row ingest and a
``benchmark_job`` drop run write into the same warehouse.

Goal (the issue): 0 failed requests, the writers finish, and p99 <= 100 ms for a filtered ``/performance``
read on a 1M-row warehouse.

1. A copy of the cached warehouse of ``--rows`` rows (``bench_front_door.warehouse_of``, under
   benchmarks/work/front_door/; the cache itself is only read) is migrated and served by
   ``benchmark-db serve --db-path COPY`` (BENCHMARK_DB_PATH unset), started as a subprocess; ready at
   ``GET /health`` 200.
2. The load generator is its own process (spawned, so its GIL is not the server's): an asyncio loop with one
   ``httpx2.AsyncClient`` (keep-alive pool of ``--clients`` connections) and ``--clients`` tasks, each looping
   for ``--seconds`` over a mix of requests: ``/performance?model=M&hardware=H&limit=100`` (filtered),
   ``/performance?since=T&limit=100``, ``/compare/hardware?model=M`` and ``/compare/models?hardware=H``,
   models and hardware picked from ``GET /models`` and ``GET /hardware``. Per request: kind, status, latency
   (perf_counter around the whole request), its start time and any ``X-Data-Age`` / ``X-Read-Copy-Age``.
3. Writers (unless ``--no-writers``), separate processes overlapping the load: at t=5 s
   ``benchmark-db ingest DIR --db-path COPY`` over 100,000 new records (1,000 files x 100, generated with
   ``bench_ingest.generate`` and another seed: the cached files-100000 are the same bytes as the files the
   warehouses were built from, so they would be ledgered as duplicates and write nothing), and at t=10 s the
   sensor's 50-record drop run (``bench_front_door.drop_run``: ``dagster job execute -j benchmark_job``).
   A request counts as "during a write" when a writer process was running when it started.

A failed request is a connection error, a timeout (30 s) or a status >= 500 (503 included).

    uv run python benchmarks/bench_rest_load.py [--rows 1000000] [--clients 50] [--seconds 60] [--think-ms 0]
        [--no-writers] [--port 0] [--output benchmarks/results/rest_load.md]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_front_door import WORK, drop_run, env_for, fifty_record_drop, warehouse_of  # noqa: E402
from bench_ingest import BIN, REPO, count_rows, cpu_model, generate, prepend_results  # noqa: E402

DEFAULT_OUTPUT = REPO / "benchmarks" / "results" / "rest_load.md"
GOAL_MS = 100.0
CLIENT_TIMEOUT_S = 30.0
INGEST_AT_S, JOB_AT_S = 5.0, 10.0
INGEST_FILES, INGEST_RECORDS, INGEST_SEED = 1000, 100, 4242
# kind -> weight in the request mix
MIX = {"performance filtered": 4, "performance since": 2, "compare hardware": 2, "compare models": 2}
AGE_HEADERS = ("x-data-age", "x-read-copy-age")
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- the load generator (its own process) ------------------------------------------------------------

def _age_header(headers) -> tuple[str, str] | None:
    for name, value in headers.items():
        lower = name.lower()
        if lower in AGE_HEADERS or lower.startswith("x-read-copy") or lower.startswith("x-data-age"):
            return lower, value
    return None


async def _client_loop(client, index: int, plan: dict, t_start: float, t_end: float, think_s: float,
                       out: list) -> None:
    import httpx2

    rng = random.Random(1000 + index)
    kinds = [k for k, w in MIX.items() for _ in range(w)]
    while time.monotonic() < t_end:
        kind = rng.choice(kinds)
        if kind == "performance filtered":
            url, params = "/performance", {"model": rng.choice(plan["models"]),
                                           "hardware": rng.choice(plan["hardware"]), "limit": 100}
        elif kind == "performance since":
            url, params = "/performance", {"since": plan["since"], "limit": 100}
        elif kind == "compare hardware":
            url, params = "/compare/hardware", {"model": rng.choice(plan["models"])}
        else:
            url, params = "/compare/models", {"hardware": rng.choice(plan["hardware"])}
        if plan.get("uncached"):  # a parameter the server ignores, unique per request: every answer is computed
            params["nocache"] = f"{index}-{time.perf_counter_ns()}"
        started = time.monotonic()
        t0 = time.perf_counter()
        status, error, age, cache = None, None, None, None
        try:
            response = await client.get(url, params=params)
            await response.aread()
            status = response.status_code
            age = _age_header(response.headers)
            cache = response.headers.get("x-cache")
            if status >= 400:
                try:
                    body = response.json()
                    error = f"{body.get('error')}: {body.get('message')}"[:300]
                except ValueError:
                    error = response.text[:300]
        except httpx2.TimeoutException as exc:
            error = f"timeout ({type(exc).__name__})"
        except httpx2.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        latency = time.perf_counter() - t0
        out.append({"kind": kind, "client": index, "start": started, "latency": latency, "status": status,
                    "error": error, "age": age, "cache": cache})
        if think_s:
            await asyncio.sleep(think_s)


async def _load(base_url: str, plan: dict, clients: int, seconds: float, think_s: float, queue) -> list:
    import httpx2

    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(base_url=base_url, timeout=CLIENT_TIMEOUT_S, limits=limits) as client:
        t_start = time.monotonic() + 0.5
        queue.put(("start", t_start))
        await asyncio.sleep(max(0.0, t_start - time.monotonic()))
        out: list = []
        await asyncio.gather(*(_client_loop(client, i, plan, t_start, t_start + seconds, think_s, out)
                               for i in range(clients)))
    return out


def load_process(base_url: str, plan: dict, clients: int, seconds: float, think_s: float, result_path: str,
                 queue) -> None:
    """Runs in a spawned process: the clients, then the per-request records into ``result_path``."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF)
    records = asyncio.run(_load(base_url, plan, clients, seconds, think_s, queue))
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    Path(result_path).write_text(json.dumps({"records": records, "cpu_s": cpu}))


# -- the server and the writers ----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def tree_cpu_s(root: int) -> float:
    """CPU seconds of a live process and its descendants, the children they have already reaped included."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(stat.parent.name)] = fields
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        if pid in stats:
            total += sum(int(v) for v in stats[pid][11:15])  # utime, stime, cutime, cstime
    return total / CLK_TCK


def proc_status(pid: int, key: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return "?"


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def start_server(db: Path, port: int, log: Path, log_level: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "BENCHMARK_DB_PATH"}
    command = [str(BIN / "benchmark-db"), "serve", "--host", "127.0.0.1", "--port", str(port), "--db-path", str(db),
               "--log-level", log_level]
    proc = subprocess.Popen(command, env=env, cwd=db.parent, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    import httpx2

    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}) before answering /health:\n"
                               f"{log.read_text()[-3000:]}")
        try:
            response = httpx2.get(f"http://127.0.0.1:{port}/health", timeout=5)
            if response.status_code == 200:
                return proc
        except httpx2.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the server did not answer /health 200 within 120 s:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Writer:
    """A writer process started at a given time, waited for (with its rusage) in a thread."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.name, self.command, self.env, self.cwd, self.log = name, command, env, cwd, log
        self.start = self.end = None
        self.code = None
        self.cpu_s = None
        self.thread = None
        self.pid = None

    def cpu_so_far(self) -> float:
        """CPU seconds used until now (its whole process tree)."""
        if self.start is None:
            return 0.0
        if self.end is not None:
            return self.cpu_s
        return tree_cpu_s(self.pid)

    def launch(self) -> None:
        self.start = time.monotonic()
        proc = subprocess.Popen(self.command, env=self.env, cwd=self.cwd, stdout=self.log.open("wb"),
                                stderr=subprocess.STDOUT)
        self.pid = proc.pid

        def reap() -> None:
            _, status, usage = os.wait4(proc.pid, 0)
            end = time.monotonic()
            self.code = os.waitstatus_to_exitcode(status)
            proc.returncode = self.code  # reaped here, not by Popen
            self.cpu_s = usage.ru_utime + usage.ru_stime
            self.end = end  # last: ``running`` and ``cpu_so_far`` read it

        self.thread = threading.Thread(target=reap, daemon=True)
        self.thread.start()

    @property
    def running(self) -> bool:
        return self.start is not None and self.end is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


# -- statistics and the report -----------------------------------------------------------------------

def pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def failed(record: dict) -> bool:
    return record["status"] is None or record["status"] >= 500


def ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value * 1000:,.1f}"


def latency_row(label: str, records: list[dict]) -> str:
    latencies = sorted(r["latency"] for r in records)
    bad = sum(failed(r) for r in records)
    return (f"| {label} | {len(records):,} | {bad:,} | {ms(pct(latencies, 0.5))} | {ms(pct(latencies, 0.9))} | "
            f"{ms(pct(latencies, 0.99))} | {ms(latencies[-1] if latencies else float('nan'))} |")


LATENCY_HEAD = ["| kind | requests | failed | p50 ms | p90 ms | p99 ms | max ms |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]


def commit_of() -> str:
    """HEAD's short commit, with "+ uncommitted edits" when the working tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" + uncommitted edits" if git("status", "--porcelain", "--untracked-files=no") else "")


def loadavg() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


# -- main ----------------------------------------------------------------------------------------------

def pick_plan(base_url: str) -> dict:
    import httpx2

    models = httpx2.get(f"{base_url}/models", params={"per_page": 1000}, timeout=60).json()
    hardware = httpx2.get(f"{base_url}/hardware", params={"per_page": 1000}, timeout=60).json()
    model_names = sorted(m["model_name"] for m in models if m.get("performance_results"))
    hardware_types = sorted({h["hardware_type"] for h in hardware if h.get("performance_results")})
    last = max((m["last_run"] for m in models if m.get("last_run")), default=None)
    # since = one day before the newest result: a recent slice, as a dashboard would ask for
    since = "2026-01-01T00:00:00Z"
    if last:
        from datetime import datetime, timedelta

        since = (datetime.fromisoformat(last.replace("Z", "+00:00")) - timedelta(days=1)).isoformat()
    if not model_names or not hardware_types:
        raise RuntimeError(f"no models or hardware to ask for: {models!r:.300} {hardware!r:.300}")
    return {"models": model_names, "hardware": hardware_types, "since": since}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="which cached warehouse (copied, never written)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think-ms", type=float, default=0, help="pause between a client's requests")
    parser.add_argument("--no-writers", action="store_true", help="reads only (a baseline)")
    parser.add_argument("--uncached", action="store_true",
                        help="make every request distinct, so none is answered from the server's cache")
    parser.add_argument("--port", type=int, default=0, help="0: a free one")
    parser.add_argument("--log-level", default="warning", help="the server's uvicorn log level (default warning: "
                        "no access line per request)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    command = (f"uv run python benchmarks/bench_rest_load.py --rows {args.rows} --clients {args.clients} "
               f"--seconds {args.seconds:g} --think-ms {args.think_ms:g}{' --no-writers' if args.no_writers else ''}"
               f"{' --uncached' if args.uncached else ''}"
               + (f" --log-level {args.log_level}" if args.log_level != "warning" else ""))
    load_before = loadavg()

    with tempfile.TemporaryDirectory(prefix="bench_rest_load_") as tmp_name:
        tmp = Path(tmp_name)
        cached = WORK / f"warehouse-{args.rows}.duckdb"
        if not cached.exists():
            print(f"building the cached warehouse of {args.rows:,} rows", file=sys.stderr)
            cached = warehouse_of(args.rows)
        db = tmp / "warehouse.duckdb"
        shutil.copy(cached, db)
        if Path(str(cached) + ".wal").exists():
            shutil.copy(str(cached) + ".wal", str(db) + ".wal")
        from benchmark_pipeline.service import BenchmarkService

        with BenchmarkService(db).writer():  # the copy brought to the current schema, outside the timed part
            pass
        rows_before = count_rows(db, "performance_results")

        writers: list[Writer] = []
        at: dict[str, float] = {}
        if not args.no_writers:
            print(f"generating {INGEST_FILES * INGEST_RECORDS:,} new records to ingest", file=sys.stderr)
            files = tmp / "ingest"
            generate(files, INGEST_FILES, INGEST_RECORDS, seed=INGEST_SEED)
            drop = fifty_record_drop(tmp / "drop")
            config = tmp / "drop.yaml"
            config.write_text(json.dumps({"ops": {"ingested_results": {"config": {"paths": [str(drop)]}}}}))
            ingest_env = {k: v for k, v in os.environ.items() if k != "BENCHMARK_DB_PATH"}
            writers = [
                Writer("ingest", [str(BIN / "benchmark-db"), "ingest", str(files), "--db-path", str(db)],
                       ingest_env, tmp, tmp / "ingest.log"),
                Writer("benchmark_job", drop_run(config), env_for(db, tmp / "job-data", tmp / "job-home"), tmp,
                       tmp / "job.log"),
            ]
            at = {"ingest": INGEST_AT_S, "benchmark_job": JOB_AT_S}

        port = args.port or free_port()
        base_url = f"http://127.0.0.1:{port}"
        server_log = tmp / "server.log"
        print(f"starting the server on {base_url} over a copy of {cached.name} ({rows_before:,} rows)",
              file=sys.stderr)
        server = start_server(db, port, server_log, args.log_level)
        try:
            plan = pick_plan(base_url) | {"uncached": args.uncached}
            ctx = multiprocessing.get_context("spawn")
            queue = ctx.Queue()
            result_path = tmp / "requests.json"
            loader = ctx.Process(target=load_process, args=(base_url, plan, args.clients, args.seconds,
                                                            args.think_ms / 1000, str(result_path), queue))
            loader.start()
            kind, t_start = queue.get(timeout=120)
            assert kind == "start"
            server_cpu0, machine0 = proc_cpu_s(server.pid), machine_cpu()
            load_samples = []
            print(f"{args.clients} clients for {args.seconds:g} s"
                  + ("" if args.no_writers else f"; ingest at +{INGEST_AT_S:g} s, benchmark_job at +{JOB_AT_S:g} s"),
                  file=sys.stderr)
            pending = sorted(writers, key=lambda w: at[w.name])
            t_end = t_start + args.seconds
            while time.monotonic() < t_end or loader.is_alive():
                now = time.monotonic()
                while pending and now >= t_start + at[pending[0].name]:
                    w = pending.pop(0)
                    print(f"  +{now - t_start:.1f} s: starting {w.name}", file=sys.stderr)
                    w.launch()
                load_samples.append(os.getloadavg()[0])
                if now >= t_end and not loader.is_alive():
                    break
                loader.join(0.5)
                if not loader.is_alive() and time.monotonic() >= t_end:
                    break
            t_clients_done = time.monotonic()
            server_cpu1, machine1 = proc_cpu_s(server.pid), machine_cpu()
            writers_cpu_window = sum(w.cpu_so_far() for w in writers)
            if loader.exitcode != 0:
                raise RuntimeError(f"the load generator exited with {loader.exitcode}")
            still_running = [w.name for w in writers if w.running or w.start is None]
            for w in pending:  # --seconds shorter than a writer's start time: start it anyway, late
                w.launch()
            for w in writers:
                w.thread.join()
            t_writers_done = time.monotonic()
            server_peak = proc_status(server.pid, "VmHWM")
            server_threads = proc_status(server.pid, "Threads")
            health = None
            try:
                import httpx2

                health = httpx2.get(f"{base_url}/health", timeout=30).json()
            except Exception as exc:  # noqa: BLE001
                health = {"error": str(exc)}
        finally:
            stop(server)
        load_after = loadavg()
        rows_after = count_rows(db, "performance_results")
        data = json.loads(result_path.read_text())
        records, client_cpu = data["records"], data["cpu_s"]
        server_log_text = server_log.read_text(errors="replace")
        writer_outputs = {w.name: w.output() for w in writers}

    # -- analysis ----------------------------------------------------------------------------------
    intervals = [(w.start, w.end) for w in writers if w.start is not None]
    for r in records:
        r["writing"] = any(start <= r["start"] < end for start, end in intervals)
    elapsed = max(r["start"] + r["latency"] for r in records) - t_start if records else args.seconds
    bad = [r for r in records if failed(r)]
    kinds = list(MIX)
    filtered = sorted(r["latency"] for r in records if r["kind"] == "performance filtered")
    p99_filtered = pct(filtered, 0.99)
    quiet_filtered = sorted(r["latency"] for r in records if r["kind"] == "performance filtered" and not r["writing"])
    p99_quiet = pct(quiet_filtered, 0.99)
    ages = [r["age"] for r in records if r["age"]]
    busy = (machine1[0] - machine0[0]) / max(1, machine1[1] - machine0[1])
    window = t_clients_done - t_start
    ncpu = os.cpu_count() or 1
    server_cores = (server_cpu1 - server_cpu0) / window
    client_cores = client_cpu / window
    writer_cores = writers_cpu_window / window

    lines = [
        f"# REST API under load: {args.clients} clients for {args.seconds:g} s on a {rows_before:,}-row warehouse"
        f"{'' if args.no_writers else ', writers running'}", "",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical cores (shared with other work)",
        f"- commit: {commit_of()}; "
        f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- command: `{command}`",
        f"- machine load: load average (1/5/15 min) {load_before} before, {load_after} after, "
        f"1-min peak {max(load_samples, default=float('nan')):.2f} during; while the clients ran the "
        f"{os.cpu_count()} CPUs were {busy:.0%} busy = {busy * ncpu:.2f} cores: server {server_cores:.2f}, load "
        f"generator {client_cores:.2f}, writers {writer_cores:.2f}, other processes (other work on the machine) "
        f"{max(0.0, busy * ncpu - server_cores - client_cores - writer_cores):.2f}",
        f"- server: `benchmark-db serve --log-level {args.log_level}` (uvicorn, one process, {server_threads} "
        f"threads at the end), peak RSS {server_peak}; CPU {server_cpu1 - server_cpu0:.1f} s during the clients",
        f"- clients: one spawned process, asyncio + httpx2.AsyncClient, {args.clients} tasks over a keep-alive pool of "
        f"{args.clients} connections, think time {args.think_ms:g} ms, timeout {CLIENT_TIMEOUT_S:g} s; mix "
        + ", ".join(f"{k} {w}/{sum(MIX.values())}" for k, w in MIX.items())
        + f" ({len(plan['models'])} models, hardware types {', '.join(plan['hardware'])}, since {plan['since']})",
        "- latency: from the client, perf_counter around the whole request (queueing in the client's event loop "
        "and in the server included); failed = connection error, timeout or status >= 500", "",
        "| what | value |", "| --- | --- |",
        f"| requests | {len(records):,} in {elapsed:.1f} s |",
        f"| **failed** | **{len(bad):,}** |",
        f"| throughput | {len(records) / elapsed:,.1f} req/s |",
        f"| statuses | {', '.join(f'{s}: {n:,}' for s, n in sorted(Counter(str(r['status']) for r in records).items()))} |",
        "| data-age header | " + (f"{ages[0][0]}: max {max(_age_value(a) for a in ages):g} "
                                  f"({len(ages):,} responses carried it)" if ages else "absent (no X-Data-Age / "
                                                                                       "X-Read-Copy-Age)") + " |",
        f"| answered from the server's cache (X-Cache: hit) | "
        f"{sum(r.get('cache') == 'hit' for r in records):,} of {len(records):,}"
        f"{' (every request made distinct: --uncached)' if args.uncached else ''} |",
        f"| performance rows | {rows_before:,} before, {rows_after:,} after |",
        f"| **goal: p99 of filtered /performance <= {GOAL_MS:g} ms** | **{'met' if p99_filtered * 1000 <= GOAL_MS else 'not met'}** "
        f"({ms(p99_filtered)} ms over the whole run; {ms(p99_quiet)} ms with no writer running) |", "",
        "Latency per endpoint kind, whole run:", "", *LATENCY_HEAD,
        latency_row("**all**", records), *(latency_row(k, [r for r in records if r["kind"] == k]) for k in kinds), "",
    ]
    if writers:
        lines += ["By whether a writer process was running when the request started:", "",
                  "| phase | kind | requests | failed | p50 ms | p90 ms | p99 ms | max ms |",
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for phase, flag in (("no writer running", False), ("during a write", True)):
            subset = [r for r in records if r["writing"] == flag]
            lines.append(latency_row(f"{phase} | **all**", subset))
            lines += [latency_row(f"{phase} | {k}", [r for r in subset if r["kind"] == k]) for k in kinds]
        lines += ["", "| writer | started | wall | exit code | CPU (process tree) | outcome |",
                  "| --- | ---: | ---: | ---: | ---: | --- |"]
        for w in writers:
            lines.append(f"| `{' '.join(_short(w.command))}` | +{w.start - t_start:.1f} s | {w.end - w.start:.1f} s | "
                         f"{w.code} | {w.cpu_s:.1f} s ({w.cpu_s / (w.end - w.start):.2f} cores) | "
                         f"{_outcome(w.name, writer_outputs[w.name])} |")
        if still_running:
            lines.append(f"\nStill running when the clients stopped (waited for): {', '.join(still_running)}; "
                         f"the last writer ended {t_writers_done - t_clients_done:+.1f} s after the clients.")
        lines.append("")
    if bad:
        lines += ["Failed requests by status and message:", "", "| kind | status | message | count |",
                  "| --- | --- | --- | ---: |"]
        for (kind, status, error), n in Counter((r["kind"], r["status"], (r["error"] or "")[:160])
                                                for r in bad).most_common(10):
            lines.append(f"| {kind} | {status} | {error.replace('|', '/')} | {n:,} |")
        lines.append("")
    other = Counter((r["status"], (r["error"] or "")[:160]) for r in records
                    if not failed(r) and r["status"] >= 400)
    if other:
        lines += ["Other non-2xx answers (not counted as failed): "
                  + "; ".join(f"{s} x{n} ({e})" for (s, e), n in other.most_common(5)), ""]
    errors = [line for line in server_log_text.splitlines() if "Traceback" in line or "ERROR" in line]
    if errors:
        lines += [f"Server log: {len(errors)} error lines, the first: `{errors[0][:200]}`", ""]
    if health and health.get("status") != "ok":
        lines += [f"Health after the run: `{json.dumps(health)[:300]}`", ""]
    text = "\n".join(lines) + "\n"
    prepend_results(args.output, text)
    print(text)


def _age_value(age: tuple[str, str]) -> float:
    try:
        return float(age[1].strip().rstrip("s"))
    except ValueError:
        return float("nan")


def _short(command: list[str]) -> list[str]:
    out = []
    for part in command:
        if part.startswith("/"):
            part = Path(part).name
        out.append(part)
    return out[:6] + (["…"] if len(out) > 6 else [])


def _outcome(name: str, output: str) -> str:
    if name == "benchmark_job":
        if "RUN_SUCCESS" in output:
            return "RUN_SUCCESS"
        errors = [line.strip() for line in output.splitlines()
                  if re.match(r"\s*[A-Za-z_.]*(Error|Exception)\b.*:", line) and "DagsterExecutionStep" not in line]
        return (("RUN_FAILURE" if "RUN_FAILURE" in output else "?")
                + (f": `{errors[0][:160].replace('|', '/')}`" if errors else ""))
    tail = [line.strip() for line in output.splitlines() if line.strip()]
    waited = [line for line in tail if "waiting for the writer lock" in line]
    return ((tail[-1][:160].replace("|", "/") if tail else "")
            + (f"; it waited: {waited[0][:160].replace('|', '/')}" if waited else ""))


if __name__ == "__main__":
    main()
