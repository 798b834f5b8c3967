"""Resources shared by every asset group: the warehouse (through the service) and the data folders."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field

from benchmark_pipeline.config import (BLOCKS_DIR_ENV, DATA_DIR_ENV, DB_PATH_ENV, Settings, environment_has,
                                       resolve_db_path)
from benchmark_pipeline.lib.ingest.limits import DEFAULT_MAX_FILE_MB
from benchmark_pipeline.lib.warehouse.connection import DEFAULT_LOCK_TIMEOUT_S
from benchmark_pipeline.lib.warehouse.timeouts import DEFAULT_READ_TIMEOUT_S
from benchmark_pipeline.service import BenchmarkService

DUCKDB_POOL = "duckdb"


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse, reached through the service: readers read-only, writers under the single-writer lock.

    Writer steps open it through dagster-duckdb under the project's OS lock and run in pool ``duckdb``, so
    two writers can never hold the file at once, whatever the executor; reader steps never take the lock.
    """

    db_path: str = Field(description="DuckDB file ($BENCHMARK_DB_PATH, else ./data/warehouse/benchmarks.duckdb)")
    lock_timeout_s: float = Field(default=DEFAULT_LOCK_TIMEOUT_S, description="how long a writer waits for the lock")
    read_timeout_s: float = Field(default=DEFAULT_READ_TIMEOUT_S,
                                  description="how long a reader waits out writers ($BENCHMARK_READ_TIMEOUT_S)")
    max_file_mb: float = Field(default=DEFAULT_MAX_FILE_MB,
                               description="an ingest skips larger files unread ($BENCHMARK_MAX_FILE_MB)")

    def path(self) -> Path:
        return resolve_db_path(self.db_path)

    def service(self, read_timeout_s: float | None = None) -> BenchmarkService:
        """The service over this warehouse; its writer connects through dagster-duckdb once the lock is held."""
        return BenchmarkService(self.path(), read_timeout_s=read_timeout_s or self.read_timeout_s,
                                lock_timeout_s=self.lock_timeout_s, connect_writer=_dagster_duckdb_connection,
                                max_file_mb=self.max_file_mb)

    @contextmanager
    def reader(self, timeout_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """Read-only: never takes the writer lock, waits out a writer's transaction (bounded by ``timeout_s``)."""
        with self.service(timeout_s).reader() as conn:
            yield conn


@contextmanager
def _dagster_duckdb_connection(db_path: Path, timeout_s: float) -> Iterator[duckdb.DuckDBPyConnection]:
    # dagster-duckdb retries a locked file itself; the service's OS lock already keeps other writers out.
    with DuckDBResource(database=str(db_path)).get_connection() as conn:
        yield conn


class DataDirs(dg.ConfigurableResource):
    """The data folders: drops under incoming/ (updater format) and legacy/ (original shapes), the bundled sample/, outputs."""

    root: str = Field(description="data folder ($BENCHMARK_DATA_DIR, else ./data)")
    include_sample: bool = Field(default=True, description="also ingest the committed data/sample/ files")
    blocks_dir: str | None = Field(default=None, description="blockstore ($BENCHMARK_BLOCKS_DIR); "
                                                             "default <root>/snapshots/blocks")

    def base(self) -> Path:
        return Path(self.root).expanduser().resolve()

    def blocks_root(self) -> Path:
        return Path(self.blocks_dir).expanduser().resolve() if self.blocks_dir else self.snapshots_dir() / "blocks"

    def ingest_roots(self) -> list[Path]:
        roots = [self.base() / "incoming", self.legacy_root()]
        if self.include_sample:
            roots.append(self.base() / "sample")
        return roots

    def legacy_root(self) -> Path:
        return self.base() / "legacy"

    def reports_dir(self) -> Path:
        return self.base() / "reports"

    def snapshots_dir(self) -> Path:
        return self.base() / "snapshots"


def _env_or(name: str, default: str | None):
    """The variable itself when set (the UI then names it; read at launch), else the resolved default path."""
    return dg.EnvVar(name) if environment_has(name) else default


@dg.definitions
def resources() -> dg.Definitions:
    settings = Settings.from_env()
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(db_path=_env_or(DB_PATH_ENV, str(settings.db_path)),
                                           lock_timeout_s=settings.lock_timeout_s,
                                           read_timeout_s=settings.read_timeout_s,
                                           max_file_mb=settings.max_file_mb),
            "data_dirs": DataDirs(root=_env_or(DATA_DIR_ENV, str(settings.data_dir)),
                                  blocks_dir=_env_or(BLOCKS_DIR_ENV, None)),
        }
    )
