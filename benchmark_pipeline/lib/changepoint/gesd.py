"""Generalized ESD test for outliers (Rosner 1983), as MongoDB's signal-processing-algorithms runs it.

Same choices as their ``gesd()``: up to ``max_outliers`` rounds, each removing the point with the
largest |z| (mean and sample stdev of the points still in, or median and 1.4826 * MAD with
``mad=True``); stop early when the spread is 0; the number of outliers is the largest round whose
statistic beats its two-sided critical value. Suspects come in the order they were removed, so
the first one is the most extreme.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class GesdResult:
    count: int
    suspicious_indexes: list[int]
    test_statistics: list[float]
    critical_values: list[float]

    @property
    def outliers(self) -> list[int]:
        """The confirmed outliers, most extreme first."""
        return self.suspicious_indexes[: self.count]


@lru_cache(maxsize=1024)
def critical_values(length: int, rounds: int, significance_level: float) -> tuple[float, ...]:
    """Rosner's lambda_i for i = 0..rounds-1; cached because they only depend on the length."""
    from scipy.special import stdtrit  # here: scipy takes ~0.4 s to import, and most commands never test outliers

    out = []
    for i in range(rounds):
        remaining = length - i
        prob = 1.0 - significance_level / (2.0 * remaining)
        with np.errstate(invalid="ignore"):
            tp = float(stdtrit(remaining - 2, prob))
        out.append(float((remaining - 1) * tp / np.sqrt((remaining - 2 + tp * tp) * remaining)))
    return tuple(out)


def gesd(
    data: Sequence[float] | np.ndarray,
    max_outliers: int = 10,
    significance_level: float = 0.05,
    mad: bool = False,
) -> GesdResult:
    values = np.asarray(data, dtype=np.float64)
    length = len(values)
    if length == 0:
        raise ValueError("no data")
    if max_outliers < 1:
        raise ValueError(f"max_outliers ({max_outliers}) must be >= 1")
    if max_outliers >= length:
        raise ValueError(f"max_outliers ({max_outliers}) must be < length ({length})")
    if not 0.0 < significance_level < 1.0:
        raise ValueError(f"invalid significance_level ({significance_level})")

    rounds = min(max_outliers, length - 1)
    lambdas = critical_values(length, rounds, significance_level)
    active = np.ones(length, dtype=bool)
    suspects: list[int] = []
    statistics: list[float] = []
    for i in range(rounds):
        kept = values[active]
        if mad:
            center = float(np.median(kept))
            sigma = 1.4826 * float(np.median(np.abs(kept - center)))
        else:
            center = float(kept.mean())
            sigma = float(kept.std(ddof=1))
        if sigma == 0:
            break
        z = (values - center) / sigma
        abs_z = np.where(active, np.abs(z), -np.inf)
        worst = int(np.argmax(abs_z))
        suspects.append(worst)
        statistics.append(float(z[worst]))
        active[worst] = False

    count = 0
    for r in range(len(suspects), 0, -1):
        if abs(statistics[r - 1]) > lambdas[r - 1]:
            count = r
            break
    return GesdResult(count, suspects, statistics, list(lambdas[: len(suspects)]))
