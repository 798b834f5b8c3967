"""Shared by the analytics sub-commands: where results go and how dates on the command line are read."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path

from .main import CliError


def emit(text: str, output: str | None) -> None:
    """Results to ``--output`` (written whole, then renamed) or stdout."""
    if not output:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise CliError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    print(f"wrote {path}", file=sys.stderr)


def since_date(value: str) -> date | datetime:
    """``--since``: an ISO date (midnight UTC) or date-time."""
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {value!r} (e.g. 2025-03-01)") from None


def add_filter_options(parser: argparse.ArgumentParser, model: bool = True, hardware: bool = True) -> None:
    if model:
        parser.add_argument("--model", help="only this model (exact name, any case)")
    if hardware:
        parser.add_argument("--hardware", help="only this hardware type (cuda, gpu, ...) or device name")
    parser.add_argument("--since", type=since_date, metavar="DATE", help="only results from this date (UTC) on")
    parser.add_argument("--include-simulated", action="store_true",
                        help="count simulated results too (left out by default)")


# --- listings: ledger, quarantine list, snapshot list -------------------------------------------

LIST_FORMATS = ("tsv", "table", "json")


def add_list_format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=LIST_FORMATS, default="tsv", dest="list_format",
                        help="tsv (default: a header line, then tab-separated rows), table (aligned text) or "
                             "json (a list of objects, for scripts)")


def _tsv_cell(value) -> str:
    from benchmark_pipeline.lib.reports.tabular import json_value

    value = json_value(value)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a count read through a nullable float column (record_index)
    return printable(str(value).replace("\t", " ").replace("\r", " ").replace("\n", " "))


# -- text from outside (file names, values from files) on the terminal ---------------------------

_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_UNPRINTABLE = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))  # controls, format (bidi) marks, surrogates, separators


def printable(text: str) -> str:
    """``text`` with every character that could steer a terminal or break a line escaped, Python style.

    Control characters (``\\x1b``, ``\\n``, C1 controls), bidi and other format marks and line separators
    become backslash escapes; a byte of a file name that is not UTF-8 (kept by Python as a lone
    surrogate) becomes ``\\xNN``, so the name is shown as the bytes it has and printing never fails.
    """
    import unicodedata

    if text.isprintable():
        return text
    out = []
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif unicodedata.category(char) in _UNPRINTABLE:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def render_listing(columns: list[str], rows: list[tuple], fmt: str) -> str:
    """A listing in one of ``LIST_FORMATS``: tsv always has its header line, json is a list of objects."""
    if fmt == "tsv":
        lines = ["\t".join(columns)] + ["\t".join(_tsv_cell(v) for v in row) for row in rows]
        return "\n".join(lines) + "\n"
    from benchmark_pipeline.lib.analytics.table import Table
    from benchmark_pipeline.lib.reports.tabular import render_table

    return render_table(Table(list(columns), [tuple(r) for r in rows]), fmt)
