"""Where things live on disk: one resolution rule shared by the CLI and the Dagster resources.

Kept free of heavy imports: the CLI imports it for ``--help``.
"""

from __future__ import annotations

import os
from pathlib import Path

DB_PATH_ENV = "BENCHMARK_DB_PATH"
DATA_DIR_ENV = "BENCHMARK_DATA_DIR"
DEFAULT_DB_PATH = Path("data") / "warehouse" / "benchmarks.duckdb"


def resolve_db_path(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """``--db-path``, else ``$BENCHMARK_DB_PATH``, else ``./data/warehouse/benchmarks.duckdb``."""
    if cli_value:
        return Path(cli_value).expanduser().resolve()
    env_value = os.environ.get(DB_PATH_ENV)
    if env_value:
        return Path(env_value).expanduser().resolve()
    return (Path.cwd() / DEFAULT_DB_PATH).resolve()


def data_dir() -> Path:
    """Root of the data folder (``$BENCHMARK_DATA_DIR`` or ``./data``)."""
    return Path(os.environ.get(DATA_DIR_ENV) or Path.cwd() / "data").resolve()
