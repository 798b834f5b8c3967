"""Robust mode: Otava's detector plus the two guards it lacks against noisy benchmark machines.

1. *Outliers first.* One bad run (a throttled GPU, a noisy neighbour) either shows up as a pair of
   change points or drags the mean of a whole regime. Generalized ESD (MongoDB's variant) finds up
   to ``max_outliers`` such points; they are reported as outliers and left out before change-point
   detection, so the baseline means are computed without them.
2. *Persistence.* A change counts only once the new level has held for ``min_run`` points (outliers
   not counted); shorter runs are merged back, shortest first, before Otava's own merge criteria.
   A change in the last ``min_run - 1`` points is therefore reported one or two runs later, not never.
3. *Noise floor.* Each series' own run-to-run spread (``noise.noise_scale``) sets how far an
   outlier must stand from its neighbours and how far two regimes' means must differ, unless the
   user set a threshold for the series or its metric (``noise.Threshold``).
4. *Suspects.* A last run beyond that floor cannot be told from a new level yet: it is reported as
   ``suspect`` (a suspected change), and the next run confirms it as a change or an outlier.

The defaults were chosen from the F1 table in ``docs/regression_detection.md``
(``benchmarks/eval_regressions.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from benchmark_pipeline.lib.changepoint.gesd import gesd
from benchmark_pipeline.lib.changepoint.noise import (
    DEFAULT_CHANGE_NOISE,
    DEFAULT_OUTLIER_NOISE,
    Threshold,
    floor_for,
    noise_scale,
)
from benchmark_pipeline.lib.changepoint.otava import (
    DEFAULT_MAX_PVALUE,
    DEFAULT_MIN_MAGNITUDE,
    DEFAULT_WINDOW_LEN,
    ChangePoint,
    SegmentStats,
    as_float_array,
    detect_otava,
    first_pass_pvalue,
    merge,
    split,
    stats_for,
)

# Chosen from the F1 table (docs/regression_detection.md): k=2 keeps a fresh regression visible
# after two runs, p=1e-4 removes most false changes on noisy series without losing 10 % steps.
ROBUST_MAX_PVALUE = 0.0001
DEFAULT_MIN_RUN = 2
DEFAULT_OUTLIER_BASIS = "residual"
DEFAULT_RESIDUAL_WIDTH = 15
# MongoDB's GESD settings, fixed by the issue.
DEFAULT_MAX_OUTLIERS = 10
DEFAULT_OUTLIER_ALPHA = 0.05
OUTLIER_BASES = ("raw", "residual")
# Test at most one run in this many for outliers (short series; see find_outliers).
MAX_OUTLIER_FRACTION = 10


@dataclass(frozen=True)
class Detection:
    """What a detector found on one series; indexes are positions in the series given."""

    change_points: list[ChangePoint]
    outliers: list[int] = field(default_factory=list)
    # Robust mode: the series' run-to-run spread, the outlier floor it implies (in the series'
    # unit), and a last run beyond that floor that the next run has to confirm (None: no suspect).
    noise: float = float("nan")
    outlier_floor: float = float("nan")
    suspect: int | None = None

    @property
    def change_indexes(self) -> list[int]:
        return [cp.index for cp in self.change_points]


def rolling_median_residuals(values: np.ndarray, width: int = DEFAULT_RESIDUAL_WIDTH) -> np.ndarray:
    """Each value minus the median of the ``width`` values centred on it.

    A step survives a centred median and a lone spike does not, so GESD on these residuals flags
    spikes without taking the two sides of a large step for outliers (plain GESD does, and also
    swallows a fresh regression at the end of a series). The start is padded by reflection, so a
    first-run outlier stays detectable; the end by the median of the last three runs, because the
    latest runs may be a new level (which the persistence rule, not outlier removal, has to judge):
    two runs at a new level set the padding, a single last-run spike does not.
    """
    n = len(values)
    half = width // 2
    if n <= half:
        return values - np.median(values)
    tail = float(np.median(values[-3:]))
    padded = np.concatenate([values[half:0:-1], values, np.full(half, tail)])
    return values - np.median(sliding_window_view(padded, 2 * half + 1), axis=1)


def find_outliers(
    values: np.ndarray,
    max_outliers: int = DEFAULT_MAX_OUTLIERS,
    alpha: float = DEFAULT_OUTLIER_ALPHA,
    basis: str = DEFAULT_OUTLIER_BASIS,
    residual_width: int = DEFAULT_RESIDUAL_WIDTH,
) -> list[int]:
    """GESD outliers of ``values`` (or of their rolling-median residuals), most extreme first.

    At most one run in ``MAX_OUTLIER_FRACTION`` is tested, whatever ``max_outliers`` says: GESD
    assumes the bulk of the sample is normal, and on a short series (three weeks of nightly runs)
    ten rounds remove half of it; the last rounds then see a handful of residuals, several exactly
    0 (runs that are their own window's median), and declare all ten rounds outliers on plain
    noise. From 100 runs on the cap is above MongoDB's 10 and changes nothing.
    """
    if basis not in OUTLIER_BASES:
        raise ValueError(f"outlier basis must be one of {OUTLIER_BASES}, not {basis!r}")
    n = len(values)
    rounds = min(max_outliers, n - 2, max(1, n // MAX_OUTLIER_FRACTION))
    if n < 3 or rounds < 1:
        return []
    tested = rolling_median_residuals(values, residual_width) if basis == "residual" else values
    return gesd(tested, rounds, alpha).outliers


def detect_robust(
    series: Sequence[float] | np.ndarray,
    window_len: int = DEFAULT_WINDOW_LEN,
    max_pvalue: float = ROBUST_MAX_PVALUE,
    min_magnitude: float = DEFAULT_MIN_MAGNITUDE,
    min_run: int = DEFAULT_MIN_RUN,
    max_outliers: int = DEFAULT_MAX_OUTLIERS,
    outlier_alpha: float = DEFAULT_OUTLIER_ALPHA,
    outlier_basis: str = DEFAULT_OUTLIER_BASIS,
    residual_width: int = DEFAULT_RESIDUAL_WIDTH,
    change_noise: float = DEFAULT_CHANGE_NOISE,
    outlier_noise: float = DEFAULT_OUTLIER_NOISE,
    threshold: Threshold | None = None,
) -> Detection:
    """Robust detection; ``threshold`` (a user's, for this series) replaces both noise multiples."""
    values = as_float_array(series)
    noise = noise_scale(values)
    level = float(np.median(values)) if len(values) else 0.0
    out_floor = floor_for(threshold, outlier_noise, level, noise)
    change_floor = floor_for(threshold, change_noise, level, noise)
    outliers = find_outliers(values, max_outliers, outlier_alpha, outlier_basis, residual_width)
    if outliers:
        reference = _reference(values, outlier_basis, residual_width)
        outliers = [i for i in outliers if abs(values[i] - reference[i]) > out_floor]
    keep = np.ones(len(values), dtype=bool)
    keep[outliers] = False
    positions = np.flatnonzero(keep)
    clean = values[keep]
    weak = split(clean, window_len, first_pass_pvalue(max_pvalue))
    kept = merge(
        clean,
        stats_for(clean, weak),
        max_pvalue,
        min_magnitude,
        min_run=max(1, min_run),
        fix_neighbours=True,
        min_shift=change_floor,
    )
    mapped = [ChangePoint(_first_index(values, positions, cp), cp.stats) for cp in kept]
    changes = [cp.index for cp in mapped]
    outliers = [i for i in outliers if _beyond_regime(values, i, changes, keep, out_floor)]
    suspect = _suspect(values, changes, set(outliers), out_floor)
    if suspect is not None:
        outliers = [i for i in outliers if i != suspect]
    return Detection(mapped, sorted(int(i) for i in outliers), noise, out_floor, suspect)


def _reference(values: np.ndarray, basis: str, width: int) -> np.ndarray:
    """What each run is judged against when deciding whether it is an outlier."""
    if basis == "residual":
        return values - rolling_median_residuals(values, width)
    return np.full(len(values), float(np.median(values)))


def _regime(values: np.ndarray, index: int, changes: list[int], usable: np.ndarray) -> np.ndarray:
    """The usable runs of the regime (stretch between change points) that ``index`` falls in."""
    bounds = [0, *changes, len(values)]
    seg = int(np.searchsorted(bounds, index, side="right")) - 1
    lo, hi = bounds[seg], bounds[seg + 1]
    mask = usable[lo:hi].copy()
    if lo <= index < hi:
        mask[index - lo] = False
    return values[lo:hi][mask]


def _beyond_regime(values: np.ndarray, index: int, changes: list[int], keep: np.ndarray, floor: float) -> bool:
    """Whether an outlier still stands out from its own regime once the change points are known.

    The rolling median straddles a step at its edges, so the first run of a new level can look
    like an outlier against its window while it sits squarely on its regime's level.
    """
    regime = _regime(values, index, changes, keep)
    if len(regime) == 0:
        return True
    return abs(values[index] - float(np.median(regime))) > floor


def _suspect(values: np.ndarray, changes: list[int], outliers: set[int], floor: float) -> int | None:
    """The last run, when it stands beyond the floor from the regime before it (3+ usable runs)."""
    n = len(values)
    if n < 4 or (changes and changes[-1] >= n - 1):
        return None
    usable = np.ones(n, dtype=bool)
    usable[list(outliers)] = False
    regime = _regime(values, n - 1, changes, usable)
    if len(regime) < 3:
        return None
    return n - 1 if abs(values[-1] - float(np.median(regime))) > floor else None


def _first_index(values: np.ndarray, positions: np.ndarray, cp: ChangePoint) -> int:
    """Where the new regime starts in the original series.

    Outliers between the old regime's last kept run and the new regime's first kept run belong to
    whichever regime mean they are closer to, so an outlier that opens a new level moves the
    change onto itself rather than one run late.
    """
    start = int(positions[cp.index])
    floor = int(positions[cp.index - 1]) + 1 if cp.index > 0 else 0
    before, after = cp.stats.mean_before, cp.stats.mean_after
    while start > floor and abs(values[start - 1] - after) < abs(values[start - 1] - before):
        start -= 1
    return start


def default_max_pvalue(mode: str) -> float:
    return DEFAULT_MAX_PVALUE if mode == "otava" else ROBUST_MAX_PVALUE


def detect(
    series: Sequence[float] | np.ndarray,
    mode: str = "robust",
    window_len: int = DEFAULT_WINDOW_LEN,
    max_pvalue: float | None = None,
    min_magnitude: float = DEFAULT_MIN_MAGNITUDE,
    **robust_options,
) -> Detection:
    """One entry point for both modes, so callers switch mode with a string.

    ``max_pvalue=None`` means the mode's own default: Otava's 0.001, or robust mode's 0.0001.
    """
    if max_pvalue is None:
        max_pvalue = default_max_pvalue(mode)
    if mode == "otava":
        if robust_options:
            raise ValueError(f"options {sorted(robust_options)} only apply to robust mode")
        return Detection(detect_otava(series, window_len, max_pvalue, min_magnitude), [])
    if mode == "robust":
        return detect_robust(series, window_len, max_pvalue, min_magnitude, **robust_options)
    raise ValueError(f"mode must be 'otava' or 'robust', not {mode!r}")


__all__ = ["Detection", "SegmentStats", "detect", "detect_robust", "find_outliers"]
