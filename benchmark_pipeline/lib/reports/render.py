"""A built report as markdown, one self-contained HTML file, or JSON following ``report.schema.json``.

The HTML embeds plotly.js once (``include_plotlyjs=True`` on the first chart, off on the rest) so
the file opens offline from disk, with no CDN and no server; about 4.7 MB per report is the price.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

from .build import Report, Section
from .tabular import frame_to_json_rows, frame_to_markdown

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
SCHEMA_VERSION = 1
MAX_TABLE_ROWS = 200
FORMATS = ("markdown", "html", "json")
SUFFIXES = {"markdown": ".md", "html": ".html", "json": ".json"}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem} .meta{color:#666;font-size:.9rem} nav ul{columns:2;font-size:.9rem}
section{margin:2rem 0;border-top:1px solid #ddd;padding-top:1rem}
table{border-collapse:collapse;font-size:.8rem;margin:.5rem 0;display:block;overflow-x:auto}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right;white-space:nowrap}
th{background:#f4f4f4} td:first-child,th:first-child{text-align:left} .note{color:#555;font-size:.85rem}
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
    """Write atomically: a reader (or the browser test) never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render(report, fmt), encoding="utf-8")
    tmp.replace(path)
    return path


def _shown(table: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    if len(table) <= MAX_TABLE_ROWS:
        return table, None
    return table.head(MAX_TABLE_ROWS), f"first {MAX_TABLE_ROWS} of {len(table)} rows"


def _filters_line(report: Report) -> str:
    active = {k: v for k, v in report.filters.items() if v not in (None, False)}
    return ", ".join(f"{k}={v}" for k, v in active.items()) or "none"


def to_markdown(report: Report) -> str:
    lines = [f"# {report.title}", "",
             f"Generated {report.generated_at.isoformat(timespec='seconds')}; filters: {_filters_line(report)}.", ""]
    for section in report.sections:
        lines += [f"## {section.title}", ""]
        if section.text:
            lines += [section.text, ""]
        if section.figure is not None:
            lines += [f"_Chart ({section.chart_type}): interactive in the HTML report._", ""]
        if section.table is not None:
            shown, note = _shown(section.table)
            lines += [frame_to_markdown(shown) if not shown.empty else "_no rows_", ""]
            if note:
                lines += [f"_{note}_", ""]
        elif section.figure is None and not section.text:
            lines += ["_no data_", ""]
    return "\n".join(lines)


def to_html(report: Report) -> str:
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(report.title)}</h1>",
        f'<p class="meta">Generated {html.escape(report.generated_at.isoformat(timespec="seconds"))}; '
        f"filters: {html.escape(_filters_line(report))}.</p>",
        "<nav><ul>" + "".join(f'<li><a href="#{html.escape(s.id)}">{html.escape(s.title)}</a></li>'
                              for s in report.sections) + "</ul></nav>",
    ]
    plotly_embedded = False
    for section in report.sections:
        parts.append(f'<section id="{html.escape(section.id)}"><h2>{html.escape(section.title)}</h2>')
        if section.text:
            parts.append(f'<p class="note">{html.escape(section.text)}</p>')
        if section.figure is not None:
            parts.append(section.figure.to_html(
                full_html=False, include_plotlyjs=not plotly_embedded, div_id=f"chart-{section.id}",
                config={"displaylogo": False, "responsive": True},
            ))
            plotly_embedded = True
        if section.table is not None:
            shown, note = _shown(section.table)
            parts.append(shown.to_html(index=False, na_rep="", border=0, escape=True) if not shown.empty
                         else '<p class="note">no rows</p>')
            if note:
                parts.append(f'<p class="note">{note}</p>')
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


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
    if section.table is not None:
        columns, rows = frame_to_json_rows(section.table)
        out["table"] = {"columns": columns, "rows": rows, "total_rows": len(section.table)}
    if section.figure is not None:
        figure = json.loads(section.figure.to_json())
        figure.get("layout", {}).pop("template", None)  # 10 kB of theme per chart, identical everywhere
        out["chart"] = {"type": section.chart_type, "data": figure.get("data", []), "layout": figure.get("layout", {})}
    return out
