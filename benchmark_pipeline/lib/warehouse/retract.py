"""Taking a file's rows back out of the warehouse while the ledger keeps saying it was there.

A retraction deletes the facts of the file's active version, closes its open quarantine rows and
turns its ledger row into ``retracted`` with the previous status and the reason in ``history``.
Nothing else is touched: dimension rows stay (other facts may use them), and derived tables catch
up on their next refresh. Ingesting the same bytes again later brings the version back
(``plan.py`` treats a retracted version as new).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from benchmark_pipeline.lib.names import suggestion
# RESULT_TABLES: what a file's ledger row counts as rows_written (one row per stored record);
# CHILD_TABLES: rows hanging off those records (per-batch results, power samples, test assertions).
from benchmark_pipeline.lib.vocabulary import ACTIVE_LEDGER_STATUSES as ACTIVE_STATUSES
from benchmark_pipeline.lib.vocabulary import CHILD_TABLES, FACT_TABLES, RESULT_TABLES, RUN_TABLES

from .transaction import transaction

assert set(RESULT_TABLES + CHILD_TABLES + RUN_TABLES) == set(FACT_TABLES), "every fact table counted once"


class NotInLedgerError(LookupError):
    """A path to retract that has no active version in the ledger."""


@dataclass
class Retraction:
    source_path: str
    sha256: str
    previous_status: str
    rows_deleted: int  # every row deleted, all fact tables together
    duplicates: list[str]  # other paths ledgered as duplicates of this content (they have no rows of their own)
    deleted_by_table: dict[str, int] = field(default_factory=dict)

    @property
    def result_rows(self) -> int:
        """Record rows deleted: what the ledger's rows_written counted for this version."""
        return sum(self.deleted_by_table.get(t, 0) for t in RESULT_TABLES)

    @property
    def child_rows(self) -> int:
        """Batch results, power metrics and assertions that belonged to those records."""
        return sum(self.deleted_by_table.get(t, 0) for t in CHILD_TABLES)

    @property
    def run_rows(self) -> int:
        return sum(self.deleted_by_table.get(t, 0) for t in RUN_TABLES)


def ledger_candidates(path: str) -> list[str]:
    """Spellings under which a path may be ledgered: as given, cwd-relative, absolute."""
    given = Path(path)
    absolute = given if given.is_absolute() else Path.cwd() / given
    spellings = [path, os.path.normpath(str(absolute))]
    try:
        spellings.append(str(Path(os.path.normpath(str(absolute))).relative_to(Path.cwd().resolve())))
    except ValueError:
        pass
    return list(dict.fromkeys(spellings))


def check_active(conn: duckdb.DuckDBPyConnection, paths: list[str]) -> None:
    """``NotInLedgerError`` for the first path without an active ledger version (checked before anything changes)."""
    ledger = pd.DataFrame(conn.execute("SELECT source_path, status FROM ingestion_ledger").fetchall(),
                          columns=["source_path", "status"])
    active = set(ledger.loc[ledger["status"].isin(ACTIVE_STATUSES), "source_path"])
    missing = [p for p in paths if not active.intersection(ledger_candidates(p))]
    if missing:
        raise NotInLedgerError(_not_active_message(conn, missing[0]))


def check_ledgered(conn: duckdb.DuckDBPyConnection, file: str) -> None:
    """``NotInLedgerError`` (naming the closest ledgered paths) unless the ledger has seen ``file`` under any spelling."""
    candidates = ledger_candidates(file)
    seen = conn.execute(f"SELECT count(*) FROM ingestion_ledger WHERE source_path IN "
                        f"({', '.join('?' for _ in candidates)})", candidates).fetchall()[0][0]
    if not seen:
        known = [r[0] for r in conn.execute("SELECT DISTINCT source_path FROM ingestion_ledger").fetchall()]
        raise NotInLedgerError(f"{file}: not in the ledger; {ledger_suggestion(file, known)}")


def ledger_suggestion(path: str, ledgered: list[str], list_hint: str = "benchmark-db ledger") -> str:
    """The ledgered paths closest to ``path``, compared as absolute paths, shown as the ledger spells them."""
    def absolute(p: str) -> str:
        return os.path.normpath(p if os.path.isabs(p) else os.path.join(os.getcwd(), p))

    return suggestion(absolute(path), {absolute(p): p for p in ledgered}, list_hint)


def retract(conn: duckdb.DuckDBPyConnection, path: str, run_id: str, reason: str | None = None,
            now: datetime | None = None) -> Retraction:
    """Retract the active version of one ledgered path, in one transaction."""
    now = now or datetime.now(timezone.utc)
    placeholders = ", ".join("?" for _ in ACTIVE_STATUSES)
    candidates = ledger_candidates(path)
    rows = conn.execute(
        f"SELECT source_path, sha256, status FROM ingestion_ledger WHERE status IN ({placeholders}) "
        f"AND source_path IN ({', '.join('?' for _ in candidates)}) ORDER BY ledger_id DESC",
        [*ACTIVE_STATUSES, *candidates],
    ).fetchall()
    if not rows:
        raise NotInLedgerError(_not_active_message(conn, path))
    source_path, sha256, status = rows[0]
    with transaction(conn):
        deleted: dict[str, int] = {}
        for table in FACT_TABLES:
            deleted[table] = int(conn.execute(
                f"DELETE FROM {table} WHERE source_path = ? AND source_sha256 = ?", [source_path, sha256]
            ).fetchall()[0][0])
        conn.execute("UPDATE quarantine SET status = 'retracted' WHERE status = 'open' AND source_path = ? "
                     "AND source_sha256 = ?", [source_path, sha256])
        note = f"{status} -> retracted by {run_id}" + (f" ({reason})" if reason else "")
        conn.execute(
            "UPDATE ingestion_ledger SET status = 'retracted', status_changed_at = ?, ingestion_run_id = ?, "
            "reason = ?, history = coalesce(history || '; ', '') || ? "
            "WHERE source_path = ? AND sha256 = ? AND status = ?",
            [now, run_id, f"retracted: {reason}" if reason else "retracted", note, source_path, sha256, status],
        )
        duplicates = [r[0] for r in conn.execute(
            "SELECT source_path FROM ingestion_ledger WHERE status = 'duplicate' AND duplicate_of = ? "
            "AND sha256 = ? ORDER BY ledger_id", [source_path, sha256]).fetchall()]
    return Retraction(source_path, sha256, status, sum(deleted.values()), duplicates, deleted)


def _not_active_message(conn: duckdb.DuckDBPyConnection, path: str) -> str:
    """Why ``path`` cannot be retracted, naming the closest paths that can."""
    placeholders = ", ".join("?" for _ in ACTIVE_STATUSES)
    candidates = ledger_candidates(path)
    state = conn.execute(
        f"SELECT status FROM ingestion_ledger WHERE source_path IN ({', '.join('?' for _ in candidates)}) "
        "ORDER BY ledger_id DESC LIMIT 1", candidates).fetchone()
    if state:
        return f"{path}: no active version in the ledger (its latest version is {state[0]}; see `benchmark-db ledger`)"
    active = [r[0] for r in conn.execute(
        f"SELECT DISTINCT source_path FROM ingestion_ledger WHERE status IN ({placeholders})",
        list(ACTIVE_STATUSES)).fetchall()]
    return f"{path}: no active version in the ledger; {ledger_suggestion(path, active)}"
