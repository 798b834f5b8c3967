"""Versioned warehouse schema: forward-only SQL migrations, applied by writers only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import duckdb

from . import scalar
from .transaction import transaction


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The migrations shipped with this package, in version order."""
    found = []
    for entry in resources.files(__package__).joinpath("migrations").iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migration versions are not contiguous: {[m.version for m in found]}")
    return found


SCHEMA_VERSION = len(migrations())


class SchemaTooNewError(RuntimeError):
    """The warehouse was written by a newer benchmark_pipeline than this one."""


def current_version(conn: duckdb.DuckDBPyConnection) -> int:
    exists = scalar(conn, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'")
    if not exists:
        return 0
    return scalar(conn, "SELECT coalesce(max(version), 0) FROM schema_version")


_VERSION_TABLE = ("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
                  "applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)")


def migrate(conn: duckdb.DuckDBPyConnection, target: int | None = None) -> list[int]:
    """Bring the schema up to ``target`` (default: latest), each migration in its own transaction.

    The version table is made in the first migration's transaction, not before it: a warehouse whose first
    writer is killed while making it holds no table at all, never a version table alone.
    """
    target = SCHEMA_VERSION if target is None else target
    version = current_version(conn)
    if version > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"warehouse schema is version {version}; this benchmark_pipeline knows up to {SCHEMA_VERSION}"
        )
    applied = []
    for migration in migrations():
        if version < migration.version <= target:
            with transaction(conn):
                conn.execute(_VERSION_TABLE)
                conn.execute(migration.sql)
                conn.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)",
                             [migration.version, migration.name])
            applied.append(migration.version)
    return applied
