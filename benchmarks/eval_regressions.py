"""F1 of the change-point detector on labelled synthetic benchmark series, per mode and setting.

Used to pick robust mode's defaults (docs/regression_detection.md shows the table and how to read
it). Every series is generated from a fixed seed, so the table is reproducible:

    uv run python benchmarks/eval_regressions.py [--series 400] [--seed 20240501]

Scenarios (cycled): 1-3 steps of 5-30 %, a ramp of 10-30 % over 4-10 runs, 1-4 spikes of 30-60 %,
a 2-run blip of 20-40 % that comes back, steps with spikes, pure noise, and a *fresh* step of
10-30 % in the last 2-8 runs (a regression that has just landed: what persistence delays). Noise is
Gaussian or Student-t(3) (scaled to the same stdev) with a coefficient of variation of 1, 2 or 5 %;
series have 120-300 runs.

A detected change matches a true one within +-3 runs (for a ramp, anywhere from 3 before its start
to 3 after its end); each true change matches at most one detection and every other detection is
a false positive. Spikes and blip runs are the labelled outliers; a change found on them is a false
positive. Outlier scores are split by noise, since Gaussian-based GESD also flags Student-t tails
that no label marks.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmark_pipeline.lib.changepoint.robust import detect  # noqa: E402

TOLERANCE = 3
SCENARIOS = ("step", "ramp", "spike", "blip", "step+spike", "noise", "fresh")
NOISE_CVS = (0.01, 0.02, 0.05)


@dataclass
class Labelled:
    values: np.ndarray
    scenario: str
    noise: str
    changes: list[tuple[int, int]] = field(default_factory=list)  # (first, last) index of each change
    spikes: list[int] = field(default_factory=list)


def _positions(rng: np.random.Generator, n: int, count: int, gap: int, margin: int) -> list[int]:
    for _ in range(1000):
        picks = sorted(int(p) for p in rng.integers(margin, n - margin, count))
        if all(b - a >= gap for a, b in zip(picks, picks[1:])):
            return picks
    return [n // 2]


def make_series(rng: np.random.Generator, scenario: str, cv: float, heavy_tails: bool) -> Labelled:
    n = int(rng.integers(120, 301))
    level = np.full(n, float(rng.uniform(100, 10_000)))
    noise = rng.standard_t(3, n) / np.sqrt(3.0) if heavy_tails else rng.standard_normal(n)
    out = Labelled(np.empty(0), scenario, f"{'t3' if heavy_tails else 'gauss'} cv={cv:.0%}")
    if scenario in ("step", "step+spike"):
        for at in _positions(rng, n, int(rng.integers(1, 4)), gap=25, margin=12):
            level[at:] *= 1 + rng.choice([-1, 1]) * rng.choice([0.05, 0.1, 0.2, 0.3])
            out.changes.append((at, at))
    if scenario == "ramp":
        at = _positions(rng, n, 1, gap=0, margin=20)[0]
        span = int(rng.integers(4, 11))
        target = 1 + rng.choice([-1, 1]) * rng.choice([0.1, 0.2, 0.3])
        level[at : at + span] *= np.linspace(1, target, span + 2)[1:-1]
        level[at + span :] *= target
        out.changes.append((at, at + span))
    if scenario == "fresh":
        at = n - int(rng.integers(2, 9))
        level[at:] *= 1 + rng.choice([-1, 1]) * rng.choice([0.1, 0.2, 0.3])
        out.changes.append((at, at))
    values = level * (1 + cv * noise)
    if scenario in ("spike", "step+spike"):
        taken = {c for ch in out.changes for c in range(ch[0] - 2, ch[1] + 3)}
        free = [i for i in range(2, n - 2) if i not in taken]
        for at in sorted(int(i) for i in rng.choice(free, int(rng.integers(1, 5)), replace=False)):
            values[at] *= 1 + rng.choice([-1, 1]) * rng.uniform(0.3, 0.6)
            out.spikes.append(at)
    if scenario == "blip":
        at = _positions(rng, n, 1, gap=0, margin=15)[0]
        values[at : at + 2] *= 1 + rng.choice([-1, 1]) * rng.uniform(0.2, 0.4)
        out.spikes.extend([at, at + 1])
    out.values = values
    return out


def make_corpus(count: int, seed: int) -> list[Labelled]:
    rng = np.random.default_rng(seed)
    combos = list(itertools.product(SCENARIOS, NOISE_CVS, (False, True)))
    return [make_series(rng, *combos[i % len(combos)]) for i in range(count)]


def match_changes(truth: list[tuple[int, int]], found: list[int]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives), one detection per true change."""
    unused = sorted(found)
    tp = 0
    for first, last in truth:
        near = [f for f in unused if first - TOLERANCE <= f <= last + TOLERANCE]
        if near:
            unused.remove(min(near, key=lambda f: abs(f - first)))
            tp += 1
    return tp, len(unused), len(truth) - tp


