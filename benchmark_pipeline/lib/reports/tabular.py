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
from typing import Any

from tabulate import tabulate

from benchmark_pipeline.lib.analytics.table import Table

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
    if _is_missing(value):
        return None
    return str(value)


def _is_missing(value: Any) -> bool:
    try:
        return bool(value != value)  # NaN, pd.NA and NaT compare unequal to themselves
    except (TypeError, ValueError):
        return False


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
    rows = [[_display(v) for v in row] for row in table.rows]
    return tabulate(rows, headers=table.columns, tablefmt="pipe", disable_numparse=True)


def render_table(table: Table, fmt: str, title: str = "benchmark-db") -> str:
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(table.columns)
        writer.writerows([["" if (v := json_value(c)) is None else v for c in row] for row in table.rows])
        return buffer.getvalue()
    if fmt == "json":
        records = [{c: json_value(v) for c, v in zip(table.columns, row)} for row in table.rows]
        return json.dumps(records, indent=1, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return _markdown(table) + "\n"
    if fmt == "html":
        head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(_display(v)))}</td>" for v in row) + "</tr>\n"
                       for row in table.rows)
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(title)}</title></head><body>\n"
                f"<table border=\"1\"><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>\n</body></html>\n")
    if fmt == "table":
        if not table.rows:
            return "(no rows)\n"
        rows = [[_display(v) for v in row] for row in table.rows]
        return tabulate(rows, headers=table.columns, tablefmt="simple", disable_numparse=True) + "\n"
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(TABLE_FORMATS)}")


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
