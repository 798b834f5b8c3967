"""A result as column names and row tuples: what ``compare`` and ``query`` hand to the output formats.

With it, why a result was cut (``Truncation``) and the ``Deadline`` that a query and the rendering of
its result share. Plain Python on purpose: importing pandas costs 0.5-3 s (more on a loaded machine),
which alone would break the one-second budget of ``benchmark-db compare`` as a whole process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Truncation:
    """Why a result was cut: ``reason`` is ``max_rows`` (the row limit) or ``memory`` (the byte budget).

    ``rows`` were kept; ``limit`` is the row limit or the budget in bytes; ``held_bytes`` is what the kept
    rows take in Python (estimated).
    """

    reason: str
    rows: int
    limit: int
    held_bytes: int

    def describe(self) -> str:
        if self.reason == "max_rows":
            return f"the result has more than {self.limit:,} rows (the row limit)"
        return (f"the rows reached the {self.limit / 1e6:,.1f} MB held in memory that a result may take "
                f"(a share of the memory limit)")


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    truncation: Truncation | None = None  # set when the rows are the first part of a larger result

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [row[i] for row in self.rows]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame.from_records(self.rows, columns=self.columns)

    @classmethod
    def from_cursor(cls, cursor, rows: list[tuple[Any, ...]] | None = None) -> "Table":
        columns = [d[0] for d in cursor.description or []]
        return cls(columns, cursor.fetchall() if rows is None else rows)


class DeadlineExceeded(RuntimeError):
    """The request's time ran out between two steps (fetching, rendering, writing)."""


class Deadline:
    """When a whole request must be done: execution, fetching, rendering and writing share one timeout.

    Made once when the request starts and handed down, so each step gets what the earlier ones left
    (``remaining()``) and long loops stop between chunks (``check()``) instead of running past it.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self.at = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - self._clock())

    def expired(self) -> bool:
        return self._clock() >= self.at

    def check(self, doing: str) -> None:
        """Raise ``DeadlineExceeded`` naming the step (``doing``) if the time is up."""
        if self.expired():
            raise DeadlineExceeded(f"query exceeded the {self.seconds:g} s timeout while {doing} and was stopped")


def is_missing(value: Any) -> bool:
    """None, NaN, NaT or pandas' NA: a scalar with no value (a list or an array is a value)."""
    if value is None or type(value).__name__ == "NAType":
        return True
    try:
        return bool(value != value)  # NaN and NaT compare unequal to themselves
    except (TypeError, ValueError):
        return False

