"""A result as csv, json, markdown, html or an aligned text table (query and compare output).

Works on plain rows (``Table``) so the command-line path never imports pandas; report sections,
which are frames, go through ``frame_to_table`` first.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Iterator

from benchmark_pipeline.lib.analytics.table import Deadline, Table, is_missing

TABLE_FORMATS = ("table", "csv", "json", "markdown", "html")


def json_value(value: Any) -> Any:
    """A cell as a JSON value: ISO-8601 times, floats for decimals, null for missing and NaN."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return None
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (str, int, bool)):
        return value
    if hasattr(value, "item"):  # numpy scalar
        return json_value(value.item())
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return value.isoformat()
    if is_missing(value):
        return None
    return str(value)


def _display(value: Any) -> Any:
    """A cell for the text formats: blank for missing, 6 significant digits, markdown-safe strings."""
    value = json_value(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return value.replace("|", "\\|").replace("\n", " ")
    return value


def frame_to_table(frame) -> Table:
    return Table([str(c) for c in frame.columns], list(frame.itertuples(index=False, name=None)))


def frame_to_markdown(frame) -> str:
    return _markdown(frame_to_table(frame))


def frame_to_json_rows(frame) -> tuple[list[str], list[list[Any]]]:
    table = frame_to_table(frame)
    return table.columns, [[json_value(v) for v in row] for row in table.rows]


def _markdown(table: Table) -> str:
    return "".join(_aligned(table, "pipe")).removesuffix("\n")


# --- the text layouts, chunk by chunk ------------------------------------------------------------------
#
# "table" and "markdown" lay rows out as tabulate's "simple" and "pipe" formats do with disable_numparse
# (what they used before): every column left-aligned, at least two wider than its header, cells stripped
# of surrounding blanks, wide characters counted by wcwidth when it is installed. They are written here,
# row chunk by row chunk, so a deadline can stop them between chunks; one difference: a line break in a
# header or cell becomes a blank instead of a multi-line row.

try:  # tabulate measures wide characters only when wcwidth is there; so do we
    from wcwidth import wcswidth as _wcswidth
except ImportError:  # pragma: no cover - depends on the environment
    _wcswidth = None

RENDER_CHUNK_ROWS = 500  # rows formatted between two looks at the deadline


def _chunks(rows: list, deadline: Deadline | None) -> Iterator[list]:
    for start in range(0, len(rows), RENDER_CHUNK_ROWS):
        if deadline is not None:
            deadline.check("rendering the result")
        yield rows[start:start + RENDER_CHUNK_ROWS]


def _one_line(text: str) -> str:
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def _cell_text(value: Any) -> str:
    kind = type(value)
    if kind is str:  # the common cases first, as _display has them
        return _one_line(value.replace("|", "\\|")).strip()
    if kind is int:
        return str(value)
    if value is None:
        return ""
    return _one_line(str(_display(value))).strip()


def _width(text: str) -> int:
    if text.isascii() or _wcswidth is None:
        return len(text)
    width = _wcswidth(text)
    return width if width >= 0 else len(text)  # a control character: wcwidth cannot tell


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _aligned(table: Table, style: str, deadline: Deadline | None = None) -> Iterator[str]:
    """``style`` "simple" (columns two blanks apart) or "pipe" (markdown); lines end with a newline."""
    headers = [_one_line(str(c)) for c in table.columns]
    widths = [_width(h) + 2 for h in headers]
    for chunk in _chunks(table.rows, deadline):  # first pass: the widths
        for row in chunk:
            for i, value in enumerate(row):
                width = _width(_cell_text(value))
                if width > widths[i]:
                    widths[i] = width
    if style == "simple":
        def line(cells: list[str]) -> str:
            return "  ".join(_pad(c, w) for c, w in zip(cells, widths)).rstrip()

        rule = "  ".join("-" * w for w in widths)
    else:
        def line(cells: list[str]) -> str:
            return "| " + " | ".join(_pad(c, w) for c, w in zip(cells, widths)) + " |"

        rule = "|" + "|".join((":" + "-" * (w + 1)) if table.rows else "-" * (w + 2) for w in widths) + "|"
    yield line(headers) + "\n" + rule + "\n"
    for chunk in _chunks(table.rows, deadline):
        yield "".join(line([_cell_text(v) for v in row]) + "\n" for row in chunk)


def _csv(table: Table, deadline: Deadline | None) -> Iterator[str]:
    def text(rows: list) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        return buffer.getvalue()

    yield text([table.columns])
    for chunk in _chunks(table.rows, deadline):
        yield text([["" if (v := json_value(c)) is None else v for c in row] for row in chunk])


_encode_string = json.encoder.encode_basestring  # as json.dumps(..., ensure_ascii=False) writes a string
_encode_other = json.JSONEncoder(ensure_ascii=False).encode


def _json_text(value: Any) -> str:
    """``json.dumps(json_value(value), ensure_ascii=False)``, with the common cases short."""
    kind = type(value)
    if kind is str:
        return _encode_string(value)
    if kind is int:
        return int.__repr__(value)
    value = json_value(value)
    if value is None:
        return "null"
    if type(value) is float:
        return float.__repr__(value)  # json_value has made NaN and infinities null
    return _encode_other(value)


def _json(table: Table, deadline: Deadline | None) -> Iterator[str]:
    """As ``json.dumps(records, indent=1, ensure_ascii=False)``, record by record (and many times faster)."""
    if not table.rows:
        yield "[]\n"
        return
    keys = [f"  {_encode_string(str(c))}: " for c in table.columns]
    separator = "[\n"
    for chunk in _chunks(table.rows, deadline):
        parts = []
        for row in chunk:
            fields = ",\n".join(key + _json_text(v) for key, v in zip(keys, row))
            parts.append(f"{separator} {{\n{fields}\n }}" if fields else f"{separator} {{}}")
            separator = ",\n"
        yield "".join(parts)
    yield "\n]\n"


def _html(table: Table, title: str, deadline: Deadline | None) -> Iterator[str]:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    yield ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           f"<title>{html.escape(title)}</title></head><body>\n"
           f"<table border=\"1\"><thead><tr>{head}</tr></thead><tbody>\n")
    for chunk in _chunks(table.rows, deadline):
        yield "".join("<tr>" + "".join(f"<td>{html.escape(str(_display(v)))}</td>" for v in row) + "</tr>\n"
                      for row in chunk)
    yield "</tbody></table>\n</body></html>\n"


