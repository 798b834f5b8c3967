"""Taking a file's rows back out of the warehouse while the ledger keeps saying it was there.

A retraction deletes the facts of the file's active version, closes its open quarantine rows and
turns its ledger row into ``retracted`` with the previous status and the reason in ``history``.
Nothing else is touched: dimension rows stay (other facts may use them), and derived tables catch
up on their next refresh. Ingesting the same bytes again later brings the version back
(``plan.py`` treats a retracted version as new).

Also here: which ledger rows a path typed by a user means (``ledger_candidates``), and taking over the
relative spellings older ingests stored (``adopt_relative_paths``), which may retire a stale version.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone

import duckdb
import pandas as pd

from benchmark_pipeline.lib.names import suggestion
from benchmark_pipeline.lib.scope import Scope
# RESULT_TABLES: what a file's ledger row counts as rows_written (one row per stored record);
# CHILD_TABLES: rows hanging off those records (per-batch results, power samples, test assertions).
from benchmark_pipeline.lib.vocabulary import ACTIVE_LEDGER_STATUSES as ACTIVE_STATUSES
from benchmark_pipeline.lib.vocabulary import CHILD_TABLES, FACT_TABLES, RESULT_TABLES, RUN_TABLES

from .load import scope_of_paths
from .plan import relative_spellings
from .transaction import registered, transaction

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
    """Spellings under which a path a user typed may be ledgered.

    As given; absolute; its real path (links followed: the identity ingests store, ``file_identity``);
    and relative to the working directory, as ingests before absolute identities stored files inside it.
    """
    if "://" in path:
        return [path]
    cwd = os.getcwd()
    absolute = os.path.normpath(os.path.join(cwd, path))
    real = os.path.realpath(absolute)
    spellings = [path, absolute, real]
    for base in (os.path.realpath(cwd), cwd):
        for full in (real, absolute):
            if full.startswith(base.rstrip(os.sep) + os.sep):
                spellings.append(os.path.relpath(full, base))
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


# Ledger statuses of a version whose facts are in the warehouse (a duplicate has none of its own).
_WITH_FACTS = tuple(s for s in ACTIVE_STATUSES if s != "duplicate")


def adopt_relative_paths(conn: duckdb.DuckDBPyConnection, files: list[str], cwd: str, run_id: str,
                         now: datetime) -> Scope:
    """Respell the ledger's relative paths that name one of ``files`` from ``cwd`` (``plan.relative_spellings``)
    as those files' identities, everywhere they appear; returns the scope of those files' facts.

    A relative row may meet rows of the same file under its absolute path (an older ingest from elsewhere):
    two rows of the same version become one (the one whose facts are live, else the active one, else the
    newer; the other's facts, identical, are deleted), and of several live versions of the file only the
    newest stays live, the others superseded as an ingest of the newest would have done. Each row changed
    says so in its history. Runs in the caller's transaction (or its own). The scope returned covers every
    fact of the files concerned (a superset of what changed), for the derived tables to be recomputed.
    """
    ledgered = [r[0] for r in conn.execute(
        "SELECT DISTINCT source_path FROM ingestion_ledger WHERE source_path NOT LIKE '/%'").fetchall()]
    moves = relative_spellings(ledgered, files, cwd)
    if not moves:
        return Scope(models=frozenset(), platforms=frozenset(), compatibility=False)
    frame = pd.DataFrame({"relative": list(moves), "absolute": list(moves.values())})
    with transaction(conn), registered(conn, "path_moves", frame):
        scope = scope_of_paths(conn, [*moves, *moves.values()])
        _merge_versions(conn, run_id)
        for table in (*FACT_TABLES, "quarantine"):
            conn.execute(f"UPDATE {table} SET source_path = m.absolute FROM path_moves m "
                         f"WHERE {table}.source_path = m.relative")
        conn.execute(
            "UPDATE ingestion_ledger SET source_path = m.absolute, history = coalesce(history || '; ', '') || "
            "'was ledgered as ' || m.relative || ' (relative to the working directory), spelled absolute by run ' "
            "|| ? FROM path_moves m WHERE ingestion_ledger.source_path = m.relative", [run_id])
        conn.execute("UPDATE ingestion_ledger SET duplicate_of = m.absolute FROM path_moves m "
                     "WHERE ingestion_ledger.duplicate_of = m.relative")
        _retire_older_versions(conn, sorted(set(moves.values())), run_id, now)
    return scope


def _merge_versions(conn: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """One ledger row per (identity, sha256): fold a relative row and an absolute row of the same version."""
    pairs = conn.execute(
        "SELECT r.ledger_id, r.source_path, r.status, r.status_changed_at, a.ledger_id, a.source_path, a.status, "
        "a.status_changed_at, r.sha256 FROM path_moves m JOIN ingestion_ledger r ON r.source_path = m.relative "
        "JOIN ingestion_ledger a ON a.source_path = m.absolute AND a.sha256 = r.sha256").fetchall()
    for row in pairs:
        rows = [row[0:4], row[4:8]]
        sha = row[8]
        keep, drop = sorted(rows, key=lambda r: (r[2] in _WITH_FACTS, r[2] in ACTIVE_STATUSES, r[3], r[0]),
                            reverse=True)
        if drop[2] in _WITH_FACTS:  # the same content's facts twice: the kept row's stay
            for table in FACT_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE source_path = ? AND source_sha256 = ?", [drop[1], sha])
        conn.execute("UPDATE quarantine SET status = 'superseded' WHERE status = 'open' AND source_path = ? "
                     "AND source_sha256 = ?", [drop[1], sha])
        conn.execute("DELETE FROM ingestion_ledger WHERE ledger_id = ?", [drop[0]])
        conn.execute("UPDATE ingestion_ledger SET history = coalesce(history || '; ', '') || ? WHERE ledger_id = ?",
                     [f"merged by run {run_id} with the row of {drop[1]} ({drop[2]}): the same file and version",
                      keep[0]])


def _retire_older_versions(conn: duckdb.DuckDBPyConnection, paths: list[str], run_id: str, now: datetime) -> None:
    """Of several active versions of one file, keep the newest (last status change); supersede the rest."""
    placeholders = ", ".join("?" for _ in ACTIVE_STATUSES)
    active = conn.execute(
        f"SELECT source_path, sha256, status FROM ingestion_ledger WHERE status IN ({placeholders}) "
        "AND source_path IN (SELECT unnest(?::VARCHAR[])) ORDER BY source_path, status_changed_at, ledger_id",
        [*ACTIVE_STATUSES, paths]).fetchall()
    newest = {path: sha for path, sha, _ in active}
    stale = [(path, sha, status) for path, sha, status in active if newest[path] != sha]
    for path, sha, status in stale:
        for table in FACT_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE source_path = ? AND source_sha256 = ?", [path, sha])
        conn.execute("UPDATE quarantine SET status = 'superseded' WHERE status = 'open' AND source_path = ? "
                     "AND source_sha256 = ?", [path, sha])
        conn.execute(
            "UPDATE ingestion_ledger SET status = 'superseded', status_changed_at = ?, history = "
            "coalesce(history || '; ', '') || ? WHERE source_path = ? AND sha256 = ?",
            [now, f"{status} -> superseded by run {run_id}: a newer version of the same file was ledgered "
                  "under another name", path, sha])


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
