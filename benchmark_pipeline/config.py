"""Where things live and how long to wait: the one place that reads the environment.

``benchmark_pipeline.lib`` never reads it: the shells (the CLI, the Dagster definitions, the service)
build a ``Settings`` here and pass its values down as arguments. Kept free of heavy imports: the CLI
imports it for ``--help``, and ``Settings.from_env`` imports nothing that loads DuckDB or pandas.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from benchmark_pipeline.lib.snapshots.node import IpfsNodeConfig

DB_PATH_ENV = "BENCHMARK_DB_PATH"
DATA_DIR_ENV = "BENCHMARK_DATA_DIR"
BLOCKS_DIR_ENV = "BENCHMARK_BLOCKS_DIR"
READ_TIMEOUT_ENV = "BENCHMARK_READ_TIMEOUT_S"
LOCK_TIMEOUT_ENV = "BENCHMARK_LOCK_TIMEOUT_S"
MAX_FILE_MB_ENV = "BENCHMARK_MAX_FILE_MB"
IPFS_API_URL_ENV = "IPFS_API_URL"
IPFS_TIMEOUT_ENV = "IPFS_API_TIMEOUT"
IPFS_REQUIRED_ENV = "IPFS_REQUIRED"
API_WAIT_ENV = "BENCHMARK_API_WAIT_S"
API_MAX_BODY_ENV = "BENCHMARK_API_MAX_BODY_MB"
DEFAULT_DB_PATH = Path("data") / "warehouse" / "benchmarks.duckdb"

_TRUE = ("1", "true", "yes")
# The REST server (``benchmark-db serve``): how long a request waits for the warehouse before answering 503,
# and the largest request body it reads (a POST of records or an uploaded result file).
DEFAULT_API_WAIT_S = 15.0
DEFAULT_API_MAX_BODY_MB = 32.0


def _value(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value, or None when it is unset or blank."""
    value = env.get(name, "").strip()
    return value or None


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    value = _value(env, name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None


def _at_least(env: Mapping[str, str], name: str, default: float, lowest: float, unit: str,
              inclusive: bool = True) -> float:
    """A number of ``unit`` that must be >= ``lowest`` (> when not ``inclusive``); unset or blank: ``default``."""
    text = _value(env, name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > lowest or (inclusive and value == lowest)) or value == float("inf"):  # NaN fails both
        bound = f"{'at least' if inclusive else 'more than'} {lowest:g}"
        raise ValueError(f"{name} must be a number of {unit}, {bound}; got {text!r}")
    return value


def _db_path(cli_value: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path:
    value = cli_value or env.get(DB_PATH_ENV)
    if value:
        return Path(value).expanduser().resolve()
    return (Path.cwd() / DEFAULT_DB_PATH).resolve()


def _data_dir(cli_value: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path:
    return Path(cli_value or env.get(DATA_DIR_ENV) or Path.cwd() / "data").resolve()


def resolve_db_path(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """``--db-path``, else ``$BENCHMARK_DB_PATH``, else ``./data/warehouse/benchmarks.duckdb``."""
    return _db_path(cli_value, os.environ)


def data_dir() -> Path:
    """Root of the data folder (``$BENCHMARK_DATA_DIR`` or ``./data``)."""
    return _data_dir(None, os.environ)


def environment_has(name: str) -> bool:
    """Whether ``name`` is set to a non-blank value (for shells that hand a variable on unread, as Dagster's ``EnvVar``)."""
    return _value(os.environ, name) is not None


@dataclass(frozen=True)
class Settings:
    """Everything the library is told from outside, resolved once."""

    db_path: Path
    data_dir: Path
    blocks_dir: Path | None  # $BENCHMARK_BLOCKS_DIR; None: blocks/ inside the snapshots folder in use
    read_timeout_s: float  # how long a reader waits for writers
    lock_timeout_s: float  # how long a writer waits for the writer lock ($BENCHMARK_LOCK_TIMEOUT_S)
    max_file_mb: float  # larger result files are refused unread ($BENCHMARK_MAX_FILE_MB; MB of 2^20 bytes)
    ipfs: IpfsNodeConfig | None  # the IPFS node to publish to and fetch from; None: no node
    ipfs_required: bool  # a missing or unreachable node is an error, not a warning
    api_wait_s: float = DEFAULT_API_WAIT_S  # REST: a request's bound on waiting for the warehouse (then 503)
    api_max_body_bytes: int = int(DEFAULT_API_MAX_BODY_MB * 1024 * 1024)  # REST: largest request body (else 413)

    @classmethod
    def from_env(cls, db_path: str | os.PathLike[str] | None = None,
                 data_dir: str | os.PathLike[str] | None = None,
                 env: Mapping[str, str] | None = None) -> "Settings":
        """The settings of this process: explicit arguments (``--db-path``), else the environment, else defaults.

        Raises ``ValueError`` for a timeout that is not a number (or a negative lock timeout), and for a file
        size limit that is not a positive number.
        """
        from benchmark_pipeline.lib.ingest.limits import DEFAULT_MAX_FILE_MB
        from benchmark_pipeline.lib.snapshots.node import DEFAULT_TIMEOUT_S, IpfsNodeConfig
        from benchmark_pipeline.lib.warehouse.timeouts import DEFAULT_LOCK_TIMEOUT_S, DEFAULT_READ_TIMEOUT_S

        env = os.environ if env is None else env
        blocks = _value(env, BLOCKS_DIR_ENV)
        api_url = _value(env, IPFS_API_URL_ENV)
        return cls(
            db_path=_db_path(db_path, env),
            data_dir=_data_dir(data_dir, env),
            blocks_dir=Path(blocks) if blocks else None,
            read_timeout_s=_seconds(env, READ_TIMEOUT_ENV, DEFAULT_READ_TIMEOUT_S),
            lock_timeout_s=_at_least(env, LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT_S, 0, "seconds"),
            max_file_mb=_at_least(env, MAX_FILE_MB_ENV, DEFAULT_MAX_FILE_MB, 0, "megabytes", inclusive=False),
            ipfs=(IpfsNodeConfig(api_url, _seconds(env, IPFS_TIMEOUT_ENV, DEFAULT_TIMEOUT_S))
                  if api_url else None),
            ipfs_required=(_value(env, IPFS_REQUIRED_ENV) or "").lower() in _TRUE,
            api_wait_s=_at_least(env, API_WAIT_ENV, DEFAULT_API_WAIT_S, 0, "seconds", inclusive=False),
            api_max_body_bytes=int(_at_least(env, API_MAX_BODY_ENV, DEFAULT_API_MAX_BODY_MB, 0, "megabytes",
                                             inclusive=False) * 1024 * 1024),
        )

    @property
    def tokens_path(self) -> Path:
        """The REST API's tokens (hashed), beside the warehouse and never inside it: a snapshot cannot carry them."""
        return self.db_path.with_name(self.db_path.name + ".tokens.json")

    @property
    def snapshots_dir(self) -> Path:
        return self.data_dir / "snapshots"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    def blockstore_dir(self, snapshots_dir: str | os.PathLike[str] | None = None) -> Path:
        """``$BENCHMARK_BLOCKS_DIR``, else ``blocks/`` in ``snapshots_dir`` (default: the data folder's snapshots/)."""
        if self.blocks_dir is not None:
            return self.blocks_dir
        return Path(snapshots_dir if snapshots_dir is not None else self.snapshots_dir) / "blocks"
