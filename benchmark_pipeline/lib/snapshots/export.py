"""A deterministic export of a warehouse: the part of its content that two honest builds agree on.

DuckDB files are not byte-reproducible (block placement, free lists, checkpoint counters), so the
database CID changes on every snapshot even when the data does not. The export is what makes
"did the warehouse change?" and "do these two warehouses hold the same data?" answerable by CID:
per table, the natural-key columns only (surrogate ids replaced by the natural key they point to;
ingest times, run ids and ledger history dropped), sorted by every column, written as Parquet with
one thread under the pinned DuckDB. The files form a UnixFS directory, so the export CID is the one
``ipfs add -r --cid-version=1`` gives the same folder and any node can serve single tables.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from benchmark_pipeline.lib.content.cid import CID, DAG_PB, RAW
from benchmark_pipeline.lib.content.dagpb import Link, decode_node, encode_node
from benchmark_pipeline.lib.content.unixfs import BlockSink, Profile, import_path

# Columns whose values depend on when or by which run a row was written, not on the data.
VOLATILE_COLUMNS = frozenset({
    "ingestion_run_id", "ingested_at", "created_at", "first_seen_at", "status_changed_at",
    "quarantined_at", "applied_at", "history", "detected_at", "analysed_at",
    # The LLM answers' computation time, expiry and the fingerprint of their inputs (ids, ingest times).
    "calculated_at", "expires_at", "inputs_fingerprint",
})
# Caches rebuilt from other tables whose values depend on surrogate ids (regression detection's
# per-series state keeps a max result_id; the LLM answers' state is when and from what they were computed):
# not data, so not exported.
EXCLUDED_TABLES = frozenset({"regression_series_state", "llm_answers_state"})
# Times that fall back to "first seen" (time_source = 'ledger') are ingest times in disguise.
LEDGER_TIMED_COLUMNS = ("run_time", "started_at", "completed_at")

# Each table's own surrogate key (sequence-generated, so it depends on insertion order).
SURROGATE_KEYS = {
    "models": "model_id",
    "hardware_platforms": "hardware_id",
    "test_runs": "run_id",
    "performance_results": "result_id",
    "performance_batch_results": "batch_id",
    "power_metrics": "metric_id",
    "hardware_compatibility": "compatibility_id",
    "integration_test_results": "test_result_id",
    "integration_test_assertions": "assertion_id",
    "quarantine": "quarantine_id",
    "benchmark_failures": "failure_id",
    "ingestion_ledger": "ledger_id",
    "llm_serving_results": "result_id",
    "model_versions": "model_version_id",
    "hardware_configurations": "hardware_config_id",
    "inference_frameworks": "framework_id",
}
# Foreign surrogate keys -> (table, key, ((natural-key column, exported as), ...)).
FOREIGN_KEYS = {
    "model_id": ("models", "model_id", (("model_name", "model_name"),)),
    "hardware_id": ("hardware_platforms", "hardware_id", (("fingerprint", "hardware_fingerprint"),)),
    "run_id": ("test_runs", "run_id", (("test_type", "run_test_type"), ("source_path", "run_source_path"),
                                       ("source_sha256", "run_source_sha256"))),
    "result_id": ("performance_results", "result_id", (("record_index", "result_record_index"),)),
    "test_result_id": ("integration_test_results", "test_result_id", (("record_index", "test_result_record_index"),)),
    "model_version_id": ("model_versions", "model_version_id", (("version_key", "model_version_key"),)),
    "hardware_config_id": ("hardware_configurations", "hardware_config_id", (("config_key", "hardware_config_key"),)),
    "framework_id": ("inference_frameworks", "framework_id", (("framework_key", "framework_key"),)),
}
# A result_id in these tables points into another fact table than performance_results.
_LLM_RESULT = ("llm_serving_results", "result_id", (("source_path", "result_source_path"),
                                                   ("source_sha256", "result_source_sha256"),
                                                   ("record_index", "result_record_index")))
TABLE_FOREIGN_KEYS = {("model_rankings", "result_id"): _LLM_RESULT}
# A table with this column says per row which fact table its result_id points into (regression flags).
FACT_TABLE_COLUMN = "fact_table"

# UnixFS Data{Type: Directory}, exactly as kubo encodes a plain directory.
_DIRECTORY_DATA = b"\x08\x01"


@dataclass(frozen=True, slots=True)
class ExportFile:
    name: str
    cid: str
    size: int
    rows: int


@dataclass(frozen=True, slots=True)
class Export:
    cid: CID
    files: tuple[ExportFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? "
        "ORDER BY ordinal_position", [table]).fetchall()]


def user_tables(conn: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall()]


def export_query(conn: duckdb.DuckDBPyConnection, table: str, tables: set[str] | None = None) -> str:
    """The SELECT that exports ``table``: natural keys only, every column in the ORDER BY."""
    tables = set(user_tables(conn)) if tables is None else tables
    columns = _columns(conn, table)
    select: list[str] = []
    joins: list[str] = []
    own_key = SURROGATE_KEYS.get(table)
    has_time_source = "time_source" in columns
    for col in columns:
        if col in VOLATILE_COLUMNS or col == own_key:
            continue
        if col == "result_id" and FACT_TABLE_COLUMN in columns:
            # Each row's result is in the fact table it names: its record index there (its run is exported too).
            facts = [f for f in ("performance_results", "llm_serving_results") if f in tables]
            union = " UNION ALL ".join(f"SELECT '{f}' AS fact_table, result_id, record_index FROM {_quote(f)}"
                                       for f in facts)
            joins.append(f"LEFT JOIN ({union}) AS ref_result ON ref_result.fact_table = t.{_quote(FACT_TABLE_COLUMN)} "
                         f"AND ref_result.result_id = t.result_id")
            select.append("ref_result.record_index AS result_record_index")
            continue
        fk = TABLE_FOREIGN_KEYS.get((table, col), FOREIGN_KEYS.get(col))
        if fk is not None and fk[0] in tables and fk[0] != table:
            ref_table, ref_key, natural = fk
            alias = _quote(f"ref_{col}")
            joins.append(f"LEFT JOIN {_quote(ref_table)} AS {alias} ON {alias}.{_quote(ref_key)} = t.{_quote(col)}")
            for nat, out in natural:
                out = f"ref_{out}" if out in columns else out
                select.append(f"{alias}.{_quote(nat)} AS {_quote(out)}")
            continue
        expr = f"t.{_quote(col)}"
        if has_time_source and col in LEDGER_TIMED_COLUMNS:
            expr = f"CASE WHEN t.time_source = 'ledger' THEN NULL ELSE {expr} END"
        select.append(f"{expr} AS {_quote(col)}")
    if not select:
        select.append("count(*) AS row_count")
        return f"SELECT {', '.join(select)} FROM {_quote(table)} AS t"
    return f"SELECT {', '.join(select)} FROM {_quote(table)} AS t {' '.join(joins)} ORDER BY ALL"


def write_export(db_path: Path, out_dir: Path) -> list[tuple[str, int]]:
    """Write ``<table>.parquet`` for every table of the (quiescent) database; return (file, rows)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    conn = duckdb.connect(str(db_path), read_only=True)
    try:
        # One thread: parallel Parquet writing interleaves row groups in completion order.
        conn.execute("SET threads = 1")
        conn.execute("SET preserve_insertion_order = true")
        tables = user_tables(conn)
        for table in tables:
            if table in EXCLUDED_TABLES:
                continue
            sql = export_query(conn, table, set(tables))
            target = out_dir / f"{table}.parquet"
            literal = "'" + str(target).replace("'", "''") + "'"
            conn.execute(f"COPY ({sql}) TO {literal} (FORMAT parquet, COMPRESSION zstd)")
            rows = conn.execute(f"SELECT count(*) FROM {_quote(table)}").fetchall()[0][0]
            written.append((target.name, int(rows)))
    finally:
        conn.close()
    return written


