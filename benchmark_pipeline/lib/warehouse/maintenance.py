"""Maintenance of the warehouse, the part the original system promised and got wrong.

Three things live here, all free of Dagster and of the environment:

- **validate**: checks over an open (read-only) connection, each a ``CheckResult`` saying what it looked at
  and, per kind of problem, how many there are with the first examples. ``schema`` (the version and the
  documented tables and columns), ``invariants`` (``invariants.INVARIANTS``: unique keys, foreign keys),
  ``orphans`` (rows cut off from where they came from: child rows without their parent, active ledger rows
  claiming rows that are not there, facts of a file version the ledger does not hold as active) and
  ``ledger`` (each active ledger row's ``rows_written`` against the rows counted, each test run's
  ``record_count`` against its rows). The original's ``PRAGMA database_check`` does not exist in DuckDB,
  so its check always failed; these are queries over what this warehouse promises.
- **optimize**: ``ANALYZE`` and ``FORCE CHECKPOINT`` (DuckDB's ``VACUUM`` is a no-op, and a checkpoint is
  what vacuums deleted rows), and compaction: a fresh copy by ``COPY FROM DATABASE``, checked table by
  table, sequence by sequence, before it may replace the file.
- **clean-json**: which result files on disk the ledger proves ingested. The original deleted every JSON
  file older than N days, migrated or not. Here a file may go only when its *current* bytes are an active
  ledger version whose rows are all in the warehouse; ``decide_cleanup`` is the pure rule, the service
  takes the writer lock and checks again, file by file, just before anything is removed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import duckdb

from benchmark_pipeline.lib.vocabulary import ACTIVE_LEDGER_STATUSES, FACT_TABLES, RESULT_TABLES

from .dictionary import COLUMNS
from .invariants import INVARIANTS, Invariant, count_violations
from .retract import ledger_candidates
from .schema import SCHEMA_VERSION, current_version, migrations
from .transaction import registered

EXAMPLES = 3  # examples kept per kind of problem
_ACTIVE_SQL = ", ".join(f"'{status}'" for status in ACTIVE_LEDGER_STATUSES)


# --- check results ---------------------------------------------------------------------------------


@dataclass
class Finding:
    """One kind of problem: what is wrong, how often, and the first few cases."""

    what: str
    count: int
    examples: list[str] = field(default_factory=list)

    def describe(self) -> str:
        shown = f" (e.g. {'; '.join(self.examples)})" if self.examples else ""
        count = f": {self.count}" if self.count != 1 else ""
        return f"{self.what}{count}{shown}"


@dataclass
class CheckResult:
    """The outcome of one check: ``checked`` says what it covered, ``findings`` what is wrong (none: ok)."""

    name: str
    checked: str
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return sum(f.count for f in self.findings)

    @property
    def ok(self) -> bool:
        return not self.findings

    def line(self) -> str:
        """One line: ``name  ok (what was checked)`` or ``name  N problems: kind: n (e.g. ...); ...``."""
        if self.ok:
            note = f"; {'; '.join(self.notes)}" if self.notes else ""
            return f"{self.name:<11} ok ({self.checked}{note})"
        plural = "problem" if self.problems == 1 else "problems"
        return f"{self.name:<11} {self.problems} {plural}: " + "; ".join(f.describe() for f in self.findings)

    def to_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "problems": self.problems, "checked": self.checked,
                "findings": [asdict(f) for f in self.findings], "notes": list(self.notes)}


def _rows(conn: duckdb.DuckDBPyConnection, sql: str, params: Sequence | Mapping | None = None) -> list[tuple]:
    return conn.execute(sql, params or []).fetchall()


def _tables(conn: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in _rows(conn, "SELECT table_name FROM information_schema.tables "
                                      "WHERE table_schema = 'main' AND table_type = 'BASE TABLE'")}


def _short(sha: object) -> str:
    return str(sha)[:12] if sha else "?"


# --- validate: schema --------------------------------------------------------------------------------


def check_schema(conn: duckdb.DuckDBPyConnection) -> CheckResult:
    """The schema version this code writes, every migration recorded once, the documented tables and columns."""
    version = current_version(conn)
    result = CheckResult("schema", f"version {version} of {SCHEMA_VERSION}")
    if version != SCHEMA_VERSION:
        what = ("written by a newer benchmark_pipeline than this one" if version > SCHEMA_VERSION
                else "older than this code; the next writer migrates it")
        result.findings.append(Finding(f"schema version {version}, expected {SCHEMA_VERSION} ({what})", 1))
    if version:
        recorded = _rows(conn, "SELECT version, name FROM schema_version ORDER BY version")
        shipped = {m.version: m.name for m in migrations()}
        wrong = [f"{v} {n!r}" for v, n in recorded if shipped.get(v) != n]
        versions = [v for v, _ in recorded]
        if versions != list(range(1, len(versions) + 1)):
            wrong.append(f"versions recorded {versions}")
        if wrong:
            result.findings.append(Finding("schema_version rows that are not this code's migrations", len(wrong),
                                           wrong[:EXAMPLES]))
    if version != SCHEMA_VERSION:
        result.notes.append("tables and columns not compared (another schema version)")
        return result
    live: dict[str, set[str]] = {}
    for table, column in _rows(conn, "SELECT table_name, column_name FROM information_schema.columns "
                                     "WHERE table_schema = 'main'"):
        live.setdefault(table, set()).add(column)
    missing_tables = sorted(t for t in COLUMNS if t not in live)
    if missing_tables:
        result.findings.append(Finding("tables missing", len(missing_tables), missing_tables[:EXAMPLES]))
    missing = sorted(f"{t}.{c}" for t, cols in COLUMNS.items() if t in live for c in cols if c not in live[t])
    if missing:
        result.findings.append(Finding("columns missing", len(missing), missing[:EXAMPLES]))
    extra = sorted(f"{t}.{c}" for t, cols in COLUMNS.items() if t in live for c in live[t] if c not in cols)
    if extra:
        result.findings.append(Finding("columns the column dictionary does not know", len(extra), extra[:EXAMPLES]))
    result.checked += f", {len(COLUMNS)} tables and their columns"
    return result


# --- validate: invariants ----------------------------------------------------------------------------


def _format_row(names: Sequence[str], row: Sequence, wanted: Sequence[str]) -> str:
    shown = [n for n in wanted if n in names] or list(names[:2])
    return " ".join(f"{n}={row[names.index(n)]!r}" for n in shown)


def _invariant_examples(conn: duckdb.DuckDBPyConnection, inv: Invariant, limit: int = EXAMPLES) -> list[str]:
    """The first violating rows, from the invariant's own query with its count replaced by the rows."""
    prefix = "SELECT count(*) FROM "
    if not inv.violations_sql.startswith(prefix):
        return []
    cursor = conn.execute(f"SELECT * FROM (SELECT * FROM {inv.violations_sql[len(prefix):]}) LIMIT {int(limit)}")
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    column = inv.name.split("_", 1)[1] if inv.name.startswith("fk_") else None
    wanted = [names[0], column] if column else names
    return [_format_row(names, row, wanted) for row in rows]


