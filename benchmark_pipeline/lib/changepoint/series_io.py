"""Reading one raw series from a file, the way Otava's CSV users lay them out.

CSV: one column per metric; ``#`` lines, blank lines and the header are skipped; the delimiter is
``,``, ``;`` or tab (whichever the header uses); a time column is never a metric; empty cells are
filled as Otava fills missing values. JSON: a list of numbers (nulls allowed), or an object whose
list-of-number members are the columns. Indexes used everywhere else are positions over data rows.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

from benchmark_pipeline.lib.changepoint.otava import fill_missing

TIME_COLUMNS = frozenset({"time", "timestamp", "date", "datetime", "run_time", "created_at"})


class SeriesInputError(ValueError):
    """The file cannot give one numeric series (the message says what to change)."""


@dataclass(frozen=True)
class RawSeries:
    name: str | None
    values: list[float]
    filled: int  # how many empty cells were filled


def _number(cell: object) -> float | None:
    """A finite float, None for an empty cell; raises ValueError for anything else."""
    if cell is None:
        return None
    if isinstance(cell, bool):
        raise ValueError(cell)
    if isinstance(cell, (int, float)):
        value = float(cell)
    else:
        text = str(cell).strip()
        if not text:
            return None
        value = float(text)
    if not math.isfinite(value):
        return None
    return value


def _choose(columns: dict[str, list], wanted: str | None, source: str) -> tuple[str, list[float | None]]:
    numeric: dict[str, list[float | None]] = {}
    for name, cells in columns.items():
        try:
            parsed = [_number(c) for c in cells]
        except (TypeError, ValueError):
            if name == wanted:
                raise SeriesInputError(f"column {name!r} of {source} is not numeric")
            continue
        if any(v is not None for v in parsed) and (name == wanted or name.strip().lower() not in TIME_COLUMNS):
            numeric[name] = parsed
    if wanted is not None:
        if wanted not in columns:
            raise SeriesInputError(f"no column {wanted!r} in {source}; columns: {', '.join(columns) or 'none'}")
        if wanted not in numeric:
            raise SeriesInputError(f"column {wanted!r} of {source} has no numbers")
        return wanted, numeric[wanted]
    if not numeric:
        raise SeriesInputError(f"{source} has no numeric column")
    if len(numeric) > 1:
        raise SeriesInputError(
            f"{source} has several numeric columns ({', '.join(numeric)}); choose one with --column"
        )
    return next(iter(numeric.items()))


def _csv_columns(text: str) -> dict[str, list[str]]:
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return {}
    header = lines[0]
    delimiter = max((",", ";", "\t"), key=header.count)
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    names = [h.strip() for h in rows[0]]
    columns: dict[str, list[str]] = {name: [] for name in names}
    for row in rows[1:]:
        for i, name in enumerate(names):
            columns[name].append(row[i] if i < len(row) else "")
    return columns


def _json_columns(data: object, source: str) -> dict[str, list]:
    if isinstance(data, list):
        return {"": data}
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if isinstance(v, list)}
    raise SeriesInputError(f"{source}: expected a JSON list of numbers or an object of lists")


def read_series(path: str | Path, column: str | None = None) -> RawSeries:
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SeriesInputError(f"cannot read {source}: {exc.strerror or exc}") from exc
    stripped = text.lstrip()
    if source.lower().endswith(".json") or stripped[:1] in ("[", "{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SeriesInputError(f"{source} is not valid JSON: {exc}") from exc
        columns = _json_columns(data, source)
        if "" in columns and column is not None:
            raise SeriesInputError(f"{source} is a plain list; --column does not apply")
    else:
        columns = _csv_columns(text)
    name, cells = _choose(columns, column, source)
    filled = sum(v is None for v in cells)
    return RawSeries(name or None, fill_missing(cells), filled)
