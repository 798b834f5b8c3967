"""The read side of the service: ad-hoc SQL, comparisons, reports and the warehouse's status.

Every reader here is read-only and never takes the writer lock. Ad-hoc SQL and the analytics read
through the sandboxed connection (no file, network or extension access, locked configuration), so a
request can read the warehouse and nothing else, whoever sends it (CLI, REST).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import duckdb

from benchmark_pipeline.lib.analytics.filters import Filters
from benchmark_pipeline.lib.analytics.safe_query import (DEFAULT_MEMORY_LIMIT, check_max_rows, check_timeout,
                                                         connect_read_only, parse_size, private_temp_dir,
                                                         result_budget, run_query, temp_root)
from benchmark_pipeline.lib.analytics.table import Deadline, Table
from benchmark_pipeline.lib.names import check_hardware_name, resolve_model_name
from benchmark_pipeline.lib.normalize import canonical_hardware_type
from benchmark_pipeline.lib.warehouse.connection import WarehouseMissingError
from benchmark_pipeline.lib.warehouse.timeouts import DEFAULT_READ_TIMEOUT_S

# The facts that carry a result time (run_time): what a time window narrows.
TIMED_FACTS = ("performance_results", "hardware_compatibility", "integration_test_results")


def _timestamp_literal(value: datetime) -> str:
    """``value`` as a DuckDB TIMESTAMPTZ literal in UTC, made from the datetime's fields only (never from text a
    client sent); a moment beyond Python's range once in UTC is clamped to its end."""
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    try:
        utc = aware.astimezone(timezone.utc)
    except OverflowError:
        utc = (datetime.max if aware.year > 1 else datetime.min).replace(tzinfo=timezone.utc)
    return f"TIMESTAMPTZ '{utc.strftime('%Y-%m-%d %H:%M:%S.%f')}+00'"