def check_invariants(conn: duckdb.DuckDBPyConnection) -> CheckResult:
    """Every invariant of ``invariants.INVARIANTS`` (unique keys, resolvable foreign keys, ...)."""
    result = CheckResult("invariants", f"{len(INVARIANTS)} invariants")
    tables = _tables(conn)
    skipped = sorted({inv.table for inv in INVARIANTS if inv.table not in tables})
    failed = []
    for inv in INVARIANTS:
        if inv.table not in tables:
            continue
        try:
            violations = count_violations(conn, inv)
        except duckdb.Error as exc:  # a column an older schema lacks
            failed.append(f"{inv.table}.{inv.name}: {(str(exc).strip().splitlines() or [''])[0]}")
            continue
        if violations:
            result.findings.append(Finding(f"{inv.name} ({inv.description})", violations,
                                           _invariant_examples(conn, inv)))
    if failed:
        result.findings.append(Finding("invariants that could not be checked", len(failed), failed[:EXAMPLES]))
    if skipped:
        result.notes.append(f"tables absent, not checked: {', '.join(skipped)}")
    return result


# --- validate: orphans and the ledger against the facts ----------------------------------------------

# (child table, its key, its link column, parent table, parent key): rows that hang off another row.
CHILD_LINKS = (
    ("performance_batch_results", "batch_id", "result_id", "performance_results", "result_id"),
    ("power_metrics", "metric_id", "result_id", "performance_results", "result_id"),
    ("integration_test_assertions", "assertion_id", "test_result_id", "integration_test_results", "test_result_id"),
    ("performance_results", "result_id", "run_id", "test_runs", "run_id"),
    ("hardware_compatibility", "compatibility_id", "run_id", "test_runs", "run_id"),
    ("integration_test_results", "test_result_id", "run_id", "test_runs", "run_id"),
    ("power_metrics", "metric_id", "run_id", "test_runs", "run_id"),
    ("llm_serving_results", "result_id", "run_id", "test_runs", "run_id"),
    ("llm_serving_results", "result_id", "model_version_id", "model_versions", "model_version_id"),
    ("llm_serving_results", "result_id", "hardware_config_id", "hardware_configurations", "hardware_config_id"),
)
# The tables a run's rows are in (test_runs.record_count counts them; benchmark failures have no run).
RUN_FACT_TABLES = ("performance_results", "hardware_compatibility", "integration_test_results", "llm_serving_results")


