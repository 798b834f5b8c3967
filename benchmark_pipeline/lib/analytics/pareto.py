"""Pareto front: the rows no other row beats on every criterion at once."""

from __future__ import annotations

import numpy as np

MINIMIZE, MAXIMIZE = -1, 1


def pareto_front(matrix, senses=None) -> np.ndarray:
    """Boolean mask of non-dominated rows; ``senses`` holds MINIMIZE (-1, default) or MAXIMIZE (1) per column.

    A row is dominated when another is at least as good on every criterion and strictly better on
    one; equal rows therefore keep each other on the front. Columns must be complete (no NaN): the
    caller decides which criteria to drop, as TOPSIS does.
    """
    x = np.asarray(matrix, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("matrix must be 2-D (alternatives x criteria)")
    if np.isnan(x).any():
        raise ValueError("pareto_front needs complete columns; drop criteria with missing values first")
    s = np.full(x.shape[1], MINIMIZE) if senses is None else np.asarray(senses)
    cost = x * np.where(s == MAXIMIZE, -1.0, 1.0)  # everything as "smaller is better"
    no_worse = (cost[:, None, :] <= cost[None, :, :]).all(axis=2)  # [j, i]: j no worse than i everywhere
    better = (cost[:, None, :] < cost[None, :, :]).any(axis=2)
    dominated = (no_worse & better).any(axis=0)
    return ~dominated
