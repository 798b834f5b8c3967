"""What the warehouse holds right now, read through a read-only connection (never the writer lock).

Used by ``benchmark-db status`` and the summary ``scripts/run-sample-job`` ends with: one cheap pass
over the catalogue, the ledger, the quarantine and the regression flags, plus what lies beside the
warehouse in the data folder (reports; the snapshot fields are filled by
``lib.snapshots.summary.add_snapshot_summary``, since the snapshots layer sits above this one).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from benchmark_pipeline.lib.vocabulary import LLM_ANSWER_TABLES, REGRESSION_TABLES

from . import scalar
from .connection import open_reader
from .dictionary import DERIVED_TABLES as ANALYTICS_TABLES
from .regressions import FLAGS_SCHEMA_VERSION
from .schema import current_version

# Tables computed from the facts (analytics, LLM answers, regression detection), shown apart from the stored data.
DERIVED_TABLES = (*ANALYTICS_TABLES, *(t for t in LLM_ANSWER_TABLES if t != "use_case_taxonomy"), *REGRESSION_TABLES)
# Bookkeeping nobody needs a row count of.
HIDDEN_TABLES = ("schema_version",)


@dataclass
class WarehouseStatus:
    warehouse: str
    size_bytes: int
    schema_version: int
    tables: dict[str, int]  # stored data: dimensions, facts, ledger, quarantine
    derived: dict[str, int]  # analytics and regression tables
    ledger: dict[str, int]  # files per ledger status
    quarantine_open: int
    quarantine_open_files: int
    regressions_open: int | None  # None: the warehouse predates the regression tables
    last_ingest_at: str | None  # UTC, "YYYY-MM-DD HH:MM:SS"
    last_ingest_run: str | None
    top_model: str | None  # the model with the most real performance results, for example commands
    data_dir: str
    reports_dir: str
    reports: list[str] = field(default_factory=list)
    snapshots_dir: str = ""
    snapshots: int = 0
    snapshot_head: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _table_counts(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    names = [row[0] for row in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE' "
        "ORDER BY table_name").fetchall()]
    return {name: int(scalar(conn, f'SELECT count(*) FROM "{name}"')) for name in names}


def _ordered(counts: dict[str, int], first: tuple[str, ...]) -> dict[str, int]:
    """``first`` in its order, then the rest by name."""
    head = {name: counts[name] for name in first if name in counts}
    return head | {name: n for name, n in sorted(counts.items()) if name not in head}


_STORED_ORDER = (
    "performance_results", "hardware_compatibility", "integration_test_results", "models", "hardware_platforms",
    "test_runs", "ingestion_ledger", "quarantine", "benchmark_failures", "performance_batch_results",
    "power_metrics", "integration_test_assertions",
)


def read_status(conn: duckdb.DuckDBPyConnection, db_path: Path, data_dir: Path) -> WarehouseStatus:
    """Everything ``benchmark-db status`` reports, from an open (read-only) connection."""
    counts = _table_counts(conn)
    version = current_version(conn)
    notes: list[str] = []
    ledger: dict[str, int] = {}
    last_at = last_run = None
    if "ingestion_ledger" in counts:
        ledger = {status: int(n) for status, n in conn.execute(
            "SELECT status, count(*) FROM ingestion_ledger GROUP BY status ORDER BY count(*) DESC, status").fetchall()}
        row = conn.execute(
            "SELECT strftime(status_changed_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S'), ingestion_run_id "
            "FROM ingestion_ledger ORDER BY status_changed_at DESC, ledger_id DESC LIMIT 1").fetchall()
        if row:
            last_at, last_run = row[0]
    q_open = q_files = 0
    if "quarantine" in counts:
        q_open, q_files = conn.execute(
            "SELECT count(*), count(DISTINCT source_path) FROM quarantine WHERE status = 'open'").fetchall()[0]
    regressions_open = None
    if version >= FLAGS_SCHEMA_VERSION:
        from .regressions import open_regressions  # pulls in the detectors; only needed here

        regressions_open = len(open_regressions(conn))
    else:
        notes.append(f"schema version {version} predates the regression tables; a writer will migrate it")
    top_model = None
    if "performance_results" in counts and "models" in counts:
        top_model = scalar(conn, "SELECT m.model_name FROM performance_results p JOIN models m USING (model_id) "
                                 "WHERE NOT coalesce(p.is_simulated, false) "
                                 "GROUP BY m.model_name ORDER BY count(*) DESC, m.model_name LIMIT 1")
    stored = {n: c for n, c in counts.items() if n not in DERIVED_TABLES and n not in HIDDEN_TABLES}
    derived = {n: counts[n] for n in DERIVED_TABLES if n in counts}
    status = WarehouseStatus(
        warehouse=str(db_path), size_bytes=_size(db_path), schema_version=version,
        tables=_ordered(stored, _STORED_ORDER), derived=derived, ledger=ledger,
        quarantine_open=int(q_open), quarantine_open_files=int(q_files), regressions_open=regressions_open,
        last_ingest_at=last_at, last_ingest_run=last_run, top_model=top_model,
        data_dir=str(data_dir), reports_dir=str(data_dir / "reports"), notes=notes,
    )
    _add_outputs(status, data_dir)
    return status


def warehouse_status(db_path: Path, data_dir: Path, timeout_s: float | None = None) -> WarehouseStatus:
    """Open the warehouse read-only (waiting out a writer, bounded) and report on it.

    Raises ``WarehouseMissingError`` when there is no file, ``WarehouseBusyError`` when writers
    kept it past the timeout.
    """
    with open_reader(db_path, timeout_s=timeout_s) as conn:
        return read_status(conn, db_path, data_dir)


def _size(db_path: Path) -> int:
    wal = db_path.with_name(db_path.name + ".wal")
    return sum(p.stat().st_size for p in (db_path, wal) if p.exists())


def _add_outputs(status: WarehouseStatus, data_dir: Path) -> None:
    reports = data_dir / "reports"
    if reports.is_dir():
        status.reports = sorted(p.name for p in reports.iterdir() if p.is_file() and not p.name.startswith("."))
    status.snapshots_dir = str(data_dir / "snapshots")
