"""Regressions through the service: detection under the writer lock, listings and gates from readers.

A listing says how many series changed since the last detection, so a shell can warn that flags may
be behind the facts instead of silently answering from an old detection.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

import duckdb
import pandas as pd

from benchmark_pipeline.lib.warehouse import regressions as flags_table


@dataclass
class FlagListing:
    flags: pd.DataFrame  # newest first, with status, confirmation and the latest acknowledgement
    stale_series: int  # series whose points changed since the last detection


class RegressionsMixin:
    """Mixed into ``BenchmarkService``: needs ``reader()``, ``writer()`` and ``resolve_names``."""

    reader: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
    writer: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]

    def update_regressions(self, include_simulated: bool = False, workers: int = 1,
                           models: frozenset[str] | None = None,
                           run_id: str | None = None) -> flags_table.RefreshReport:
        """Re-detect the series whose points changed since the last update (robust mode), performance and
        LLM-serving alike.

        ``models``: only these models' performance series, e.g. what an ingest touched
        (``IngestReport.refresh.scope``, which names the models of performance facts only); ``run_id``:
        only the performance series an ingest added points to, when it only added facts
        (``IngestReport.additions_only``). LLM series are looked at whatever they say.
        """
        with self.writer() as conn:
            return flags_table.refresh_flags(conn, mode="robust", include_simulated=include_simulated,
                                             workers=workers, models=models, run_id=run_id)

    def regression_flags(self, model: str | None = None, hardware: str | None = None, since: datetime | None = None,
                         only_open: bool = False, kind: str | None = None, confirmed_only: bool = False,
                         count_stale: bool = True) -> FlagListing:
        """Flags newest first; ``NoFlagsError`` when detection never ran, ``UnknownNameError`` for a bad name.

        ``count_stale=False`` skips counting the series changed since detection (a scan of every point):
        for callers that have just run it.
        """
        with self.reader() as conn:
            model, hardware = self.resolve_names(conn, model, hardware, fingerprints_ok=True)
            flags_table.require_flags(conn)
            flags = flags_table.list_flags(conn, model=model, hardware=hardware, since=since, only_open=only_open,
                                           kind=kind, confirmed_only=confirmed_only)
            return FlagListing(flags, flags_table.stale_series(conn) if count_stale else 0)

    def open_regressions(self, since: datetime | None = None, confirmed_only: bool = False,
                         count_stale: bool = True) -> FlagListing:
        """What a CI gate checks: open regressions (suspected ones too unless ``confirmed_only``)."""
        return self.regression_flags(since=since, only_open=True, confirmed_only=confirmed_only,
                                     count_stale=count_stale)

    def acknowledge_regression(self, flag_id: str, note: str, by: str, mute: bool = False) -> dict[str, Any]:
        """Acknowledge one flag, or (``mute``) its whole series; ``FlagLookupError`` for an unknown id."""
        with self.writer() as conn:
            return flags_table.acknowledge(conn, flag_id, note, by, mute=mute)

    def set_regression_threshold(self, kind: str, value: float, **scope: Any) -> dict[str, Any]:
        """A threshold (relative, absolute or noise multiples) for a metric or one series; next update applies it."""
        with self.writer() as conn:
            return flags_table.set_threshold(conn, kind, value, **scope)

    def regression_thresholds(self, metric: str | None = None) -> pd.DataFrame:
        with self.reader() as conn:
            flags_table.require_flags(conn)
            return flags_table.list_thresholds(conn, metric=metric)

    def remove_regression_threshold(self, metric: str | None = None, series_id: str | None = None) -> bool:
        with self.writer() as conn:
            return flags_table.remove_threshold(conn, metric=metric, series_id=series_id)
