"""TOPSIS (Hwang & Yoon) with vector normalization, matching pymcdm 1.4.0's ``TOPSIS(vector_normalization)``.

Beyond pymcdm: a criterion with a missing value for any candidate is dropped and the remaining
weights renormalised (a ranking over partly unknown costs would otherwise favour whoever left the
cell empty); one candidate, or candidates identical on every kept criterion, all score 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BENEFIT, COST = 1, -1


@dataclass(frozen=True)
class TopsisResult:
    scores: np.ndarray  # closeness to the ideal, in [0, 1]; NaN when no criterion is usable
    ranks: np.ndarray  # 1 = best; ties share the better rank; 0 when scores are NaN
    kept: np.ndarray  # boolean per criterion: used after dropping incomplete ones


def topsis(matrix, weights, types) -> TopsisResult:
    """Score alternatives (rows) over criteria (columns); ``types`` holds BENEFIT (1) or COST (-1) per column."""
    x = np.asarray(matrix, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("matrix must be 2-D (alternatives x criteria)")
    w = np.asarray(weights, dtype=np.float64)
    t = np.asarray(types)
    if w.shape != (x.shape[1],) or t.shape != (x.shape[1],):
        raise ValueError("one weight and one type per criterion")
    kept = ~np.isnan(x).any(axis=0) & (w > 0)
    n = x.shape[0]
    if n == 0:
        return TopsisResult(np.empty(0), np.empty(0, dtype=np.int64), kept)
    if not kept.any():
        return TopsisResult(np.full(n, np.nan), np.zeros(n, dtype=np.int64), kept)
    if n == 1:
        return TopsisResult(np.ones(1), np.ones(1, dtype=np.int64), kept)
    x, w, t = x[:, kept], w[kept], t[kept]
    w = w / w.sum()
    norms = np.sqrt((x ** 2).sum(axis=0))
    r = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    v = r * w
    ideal = np.where(t == BENEFIT, v.max(axis=0), v.min(axis=0))
    anti = np.where(t == BENEFIT, v.min(axis=0), v.max(axis=0))
    d_plus = np.sqrt(((v - ideal) ** 2).sum(axis=1))
    d_minus = np.sqrt(((v - anti) ** 2).sum(axis=1))
    total = d_plus + d_minus
    scores = np.divide(d_minus, total, out=np.ones_like(total), where=total > 0)
    ranks = 1 + (scores[None, :] > scores[:, None]).sum(axis=1)  # competition ranking: ties share the better rank
    return TopsisResult(scores, ranks, kept)
