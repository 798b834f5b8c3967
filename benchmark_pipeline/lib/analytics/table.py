"""A result as column names and row tuples: what ``compare`` and ``query`` hand to the output formats.

Plain Python on purpose: importing pandas costs 0.5-3 s (more on a loaded machine), which alone
would break the one-second budget of ``benchmark-db compare`` as a whole process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

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
