"""Throughput of robust-mode flagging: 10,000 series x 500 points through ``detect_flags``.

    uv run python benchmarks/bench_regressions.py [--series 10000] [--points 500] [--runs 3] [--workers 2]

Writes benchmarks/results/regressions.md (machine, date, commit, median of the runs). The series
are seeded noise with steps and spikes, so the detector does the work it does on real data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmark_pipeline.lib.changepoint.flags import detect_flags  # noqa: E402


def make_points(series: int, points: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = 100 * (1 + 0.02 * rng.standard_normal((series, points)))
    for s in range(series):
        for at in rng.integers(20, points - 5, int(rng.integers(0, 3))):
            values[s, at:] *= 1 + rng.choice([-1, 1]) * rng.choice([0.05, 0.1, 0.2])
        values[s, rng.integers(0, points, int(rng.integers(0, 3)))] *= 1.5
    metrics = np.array(["average_latency_ms", "throughput_items_per_second"])
    return pd.DataFrame({
        "series_key": np.repeat([f"model{s // 2}|cuda|bs8" for s in range(series)], points),
        "metric": np.repeat(metrics[np.arange(series) % 2], points),
        "run_id": np.arange(series * points),
        "run_time": np.tile(pd.date_range("2024-01-01", periods=points, freq="h").to_numpy(), series),
        "value": values.ravel(),
    })


def machine() -> str:
    model, cores = "unknown", 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            if line.startswith("processor"):
                cores += 1
    except OSError:
        pass
    return f"{model}, {cores or os.cpu_count()} logical cores"


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "regressions.md")
    args = parser.parse_args(argv)

    frame = make_points(args.series, args.points, seed=7)
    timings, flags = [], None
    for run in range(args.runs):
        started = time.perf_counter()
        flags = detect_flags(frame, mode="robust", workers=args.workers)
        timings.append(time.perf_counter() - started)
        print(f"run {run + 1}: {timings[-1]:.1f} s", file=sys.stderr)
    median = statistics.median(timings)
    counts = flags["kind"].value_counts().to_dict()
    lines = [
        "# Regression detection benchmark",
        "",
        f"`benchmarks/bench_regressions.py`: robust mode (defaults: window 50, p 0.0001, min run 2, GESD "
        f"max 10 / alpha 0.05 on rolling-median residuals) through `detect_flags` on {args.series:,} series x "
        f"{args.points} points ({args.series * args.points:,} points; seeded noise with 0-2 steps and 0-2 "
        f"spikes per series), {args.workers} worker process(es).",
        "",
        "| what | value |",
        "| --- | --- |",
        f"| machine | {machine()} |",
        f"| date | {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} |",
        f"| commit | {commit()} |",
        f"| workers | {args.workers} |",
        f"| runs | {', '.join(f'{t:.1f} s' for t in timings)} |",
        f"| **median** | **{median:.1f} s** ({1000 * median / args.series:.2f} ms per series; budget 60 s) |",
        f"| flags | {', '.join(f'{k}: {v:,}' for k, v in sorted(counts.items()))} |",
        "",
        "The machine is shared with other work, so figures vary by a few seconds between runs.",
        "",
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