def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, score


def evaluate(corpus: list[Labelled], mode: str, **options) -> dict[str, float]:
    """Change scores over settled changes, fresh steps alone, and both (what a user sees today)."""
    cp = np.zeros(3, dtype=int)
    fresh = np.zeros(3, dtype=int)
    everything = np.zeros(3, dtype=int)
    outliers = {"gauss": np.zeros(3, dtype=int), "t3": np.zeros(3, dtype=int)}
    quiet_series = quiet_alarms = 0
    started = time.perf_counter()
    for item in corpus:
        result = detect(item.values, mode=mode, **options)
        everything += match_changes(item.changes, result.change_indexes)
        if item.scenario == "fresh":
            fresh += match_changes(item.changes, result.change_indexes)
            continue
        cp += match_changes(item.changes, result.change_indexes)
        hits = len(set(result.outliers) & set(item.spikes))
        outliers[item.noise.split()[0]] += (hits, len(result.outliers) - hits, len(item.spikes) - hits)
        if not item.changes:
            quiet_series += 1
            quiet_alarms += bool(result.change_points)
    p, r, s = f1(*cp)
    return {
        "cp_precision": p, "cp_recall": r, "cp_f1": s,
        "fresh_recall": f1(*fresh)[1],
        "all_f1": f1(*everything)[2],
        "outlier_f1_gauss": f1(*outliers["gauss"])[2] if mode == "robust" else float("nan"),
        "outlier_f1_t3": f1(*outliers["t3"])[2] if mode == "robust" else float("nan"),
        "false_alarm_rate": quiet_alarms / quiet_series if quiet_series else 0.0,
        "ms_per_series": 1000 * (time.perf_counter() - started) / len(corpus),
    }


def configurations() -> list[tuple[str, str, dict]]:
    rows: list[tuple[str, str, dict]] = []
    for p in (0.001, 0.0001):
        rows.append((f"otava p={p}", "otava", {"max_pvalue": p}))
    for k in (1, 2, 5):
        rows.append((f"robust raw k={k} p=0.0001", "robust",
                     {"outlier_basis": "raw", "min_run": k, "max_pvalue": 0.0001}))
    for width in (5, 9, 15, 21):
        rows.append((f"robust residual w={width} k=2 p=0.0001", "robust",
                     {"outlier_basis": "residual", "residual_width": width, "min_run": 2,
                      "max_pvalue": 0.0001}))
    for p, k in itertools.product((0.001, 0.0001), (1, 2, 3, 4, 5, 8)):
        rows.append((f"robust residual w=15 k={k} p={p}", "robust",
                     {"outlier_basis": "residual", "residual_width": 15, "min_run": k, "max_pvalue": p}))
    rows.append(("robust residual w=15 k=2 p=0.00001", "robust",
                 {"outlier_basis": "residual", "residual_width": 15, "min_run": 2, "max_pvalue": 0.00001}))
    for magnitude in (0.02, 0.05):
        rows.append((f"robust residual w=15 k=2 p=0.0001 mag={magnitude}", "robust",
                     {"outlier_basis": "residual", "residual_width": 15, "min_run": 2,
                      "max_pvalue": 0.0001, "min_magnitude": magnitude}))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=588)
    parser.add_argument("--seed", type=int, default=20240501)
    args = parser.parse_args(argv)
    corpus = make_corpus(args.series, args.seed)
    print(f"{len(corpus)} series, seed {args.seed}, tolerance +-{TOLERANCE}; window 50, magnitude 0 "
          "unless stated, GESD max 10 outliers, alpha 0.05", file=sys.stderr)
    print("| setting | settled P | settled R | settled F1 | fresh-step recall | **F1 all** "
          "| outlier F1 (Gauss) | outlier F1 (t3) | series with a false change | ms/series |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")

    def fmt(x: float) -> str:
        return "-" if np.isnan(x) else f"{x:.3f}"

    for label, mode, options in configurations():
        m = evaluate(corpus, mode, **options)
        print(f"| {label} | {m['cp_precision']:.3f} | {m['cp_recall']:.3f} | {m['cp_f1']:.3f} | "
              f"{m['fresh_recall']:.3f} | **{m['all_f1']:.3f}** | {fmt(m['outlier_f1_gauss'])} | {fmt(m['outlier_f1_t3'])} | "
              f"{m['false_alarm_rate']:.1%} | {m['ms_per_series']:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