def _counted_rows_sql(tables: Sequence[str]) -> str:
    """Rows per file version (source_path, source_sha256) over ``tables``."""
    union = " UNION ALL ".join(f"SELECT source_path, source_sha256 FROM {t}" for t in tables)
    return f"SELECT source_path, source_sha256, count(*) AS n FROM ({union}) GROUP BY ALL"


def ledger_count_mismatches(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, int, int]]:
    """Active ledger rows whose ``rows_written`` is not the number of result rows of that version:
    (source_path, sha256, status, rows_written, rows counted), in ledger order."""
    return _rows(conn, (
        f"WITH counted AS ({_counted_rows_sql(RESULT_TABLES)}) "
        "SELECT l.source_path, l.sha256, l.status, l.rows_written, coalesce(c.n, 0) FROM ingestion_ledger l "
        "LEFT JOIN counted c ON c.source_path = l.source_path AND c.source_sha256 = l.sha256 "
        f"WHERE l.status IN ({_ACTIVE_SQL}) AND coalesce(c.n, 0) != coalesce(l.rows_written, 0) ORDER BY l.ledger_id"))


def check_orphans(conn: duckdb.DuckDBPyConnection) -> CheckResult:
    """Child rows without their parent, ledger rows claiming rows that are not there, and facts of a file
    version that has no active ledger row."""
    tables = _tables(conn)
    result = CheckResult("orphans", "child rows, ledger claims and the file version of every fact row")
    if "ingestion_ledger" not in tables or any(t not in tables for t in FACT_TABLES):
        result.notes.append("the stored tables are not all there (see schema)")
        return result
    for child, key, link, parent, parent_key in CHILD_LINKS:
        rows = _rows(conn, f"SELECT c.{key}, c.{link}, c.source_path FROM {child} c WHERE c.{link} IS NOT NULL "
                           f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{parent_key} = c.{link}) "
                           f"ORDER BY c.{key}")
        if rows:
            result.findings.append(Finding(
                f"{child} rows whose {parent} row is gone ({link})", len(rows),
                [f"{key}={r[0]} {link}={r[1]} from {r[2]}" for r in rows[:EXAMPLES]]))
    claims = [m for m in ledger_count_mismatches(conn) if m[4] == 0 and (m[3] or 0) > 0]
    if claims:
        result.findings.append(Finding(
            "active ledger rows claiming rows the warehouse does not hold", len(claims),
            [f"{path} @ {_short(sha)} ({status}) claims {written} rows" for path, sha, status, written, _ in
             claims[:EXAMPLES]]))
    union = " UNION ALL ".join(
        f"SELECT '{t}' AS tbl, source_path, source_sha256 FROM {t} f WHERE NOT EXISTS (SELECT 1 FROM ingestion_ledger "
        f"l WHERE l.source_path = f.source_path AND l.sha256 = f.source_sha256 AND l.status IN ({_ACTIVE_SQL}))"
        for t in FACT_TABLES)
    stray = _rows(conn, f"SELECT s.tbl, s.source_path, s.source_sha256, count(*) AS n, "
                        "(SELECT l.status FROM ingestion_ledger l WHERE l.source_path = s.source_path "
                        " AND l.sha256 = s.source_sha256 LIMIT 1) "
                        f"FROM ({union}) s GROUP BY s.tbl, s.source_path, s.source_sha256 ORDER BY n DESC, 1, 2")
    if stray:
        result.findings.append(Finding(
            "fact rows of a file version without an active ledger row", sum(int(r[3]) for r in stray),
            [f"{n} {table} rows of {path} @ {_short(sha)} (ledger: {status or 'no row'})"
             for table, path, sha, n, status in stray[:EXAMPLES]]))
    return result


