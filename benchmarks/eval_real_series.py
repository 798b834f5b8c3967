"""Precision, recall and F1 of the change-point detector on real annotated series, per data set.

    uv run python benchmarks/eval_real_series.py [--synthetic 196] [--output benchmarks/results/regressions_real.md]

Data sets and annotations: ``benchmarks/real_series.py`` and ``benchmarks/real_series_annotations.json``
(the shared ones load only where ``../shared`` exists). Scoring, per series, then averaged over the
series of a data set: a detected change matches an annotated one within +-5 runs, each annotated
change at most once; index 0 counts as a change on both sides, so a series without changes scores
1.0 when nothing is found, and the "no change" baseline is a row of its own (it is the score to
beat). Only change points count (outliers and a suspected last run are not changes).

A last column scores the synthetic corpus of ``eval_regressions.py`` (fixed seed; ``--synthetic N``
series) the same way, so a default is never chosen on one kind of data alone.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import real_series  # noqa: E402
from eval_regressions import make_corpus  # noqa: E402

from benchmark_pipeline.lib.changepoint.robust import detect  # noqa: E402

MARGIN = 5


def score(truth: list[int], found: list[int], margin: int = MARGIN) -> tuple[float, float, float]:
    """(precision, recall, F1) with index 0 counted on both sides and +-margin matching."""
    truth = sorted({0, *truth})
    found = sorted({0, *found})
    used: set[int] = set()
    hits = 0
    for t in truth:
        best = None
        for i, f in enumerate(found):
            if i not in used and abs(f - t) <= margin and (best is None or abs(f - t) < abs(found[best] - t)):
                best = i
        if best is not None:
            used.add(best)
            hits += 1
    precision, recall = hits / len(found), hits / len(truth)
    f1 = 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)
    return precision, recall, f1


def settings() -> list[tuple[str, str | None, dict]]:
    rows: list[tuple[str, str | None, dict]] = [
        ("no change (baseline)", None, {}),
        ("otava defaults (p=0.001)", "otava", {}),
        ("robust before (no noise floor)", "robust", {"change_noise": 0.0, "outlier_noise": 0.0}),
    ]
    for p in (0.0001, 0.001):
        for c in (1.0, 2.0, 3.0, 4.0):
            rows.append((f"robust p={p:g} change floor {c:g} x noise", "robust",
                         {"max_pvalue": p, "change_noise": c}))
    return rows


def annotated() -> list[tuple[str, str, np.ndarray, list[int]]]:
    notes = real_series.annotations()
    out = []
    for data_set, name, values in real_series.load_all():
        note = notes.get(f"{data_set}/{name}") or notes.get(f"{data_set}/*")
        if note is None:
            raise SystemExit(f"{data_set}/{name} has no annotation")
        out.append((data_set, name, np.asarray(values), list(note["changes"])))
    return out


def run(mode: str | None, options: dict, values: np.ndarray) -> list[int]:
    return [] if mode is None else detect(values, mode=mode, **options).change_indexes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=196, help="synthetic series (0: none)")
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--output", type=Path, default=None, help="also write the table (markdown) here")
    args = parser.parse_args(argv)
    series = annotated()
    sets = sorted({s[0] for s in series})
    corpus = make_corpus(args.synthetic, args.seed) if args.synthetic else []
    counts = {d: sum(1 for s in series if s[0] == d) for d in sets}
    head = ["setting"] + [f"{d} ({counts[d]}) P / R / F1" for d in sets] + ["mean F1 over real sets"]
    if corpus:
        head.append(f"synthetic ({len(corpus)}) P / R / F1")
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    started = time.perf_counter()
    for label, mode, options in settings():
        per_set: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        for data_set, _name, values, truth in series:
            per_set[data_set].append(score(truth, run(mode, options, values)))
        cells, f1s = [], []
        for d in sets:
            p, r, f = (float(np.mean(x)) for x in zip(*per_set[d]))
            f1s.append(f)
            cells.append(f"{p:.3f} / {r:.3f} / {f:.3f}")
        cells.append(f"**{np.mean(f1s):.3f}**")
        if corpus:
            synth = [score([c[0] for c in item.changes], run(mode, options, item.values)) for item in corpus]
            p, r, f = (float(np.mean(x)) for x in zip(*synth))
            cells.append(f"{p:.3f} / {r:.3f} / {f:.3f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=HERE,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    header = (f"Machine: {platform.node()} ({platform.machine()}, {platform.processor() or platform.system()}, "
              f"Python {platform.python_version()}); commit {commit} (plus the working tree of issue 18); "
              f"date {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {time.perf_counter() - started:.0f} s.\n\n"
              f"Margin +-{MARGIN} runs, index 0 counted on both sides, mean over the series of each set.\n\n")
    if args.output:
        args.output.write_text("# Change-point detection on real annotated series\n\n" + header + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