@contextmanager
def facts_between(conn: duckdb.DuckDBPyConnection, since: datetime | None = None,
                  until: datetime | None = None) -> Iterator[None]:
    """Inside the block, ``conn`` sees only the facts with ``since <= run_time < until`` (either bound optional).

    Each timed fact table is shadowed by a temporary view of the same name over its rows in the window, so
    every query of the library (comparisons, the compatibility matrix, the inputs of the rankings) answers
    for that window unchanged, with the same filter on the same column as ``/performance?since=&until=``.
    The views live in this connection's temporary catalog only: other connections, and the file, never see
    them; they are dropped when the block ends.
    """
    if since is None and until is None:
        yield
        return
    bounds = [f"run_time >= {_timestamp_literal(since)}" if since is not None else None,
              f"run_time < {_timestamp_literal(until)}" if until is not None else None]
    where = " AND ".join(b for b in bounds if b)
    catalog = conn.execute("SELECT current_database()").fetchone()[0].replace('"', '""')
    present = {r[0] for r in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = 'main'").fetchall()}
    shadowed = [t for t in TIMED_FACTS if t in present]
    try:
        for table in shadowed:
            conn.execute(f'CREATE TEMP VIEW {table} AS SELECT * FROM "{catalog}".main.{table} WHERE {where}')
        yield
    finally:
        for table in shadowed:
            conn.execute(f"DROP VIEW IF EXISTS temp.main.{table}")


class AnalyticsMixin:
    """Mixed into ``BenchmarkService``: needs ``db_path`` and ``read_timeout_s``."""

    db_path: Path
    read_timeout_s: float | None
    reader: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]

    @contextmanager
    def sandboxed_reader(self, memory_limit: str | None = DEFAULT_MEMORY_LIMIT, max_temp_size: str | None = None,
                         wait_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """Read-only with external access off and the configuration locked; ``memory_limit=None``: DuckDB's.

        DuckDB spills to a folder of this process under ``<db>.tmp`` (removed afterwards, and folders of
        killed processes with it), at most ``max_temp_size`` (default: as much as the memory limit; with no
        memory limit, DuckDB's own default). ``wait_s`` caps the wait for writers below the read timeout.
        """
        if not self.db_path.exists():
            raise WarehouseMissingError(f"{self.db_path}: no warehouse here yet (run an ingest first)")
        read_wait = DEFAULT_READ_TIMEOUT_S if self.read_timeout_s is None else self.read_timeout_s
        wait = read_wait if wait_s is None else min(read_wait, wait_s)
        with private_temp_dir(temp_root(self.db_path)) as temp_dir:
            conn = connect_read_only(self.db_path, memory_limit, wait_s=wait, temp_directory=temp_dir,
                                     max_temp_size=max_temp_size)
            try:
                yield conn
            finally:
                conn.close()

    def analysis_reader(self, memory_limit: str | None = DEFAULT_MEMORY_LIMIT
                        ) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """Where comparisons and reports read: a bounded sandbox of their own here; a server, which answers many
        of them a second, reads them from its read copy instead (``ServerService``)."""
        return self.sandboxed_reader(memory_limit)

    @staticmethod
    def resolve_names(conn: duckdb.DuckDBPyConnection, model: str | None = None, hardware: str | None = None,
                      known_types_ok: bool = False, fingerprints_ok: bool = False) -> tuple[str | None, str | None]:
        """Filter names as the warehouse knows them; ``UnknownNameError`` names the closest known ones."""
        if model is not None:
            model = resolve_model_name(conn, model)
        if hardware is not None:
            hardware = check_hardware_name(conn, hardware, known_types_ok=known_types_ok,
                                           fingerprints_ok=fingerprints_ok)
        return model, hardware

    def query(self, sql: str, timeout_s: float, max_rows: int, memory_limit: str | None = DEFAULT_MEMORY_LIMIT, *,
              max_temp_size: str | None = None, deadline: Deadline | None = None) -> tuple[Table, bool]:
        """One read-only statement in the sandbox: the rows and whether they were cut (``table.truncation`` says why).

        Bounded whoever asks: ``timeout_s`` (finite, at most ``MAX_TIMEOUT_S``) covers the wait for the file,
        execution and fetching, and the caller's rendering when it passes its own ``deadline`` on; at most
        ``max_rows`` rows (at most ``MAX_ROWS_CAP``) and at most ``result_budget(memory_limit)`` bytes of
        rows in Python; ``memory_limit`` None means the default one, never DuckDB's 80 % of RAM.
        Bad limits raise ``QueryLimitError``.
        """
        timeout_s = check_timeout(timeout_s)
        max_rows = check_max_rows(max_rows)
        memory_limit = memory_limit or DEFAULT_MEMORY_LIMIT
        max_bytes = result_budget(memory_limit)
        options: dict[str, Any] = {}  # only what was asked for: a subclass may take memory_limit alone
        if max_temp_size is not None:
            parse_size(max_temp_size)
            options["max_temp_size"] = max_temp_size
        if deadline is not None:
            options["wait_s"] = deadline.remaining()
        deadline = deadline or Deadline(timeout_s)
        with self.sandboxed_reader(memory_limit, **options) as conn:
            table, _truncation = run_query(conn, sql, timeout_s, max_rows, max_bytes, deadline)
        return table, table.truncation is not None

    def compare(self, *, model: str | None = None, hardware: str | None = None, runs: tuple[str, str] | None = None,
                metric: str | None = None, filters: Filters = Filters(), until: datetime | None = None):
        """Hardware for a model, models on hardware, or run against run (with the noise band).

        ``until`` leaves out results from that moment on (``Filters`` has a lower bound only: the CLI never
        needed an upper one). Returns the table, and for runs the two resolved sides.
        """
        from benchmark_pipeline.lib.analytics.compare import compare_hardware, compare_model, compare_runs

        with self.analysis_reader() as conn, facts_between(conn, until=until):
            self.resolve_names(conn, model, hardware)
            if runs:
                table, side_a, side_b = compare_runs(conn, runs[0], runs[1], metric, filters)
                return table, (side_a, side_b)
            if model:
                return compare_model(conn, model, metric or "throughput", filters), None
            return compare_hardware(conn, hardware, metric or "throughput", filters), None

    def report(self, kind: str, filters: Filters = Filters()):
        """A report (sections with tables and figures) built from the derived tables; render it apart."""
        from benchmark_pipeline.lib.reports.build import build_report

        # Reports' medians over millions of rows need DuckDB's own memory limit, not the query sandbox's.
        with self.analysis_reader(memory_limit=None) as conn:
            self.resolve_names(conn, filters.model, filters.hardware, known_types_ok=True)
            return build_report(conn, kind, filters)

    def results(self, category: str, limit: int = 1000, after_id: int | None = None,
                **filters: Any) -> list[dict[str, Any]]:
        """Stored facts of one category with model and hardware names, oldest id first; page with ``after_id``."""
        from benchmark_pipeline.lib.analytics.results import ResultFilters, query_results

        with self.reader() as conn:
            return query_results(conn, category, ResultFilters(**filters), limit, after_id)

    def model_summary(self, model_name: str) -> dict[str, Any]:
        """Every hardware the model ran on, per batch size and precision (from ``hardware_comparison``)."""
        with self.reader() as conn:
            name = resolve_model_name(conn, model_name)
            rows = conn.execute("SELECT * FROM hardware_comparison WHERE model_name = ? "
                                "ORDER BY batch_size, precision, throughput_rank", [name]).df()
        return {"model_name": name, "hardware": rows.to_dict("records")}

    def hardware_summary(self, hardware: str) -> dict[str, Any]:
        """Every model on a hardware type or device, ranked by throughput (from ``model_comparison``)."""
        with self.reader() as conn:
            name = check_hardware_name(conn, hardware)
            kind = canonical_hardware_type(name) or name.lower()
            rows = conn.execute("SELECT * FROM model_comparison WHERE hardware_type = ? OR lower(device_name) = "
                                "lower(?) ORDER BY hardware, batch_size, precision, throughput_rank",
                                [kind, name]).df()
        return {"hardware": name, "models": rows.to_dict("records")}

    def status(self, data_dir: Path):
        """Counts, freshness, ledger and outputs of the warehouse (``WarehouseMissingError`` when none)."""
        from benchmark_pipeline.lib.warehouse.status import warehouse_status

        return warehouse_status(self.db_path, data_dir, timeout_s=self.read_timeout_s)