def check_ledger(conn: duckdb.DuckDBPyConnection) -> CheckResult:
    """Each active ledger row's rows_written against the result rows of its version (when some are there:
    none at all is an orphan claim), and each test run's record_count against its rows."""
    tables = _tables(conn)
    if "ingestion_ledger" not in tables or any(t not in tables for t in (*RESULT_TABLES, "test_runs")):
        return CheckResult("ledger", "nothing", notes=["the stored tables are not all there (see schema)"])
    active = int(_rows(conn, f"SELECT count(*) FROM ingestion_ledger WHERE status IN ({_ACTIVE_SQL})")[0][0])
    runs = int(_rows(conn, "SELECT count(*) FROM test_runs")[0][0])
    result = CheckResult("ledger", f"{active} active ledger rows, {runs} test runs against the rows they counted")
    differ = [m for m in ledger_count_mismatches(conn) if not (m[4] == 0 and (m[3] or 0) > 0)]
    if differ:
        result.findings.append(Finding(
            "active ledger rows whose rows_written differs from the rows stored", len(differ),
            [f"{path} @ {_short(sha)} ({status}): rows_written {written}, {counted} stored"
             for path, sha, status, written, counted in differ[:EXAMPLES]]))
    union = " UNION ALL ".join(f"SELECT run_id FROM {t}" for t in RUN_FACT_TABLES)
    runs_off = _rows(conn, f"WITH n AS (SELECT run_id, count(*) AS n FROM ({union}) GROUP BY run_id) "
                           "SELECT t.run_id, t.source_path, t.record_count, coalesce(n.n, 0) FROM test_runs t "
                           "LEFT JOIN n USING (run_id) WHERE coalesce(n.n, 0) != coalesce(t.record_count, 0) "
                           "ORDER BY t.run_id")
    if runs_off:
        result.findings.append(Finding(
            "test runs whose record_count differs from their rows", len(runs_off),
            [f"run {r[0]} of {r[1]}: record_count {r[2]}, {r[3]} rows" for r in runs_off[:EXAMPLES]]))
    return result


CHECKS = (("schema", check_schema), ("invariants", check_invariants), ("orphans", check_orphans),
          ("ledger", check_ledger))


def validate_warehouse(conn: duckdb.DuckDBPyConnection) -> list[CheckResult]:
    """schema, invariants, orphans and ledger, in that order (the snapshot chain is checked by the caller).

    A check whose queries fail (a warehouse of an older schema lacks what they read, or a table is
    damaged) is reported as a problem of its own; the other checks still run.
    """
    results = []
    for name, check in CHECKS:
        try:
            results.append(check(conn))
        except duckdb.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            results.append(CheckResult(name, "nothing", [Finding("the check could not run", 1, [first])]))
    return results