def iter_render_table(table: Table, fmt: str, title: str = "benchmark-db",
                      deadline: Deadline | None = None) -> Iterator[str]:
    """``render_table`` in pieces (about ``RENDER_CHUNK_ROWS`` rows each), checking ``deadline`` between them.

    ``DeadlineExceeded`` when it passes; the pieces joined are the whole text.
    """
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(TABLE_FORMATS)}")
    if fmt == "csv":
        yield from _csv(table, deadline)
    elif fmt == "json":
        yield from _json(table, deadline)
    elif fmt == "markdown":
        yield from _aligned(table, "pipe", deadline)
    elif fmt == "html":
        yield from _html(table, title, deadline)
    elif not table.rows:
        yield "(no rows)\n"
    else:
        yield from _aligned(table, "simple", deadline)


def render_table(table: Table, fmt: str, title: str = "benchmark-db", deadline: Deadline | None = None) -> str:
    """The whole text; with a ``deadline``, ``DeadlineExceeded`` when rendering outlasts it."""
    return "".join(iter_render_table(table, fmt, title, deadline))


def render_frame(frame, fmt: str, title: str = "benchmark-db") -> str:
    return render_table(frame_to_table(frame), fmt, title)


# --- Short tables for people (report sections in HTML and markdown) -------------------------------

def short_number(value: Any, digits: int = 4) -> str:
    """A number to ``digits`` significant digits, thousands separated, never in exponent form; '' if missing."""
    value = json_value(value)
    if value is None or isinstance(value, str):
        return "" if value is None else value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = digits - 1 - magnitude
    rounded = round(value, decimals)
    return f"{rounded:,.{max(decimals, 0)}f}"


def signed_percent(value: Any) -> str:
    """A % change as '+27.1%' / '−21.3%' (a real minus sign); '' if missing."""
    value = json_value(value)
    if value is None or isinstance(value, str):
        return "" if value is None else value
    text = f"{value:+.1f}%"
    return text.replace("-", "\u2212")


def short_time(value: Any) -> str:
    """A time as 'YYYY-MM-DD HH:MM' (UTC for aware times); '' if missing."""
    value = json_value(value)
    if value is None:
        return ""
    text = str(value).replace("T", " ")
    return text[:16] if len(text) >= 16 and text[10] == " " else text


def display_cell(value: Any, kind: str = "auto") -> str:
    """One cell as people read it: kind is auto, number, percent, time, flag (True -> 'yes', else blank) or text."""
    if kind == "percent":
        return signed_percent(value)
    if kind == "time":
        return short_time(value)
    if kind == "flag":
        plain = json_value(value)
        return "yes" if plain is True else ""
    plain = json_value(value)
    if plain is None:
        return ""
    if kind == "text":
        return str(plain)
    if hasattr(value, "isoformat"):  # datetime, date, pandas Timestamp
        return short_time(value)
    if isinstance(plain, str):
        return plain
    return short_number(plain)
