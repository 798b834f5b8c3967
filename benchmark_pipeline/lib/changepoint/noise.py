"""How much a series moves from run to run when nothing changed, and how far a change must go to count.

The noise of a series is estimated from its own history, robustly: the median absolute deviation
of its first differences. Differences cancel any level (a step moves one difference, not half the
series) and the median ignores spikes, so the estimate is the same before and after a regression
and barely moves when an outlier lands. For independent noise of standard deviation s, a
difference has deviation s * sqrt(2), hence the division.

A *threshold* is how large a change must be before it is news, in one of three units, as Bencher
and Conbench let teams tune theirs:

- ``relative``: a fraction of the series' level (0.05 = 5 %);
- ``absolute``: in the metric's own unit (ms, items/s, ...);
- ``noise``: a multiple of the series' noise (3 = three times its run-to-run spread).

Without a user threshold, robust mode uses noise multiples (``DEFAULT_*_NOISE`` below); a user's
threshold replaces them for its metric or series, for change points, outliers and run comparisons
alike. All of this is pure arithmetic: storing thresholds is ``lib/warehouse/regressions.py``'s job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

THRESHOLD_KINDS = ("relative", "absolute", "noise")
# Default floors in multiples of the series' noise (chosen in docs/regression_detection.md):
# an outlier must stand this far from its neighbours' median ...
DEFAULT_OUTLIER_NOISE = 5.0
# ... a change point's means must differ by this much ...
DEFAULT_CHANGE_NOISE = 3.0
# ... and two runs compared with `compare --run` must differ by this much to be better or worse.
DEFAULT_COMPARE_NOISE = 3.0
_MAD_TO_SD = 1.4826  # MAD of a normal sample times this estimates its standard deviation


def noise_scale(values: np.ndarray | list[float]) -> float:
    """Robust run-to-run standard deviation of a series (0 for fewer than 3 points or a flat series).

    When more than half the differences are 0 (values rounded to a few digits), the MAD is 0;
    the mean absolute deviation of the differences (scaled for a normal sample) is used instead,
    so a quantised series still has a noise level. The MAD of a short sample runs low, hence its
    usual small-sample factor.
    """
    data = np.asarray(values, dtype=np.float64)
    if len(data) < 3:
        return 0.0
    diffs = np.diff(data)
    centre = float(np.median(diffs))
    # n / (n - 0.8): the MAD's small-sample correction (Croux and Rousseeuw), about 4 % at 20 runs.
    spread = _MAD_TO_SD * float(np.median(np.abs(diffs - centre))) * len(diffs) / (len(diffs) - 0.8)
    if spread == 0.0:
        spread = math.sqrt(math.pi / 2.0) * float(np.mean(np.abs(diffs - centre)))
    return spread / math.sqrt(2.0)


@dataclass(frozen=True)
class Threshold:
    """A change smaller than this is not news: ``kind`` is relative, absolute or noise."""

    kind: str
    value: float

    def __post_init__(self) -> None:
        if self.kind not in THRESHOLD_KINDS:
            raise ValueError(f"threshold kind must be one of {THRESHOLD_KINDS}, not {self.kind!r}")
        if not math.isfinite(self.value) or self.value < 0:
            raise ValueError(f"a threshold is a finite number >= 0, not {self.value!r}")

    def floor(self, level: float, noise: float) -> float:
        """The threshold in the series' own unit, for a series at ``level`` with ``noise``."""
        if self.kind == "relative":
            return self.value * abs(level)
        if self.kind == "absolute":
            return self.value
        return self.value * noise

    def describe(self) -> str:
        if self.kind == "relative":
            return f"{self.value * 100:g} %"
        if self.kind == "absolute":
            return f"{self.value:g} (metric units)"
        return f"{self.value:g} x noise"


def floor_for(threshold: Threshold | None, default_noise: float, level: float, noise: float) -> float:
    """The user's threshold when there is one, else ``default_noise`` times the series' noise."""
    if threshold is not None:
        return threshold.floor(level, noise)
    return default_noise * noise


def within_noise(delta: float, floor: float) -> bool:
    """A difference no larger than the floor is "the same" (a floor of 0 only excuses no change)."""
    return abs(delta) <= floor


__all__ = [
    "DEFAULT_CHANGE_NOISE", "DEFAULT_COMPARE_NOISE", "DEFAULT_OUTLIER_NOISE", "THRESHOLD_KINDS", "Threshold",
    "floor_for", "noise_scale", "within_noise",
]
