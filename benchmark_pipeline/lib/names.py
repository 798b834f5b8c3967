"""Names a user typed that the warehouse does not know: say so, and name the closest ones it does know.

Every command that takes a model, hardware, table, ledgered path or snapshot name checks it here
first, so a typo is a usage error with a suggestion instead of an empty answer. Matching is
case-insensitive (as the warehouse filters are) and uses difflib's ratio, like Python's own
"did you mean" hints.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import duckdb

from benchmark_pipeline.lib.normalize import KNOWN_HARDWARE_TYPES, canonical_hardware_type


class UnknownNameError(LookupError):
    """A name the warehouse (or the dictionary, ledger, snapshot history) does not know; the message names close ones."""


def closest_names(name: str, known: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Up to ``n`` known names most like ``name`` (case-insensitive), best first; a substring match counts as close.

    When nothing reaches ``cutoff`` the ``n`` most similar are returned anyway, so a message can
    always show the user some real names.
    """
    by_lower: dict[str, str] = {}
    for candidate in known:
        if candidate is not None:
            by_lower.setdefault(str(candidate).lower(), str(candidate))
    if not by_lower:
        return []
    wanted = name.lower().strip()

    def score(candidate: str) -> float:
        ratio = difflib.SequenceMatcher(None, wanted, candidate).ratio()
        if wanted and (wanted in candidate or candidate in wanted):
            ratio = max(ratio, 0.95)  # a prefix or part of the name: the likeliest meaning
        return ratio

    ranked = sorted(by_lower, key=lambda c: (-score(c), c))
    close = [c for c in ranked if score(c) >= cutoff]
    if close and score(close[0]) >= 0.95:
        close = [c for c in close if score(c) >= 0.95]  # containment beats mere similarity
    return [by_lower[c] for c in (close or ranked)[:n]]


def suggestion(name: str, known: Iterable[str] | dict[str, str], list_hint: str | None = None,
               cutoff: float = 0.6) -> str:
    """``did you mean: a, b (all 7: <hint>)``, or ``closest known: ...`` when nothing is really close.

    ``known`` may map the spelling to compare with to the one to show (e.g. absolute path -> path as
    ledgered), so a relative path is compared with absolute ones like for like.
    """
    shown = dict(known) if isinstance(known, dict) else {str(k): str(k) for k in known if k is not None}
    known = sorted(shown)
    if not known:
        return "none known yet"
    close = closest_names(name, known, cutoff=cutoff)
    really = [c for c in close if difflib.SequenceMatcher(None, name.lower(), c.lower()).ratio() >= cutoff
              or name.lower() in c.lower()]
    text = f"{'did you mean' if really else 'closest known'}: {', '.join(shown[c] for c in close)}"
    if list_hint:
        text += f" (all {len(known)}: {list_hint})"
    return text


def unknown_name_message(kind: str, name: str, known: Iterable[str], list_hint: str | None = None,
                         cutoff: float = 0.6) -> str:
    """``no model named 'x'; did you mean: a, b (all 7: <hint>)`` -- what every unknown-name error says."""
    return f"no {kind} named {name!r}; {suggestion(name, known, list_hint, cutoff)}"


# -- warehouse names --------------------------------------------------------------------------------

MODELS_HINT = "benchmark-db query --sql \"SELECT model_name FROM models ORDER BY 1\""
HARDWARE_HINT = ("benchmark-db query --sql \"SELECT DISTINCT hardware_type, device_name FROM hardware_platforms "
                 "ORDER BY ALL\"")


def known_models(conn: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT model_name FROM models ORDER BY model_name").fetchall()]


def resolve_model_name(conn: duckdb.DuckDBPyConnection, name: str) -> str:
    """The model's name as stored (matched ignoring case), else ``UnknownNameError`` naming the closest."""
    row = conn.execute("SELECT model_name FROM models WHERE lower(model_name) = lower(?) ORDER BY model_name",
                       [name]).fetchone()
    if row:
        return row[0]
    raise UnknownNameError(unknown_name_message("model", name, known_models(conn), MODELS_HINT))


def known_hardware(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Hardware types and device names present in the warehouse (what --hardware accepts)."""
    rows = conn.execute("SELECT DISTINCT hardware_type FROM hardware_platforms UNION "
                        "SELECT DISTINCT device_name FROM hardware_platforms WHERE device_name IS NOT NULL").fetchall()
    return sorted(r[0] for r in rows if r[0])


def check_hardware_name(conn: duckdb.DuckDBPyConnection, name: str, known_types_ok: bool = False,
                        fingerprints_ok: bool = False) -> str:
    """``name`` as the filters should see it, or ``UnknownNameError`` naming the closest known hardware.

    A device name (or, with ``fingerprints_ok``, a platform fingerprint or id) comes back as given; a
    hardware type in any spelling (``gpu``, ``cuda:0``) comes back canonical (``cuda``).
    ``known_types_ok`` also accepts a recognised type with no platform yet (a compatibility matrix
    shows such a type as untested).
    """
    sql = "SELECT count(*) FROM hardware_platforms WHERE lower(device_name) = lower(?)"
    probe = [name]
    if fingerprints_ok:
        sql += " OR lower(fingerprint) = lower(?) OR CAST(hardware_id AS VARCHAR) = ?"
        probe += [name, name.strip()]
    if conn.execute(sql, probe).fetchone()[0]:
        return name
    canonical = canonical_hardware_type(name)
    wanted = canonical or name.strip().lower()
    if conn.execute("SELECT count(*) FROM hardware_platforms WHERE hardware_type = ?", [wanted]).fetchone()[0]:
        return wanted
    if known_types_ok and canonical in KNOWN_HARDWARE_TYPES:
        return canonical
    raise UnknownNameError(unknown_name_message("hardware type or device", name, known_hardware(conn), HARDWARE_HINT))
