"""A built report as markdown, an HTML page, or JSON following ``report.schema.json``.

HTML and markdown are for reading: the headline first, short tables (at most ``MAX_SHOWN_ROWS``
rows, numbers to four significant digits, missing cells empty). JSON is for programs and keeps
every row at full precision.

The HTML page loads plotly.js from ``plotly.min.js`` beside it (a relative ``<script src>``), so
the reports of one run share one 4.7 MB bundle and each page stays small; ``write`` puts the
bundle there when it is missing or stale, so a page written by ``write`` opens offline from disk,
with no CDN and no server.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

from .build import MAX_SHOWN_ROWS, METRIC_NAMES, Report, Section
from .tabular import display_cell, frame_to_json_rows

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
SCHEMA_VERSION = 3
MAX_TABLE_ROWS = MAX_SHOWN_ROWS
FORMATS = ("markdown", "html", "json")
SUFFIXES = {"markdown": ".md", "html": ".html", "json": ".json"}
PLOTLY_JS = "plotly.min.js"

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem auto;max-width:1280px;color:#222;
padding:0 1rem;overflow-wrap:anywhere}
h1{margin-bottom:.2rem} h2{font-size:1.2rem;margin:.2rem 0 .6rem} .meta{color:#666;font-size:.85rem}
nav{font-size:.85rem;color:#555} nav a{margin-right:.9rem;white-space:nowrap;display:inline-block}
section{margin:1.6rem 0;border-top:1px solid #ddd;padding-top:.8rem}
.cards{display:flex;flex-wrap:wrap;gap:.6rem;margin:.4rem 0 .8rem;padding:0;list-style:none}
.cards li{background:#f4f6f8;border-radius:6px;padding:.45rem .8rem;min-width:8.5rem}
.cards b{display:block;font-size:1.25rem} .cards span{color:#555;font-size:.8rem}
ul.changes{margin:.3rem 0;padding-left:1.2rem} ul.changes li{margin:.2rem 0}
code{background:#f4f4f4;padding:0 .2rem;border-radius:3px}
table{border-collapse:collapse;font-size:.82rem;margin:.5rem 0;max-width:100%}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
th{background:#f4f4f4} .note{color:#555;font-size:.85rem}
.js-plotly-plot,.plotly-graph-div{max-width:100%}
"""


def render(report: Report, fmt: str) -> str:
    if fmt == "markdown":
        return to_markdown(report)
    if fmt == "html":
        return to_html(report)
    if fmt == "json":
        return json.dumps(to_json(report), indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    raise ValueError(f"unknown format {fmt!r}")


def write(report: Report, fmt: str, path: Path) -> Path:
    """Write atomically: a reader (or the browser test) never sees half a report. HTML gets plotly.js beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render(report, fmt), encoding="utf-8")
    tmp.replace(path)
    if fmt == "html":
        ensure_plotly_js(path.parent)
    return path


def ensure_plotly_js(directory: Path) -> Path:
    """``directory/plotly.min.js``, written (atomically) when missing or not the bundle of the installed plotly."""
    from plotly.offline import get_plotlyjs

    target = Path(directory) / PLOTLY_JS
    bundle = get_plotlyjs().encode("utf-8")
    if target.exists() and target.stat().st_size == len(bundle) and target.read_bytes() == bundle:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(bundle)
    tmp.replace(target)
    return target


# --- tables for people --------------------------------------------------------------------------

def shown_table(section: Section) -> tuple[pd.DataFrame, list[list[str]], str | None]:
    """The rows HTML and markdown print: the section's short table (or its full one), capped, cells as text."""
    frame = section.shown if section.shown is not None else section.table
    if frame is None:
        return pd.DataFrame(), [], None
    total = len(frame)
    head = frame.head(MAX_SHOWN_ROWS)
    kinds = [section.formats.get(str(c), "auto") for c in head.columns]
    rows = [[_cell(v, k) for v, k in zip(row, kinds)] for row in head.itertuples(index=False, name=None)]
    note = None
    full = len(section.table) if section.table is not None else total
    if total > MAX_SHOWN_ROWS:
        note = f"{MAX_SHOWN_ROWS} of {total} rows shown"
    if rows and section.table is not None and (total > MAX_SHOWN_ROWS or section.shown is not None) \
            and full > len(head):
        note = (note + "; " if note else "") + f"all {full} rows are in the JSON report (--format json)"
    return head, rows, note


def _cell(value: Any, kind: str) -> str:
    if kind == "metric":
        plain = display_cell(value, "text")
        return METRIC_NAMES.get(plain, plain)
    if kind == "score":
        plain = display_cell(value, "number")
        return "" if plain == "" else f"{100 * float(value):.0f}%"
    return display_cell(value, "auto" if kind == "number" else kind)


def _numeric(index: int, frame: pd.DataFrame) -> bool:
    column = frame.iloc[:, index]
    return pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)


