"""Resources shared by every asset group: the warehouse, the data folders and the Parquet staging hand-off."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from benchmark_pipeline.config import data_dir, resolve_db_path
from benchmark_pipeline.lib.warehouse.connection import DEFAULT_LOCK_TIMEOUT_S, writer_lock
from benchmark_pipeline.lib.warehouse.schema import migrate

DUCKDB_POOL = "duckdb"


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse, opened through dagster-duckdb under the project's single-writer lock.

    DuckDBResource always opens read-write, so every step that opens the warehouse takes the lock
    (and runs in pool ``duckdb``): two steps can never hold the file at once, whatever the executor.
    """

    db_path: str | None = Field(
        default=None,
        description="DuckDB file; default: $BENCHMARK_DB_PATH, else ./data/warehouse/benchmarks.duckdb",
    )
    lock_timeout_s: float = Field(default=DEFAULT_LOCK_TIMEOUT_S, description="how long to wait for the writer lock")

    def path(self) -> Path:
        return resolve_db_path(self.db_path)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        path = self.path()
        with writer_lock(path, self.lock_timeout_s):
            with DuckDBResource(database=str(path)).get_connection() as conn:
                migrate(conn)
                yield conn


class DataDirs(dg.ConfigurableResource):
    """The data folders: drops under incoming/ (updater format) and legacy/ (original shapes), the bundled sample/, outputs."""

    root: str | None = Field(default=None, description="data folder; default: $BENCHMARK_DATA_DIR or ./data")
    include_sample: bool = Field(default=True, description="also ingest the committed data/sample/ files")

    def base(self) -> Path:
        return Path(self.root).resolve() if self.root else data_dir()

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


class StagingParquetIOManager(dg.ConfigurableIOManager):
    """Frames handed between steps as Parquet files under data/staging (never pickles)."""

    base_dir: str | None = Field(default=None, description="default: <data folder>/staging")

    def _path(self, key: dg.AssetKey) -> Path:
        base = Path(self.base_dir).resolve() if self.base_dir else data_dir() / "staging"
        return base.joinpath(*key.path).with_suffix(".parquet")

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        path = self._path(context.asset_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".parquet.tmp")
        obj.to_parquet(tmp, index=False)
        tmp.replace(path)
        context.add_output_metadata({"staging_path": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        return pd.read_parquet(self._path(context.asset_key))


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(),
            "data_dirs": DataDirs(),
            "staging_io_manager": StagingParquetIOManager(),
        }
    )