def _tsize(cid: CID, block: bytes) -> int:
    """Cumulative size of a file DAG (the link Tsize kubo writes into a directory)."""
    if cid.codec == RAW:
        return len(block)
    links, _ = decode_node(block)
    return len(block) + sum(link.tsize for link in links)


def directory_node(entries: list[tuple[str, CID, int]], cid_version: int = 1) -> tuple[CID, bytes]:
    """A basic UnixFS directory over ``(name, cid, tsize)``, links sorted by name as dag-pb requires."""
    links = [Link(cid, tsize, name) for name, cid, tsize in sorted(entries, key=lambda e: e[0].encode())]
    block = encode_node(links, _DIRECTORY_DATA)
    return CID(cid_version, DAG_PB, hashlib.sha256(block).digest()), block


def add_export(out_dir: Path, rows: dict[str, int], profile: Profile, sink: BlockSink | None) -> Export:
    """Import the export files (and their directory node) through ``sink``; ``None`` only computes the CID."""
    entries = []
    files = []
    for name in sorted(os.listdir(out_dir)):
        last: list[bytes] = [b""]

        def capture(cid: CID, data, _last=last) -> None:
            if cid.codec == DAG_PB:  # internal nodes are small; the root is emitted last
                _last[0] = bytes(data)
            if sink is not None:
                sink(cid, data)

        result = import_path(out_dir / name, profile, capture)
        tsize = result.size if result.cid.codec == RAW else _tsize(result.cid, last[0])
        entries.append((name, result.cid, tsize))
        files.append(ExportFile(name, str(result.cid), result.size, rows.get(name, 0)))
    cid, block = directory_node(entries, profile.cid_version)
    if sink is not None:
        sink(cid, block)
    return Export(cid, tuple(files))
