"""E-divisive means (Matteson & James) inside one window, the way Otava runs it per sliding window.

Otava picks, for a segment ``[s, e)``, the split ``tau`` maximising the energy statistic
``Q(tau, kappa)`` over every ``s < tau < kappa <= e``, accepts it when a two-sample t-test on the two
sides of the split is significant, and repeats on the resulting segments until the best remaining
candidate is not significant. Matching its answers exactly means matching that search order and
its tie-breaking (first maximum in row-major ``(tau, kappa)`` order, first segment on equal ``Q``).

The energy statistic needs sums of ``|x_i - x_j|`` within and across segments; one 2-D prefix-sum
table per window makes each of them O(1), so a segment's whole ``Q`` matrix is a few array
operations instead of Otava's per-segment cumulative sums.
"""

from __future__ import annotations

from bisect import insort
from functools import lru_cache
from typing import Callable

import numpy as np


@lru_cache(maxsize=256)
def _coefficients(length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weights of the three ``Q`` terms for a segment of ``length`` points, rows tau, columns kappa.

    They depend only on the segment length, and the benchmark runs thousands of equal windows.
    """
    tau = np.arange(1, length)[:, None].astype(np.float64)
    kappa = np.arange(2, length + 1)[None, :].astype(np.float64)
    n_left = tau
    n_right = kappa - tau
    total = kappa
    valid = n_right > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = np.where(valid, 2.0 / total, 0.0)
        left = np.where(valid & (n_left > 1), 2.0 * n_right / (total * (n_left - 1.0)), 0.0)
        right = np.where(valid & (n_right > 1), 2.0 * n_left / (total * (n_right - 1.0)), 0.0)
    return cross, left, right, valid


@lru_cache(maxsize=256)
def _strictly_upper(length: int) -> np.ndarray:
    """1.0 above the diagonal, 0.0 on and below it."""
    return np.triu(np.ones((length, length)), 1)


class PairwiseSums:
    """Prefix sums of ``|x_i - x_j|`` (i < j) so that any within-segment sum is two look-ups.

    ``within(a, b)`` (sum over a <= i < j < b) equals ``c[b, b] - c[a, b]`` where ``c`` is the 2-D
    cumulative sum of the strictly upper triangle.
    """

    def __init__(self, values: np.ndarray):
        n = len(values)
        distances = np.abs(values[:, None] - values[None, :])
        distances *= _strictly_upper(n)  # np.triu builds its mask anew per call: a tenth of detection's time
        table = np.zeros((n + 1, n + 1))
        np.cumsum(np.cumsum(distances, axis=0), axis=1, out=table[1:, 1:])
        self._table = table

    def best_split(self, start: int, end: int) -> tuple[int, float]:
        """The candidate ``tau`` (first index of the right part) and its ``Q`` for ``[start, end)``."""
        length = end - start
        sub = self._table[start : end + 1, start : end + 1]
        diag = np.diagonal(sub)
        within_left = (diag[1:length] - sub[0, 1:length])[:, None]
        within_all = (diag[2:] - sub[0, 2:])[None, :]
        within_right = diag[None, 2:] - sub[1:length, 2:]
        cross_w, left_w, right_w, valid = _coefficients(length)
        cross = within_all - within_left - within_right
        q = cross_w * cross - left_w * within_left - right_w * within_right
        q = np.where(valid, q, 0.0)
        flat = int(np.argmax(q))
        row, col = divmod(flat, q.shape[1])
        return start + row + 1, float(q[row, col])


# pvalue_of(values, start, tau, end): p-value of values[start:tau] against values[tau:end].
PValueFn = Callable[[np.ndarray, int, int, int], float]


def window_change_points(values: np.ndarray, max_pvalue: float, pvalue_of: PValueFn) -> list[int]:
    """Change points of one window (window-local indexes), found by E-divisive with a t-test stop.

    A candidate is kept when its p-value is ``<= max_pvalue`` (Otava's comparison here, unlike
    the strict ``<`` of its merge step).
    """
    n = len(values)
    if n < 2:
        return []
    sums = PairwiseSums(values)
    found: list[int] = []
    best_of_segment: dict[tuple[int, int], tuple[int, float]] = {}
    while True:
        bounds = [0, *found, n]
        best: tuple[int, float, int, int] | None = None
        for start, end in zip(bounds[:-1], bounds[1:]):
            if end - start < 2:
                continue
            key = (start, end)
            if key not in best_of_segment:
                best_of_segment[key] = sums.best_split(start, end)
            tau, q = best_of_segment[key]
            if best is None or q > best[1]:
                best = (tau, q, start, end)
        if best is None:
            return found
        tau, _, start, end = best
        pvalue = pvalue_of(values, start, tau, end)
        if not pvalue <= max_pvalue:
            return found
        insort(found, tau)
