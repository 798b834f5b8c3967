"""Otava 0.8.0's change-point detection (Fleming et al., "Hunter"), reimplemented to give the same answers.

Two steps, with Otava's parameters:

1. *Split*: E-divisive means over sliding windows of ``window_len`` points advancing by half a window
   (or to the last change found, if that is further), at a relaxed "first pass" p-value; the union
   of what the windows find are the *weak* change points.
2. *Merge*: repeatedly drop the weakest point - the one with the largest p-value while any is
   ``>= max_pvalue``, else the one with the smallest relative change while that is
   ``<= min_magnitude`` - recomputing the t-test of the points next to it.

Quirks kept on purpose because they change which points come out: the t-test is Student's (pooled
variance) fed with population standard deviations (``ddof=0``); a window accepts ``p <= max`` but
the merge keeps only ``p < max``; and after a removal Otava recomputes the point that took the
removed one's place and the one after it, not the one before. ``fix_neighbours=True`` (robust mode)
recomputes the two true neighbours instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from benchmark_pipeline.lib.changepoint.edivisive import window_change_points

DEFAULT_WINDOW_LEN = 50
DEFAULT_MAX_PVALUE = 0.001
DEFAULT_MIN_MAGNITUDE = 0.0


@dataclass(frozen=True)
class SegmentStats:
    """The two regimes around a change point and the t-test between them."""

    mean_before: float
    std_before: float
    n_before: int
    mean_after: float
    std_after: float
    n_after: int
    pvalue: float

    @property
    def rel_change(self) -> float:
        """``after / before - 1`` (0 when the mean before is 0, as Otava reports it)."""
        return 0.0 if self.mean_before == 0 else self.mean_after / self.mean_before - 1.0

    @property
    def pct_change(self) -> float:
        return self.rel_change * 100.0

    @property
    def magnitude(self) -> float:
        """Otava's change magnitude: the larger of the forward and backward relative changes.

        Symmetric so that a drop to half and a doubling count the same.
        """
        forward = 0.0 if self.mean_before == 0 else self.mean_after / self.mean_before - 1.0
        backward = 0.0 if self.mean_after == 0 else self.mean_before / self.mean_after - 1.0
        return max(abs(forward), abs(backward))


@dataclass(frozen=True)
class ChangePoint:
    """``index`` is the first point of the new regime."""

    index: int
    stats: SegmentStats


def student_pvalue(mean1: float, std1: float, n1: int, mean2: float, std2: float, n2: int) -> float:
    """Two-sided pooled-variance t-test from summary statistics (scipy's ``ttest_ind_from_stats``).

    Written out because scipy's wrapper costs ~100 us per call and the detector makes thousands;
    zero variance gives p = 0 for different means and NaN for equal ones, as scipy does.
    """
    if n1 + n2 <= 2:
        return 1.0
    var1 = 0.0 if n1 == 1 else std1 * std1
    var2 = 0.0 if n2 == 1 else std2 * std2
    dof = n1 + n2 - 2.0
    pooled = ((n1 - 1) * var1 + (n2 - 1) * var2) / dof
    denom = math.sqrt(pooled * (1.0 / n1 + 1.0 / n2))
    diff = mean1 - mean2
    if denom == 0.0:
        t = math.nan if diff == 0.0 or math.isnan(diff) else math.copysign(math.inf, diff)
    else:
        t = diff / denom
    from scipy.special import stdtr  # here: scipy takes ~0.4 s to import, and most commands detect nothing

    return float(2.0 * stdtr(dof, -abs(t)))


def compare(left: np.ndarray, right: np.ndarray) -> SegmentStats:
    """Otava's ``TTestSignificanceTester.compare``: means, population stdevs and the t-test p-value."""
    n1, n2 = len(left), len(right)
    if n1 == 0 or n2 == 0:
        raise ValueError("both sides of a change point need at least one value")
    mean1 = float(np.mean(left))
    mean2 = float(np.mean(right))
    std1 = float(np.std(left)) if n1 >= 2 else 0.0
    std2 = float(np.std(right)) if n2 >= 2 else 0.0
    return SegmentStats(mean1, std1, n1, mean2, std2, n2, student_pvalue(mean1, std1, n1, mean2, std2, n2))


class _WindowPValue:
    """Window t-tests from prefix sums, falling back to ``compare`` wherever the answer could differ.

    NumPy's mean/std per candidate dominated the run time. Prefix sums of the values (shifted by
    the window's first value to limit cancellation) give the same p-value to ~1e-12 relative, so
    only a p-value within 1e-6 of the threshold, or a segment with (near) zero variance, where
    exact zeros decide between p = 0 and NaN, is recomputed the exact way.
    """

    def __init__(self, max_pvalue: float):
        self.max_pvalue = max_pvalue
        self._values: np.ndarray | None = None

    def _prepare(self, values: np.ndarray) -> None:
        self._values = values
        shifted = values - values[0]
        self._s1 = np.concatenate(([0.0], np.cumsum(shifted))).tolist()
        self._s2 = np.concatenate(([0.0], np.cumsum(shifted * shifted))).tolist()
        self._base = float(values[0])
        self._scale = float(np.max(np.abs(shifted))) if len(values) else 0.0

    def __call__(self, values: np.ndarray, start: int, tau: int, end: int) -> float:
        if values is not self._values:
            self._prepare(values)
        s1, s2 = self._s1, self._s2
        n1, n2 = tau - start, end - tau
        sum1, sum2 = s1[tau] - s1[start], s1[end] - s1[tau]
        mean1, mean2 = sum1 / n1, sum2 / n2
        var1 = (s2[tau] - s2[start]) / n1 - mean1 * mean1
        var2 = (s2[end] - s2[tau]) / n2 - mean2 * mean2
        floor = 1e-9 * (self._scale * self._scale + 1e-300)
        if (n1 >= 2 and var1 <= floor) or (n2 >= 2 and var2 <= floor):
            return compare(values[start:tau], values[tau:end]).pvalue
        std1 = math.sqrt(var1) if n1 >= 2 else 0.0
        std2 = math.sqrt(var2) if n2 >= 2 else 0.0
        p = student_pvalue(mean1 + self._base, std1, n1, mean2 + self._base, std2, n2)
        if abs(p - self.max_pvalue) <= 1e-6 * self.max_pvalue:
            return compare(values[start:tau], values[tau:end]).pvalue
        return p


def first_pass_pvalue(max_pvalue: float) -> float:
    """The relaxed threshold of the split step: 10x below 0.05, 2x below 0.5, else unchanged."""
    if max_pvalue < 0.05:
        return max_pvalue * 10
    if max_pvalue < 0.5:
        return max_pvalue * 2
    return max_pvalue


def split(values: np.ndarray, window_len: int, pvalue: float) -> list[int]:
    """Weak change points: the sorted union of what E-divisive finds in each sliding window."""
    if window_len < 2:
        raise ValueError("window_len must be at least 2")
    n = len(values)
    step = window_len // 2
    start = 0
    weak: set[int] = set()
    while start < n:
        end = min(start + window_len, n)
        found = window_change_points(values[start:end], pvalue, _WindowPValue(pvalue))
        last = start + found[-1] if found else 0
        weak.update(start + i for i in found)
        start = max(last, start + step)
    return sorted(weak)


def stats_for(values: np.ndarray, indexes: Sequence[int]) -> list[ChangePoint]:
    """Each change point tested between its neighbours (or the series ends)."""
    bounds = [0, *indexes, len(values)]
    return [
        ChangePoint(idx, compare(values[bounds[i] : idx], values[idx : bounds[i + 2]]))
        for i, idx in enumerate(indexes, start=0)
    ]


def _first_max(points: list[ChangePoint], key) -> int:
    """Position of Python ``max``'s pick: the first element no later element is strictly above.

    Spelled out so NaN p-values behave exactly as in Otava's ``max(..., key=...)``.
    """
    best = 0
    for i in range(1, len(points)):
        if key(points[i]) > key(points[best]):
            best = i
    return best


def _first_min(points: list[ChangePoint], key) -> int:
    best = 0
    for i in range(1, len(points)):
        if key(points[i]) < key(points[best]):
            best = i
    return best


def merge(
    values: np.ndarray,
    points: Iterable[ChangePoint],
    max_pvalue: float,
    min_magnitude: float,
    *,
    min_run: int = 1,
    fix_neighbours: bool = False,
    min_shift: float = 0.0,
) -> list[ChangePoint]:
    """Drop weak change points until every remaining one is significant and large enough.

    ``min_run`` (robust mode's persistence rule) first drops, shortest first, any point whose new
    regime lasts fewer than ``min_run`` points before the next change or the end of the series.
    ``min_shift`` (robust mode's noise floor, in the series' own units) then drops, smallest first,
    any point whose means before and after differ by less. Both default to Otava's behaviour.
    """
    cps = list(points)
    n = len(values)
    while cps:
        victim = None
        if min_run > 1:
            runs = [(cps[i + 1].index if i + 1 < len(cps) else n) - cp.index for i, cp in enumerate(cps)]
            shortest = min(range(len(cps)), key=lambda i: runs[i])
            if runs[shortest] < min_run:
                victim = shortest
        if victim is None:
            victim = _first_max(cps, lambda c: c.stats.pvalue)
            if cps[victim].stats.pvalue < max_pvalue:
                victim = _first_min(cps, lambda c: c.stats.magnitude)
                if cps[victim].stats.magnitude > min_magnitude:
                    if min_shift <= 0.0:
                        return cps
                    victim = _first_min(cps, lambda c: abs(c.stats.mean_after - c.stats.mean_before))
                    if abs(cps[victim].stats.mean_after - cps[victim].stats.mean_before) >= min_shift:
                        return cps
        del cps[victim]
        recompute = (victim - 1, victim) if fix_neighbours else (victim, victim + 1)
        for pos in recompute:
            if 0 <= pos < len(cps):
                lo = cps[pos - 1].index if pos > 0 else 0
                hi = cps[pos + 1].index if pos + 1 < len(cps) else n
                idx = cps[pos].index
                cps[pos] = ChangePoint(idx, compare(values[lo:idx], values[idx:hi]))
    return cps


def as_float_array(series: Sequence[float] | np.ndarray) -> np.ndarray:
    values = np.asarray(series, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError("a series is one-dimensional")
    if not np.all(np.isfinite(values)):
        raise ValueError("a series must be finite; fill missing values first (fill_missing)")
    return values


def detect_otava(
    series: Sequence[float] | np.ndarray,
    window_len: int = DEFAULT_WINDOW_LEN,
    max_pvalue: float = DEFAULT_MAX_PVALUE,
    min_magnitude: float = DEFAULT_MIN_MAGNITUDE,
) -> list[ChangePoint]:
    """Otava's ``compute_change_points``: the same change points and statistics for the same input."""
    values = as_float_array(series)
    weak = split(values, window_len, first_pass_pvalue(max_pvalue))
    return merge(values, stats_for(values, weak), max_pvalue, min_magnitude)


def fill_missing(series: Sequence[float | None]) -> list[float]:
    """Otava's gap filling: forward-fill, then back-fill any leading gap. NaN counts as missing."""
    out: list[float | None] = [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in series]
    prev = None
    for i, v in enumerate(out):
        if v is None:
            out[i] = prev
        prev = out[i]
    nxt = None
    for i in range(len(out) - 1, -1, -1):
        if out[i] is None:
            out[i] = nxt
        nxt = out[i]
    if any(v is None for v in out):
        raise ValueError("the series has no values")
    return [float(v) for v in out]