# --- markdown ---------------------------------------------------------------------------------

def _filters_line(report: Report) -> str:
    active = {k: v for k, v in report.filters.items() if v not in (None, False)}
    return ", ".join(f"{k}={v}" for k, v in active.items()) or "none"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    lines = [f"# {report.title}", "",
             f"Generated {report.generated_at.isoformat(timespec='seconds')}; filters: {_filters_line(report)}.", ""]
    for section in report.sections:
        lines += [f"## {section.title}", ""]
        if section.stats:
            lines += [" · ".join(f"**{value}** {label}" for label, value in section.stats), ""]
        if section.bullets:
            lines += [f"- {b}" for b in section.bullets] + [""]
        if section.text:
            lines += [section.text, ""]
        if section.figure is not None:
            lines += [f"_Chart ({section.chart_type}): see the HTML report._", ""]
        frame, rows, note = shown_table(section)
        if len(frame.columns):
            if rows:
                header = [_md_escape(str(c)) for c in frame.columns]
                lines += ["| " + " | ".join(header) + " |",
                          "|" + "|".join("---:" if _numeric(i, frame) else "---"
                                         for i in range(len(header))) + "|"]
                lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
                lines += [""]
            elif not section.stats:
                lines += ["_no rows_", ""]
            if note:
                lines += [f"_{note}_", ""]
        elif section.figure is None and not section.text and not section.stats:
            lines += ["_no data_", ""]
    return "\n".join(lines)


# --- HTML -----------------------------------------------------------------------------------------

def to_html(report: Report) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(report.title)}</title><style>{_CSS}</style>",
    ]
    if any(s.figure is not None for s in report.sections):
        parts.append(f'<script src="{PLOTLY_JS}" charset="utf-8"></script>')
    parts += [
        "</head><body>", f"<h1>{esc(report.title)}</h1>",
        f'<p class="meta">Generated {esc(report.generated_at.isoformat(timespec="seconds"))}; '
        f"filters: {esc(_filters_line(report))}. Every row: <code>--format json</code>.</p>",
        "<nav>" + "".join(f'<a href="#{esc(s.id)}">{esc(s.title)}</a>' for s in report.sections) + "</nav>",
    ]
    for section in report.sections:
        parts.append(f'<section id="{esc(section.id)}"><h2>{esc(section.title)}</h2>')
        if section.stats:
            parts.append('<ul class="cards">' + "".join(
                f"<li><b>{esc(value)}</b><span>{esc(label)}</span></li>" for label, value in section.stats) + "</ul>")
        if section.bullets:
            parts.append('<ul class="changes">' + "".join(f"<li>{_inline(b)}</li>" for b in section.bullets)
                         + "</ul>")
        if section.text:
            parts.append(f'<p class="note">{_inline(section.text)}</p>')
        if section.figure is not None:
            parts.append(section.figure.to_html(
                full_html=False, include_plotlyjs=False, div_id=f"chart-{section.id}",
                config={"displaylogo": False, "responsive": True},
            ))
        if section.table_in_html or section.figure is None:
            frame, rows, note = shown_table(section)
            if rows:
                numeric = [_numeric(i, frame) for i in range(len(frame.columns))]
                head = "".join(f"<th>{esc(str(c))}</th>" for c in frame.columns)
                body = "".join("<tr>" + "".join(f'<td class="n">{esc(c)}</td>' if n else f"<td>{esc(c)}</td>"
                                                for c, n in zip(row, numeric)) + "</tr>" for row in rows)
                parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            elif len(frame.columns) and not section.stats:
                parts.append('<p class="note">no rows</p>')
            if note:
                parts.append(f'<p class="note">{esc(note)}</p>')
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _inline(text: str) -> str:
    """Escaped text with `code` spans."""
    pieces = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))


# --- JSON -----------------------------------------------------------------------------------------

def to_json(report: Report) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": report.kind,
        "title": report.title,
        "generated_at": report.generated_at.isoformat(),
        "filters": report.filters,
        "sections": [_section_json(s) for s in report.sections],
    }


def _section_json(section: Section) -> dict[str, Any]:
    out: dict[str, Any] = {"id": section.id, "title": section.title, "text": section.text}
    if section.stats or section.bullets:
        out["headline"] = {"stats": [{"label": label, "value": value} for label, value in section.stats],
                           "items": list(section.bullets)}
    if section.table is not None:
        columns, rows = frame_to_json_rows(section.table)
        out["table"] = {"columns": columns, "rows": rows, "total_rows": len(section.table)}
    if section.figure is not None:
        figure = json.loads(section.figure.to_json())
        figure.get("layout", {}).pop("template", None)  # 10 kB of theme per chart, identical everywhere
        out["chart"] = {"type": section.chart_type, "data": figure.get("data", []), "layout": figure.get("layout", {})}
    if section.flag_review is not None:
        out["flag_review"] = section.flag_review
    return out