def newest_change(conn: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the ledger last changed (an ingest, a replay, a retraction): the age of the newest data, UTC."""
    if "ingestion_ledger" not in _tables(conn):
        return None
    value = _rows(conn, "SELECT max(status_changed_at) FROM ingestion_ledger")[0][0]
    if value is None:
        return None
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


def changes_since(conn: duckdb.DuckDBPyConnection, since: datetime | None) -> int:
    """Ledger rows that changed after ``since`` (all of them when ``since`` is None)."""
    if "ingestion_ledger" not in _tables(conn):
        return 0
    if since is None:
        return int(_rows(conn, "SELECT count(*) FROM ingestion_ledger")[0][0])
    return int(_rows(conn, "SELECT count(*) FROM ingestion_ledger WHERE status_changed_at > ?", [since])[0][0])


# --- optimize ------------------------------------------------------------------------------------------


class CompactionError(RuntimeError):
    """The compacted copy does not hold what the warehouse holds; the warehouse was left as it was."""


def database_bytes(db_path: Path) -> int:
    """The file and its write-ahead log: the space the warehouse takes."""
    wal = db_path.with_name(db_path.name + ".wal")
    return sum(p.stat().st_size for p in (db_path, wal) if p.exists())


def refresh_statistics(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """``ANALYZE`` (join-order statistics of every table), then ``FORCE CHECKPOINT`` (the WAL into the file;
    deleted rows vacuumed). DuckDB's ``VACUUM`` is a no-op and ``VACUUM ANALYZE`` of a column only does
    what ``ANALYZE`` does for every table, so neither is run. Returns the statements run."""
    done = []
    for statement in ("ANALYZE", "FORCE CHECKPOINT"):
        conn.execute(statement)
        done.append(statement)
    return done


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _catalog(conn: duckdb.DuckDBPyConnection, alias: str) -> dict[str, object]:
    """What a copy must hold the same: rows per table, sequences' next values, macros, constraints."""
    tables = [r[0] for r in _rows(conn, "SELECT table_name FROM duckdb_tables() WHERE database_name = ? "
                                        "ORDER BY table_name", [alias])]
    counts = {t: int(_rows(conn, f'SELECT count(*) FROM {alias}.main."{t}"')[0][0]) for t in tables}
    sequences = {name: (start if last is None else last + increment) for name, start, last, increment in _rows(
        conn, "SELECT sequence_name, start_value, last_value, increment_by FROM duckdb_sequences() "
              "WHERE database_name = ?", [alias])}
    macros = sorted(r[0] for r in _rows(conn, "SELECT DISTINCT function_name FROM duckdb_functions() "
                                              "WHERE database_name = ? AND NOT internal", [alias]))
    constraints = int(_rows(conn, "SELECT count(*) FROM duckdb_constraints() WHERE database_name = ?", [alias])[0][0])
    return {"rows": counts, "sequences": sequences, "macros": macros, "constraints": constraints}


def compact_copy(source: Path, target: Path) -> dict[str, int]:
    """Write a fresh, compact copy of ``source`` to ``target`` (which must not exist) and check it.

    ``COPY FROM DATABASE`` rewrites every table, sequence and macro; the copy must then hold the same rows
    per table, the same next value of each sequence, the same macros and constraints, or
    ``CompactionError`` is raised (and ``target`` removed). The caller holds the writer lock and swaps the
    copy in. Returns the rows per table.
    """
    if target.exists():
        raise FileExistsError(f"{target} exists")
    conn = duckdb.connect()
    try:
        conn.execute(f"ATTACH {_quoted(source)} AS compact_src (READ_ONLY)")
        conn.execute(f"ATTACH {_quoted(target)} AS compact_dst")
        conn.execute("COPY FROM DATABASE compact_src TO compact_dst")
        conn.execute("CHECKPOINT compact_dst")
        before, after = _catalog(conn, "compact_src"), _catalog(conn, "compact_dst")
        conn.execute("DETACH compact_dst")
        conn.execute("DETACH compact_src")
    except BaseException:
        conn.close()
        _remove_database(target)
        raise
    conn.close()
    differences = [key for key in before if before[key] != after[key]]
    if differences:
        _remove_database(target)
        raise CompactionError(f"the compacted copy of {source} differs in {', '.join(differences)}; "
                              "the warehouse was left as it was")
    with open(target, "rb") as handle:
        os.fsync(handle.fileno())
    return dict(before["rows"])  # type: ignore[arg-type]


def _remove_database(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


def compaction_temp(db_path: Path) -> Path:
    """Where a compaction writes its copy: beside the warehouse (the swap is a rename), named after the process."""
    return db_path.with_name(f".{db_path.name}.compact-{os.getpid()}-{os.urandom(4).hex()}.tmp")


def remove_stale_compactions(db_path: Path) -> list[Path]:
    """Copies killed compactions left beside the warehouse; call only while holding the writer lock (every
    compaction holds it, so none is running)."""
    removed = []
    for path in db_path.parent.glob(f".{db_path.name}.compact-*.tmp*"):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


# --- clean-json: which files on disk the ledger proves ingested -------------------------------------------

REMOVE, ARCHIVE, KEEP = "remove", "archive", "keep"
# Why a file is kept (``CleanDecision.why``); the summary counts files per reason.
NEVER_INGESTED = "never ingested"
CHANGED = "changed since ingest"
QUARANTINED = "quarantined"
PARTIAL = "partial"
NOT_A_RESULT = "not a result"
NOT_ACTIVE = "no longer in the warehouse"
DUPLICATE_UNPROVEN = "duplicate of a file not ingested"
ROWS_MISSING = "rows missing"
TOO_NEW = "too new"
LINK = "symbolic link"
UNREADABLE = "unreadable"
# The ledger statuses that prove a file's bytes are in the warehouse: only ``ingested`` (every record
# stored; its rows are counted too) and a ``duplicate`` of an ingested version (the same bytes, stored
# under the first path). ``partial`` and ``quarantined`` files still have records that only quarantine
# holds, and a whole-file problem (truncated, not JSON) keeps no record at all: the file may be the only
# copy worth fixing. ``not a result`` means nothing of it was stored. ``superseded`` and ``retracted``
# versions are no longer in the warehouse.
PROVING_STATUS = "ingested"


@dataclass(frozen=True)
class JsonFile:
    """A ``*.json`` file found on disk (not followed if it is a link), and its bytes' sha256 once read."""

    path: str  # absolute, as found (links not resolved)
    identity: str  # the real path: the ledger's name for it
    root: str  # the directory it was found under (or its own directory, for a file given by name)
    size: int
    mtime: float  # seconds since the epoch
    is_link: bool = False
    sha256: str | None = None
    problem: str | None = None  # could not be read


@dataclass(frozen=True)
class LedgerVersion:
    """A ledger row of one file version, with the result rows the warehouse holds for it."""

    source_path: str
    sha256: str
    status: str
    rows_written: int
    rows_stored: int
    records_quarantined: int = 0
    duplicate_of: str | None = None
    ingested_at: str | None = None  # when its status last changed, UTC

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_LEDGER_STATUSES


@dataclass(frozen=True)
class CleanDecision:
    file: JsonFile
    action: str  # remove / archive / keep
    why: str  # keep: one of the reasons above; remove / archive: "ingested"
    detail: str
    proof: LedgerVersion | None = None

    def to_dict(self) -> dict:
        return {"path": self.file.path, "action": self.action, "why": self.why, "detail": self.detail,
                "size_bytes": self.file.size, "sha256": self.file.sha256,
                "ledger_path": self.proof.source_path if self.proof else None}


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The sha256 of a regular file's bytes, never following a link (``O_NOFOLLOW``)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    with open(fd, "rb", closefd=True) as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(f"{path}: not a regular file")
        digest = hashlib.sha256()
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _found(path: Path, root: Path) -> JsonFile | None:
    try:
        info = path.lstat()
    except OSError:
        return None
    link = stat.S_ISLNK(info.st_mode)
    if not link and not stat.S_ISREG(info.st_mode):
        return None
    try:
        identity = str(path.resolve())
    except (OSError, RuntimeError):
        identity = str(path)
    return JsonFile(str(path), identity, str(root), info.st_size, info.st_mtime, is_link=link)


def scan_json_files(paths: Iterable[str | os.PathLike[str]], exclude: Path | None = None) -> list[JsonFile]:
    """Every ``*.json`` file (any case) under the given files and folders, hidden names and ``exclude``
    (the archive) left out; folders are walked without following links, links to files are listed as such.

    Raises ``FileNotFoundError`` for a path that does not exist.
    """
    found: dict[str, JsonFile] = {}
    skip = exclude.resolve() if exclude is not None else None
    for raw in paths:
        given = Path(os.path.abspath(raw))
        if not given.exists() and not given.is_symlink():
            raise FileNotFoundError(f"{raw}: no such file or directory")
        if given.is_dir() and not given.is_symlink():
            for directory, subdirs, names in os.walk(given, followlinks=False):
                here = Path(directory)
                subdirs[:] = sorted(d for d in subdirs if not d.startswith(".")
                                    and (skip is None or (here / d).resolve() != skip))
                for name in sorted(names):
                    if name.startswith(".") or not name.lower().endswith(".json"):
                        continue
                    entry = _found(here / name, given)
                    if entry is not None:
                        found.setdefault(entry.path, entry)
        elif given.name.lower().endswith(".json"):
            entry = _found(given, given.parent)
            if entry is not None:
                found.setdefault(entry.path, entry)
    return list(found.values())


def restat(file: JsonFile) -> JsonFile | None:
    """``file`` as it is on disk now (size, mtime, still a file or a link); None if it is gone."""
    return _found(Path(file.path), Path(file.root))


def with_hash(file: JsonFile) -> JsonFile:
    """``file`` with the sha256 of its bytes now (or the reason they could not be read)."""
    if file.is_link:
        return file
    try:
        return JsonFile(**{**asdict(file), "sha256": sha256_file(file.path), "problem": None})
    except OSError as exc:
        return JsonFile(**{**asdict(file), "sha256": None, "problem": exc.strerror or str(exc)})


@dataclass
class FileLedger:
    """The ledger rows of one file (under any spelling), and the versions its duplicates point to."""

    own: list[LedgerVersion] = field(default_factory=list)
    originals: list[LedgerVersion] = field(default_factory=list)


def ledger_versions(conn: duckdb.DuckDBPyConnection, files: Sequence[JsonFile]) -> dict[str, FileLedger]:
    """Every ledger row under any spelling of each file (its identity, the path as found, the relative
    spellings older ingests stored), by file path, with the result rows stored for each version; and for a
    row that is a ``duplicate``, the version it duplicates (same bytes at its first path)."""
    spellings = []
    for f in files:
        for spelling in dict.fromkeys([f.identity, f.path, *ledger_candidates(f.path)]):
            spellings.append((f.path, spelling))
    if not spellings:
        return {}
    import pandas as pd

    frame = pd.DataFrame(spellings, columns=["file", "spelling"])
    counted = _counted_rows_sql(RESULT_TABLES)
    columns = ("l.source_path, l.sha256, l.status, coalesce(l.rows_written, 0), coalesce(c.n, 0), "
               "coalesce(l.records_quarantined, 0), l.duplicate_of, "
               "strftime(l.status_changed_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S')")
    with registered(conn, "clean_spellings", frame):
        rows = _rows(conn, (
            f"WITH counted AS ({counted}), own AS (SELECT DISTINCT s.file, l.* FROM clean_spellings s "
            "JOIN ingestion_ledger l ON l.source_path = s.spelling), "
            "originals AS (SELECT DISTINCT o.file, l.* FROM own o JOIN ingestion_ledger l "
            "ON l.source_path = o.duplicate_of AND l.sha256 = o.sha256 WHERE o.status = 'duplicate'), "
            "both_kinds AS (SELECT 'own' AS kind, * FROM own UNION ALL SELECT 'original' AS kind, * FROM originals) "
            f"SELECT l.file, l.kind, {columns} FROM both_kinds l "
            "LEFT JOIN counted c ON c.source_path = l.source_path AND c.source_sha256 = l.sha256 "
            "ORDER BY l.file, l.ledger_id"))
    out: dict[str, FileLedger] = {}
    for file, kind, *values in rows:
        entry = out.setdefault(file, FileLedger())
        (entry.own if kind == "own" else entry.originals).append(LedgerVersion(*values))
    return out


def _age(seconds: float) -> str:
    days = seconds / 86400
    return f"{days:.1f} days" if days >= 1 else f"{seconds / 3600:.1f} hours"


def decide_cleanup(files: Sequence[JsonFile], ledgers: Mapping[str, FileLedger], older_than_s: float,
                   now: float, archive: bool = False) -> list[CleanDecision]:
    """What to do with each file: remove (or archive) it only when the ledger proves its current bytes are
    in the warehouse and it is older than ``older_than_s``; otherwise keep it, saying why.

    A file's bytes are proven when they are (same sha256) the active ledger version of the file, with
    status ``ingested`` and every row it wrote still stored, or a ``duplicate`` of such a version at
    another path. ``files`` must carry their sha256 (``with_hash``); ``ledgers`` is ``ledger_versions``.
    Pure: nothing is read or changed here.
    """
    go = ARCHIVE if archive else REMOVE
    return [_decide(f, ledgers.get(f.path, FileLedger()), older_than_s, now, go) for f in files]


def _proven(version: LedgerVersion) -> str | None:
    """None when this ingested version's rows are all there, else what is wrong."""
    if version.rows_stored != version.rows_written:
        return f"the ledger says {version.rows_written} rows, the warehouse holds {version.rows_stored}"
    return None


def _decide(f: JsonFile, ledger: FileLedger, older_than_s: float, now: float, go: str) -> CleanDecision:
    if f.is_link:
        return CleanDecision(f, KEEP, LINK, "links are never followed or removed")
    own = ledger.own
    if not own:
        return CleanDecision(f, KEEP, NEVER_INGESTED, "no ledger row for this file")
    if f.problem is not None or f.sha256 is None:
        return CleanDecision(f, KEEP, UNREADABLE, f.problem or "not read")
    mine = [v for v in own if v.sha256 == f.sha256]
    if not mine:
        active = [v for v in own if v.active]
        last = active[-1] if active else own[-1]
        return CleanDecision(f, KEEP, CHANGED, f"its bytes (sha256 {_short(f.sha256)}) are not the ledgered version "
                                               f"({_short(last.sha256)}, {last.status})", last)
    current = next((v for v in reversed(mine) if v.active), None)
    if current is None:
        last = mine[-1]
        return CleanDecision(f, KEEP, NOT_ACTIVE, f"this version was {last.status}", last)
    if current.status == "duplicate":
        original = next((v for v in ledger.originals if v.source_path == current.duplicate_of
                         and v.sha256 == f.sha256 and v.active), None)
        if original is None or original.status != PROVING_STATUS:
            state = original.status if original else "no active version"
            return CleanDecision(f, KEEP, DUPLICATE_UNPROVEN, f"same bytes as {current.duplicate_of} ({state})", current)
        wrong = _proven(original)
        if wrong:
            return CleanDecision(f, KEEP, ROWS_MISSING, f"same bytes as {original.source_path}: {wrong}", original)
        proof, how = original, f"same bytes as {original.source_path}, ingested with {original.rows_written} rows"
    elif current.status == "quarantined":
        return CleanDecision(f, KEEP, QUARANTINED, "none of its records was stored (the file may be the only copy)",
                             current)
    elif current.status == "partial":
        return CleanDecision(f, KEEP, PARTIAL, f"{current.records_quarantined} records are still in quarantine",
                             current)
    elif current.status == "not a result":
        return CleanDecision(f, KEEP, NOT_A_RESULT, "read as no results, so nothing of it was stored", current)
    elif current.status == PROVING_STATUS:
        wrong = _proven(current)
        if wrong:
            return CleanDecision(f, KEEP, ROWS_MISSING, wrong, current)
        when = f" {current.ingested_at} UTC" if current.ingested_at else ""
        proof, how = current, f"ingested{when} with {current.rows_written} rows"
    else:  # a status this rule does not know proves nothing
        return CleanDecision(f, KEEP, NOT_ACTIVE, f"its ledger status {current.status!r} does not prove it stored",
                             current)
    age = now - f.mtime
    if age < older_than_s:
        return CleanDecision(f, KEEP, TOO_NEW, f"modified {_age(max(age, 0))} ago ({how})", proof)
    return CleanDecision(f, go, "ingested", f"{how}; modified {_age(age)} ago", proof)


def archive_target(file: JsonFile, archive_dir: Path) -> Path:
    """Where ``file`` goes in the archive: its path below the folder it was found under."""
    return archive_dir / os.path.relpath(file.path, file.root)


class FileChangedError(OSError):
    """The file's bytes are no longer the ones proven ingested; it was left where it was."""


def _claim(file: JsonFile) -> Path:
    """Take the file away from its path (a rename in its own folder) and check the bytes taken are the proven
    ones. Once renamed, nobody can write a new version over what is removed: a writer that renames a new
    file into place creates a new file, which is left alone; one that changed the bytes in place before
    the rename is caught by the check, and the file is put back."""
    path = Path(file.path)
    claimed = path.with_name(f".{path.name}.clean-json-{os.getpid()}-{os.urandom(4).hex()}")
    os.rename(path, claimed)
    try:
        same = sha256_file(claimed) == file.sha256
    except OSError:
        same = False
    if not same:
        _give_back(claimed, path)
        raise FileChangedError(f"{path}: its bytes changed since they were checked; left in place")
    return claimed


def _give_back(claimed: Path, path: Path) -> None:
    try:
        os.link(claimed, path)  # never over a file that took the path meanwhile
        os.unlink(claimed)
    except FileExistsError:
        kept = path.with_name(f"{path.name}.kept-{claimed.name.rsplit('-', 1)[-1]}")
        os.rename(claimed, kept)
        raise FileChangedError(f"{path}: changed while it was being removed and a new file took its place; "
                               f"the old bytes are kept as {kept}") from None


def archive_file(file: JsonFile, archive_dir: Path) -> Path:
    """Move ``file`` into the archive: copied (fsynced, its sha256 checked) under its path below the folder it
    was found in, then removed from where it was.

    A different file already at the target is never replaced (``FileExistsError``, nothing moved); the same
    bytes there count as archived. ``FileChangedError`` if the file's bytes are not the proven ones.
    """
    target = archive_target(file, archive_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and sha256_file(target) != file.sha256:
        raise FileExistsError(f"{target} holds another file; {file.path} left in place")
    claimed = _claim(file)
    try:
        if not target.exists():
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            try:
                shutil.copy2(claimed, tmp, follow_symlinks=False)
                with open(tmp, "rb") as handle:
                    os.fsync(handle.fileno())
                if sha256_file(tmp) != file.sha256:
                    raise OSError(f"{file.path}: the archived copy does not read back the same")
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
            _fsync_dir(target.parent)
    except BaseException:
        _give_back(claimed, Path(file.path))
        raise
    os.unlink(claimed)
    _fsync_dir(claimed.parent)
    return target


def remove_file(file: JsonFile) -> None:
    """Remove ``file``, whose bytes must still be the proven ones (``FileChangedError`` otherwise)."""
    claimed = _claim(file)
    os.unlink(claimed)
    _fsync_dir(claimed.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

